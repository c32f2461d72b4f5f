#include "audit/verifier.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "audit/hash_chain.h"
#include "audit/sqlite_store.h"
#include "log_fixture.h"
#include "mcp/digest.h"

namespace sluice::audit {
namespace {

using Catch::Matchers::Contains;
using json = nlohmann::json;
using test::Blob;
using test::Connection;
using test::decision;
using test::TempDir;

// A log of four events, and a second connection that has dropped the append-only
// triggers: what someone with write access to the file can do.
struct TamperedLog {
  TamperedLog() : TamperedLog(true) {}
  // Without rows, for a log that a test fills itself.
  explicit TamperedLog(bool four_rows) : store(dir.file("audit.db"), Durability::normal) {
    if (four_rows) {
      rows = store.append({decision("get_pods"), decision("delete_pod", "deny")});
      const auto more = store.append({decision("list_ns"), decision("scale", "allow", "s2", "bob")});
      rows.insert(rows.end(), more.begin(), more.end());
    }
    attacker.execute("DROP TRIGGER events_refuse_update");
    attacker.execute("DROP TRIGGER events_refuse_delete");
  }

  [[nodiscard]] std::string record(std::int64_t seq) {
    return attacker.text("SELECT record FROM events WHERE seq = ?1", {seq});
  }
  void set_record(std::int64_t seq, const std::string& text) {
    attacker.execute("UPDATE events SET record = ?1 WHERE seq = ?2", {text, seq});
  }
  // Edits a field of the record, keeping it canonical.
  void edit(std::int64_t seq, const std::string& key, const json& value) {
    auto fields = json::parse(record(seq));
    fields[key] = value;
    set_record(seq, mcp::canonical_json(fields));
  }
  void set_leaf(std::int64_t seq, const std::string& leaf) {
    attacker.execute("UPDATE events SET leaf = ?1 WHERE seq = ?2", {Blob{leaf}, seq});
  }
  void set_chain(std::int64_t seq, const std::string& chain) {
    attacker.execute("UPDATE events SET chain = ?1 WHERE seq = ?2", {Blob{chain}, seq});
  }
  [[nodiscard]] std::string chain(std::int64_t seq) {
    return seq == 0 ? genesis_chain() : attacker.text("SELECT chain FROM events WHERE seq = ?1", {seq});
  }

  TempDir dir;
  SqliteStore store;
  std::vector<StoredEvent> rows;
  Connection attacker{dir.file("audit.db")};
};

TEST_CASE("a log nobody touched verifies, with its size and the chain value of its last row") {
  TempDir dir;
  SqliteStore store(dir.file("audit.db"), Durability::normal);
  store.append({decision("a")});
  const auto last = store.append({decision("b"), decision("c")}).back();

  const auto report = verify(store);
  REQUIRE(report.ok);
  REQUIRE(report.events == 3);
  REQUIRE(report.head == mcp::to_hex(last.chain));
  REQUIRE_FALSE(report.bad_seq.has_value());
  REQUIRE(report.problem.empty());
}

TEST_CASE("an empty log verifies, with no events and the genesis chain as its head") {
  TempDir dir;
  SqliteStore store(dir.file("audit.db"), Durability::normal);
  const auto report = verify(store);
  REQUIRE(report.ok);
  REQUIRE(report.events == 0);
  REQUIRE(report.head == std::string(64, '0'));
  REQUIRE_FALSE(report.bad_seq.has_value());
}

TEST_CASE("a log of events with any text and numbers in them verifies") {
  // The verifier re-canonicalises each record; that must give back the stored bytes
  // for everything an event can carry.
  TempDir dir;
  SqliteStore store(dir.file("audit.db"), Durability::normal);
  auto event = decision("get_pods");
  event.reason = "naïve — 日本語 \"quoted\" back\\slash \x01 control \t tab \xff\xfe not UTF-8 😀";
  event.arguments = {{"z", 1.5},          {"a", 0.1},    {"big", 18446744073709551615ULL},
                     {"neg", -42},        {"tiny", 1e-300}, {"zero", -0.0},
                     {"nested", {{"b", {1, 2, 3}}, {"a", nullptr}, {"c", true}}}};
  event.id = "request \u2028 id";
  store.append({event, decision("delete_pod")});

  const auto report = verify(store);
  INFO(report.problem);
  REQUIRE(report.ok);
  REQUIRE(report.events == 2);
}

TEST_CASE("verify names an edited record") {
  TamperedLog log;

  SECTION("edited by hand, out of canonical form") {
    auto text = log.record(2);
    text.insert(1, " ");
    log.set_record(2, text);
    const auto report = verify(log.store);
    REQUIRE_FALSE(report.ok);
    REQUIRE(report.bad_seq == 2);
    REQUIRE_THAT(report.problem, Contains("canonical"));
  }
  SECTION("edited in canonical form, its leaf left as it was") {
    log.edit(2, "reason", "nothing to see");
    const auto report = verify(log.store);
    REQUIRE_FALSE(report.ok);
    REQUIRE(report.bad_seq == 2);
    REQUIRE_THAT(report.problem, Contains("leaf"));
  }
  SECTION("edited, its leaf recomputed, its chain left as it was") {
    log.edit(2, "reason", "nothing to see");
    log.set_leaf(2, leaf_hash(log.record(2)));
    const auto report = verify(log.store);
    REQUIRE_FALSE(report.ok);
    REQUIRE(report.bad_seq == 2);
    REQUIRE_THAT(report.problem, Contains("chain"));
  }
  SECTION("edited, its leaf and chain recomputed: the next row no longer follows") {
    log.edit(2, "reason", "nothing to see");
    const auto leaf = leaf_hash(log.record(2));
    log.set_leaf(2, leaf);
    log.set_chain(2, chain_hash(log.chain(1), leaf));
    const auto report = verify(log.store);
    REQUIRE_FALSE(report.ok);
    REQUIRE(report.bad_seq == 3);
    REQUIRE_THAT(report.problem, Contains("chain"));
    REQUIRE(report.events == 2);
    REQUIRE(report.head == mcp::to_hex(log.chain(2)));
  }
  SECTION("its time changed") {
    log.edit(3, "time", "2000-01-01T00:00:00.000000Z");
    const auto report = verify(log.store);
    REQUIRE(report.bad_seq == 3);
    REQUIRE_THAT(report.problem, Contains("time"));
  }
  SECTION("its seq changed") {
    log.edit(3, "seq", 30);
    const auto report = verify(log.store);
    REQUIRE(report.bad_seq == 3);
    REQUIRE_THAT(report.problem, Contains("seq"));
  }
  SECTION("a field given a value of another type: reported, not thrown") {
    log.edit(2, "seq", "2");
    const auto report = verify(log.store);
    REQUIRE_FALSE(report.ok);
    REQUIRE(report.bad_seq == 2);
    REQUIRE_THAT(report.problem, Contains("type"));
  }
  SECTION("an indexed field given a value of another type") {
    log.edit(2, "tool", 5);
    const auto report = verify(log.store);
    REQUIRE_FALSE(report.ok);
    REQUIRE(report.bad_seq == 2);
    REQUIRE_THAT(report.problem, Contains("type"));
  }
  SECTION("replaced by something that is not JSON") {
    log.set_record(4, "not json");
    const auto report = verify(log.store);
    REQUIRE(report.bad_seq == 4);
    REQUIRE_THAT(report.problem, Contains("JSON"));
  }
  SECTION("replaced by JSON that is not an object") {
    log.set_record(1, "[1,2]");
    const auto report = verify(log.store);
    REQUIRE(report.bad_seq == 1);
  }
}

TEST_CASE("verify names a row whose indexed column no longer matches its record") {
  TamperedLog log;
  SECTION("tool") { log.attacker.execute("UPDATE events SET tool = 'get_pods' WHERE seq = 2"); }
  SECTION("decision") { log.attacker.execute("UPDATE events SET decision = 'allow' WHERE seq = 2"); }
  SECTION("principal") { log.attacker.execute("UPDATE events SET principal = NULL WHERE seq = 2"); }
  SECTION("kind") { log.attacker.execute("UPDATE events SET kind = 'outcome' WHERE seq = 2"); }
  SECTION("time") { log.attacker.execute("UPDATE events SET time = '2000-01-01T00:00:00.000000Z' WHERE seq = 2"); }

  const auto report = verify(log.store);
  REQUIRE_FALSE(report.ok);
  REQUIRE(report.bad_seq == 2);
  REQUIRE(report.events == 1);
  REQUIRE(report.head == mcp::to_hex(log.chain(1)));
  REQUIRE_FALSE(report.problem.empty());
}

TEST_CASE("verify names the row after rows that were deleted") {
  TamperedLog log;
  SECTION("one row in the middle") {
    log.attacker.execute("DELETE FROM events WHERE seq = 2");
    const auto report = verify(log.store);
    REQUIRE_FALSE(report.ok);
    REQUIRE(report.bad_seq == 3);
    REQUIRE_THAT(report.problem, Contains("2..2") && Contains("missing"));
    REQUIRE(report.events == 1);
    REQUIRE(report.head == mcp::to_hex(log.chain(1)));
  }
  SECTION("the first rows") {
    log.attacker.execute("DELETE FROM events WHERE seq <= 2");
    const auto report = verify(log.store);
    REQUIRE(report.bad_seq == 3);
    REQUIRE_THAT(report.problem, Contains("1..2") && Contains("missing"));
    REQUIRE(report.events == 0);
  }
  SECTION("a row moved below the first number") {
    log.attacker.execute("UPDATE events SET seq = -1 WHERE seq = 1");
    const auto report = verify(log.store);
    REQUIRE(report.bad_seq == 2);
    REQUIRE_THAT(report.problem, Contains("missing"));
  }
}

TEST_CASE("verify notices rows that changed places") {
  TamperedLog log;
  SECTION("the records of two rows swapped") {
    const auto second = log.record(2);
    const auto third = log.record(3);
    log.set_record(2, third);
    log.set_record(3, second);
  }
  SECTION("two rows renumbered into each other's place") {
    log.attacker.execute("UPDATE events SET seq = -2 WHERE seq = 2");
    log.attacker.execute("UPDATE events SET seq = 2 WHERE seq = 3");
    log.attacker.execute("UPDATE events SET seq = 3 WHERE seq = -2");
  }
  const auto report = verify(log.store);
  REQUIRE_FALSE(report.ok);
  REQUIRE(report.bad_seq == 2);
  REQUIRE_THAT(report.problem, Contains("seq"));
}

TEST_CASE("verify checks the file's integrity before its chain") {
  TamperedLog log;
  // An index whose entries disagree with its table: writable_schema lets the
  // attacker change the index definition under the existing entries.
  log.attacker.execute("PRAGMA writable_schema = ON");
  log.attacker.execute(
      "UPDATE sqlite_master SET sql = 'CREATE INDEX events_by_time ON events(kind)' WHERE name = 'events_by_time'");
  log.attacker.execute("PRAGMA writable_schema = OFF");
  SqliteStore reopened(log.dir.file("audit.db"), Durability::normal, true);
  const auto report = verify(reopened);
  REQUIRE_FALSE(report.ok);
  REQUIRE_THAT(report.problem, Contains("integrity"));
}

}  // namespace
}  // namespace sluice::audit

namespace sluice::audit {
namespace {

// A log with signed checkpoints: rows 1-2, checkpoint 3, rows 4-5, checkpoint 6,
// row 7; and the external copy of the last checkpoint.
struct CheckpointedLog : TamperedLog {
  CheckpointedLog() : TamperedLog(false), signer(make_signer()) {
    store.append({decision("a"), decision("b")});
    store.append_checkpoint(signer);
    store.append({decision("c"), decision("d")});
    external = note_of(*store.append_checkpoint(signer));
    store.append({decision("e")});
  }

  NoteSigner make_signer() {
    const auto pair = generate_key_pair("sluice.local/test");
    std::ofstream(dir.file("key.pem")) << pair.private_pem;
    return NoteSigner::from_pem_file(dir.file("key.pem"), "sluice.local/test");
  }
  static std::string note_of(const StoredEvent& row) { return json::parse(row.record)["data"]["note"]; }
  [[nodiscard]] NoteVerifier key() const {
    std::string error;
    return *NoteVerifier::parse(signer.verifier_key(), error);
  }
  // What an attacker without the key can do after editing: recompute every leaf and
  // chain from `seq` on, so that the chain holds again.
  void rechain_from(std::int64_t seq) {
    auto previous = chain(seq - 1);
    const auto last = attacker.integer("SELECT max(seq) FROM events");
    for (auto at = seq; at <= last; ++at) {
      const auto leaf = leaf_hash(record(at));
      set_leaf(at, leaf);
      previous = chain_hash(previous, leaf);
      set_chain(at, previous);
    }
  }

  NoteSigner signer;
  std::string external;
};

TEST_CASE("a log with signed checkpoints verifies, under its own key and under the pinned key") {
  CheckpointedLog log;
  VerifyOptions options;
  SECTION("the key the log names") {}
  SECTION("the pinned key") { options.key = log.key(); }
  SECTION("the pinned key and the external checkpoint") {
    options.key = log.key();
    options.external_checkpoint = log.external;
  }
  const auto report = verify(log.dir.file("audit.db"), options);
  INFO(report.problem);
  REQUIRE(report.ok);
  REQUIRE(report.events == 7);
  REQUIRE(report.checkpoints == 2);
  if (options.external_checkpoint) REQUIRE_THAT(report.notes.front(), Contains("row") && Contains("7"));
}

TEST_CASE("checkpoints catch what re-chaining hides") {
  CheckpointedLog log;
  std::int64_t bad = 0;
  SECTION("a row edited and every hash after it recomputed, without the key") {
    log.edit(2, "decision", "deny");
    log.attacker.execute("UPDATE events SET decision = 'deny' WHERE seq = 2");
    log.rechain_from(2);
    bad = 3;
  }
  SECTION("a row deleted, the rest renumbered and re-chained") {
    log.attacker.execute("DELETE FROM events WHERE seq = 1");
    for (std::int64_t seq = 2; seq <= 7; ++seq) {
      log.attacker.execute("UPDATE events SET seq = ?1 WHERE seq = ?2", {seq - 1, seq});
      log.edit(seq - 1, "seq", seq - 1);
    }
    log.rechain_from(1);
    bad = 2;  // the first checkpoint, now row 2, attests 2 rows where 1 precedes it
  }
  SECTION("a checkpoint's note altered") {
    auto fields = json::parse(log.record(3));
    auto note = fields["data"]["note"].get<std::string>();
    note.replace(note.find("\n2\n"), 3, "\n1\n");
    fields["data"]["note"] = note;
    log.set_record(3, mcp::canonical_json(fields));
    log.rechain_from(3);
    bad = 3;
  }
  SECTION("the log's identity changed: its checkpoints name another origin") {
    log.attacker.execute("UPDATE meta SET value = 'ffffffffffffffff' WHERE key = 'log_id'");
    bad = 3;
  }
  const auto report = verify(log.dir.file("audit.db"));
  REQUIRE_FALSE(report.ok);
  REQUIRE(report.bad_seq == bad);
  REQUIRE_THAT(report.problem, Contains("checkpoint"));
}

TEST_CASE("a checkpoint signed by another key than the pinned one fails") {
  CheckpointedLog log;
  VerifyOptions options;
  std::string error;
  options.key = *NoteVerifier::parse("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", error);
  const auto report = verify(log.dir.file("audit.db"), options);
  REQUIRE_FALSE(report.ok);
  REQUIRE(report.bad_seq == 3);
  REQUIRE_THAT(report.problem, Contains("another key"));
}

TEST_CASE("rows cut off after the external checkpoint are reported TRUNCATED") {
  CheckpointedLog log;
  // Everything from the second checkpoint on removed: the log itself still holds.
  log.attacker.execute("DELETE FROM events WHERE seq >= 5");
  REQUIRE(verify(log.dir.file("audit.db")).ok);

  VerifyOptions options;
  options.external_checkpoint = log.external;
  options.key = log.key();
  const auto report = verify(log.dir.file("audit.db"), options);
  REQUIRE_FALSE(report.ok);
  REQUIRE(report.truncated);
  REQUIRE_THAT(report.problem, Contains("TRUNCATED") && Contains("5..5"));
}

TEST_CASE("a checkpoint file of another log is refused") {
  CheckpointedLog log;
  CheckpointedLog other;
  VerifyOptions options;
  options.external_checkpoint = other.external;
  options.key = other.key();
  REQUIRE_FALSE(verify(log.dir.file("audit.db"), options).ok);
}

TEST_CASE("a sealed log continues in its successor, and the files verify as one") {
  CheckpointedLog log;
  const auto first = log.dir.file("audit.db");
  const auto second = log.dir.file("audit.2.db");
  const auto third = log.dir.file("audit.3.db");
  const auto sealed = log.store.seal(second, &log.signer, "ops");
  REQUIRE(sealed.checkpoint);
  REQUIRE(sealed.seal.seq == 9);
  REQUIRE(sealed.successor == second);

  {
    // A writer of the sealed file follows into the successor.
    SqliteStore writer(first, Durability::normal);
    const auto rows = writer.append({decision("after-seal")});
    REQUIRE(writer.path() == second);
    REQUIRE(rows.front().seq == 2);
    REQUIRE(SqliteStore(second, Durability::normal, true).event(1)->kind == "continue");

    writer.seal(third, &log.signer, "ops");
    SqliteStore(first, Durability::normal).append({decision("in-the-third")});
  }  // closed, so that the files can be moved without their -wal

  SECTION("the chain of three files verifies") {
    VerifyOptions options;
    options.key = log.key();
    const auto report = verify(first, options);
    INFO(report.problem);
    REQUIRE(report.ok);
    REQUIRE(report.files == std::vector<std::string>{first, second, third});
    REQUIRE(report.events == 9 + 4 + 2);
  }
  SECTION("a successor alone verifies, noting the link it cannot check") {
    const auto report = verify(second);
    REQUIRE(report.ok);
    REQUIRE_THAT(report.notes.front(), Contains("continues"));
  }
  SECTION("two files of the chain swapped") {
    std::filesystem::rename(second, log.dir.file("tmp.db"));
    std::filesystem::rename(third, second);
    std::filesystem::rename(log.dir.file("tmp.db"), third);
    const auto report = verify(first);
    REQUIRE_FALSE(report.ok);
    REQUIRE(report.bad_file == second);
    REQUIRE(report.bad_seq == 1);
  }
  SECTION("a successor removed") {
    std::filesystem::remove(third);
    const auto report = verify(first);
    REQUIRE_FALSE(report.ok);
    REQUIRE(report.bad_file == third);
  }
  SECTION("sealing into a file that exists is refused, and nothing is written") {
    REQUIRE_THROWS_WITH(SqliteStore(first, Durability::normal).seal(second, nullptr, "ops"), Contains("exists"));
    REQUIRE(verify(first).ok);
  }
}

}  // namespace
}  // namespace sluice::audit
