#include "audit/sqlite_store.h"

#include <sqlite3.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "audit/verifier.h"
#include "mcp/digest.h"
#include "log_fixture.h"

// synchronous is a setting of a connection, not of the file, so a second connection
// cannot read the store's. What it changes is observable, though: in WAL mode FULL
// syncs the WAL at every commit and NORMAL only at checkpoints. SQLite syncs with
// fdatasync(); this definition takes the place of libc's for the whole test binary
// and counts the calls.
namespace {
std::atomic<int> data_syncs{0};
}  // namespace

extern "C" int fdatasync(int fd) {
  data_syncs.fetch_add(1);
  return static_cast<int>(::syscall(SYS_fdatasync, fd));
}

namespace sluice::audit {
namespace {

using Catch::Matchers::Contains;
using json = nlohmann::json;
using test::Connection;
using test::decision;
using test::ScopedEnv;
using test::TempDir;

// Everything a store refuses to open with, as the message it throws.
std::string refusal(const std::string& path, bool read_only = false) {
  try {
    SqliteStore store(path, Durability::normal, read_only);
  } catch (const StoreError& e) {
    return e.what();
  }
  FAIL(path << " was opened");
  return {};
}

std::vector<std::int64_t> seqs(const SqliteStore& store, const EventQuery& query) {
  std::vector<std::int64_t> out;
  store.scan(query, [&](const StoredEvent& row) {
    out.push_back(row.seq);
    return true;
  });
  return out;
}

// UTC ISO 8601 with microseconds: 2024-05-06T07:08:09.123456Z.
bool is_audit_time(const std::string& text) {
  constexpr std::string_view form = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  if (text.size() != form.size()) return false;
  for (std::size_t i = 0; i < form.size(); ++i) {
    const bool digit = text[i] >= '0' && text[i] <= '9';
    if (form[i] == 'd' ? !digit : text[i] != form[i]) return false;
  }
  return true;
}

std::int64_t rows(const std::string& path) { return Connection(path).integer("SELECT count(*) FROM events"); }

AuditEvent with_reason_of(std::size_t bytes) {
  auto event = decision("get_pods");
  event.reason = std::string(bytes, 'r');
  return event;
}

TEST_CASE("a new log file is marked as Sluice's, versioned, and in WAL mode") {
  TempDir dir;
  const auto path = dir.file("audit.db");
  { SqliteStore store(path, Durability::normal); }

  Connection other(path);
  REQUIRE(other.integer("PRAGMA application_id") == 0x534C4345);
  REQUIRE(other.integer("PRAGMA user_version") == 2);
  REQUIRE(other.text("PRAGMA journal_mode") == "wal");
  REQUIRE(other.text("SELECT value FROM meta WHERE key = 'log_id'").size() == 16);
}

TEST_CASE("a log of schema 1 is migrated when opened for writing, and keeps its rows") {
  TempDir dir;
  const auto path = dir.file("audit.db");
  {
    SqliteStore store(path, Durability::normal);
    store.append({decision("written-by-version-1")});
  }
  {
    Connection old(path);
    old.execute("DROP TABLE meta");
    old.execute("DROP TABLE approvals");
    old.execute("PRAGMA user_version = 1");
  }
  REQUIRE(SqliteStore(path, Durability::normal, true).log_id().empty());
  SqliteStore store(path, Durability::normal);
  REQUIRE(store.log_id().size() == 16);
  REQUIRE(Connection(path).integer("PRAGMA user_version") == 2);
  REQUIRE(store.event(1)->tool == "written-by-version-1");
}

TEST_CASE("a full-durability log syncs at every commit, a normal one does not") {
  TempDir dir;
  const auto path = dir.file("audit.db");
  constexpr int commits = 3;

  SECTION("full") {
    SqliteStore store(path, Durability::full);
    data_syncs = 0;
    for (int i = 0; i < commits; ++i) store.append({decision("get_pods")});
    REQUIRE(data_syncs.load() >= commits);
  }
  SECTION("normal") {
    SqliteStore store(path, Durability::normal);
    data_syncs = 0;
    for (int i = 0; i < commits; ++i) store.append({decision("get_pods")});
    REQUIRE(data_syncs.load() == 0);
  }
}

TEST_CASE("a log file removed under the store is restored with every row; another file there takes no appends") {
  TempDir dir;
  const auto path = dir.file("audit.db");
  SqliteStore store(path, Durability::normal);
  store.append({decision("get_pods")});
  const auto refused = [&] {
    try {
      store.append({decision("get_pods")});
    } catch (const StoreError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  SECTION("removed: restored from the removed file, and the append goes on in it") {
    for (const auto* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
    REQUIRE(refused() == std::string());
    REQUIRE(rows(path) == 2);
    REQUIRE(store.integrity_check() == "ok");
  }
  SECTION("its directory moved away: refused until the directory is back, then restored") {
    const auto directory = std::filesystem::path(path).parent_path();
    const auto moved = directory.string() + "-moved";
    std::filesystem::rename(directory, moved);
    REQUIRE_THAT(refused(), Contains("it cannot be restored there") && Contains("calls are refused until it can"));
    std::filesystem::create_directory(directory);
    REQUIRE(refused() == std::string());
    REQUIRE(rows(path) == 2);
    std::filesystem::remove_all(moved);
  }
  SECTION("replaced by another log: refused, until that file is moved away") {
    // Moved away with its WAL and index, and a new log made in its place.
    for (const auto* suffix : {"", "-wal", "-shm"}) std::filesystem::rename(path + suffix, path + suffix + ".old");
    { SqliteStore other(path, Durability::normal); }
    REQUIRE_THAT(refused(), Contains(path) && Contains("replaced while Sluice had it open: it is another log"));
    REQUIRE(rows(path) == 0);
    for (const auto* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
    REQUIRE(refused() == std::string());
    REQUIRE(rows(path) == 2);
  }
}

TEST_CASE("append numbers events contiguously from 1 and stamps them with the UTC time in microseconds") {
  TempDir dir;
  SqliteStore store(dir.file("audit.db"), Durability::normal);
  const auto first = store.append({decision("a")});
  const auto more = store.append({decision("b"), decision("c"), decision("d")});

  REQUIRE(first.size() == 1);
  REQUIRE(first[0].seq == 1);
  REQUIRE(more.size() == 3);
  REQUIRE(more[0].seq == 2);
  REQUIRE(more[1].seq == 3);
  REQUIRE(more[2].seq == 4);

  for (const auto& row : more) {
    INFO(row.time);
    REQUIRE(is_audit_time(row.time));
    std::tm parts{};
    REQUIRE(::strptime(row.time.c_str(), "%Y-%m-%dT%H:%M:%S", &parts) != nullptr);
    const auto seconds = ::timegm(&parts);
    REQUIRE(std::abs(seconds - std::time(nullptr)) < 300);
  }
  REQUIRE(more[0].time <= more[2].time);
}

TEST_CASE("append returns each row as it was stored") {
  TempDir dir;
  SqliteStore store(dir.file("audit.db"), Durability::normal);
  const auto appended = store.append({decision("get_pods", "deny", "s9", "carol")});
  const auto stored = store.event(1);
  REQUIRE(stored.has_value());
  const auto& row = appended.at(0);
  REQUIRE(row.seq == stored->seq);
  REQUIRE(row.time == stored->time);
  REQUIRE(row.record == stored->record);
  REQUIRE(row.leaf == stored->leaf);
  REQUIRE(row.chain == stored->chain);
  REQUIRE(row.kind == stored->kind);
  REQUIRE(row.session == stored->session);
  REQUIRE(row.principal == stored->principal);
  REQUIRE(row.tool == stored->tool);
  REQUIRE(row.decision == stored->decision);
}

TEST_CASE("a stored record is canonical JSON of the event with its seq and time") {
  TempDir dir;
  SqliteStore store(dir.file("audit.db"), Durability::normal);
  store.append({decision("x")});
  const auto row = store.append({decision("get_pods", "deny")}).at(0);

  const auto record = json::parse(row.record);
  REQUIRE(mcp::canonical_json(record) == row.record);
  REQUIRE(record.at("seq") == json(2));
  REQUIRE(record.at("time") == json(row.time));
  REQUIRE(record.at("tool") == json("get_pods"));
  REQUIRE(record.at("decision") == json("deny"));
  REQUIRE(row.record == record_text(decision("get_pods", "deny"), 2, row.time));

  SECTION("and the row's indexed columns are copies of its fields") {
    const auto stored = store.event(2);
    REQUIRE(stored.has_value());
    REQUIRE(stored->kind == "decision");
    REQUIRE(stored->tool == "get_pods");
    REQUIRE(stored->decision == "deny");
    REQUIRE(stored->session == "s1");
    REQUIRE(stored->principal == "alice");
  }
}

TEST_CASE("reopening a log continues its sequence and its chain") {
  TempDir dir;
  const auto path = dir.file("audit.db");
  {
    SqliteStore store(path, Durability::normal);
    store.append({decision("a"), decision("b")});
  }
  SqliteStore store(path, Durability::full);
  const auto row = store.append({decision("c")}).at(0);
  REQUIRE(row.seq == 3);
  const auto report = verify(store);
  REQUIRE(report.ok);
  REQUIRE(report.events == 3);
}

TEST_CASE("two stores on one file appending in turn keep one contiguous chain") {
  TempDir dir;
  const auto path = dir.file("audit.db");
  SqliteStore a(path, Durability::normal);
  SqliteStore b(path, Durability::normal);
  REQUIRE(a.append({decision("1")}).at(0).seq == 1);
  REQUIRE(b.append({decision("2")}).at(0).seq == 2);
  REQUIRE(a.append({decision("3"), decision("4")}).at(1).seq == 4);
  REQUIRE(b.append({decision("5")}).at(0).seq == 5);

  const auto report = verify(a);
  INFO(report.problem);
  REQUIRE(report.ok);
  REQUIRE(report.events == 5);
}

TEST_CASE("the events table refuses UPDATE and DELETE from any connection") {
  TempDir dir;
  const auto path = dir.file("audit.db");
  SqliteStore store(path, Durability::normal);
  store.append({decision("a"), decision("b")});
  const auto before = store.event(1);

  Connection other(path);
  SECTION("UPDATE") {
    REQUIRE(other.run("UPDATE events SET tool = 'other' WHERE seq = 1") == SQLITE_CONSTRAINT);
    REQUIRE_THAT(other.error(), Contains("append-only"));
  }
  SECTION("UPDATE of the record") {
    REQUIRE(other.run("UPDATE events SET record = '{}'") == SQLITE_CONSTRAINT);
    REQUIRE_THAT(other.error(), Contains("append-only"));
  }
  SECTION("DELETE") {
    REQUIRE(other.run("DELETE FROM events WHERE seq = 1") == SQLITE_CONSTRAINT);
    REQUIRE_THAT(other.error(), Contains("append-only"));
  }
  REQUIRE(rows(path) == 2);
  REQUIRE(store.event(1)->record == before->record);
  REQUIRE(store.event(1)->tool == "a");
}

TEST_CASE("a file that is not a Sluice audit log is refused, naming it, and left alone") {
  TempDir dir;
  const auto path = dir.file("other.db");

  SECTION("a SQLite database of something else") {
    {
      Connection other(path);
      other.execute("CREATE TABLE notes (body TEXT)");
      other.execute("INSERT INTO notes VALUES ('mine')");
    }
    const auto message = refusal(path);
    REQUIRE_THAT(message, Contains(path) && Contains("not a Sluice audit log"));
    Connection other(path);
    REQUIRE(other.text("SELECT body FROM notes") == "mine");
    REQUIRE(other.integer("SELECT count(*) FROM sqlite_master WHERE name = 'events'") == 0);
    REQUIRE(other.text("PRAGMA journal_mode") == "delete");
  }
  SECTION("a log written by a newer Sluice") {
    { SqliteStore store(path, Durability::normal); }
    Connection(path).execute("PRAGMA user_version = 3");
    const auto message = refusal(path);
    REQUIRE_THAT(message, Contains(path) && Contains("newer"));
  }
  SECTION("a file that is not SQLite at all") {
    const std::string text = "these are my notes, not a database, and they are long enough to have a header\n";
    { std::ofstream(path) << text; }
    const auto message = refusal(path);
    REQUIRE_THAT(message, Contains(path));
    std::ifstream in(path);
    const std::string kept((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(kept == text);
  }
  SECTION("an empty file opened read-only") {
    { std::ofstream touch(path); }
    REQUIRE_THAT(refusal(path, true), Contains(path));
  }
  SECTION("a missing file opened read-only") { REQUIRE_THAT(refusal(path, true), Contains(path)); }
}

TEST_CASE("scan visits the events that match every condition of the query") {
  TempDir dir;
  SqliteStore store(dir.file("audit.db"), Durability::normal);
  AuditEvent outcome;
  outcome.kind = "outcome";
  outcome.session = "s2";
  outcome.principal = "alice";
  outcome.tool = "get_pods";
  outcome.outcome = "ok";
  AuditEvent session_end;
  session_end.kind = "session";
  session_end.session = "s1";
  session_end.principal = "alice";
  session_end.detail = "ended";
  std::vector<StoredEvent> appended;
  for (const auto& event : {decision("get_pods", "allow", "s1", "alice"), decision("delete_pod", "deny", "s1", "bob"),
                            outcome, decision("get_pods", "allow", "s2", "bob"), session_end,
                            decision("delete_pod", "allow", "s2", "alice")}) {
    appended.push_back(store.append({event}).at(0));
  }

  EventQuery query;
  SECTION("no condition: everything, oldest first") {
    REQUIRE(seqs(store, query) == std::vector<std::int64_t>{1, 2, 3, 4, 5, 6});
  }
  SECTION("kind") {
    query.kind = "decision";
    REQUIRE(seqs(store, query) == std::vector<std::int64_t>{1, 2, 4, 6});
  }
  SECTION("tool") {
    query.tool = "get_pods";
    REQUIRE(seqs(store, query) == std::vector<std::int64_t>{1, 3, 4});
  }
  SECTION("decision") {
    query.decision = "allow";
    REQUIRE(seqs(store, query) == std::vector<std::int64_t>{1, 4, 6});
  }
  SECTION("principal") {
    query.principal = "bob";
    REQUIRE(seqs(store, query) == std::vector<std::int64_t>{2, 4});
  }
  SECTION("session") {
    query.session = "s2";
    REQUIRE(seqs(store, query) == std::vector<std::int64_t>{3, 4, 6});
  }
  SECTION("several conditions at once") {
    query.kind = "decision";
    query.principal = "alice";
    query.tool = "delete_pod";
    REQUIRE(seqs(store, query) == std::vector<std::int64_t>{6});
  }
  SECTION("a condition nothing matches") {
    query.tool = "no_such_tool";
    REQUIRE(seqs(store, query).empty());
  }
  SECTION("after_seq") {
    query.after_seq = 4;
    REQUIRE(seqs(store, query) == std::vector<std::int64_t>{5, 6});
  }
  SECTION("limit") {
    query.limit = 2;
    REQUIRE(seqs(store, query) == std::vector<std::int64_t>{1, 2});
  }
  SECTION("newest_first") {
    query.newest_first = true;
    REQUIRE(seqs(store, query) == std::vector<std::int64_t>{6, 5, 4, 3, 2, 1});
  }
  SECTION("newest_first with a limit: the latest ones") {
    query.newest_first = true;
    query.limit = 2;
    query.kind = "decision";
    REQUIRE(seqs(store, query) == std::vector<std::int64_t>{6, 4});
  }
  SECTION("since is inclusive and until exclusive") {
    // Times are not guaranteed distinct at microsecond resolution, so the expected
    // rows are worked out from the times the store gave them.
    const auto since = appended[1].time;
    const auto until = appended[4].time;
    query.since = since;
    query.until = until;
    std::vector<std::int64_t> expected;
    for (const auto& row : appended) {
      if (row.time >= since && row.time < until) expected.push_back(row.seq);
    }
    REQUIRE_FALSE(expected.empty());
    REQUIRE(expected.front() <= 2);
    REQUIRE(seqs(store, query) == expected);
  }
  SECTION("visiting stops when the visitor says so") {
    std::vector<std::int64_t> seen;
    store.scan(query, [&](const StoredEvent& row) {
      seen.push_back(row.seq);
      return seen.size() < 3;
    });
    REQUIRE(seen == std::vector<std::int64_t>{1, 2, 3});
  }
}

TEST_CASE("event(seq) finds one row by its number") {
  TempDir dir;
  SqliteStore store(dir.file("audit.db"), Durability::normal);
  store.append({decision("a"), decision("b")});
  const auto second = store.event(2);
  REQUIRE(second.has_value());
  REQUIRE(second->seq == 2);
  REQUIRE(second->tool == "b");
  REQUIRE(json::parse(second->record).at("seq") == json(2));
  REQUIRE_FALSE(store.event(0).has_value());
  REQUIRE_FALSE(store.event(3).has_value());
}

TEST_CASE("a pin is written with the event that records it, and a later pin of the same tool replaces it") {
  TempDir dir;
  SqliteStore store(dir.file("audit.db"), Durability::normal);
  AuditEvent pinned;
  pinned.kind = "pin";
  pinned.upstream = "kube";
  pinned.tool = "get_pods";
  pinned.detail = "h1";
  store.append({pinned}, {PinRecord{"kube", "get_pods", "h1", "alice", "ignored"}});

  auto pin = store.pin("kube", "get_pods");
  REQUIRE(pin.has_value());
  REQUIRE(pin->hash == "h1");
  REQUIRE(pin->pinned_by == "alice");
  REQUIRE(pin->pinned_at != "ignored");
  REQUIRE(is_audit_time(pin->pinned_at));
  REQUIRE(store.event(1)->kind == "pin");

  SECTION("repinning replaces the hash and who pinned it") {
    store.append({pinned}, {PinRecord{"kube", "get_pods", "h2", "bob", {}}});
    pin = store.pin("kube", "get_pods");
    REQUIRE(pin->hash == "h2");
    REQUIRE(pin->pinned_by == "bob");
    REQUIRE(store.pins().size() == 1);
  }
  SECTION("pins() lists them all by upstream, then tool") {
    store.append({pinned}, {PinRecord{"kube", "delete_pod", "h3", "bob", {}},
                            PinRecord{"git", "log", "h4", "bob", {}}});
    const auto all = store.pins();
    REQUIRE(all.size() == 3);
    REQUIRE((all[0].upstream == "git" && all[0].tool == "log"));
    REQUIRE((all[1].upstream == "kube" && all[1].tool == "delete_pod"));
    REQUIRE((all[2].upstream == "kube" && all[2].tool == "get_pods"));
  }
  SECTION("pin() of a tool never pinned is empty") {
    REQUIRE_FALSE(store.pin("kube", "other").has_value());
    REQUIRE_FALSE(store.pin("git", "get_pods").has_value());
  }
}

TEST_CASE("on a full disk append throws, writes nothing, and leaves the log whole") {
  TempDir dir;
  const auto path = dir.file("audit.db");
  std::optional<SqliteStore> store;
  {
    ScopedEnv limit(test::max_page_count_variable, "12");
    store.emplace(path, Durability::full);
  }
  std::int64_t written = 0;
  std::string failure;
  for (int attempt = 0; attempt < 1000 && failure.empty(); ++attempt) {
    try {
      written = store->append({with_reason_of(1500)}).at(0).seq;
    } catch (const StoreError& e) {
      failure = e.what();
    }
  }
  REQUIRE_FALSE(failure.empty());
  REQUIRE(written > 0);
  REQUIRE_THAT(failure, Contains(path) && Contains("full"));

  REQUIRE(rows(path) == written);
  REQUIRE_FALSE(store->event(written + 1).has_value());
  REQUIRE(store->integrity_check() == "ok");
  const auto report = verify(*store);
  INFO(report.problem);
  REQUIRE(report.ok);
  REQUIRE(report.events == written);

  SECTION("and a pin in the failed append is not written either") {
    REQUIRE_THROWS_AS(store->append({with_reason_of(1500)}, {PinRecord{"kube", "t", "h", "me", {}}}), StoreError);
    REQUIRE(store->pins().empty());
    REQUIRE(rows(path) == written);
  }
  SECTION("and the file opens whole without the limit") {
    store.reset();
    SqliteStore reopened(path, Durability::normal);
    REQUIRE(reopened.integrity_check() == "ok");
    REQUIRE(verify(reopened).ok);
    REQUIRE(reopened.append({decision("after")}).at(0).seq == written + 1);
  }
}

TEST_CASE("append gives up with nothing written when another connection holds the write lock") {
  TempDir dir;
  const auto path = dir.file("audit.db");
  SqliteStore store(path, Durability::normal);
  store.append({decision("before")});

  Connection other(path);
  other.execute("BEGIN IMMEDIATE");
  const auto started = std::chrono::steady_clock::now();
  std::string failure;
  try {
    store.append({decision("blocked")}, {PinRecord{"kube", "t", "h", "me", {}}});
  } catch (const StoreError& e) {
    failure = e.what();
  }
  const auto waited = std::chrono::steady_clock::now() - started;
  other.execute("ROLLBACK");

  REQUIRE_THAT(failure, Contains(path) && Contains("locked"));
  // It waited for the lock (busy timeout, 5 s) rather than failing at once.
  REQUIRE(waited >= std::chrono::seconds(4));
  REQUIRE(waited < std::chrono::seconds(30));
  REQUIRE(rows(path) == 1);
  REQUIRE(store.pins().empty());
  REQUIRE(store.append({decision("after")}).at(0).seq == 2);
  REQUIRE(verify(store).ok);
}

}  // namespace
}  // namespace sluice::audit
