#include "audit/verifier.h"

#include <nlohmann/json.hpp>

#include "audit/hash_chain.h"
#include "mcp/digest.h"

namespace sluice::audit {
namespace {

// Empty when the record and the row's own columns agree.
std::string check_row(const StoredEvent& row, std::int64_t expected_seq, const std::string& previous_chain) {
  if (row.seq != expected_seq) {
    return row.seq > expected_seq ? "rows " + std::to_string(expected_seq) + ".." + std::to_string(row.seq - 1) +
                                        " are missing (deleted)"
                                  : "sequence number out of order";
  }
  const auto record = nlohmann::json::parse(row.record, nullptr, false);
  if (record.is_discarded() || !record.is_object()) return "the record is not valid JSON";
  if (mcp::canonical_json(record) != row.record) return "the record is not in canonical form (edited)";
  // value() throws when a field has another type than Sluice writes; that is a finding, not an error.
  try {
    if (record.value("seq", std::int64_t{-1}) != row.seq) return "the record's seq differs from the row's (moved)";
    if (record.value("time", std::string()) != row.time) return "the record's time differs from the row's";
    const auto field = [&](const char* key) { return record.value(key, std::string()); };
    if (field("kind") != row.kind || field("session") != row.session || field("principal") != row.principal ||
        field("tool") != row.tool || field("decision") != row.decision) {
      return "the row's indexed columns differ from its record (edited)";
    }
  } catch (const nlohmann::json::exception&) {
    return "a field of the record has the wrong type (edited)";
  }
  if (leaf_hash(row.record) != row.leaf) return "the leaf hash does not match the record (edited)";
  if (chain_hash(previous_chain, row.leaf) != row.chain) {
    return "the chain hash does not follow from the previous row (rows reordered, removed or re-chained)";
  }
  return {};
}

}  // namespace

VerifyReport verify(const SqliteStore& store) {
  VerifyReport report;
  const auto integrity = store.integrity_check();
  if (integrity != "ok") {
    report.problem = "SQLite integrity check failed: " + integrity;
    return report;
  }
  auto chain = genesis_chain();
  std::int64_t expected = 1;
  store.scan(EventQuery{}, [&](const StoredEvent& row) {
    auto problem = check_row(row, expected, chain);
    if (!problem.empty()) {
      report.bad_seq = row.seq;
      report.problem = std::move(problem);
      return false;
    }
    chain = row.chain;
    ++expected;
    ++report.events;
    return true;
  });
  report.head = mcp::to_hex(chain);
  report.ok = report.problem.empty();
  return report;
}

}  // namespace sluice::audit
