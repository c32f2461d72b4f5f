#include "audit/writer.h"

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "audit/sqlite_store.h"
#include "audit/verifier.h"
#include "log_fixture.h"
#include "mcp/async_event.h"
#include "support/async_test.h"

namespace sluice::audit {
namespace {

using Catch::Matchers::Contains;
using json = nlohmann::json;
using sluice::test::run_test;
using test::Connection;
using test::decision;
using test::ScopedEnv;
using test::TempDir;

std::unique_ptr<SqliteStore> open_store(const std::string& path) {
  return std::make_unique<SqliteStore>(path, Durability::normal);
}

std::int64_t rows(const std::string& path) { return Connection(path).integer("SELECT count(*) FROM events"); }

TEST_CASE("commit resumes with true only once the event is in the file") {
  TempDir dir;
  const auto path = dir.file("audit.db");
  asio::io_context io;
  AuditWriter writer(io.get_executor(), open_store(path));
  Connection reader(path);

  run_test(io, [&]() -> asio::awaitable<void> {
    // co_await stays out of REQUIRE: the macro names its expression more than once.
    const bool first = co_await writer.commit(decision("delete_pod", "allow"));
    REQUIRE(first);
    // A second, independent connection sees it the moment commit resumes.
    REQUIRE(reader.integer("SELECT count(*) FROM events") == 1);
    REQUIRE(reader.text("SELECT tool FROM events WHERE seq = 1") == "delete_pod");

    const bool second = co_await writer.commit(decision("get_pods"));
    REQUIRE(second);
    REQUIRE(reader.integer("SELECT max(seq) FROM events") == 2);
  });
  REQUIRE(writer.healthy());
  REQUIRE(writer.last_error().empty());
}

TEST_CASE("commits in flight together share transactions") {
  TempDir dir;
  const auto path = dir.file("audit.db");
  asio::io_context io;
  AuditWriter writer(io.get_executor(), open_store(path));
  constexpr int callers = 200;

  // Another connection holds the write lock until every caller has queued its event,
  // so that how the events group does not depend on how the threads are scheduled:
  // at most the first group is taken before the lock is released.
  Connection holder(path);
  holder.execute("BEGIN IMMEDIATE");

  int succeeded = 0;
  int finished = 0;
  mcp::AsyncEvent all_finished(io.get_executor());
  run_test(io, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < callers; ++i) {
      asio::co_spawn(
          io,
          [&, i]() -> asio::awaitable<void> {
            if (co_await writer.commit(decision("tool_" + std::to_string(i)))) ++succeeded;
            ++finished;
            all_finished.notify_all();
          },
          asio::detached);
    }
    // Runs after each caller has run up to its wait: handlers run in order.
    co_await asio::post(io, asio::use_awaitable);
    holder.execute("ROLLBACK");
    while (finished < callers) co_await all_finished.wait();
  }, std::chrono::seconds(30));

  REQUIRE(succeeded == callers);
  REQUIRE(writer.commits() <= 2);
  REQUIRE(writer.commits() < static_cast<std::uint64_t>(callers));
  REQUIRE(rows(path) == callers);
  const SqliteStore store(path, Durability::normal, true);
  const auto report = verify(store);
  REQUIRE(report.ok);
  REQUIRE(report.events == callers);
}

TEST_CASE("events recorded without waiting are written by the time the writer is gone") {
  TempDir dir;
  const auto path = dir.file("audit.db");
  constexpr int events = 50;
  {
    asio::io_context io;
    AuditWriter writer(io.get_executor(), open_store(path));
    for (int i = 0; i < events; ++i) writer.record(decision("tool_" + std::to_string(i)));
  }
  REQUIRE(rows(path) == events);
  const SqliteStore store(path, Durability::normal, true);
  REQUIRE(verify(store).ok);
  REQUIRE(store.event(events)->tool == "tool_" + std::to_string(events - 1));
}

TEST_CASE("the writer copies the WAL into the database file as it grows") {
  TempDir dir;
  const auto path = dir.file("audit.db");
  asio::io_context io;
  AuditWriter writer(io.get_executor(), open_store(path));
  constexpr int calls = 800;
  run_test(io, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < calls; ++i) {
      const bool committed = co_await writer.commit(decision("tool_" + std::to_string(i)));
      REQUIRE(committed);
    }
  }, std::chrono::seconds(60));
  // Each commit appends at least two pages to the WAL (the events table's and its
  // index's), so the WAL passed its checkpoint size and the rows are in the file
  // itself, not only in the WAL (which SQLite no longer checkpoints by itself).
  const auto records = Connection(path).integer("SELECT sum(length(record)) FROM events");
  REQUIRE(records > 0);
  REQUIRE(std::filesystem::file_size(path) >= static_cast<std::uintmax_t>(records) / 4);
  REQUIRE(rows(path) == calls);
}

TEST_CASE("pin writes the pin together with the event that records it") {
  TempDir dir;
  const auto path = dir.file("audit.db");
  asio::io_context io;
  AuditWriter writer(io.get_executor(), open_store(path));
  AuditEvent pinned;
  pinned.kind = "pin";
  pinned.upstream = "kube";
  pinned.tool = "get_pods";
  pinned.detail = "sha256:abc";

  run_test(io, [&]() -> asio::awaitable<void> {
    writer.pin(PinRecord{"kube", "get_pods", "sha256:abc", "alice", {}}, pinned);
    // Queued after the pin: once it is committed, so is the pin.
    const bool committed = co_await writer.commit(decision("get_pods"));
    REQUIRE(committed);
  });

  const SqliteStore store(path, Durability::normal, true);
  const auto pin = store.pin("kube", "get_pods");
  REQUIRE(pin.has_value());
  REQUIRE(pin->hash == "sha256:abc");
  REQUIRE(pin->pinned_by == "alice");
  const auto event = store.event(1);
  REQUIRE(event.has_value());
  REQUIRE(event->kind == "pin");
  REQUIRE(json::parse(event->record).at("detail") == json("sha256:abc"));
}

TEST_CASE("a writer that cannot write says so, and recovers when it can again") {
  TempDir dir;
  const auto path = dir.file("audit.db");
  asio::io_context io;
  std::unique_ptr<SqliteStore> store;
  {
    ScopedEnv limit(test::max_page_count_variable, "24");
    store = open_store(path);
  }
  AuditWriter writer(io.get_executor(), std::move(store));
  // Pins are not append-only: a large one holds pages that can be freed later.
  AuditEvent pinned;
  pinned.kind = "pin";
  writer.pin(PinRecord{"kube", "filler", std::string(20000, 'f'), "test", {}}, pinned);

  std::int64_t written = 0;
  run_test(io, [&]() -> asio::awaitable<void> {
    auto event = decision("get_pods");
    event.reason = std::string(1500, 'r');
    bool ok = true;
    for (int attempt = 0; attempt < 1000 && ok; ++attempt) {
      ok = co_await writer.commit(event);
      if (ok) ++written;
    }
    REQUIRE_FALSE(ok);
    REQUIRE_FALSE(writer.healthy());
    REQUIRE_THAT(writer.last_error(), Contains(path) && Contains("full"));

    // The same event again, once there is room for it.
    Connection(path).execute("DELETE FROM pins WHERE tool = 'filler'");
    event.tool = "after";
    const bool recovered = co_await writer.commit(event);
    REQUIRE(recovered);
    REQUIRE(writer.healthy());
  });

  REQUIRE(written > 0);
  // The pin's event, the commits that succeeded and the one after recovery; not the
  // one that failed.
  REQUIRE(rows(path) == written + 2);
  const SqliteStore reader(path, Durability::normal, true);
  const auto report = verify(reader);
  INFO(report.problem);
  REQUIRE(report.ok);
  REQUIRE(reader.event(written + 2)->tool == "after");
}

}  // namespace
}  // namespace sluice::audit
