#include "audit/verifier.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "audit/checkpoint.h"
#include "audit/hash_chain.h"
#include "audit/merkle.h"
#include "mcp/digest.h"

namespace sluice::audit {
namespace {

using json = nlohmann::json;

// Empty when the record and the row's own columns agree.
std::string check_row(const StoredEvent& row, const json& record, std::int64_t expected_seq,
                      const std::string& previous_chain) {
  if (row.seq != expected_seq) {
    return row.seq > expected_seq ? "rows " + std::to_string(expected_seq) + ".." + std::to_string(row.seq - 1) +
                                        " are missing (deleted)"
                                  : "sequence number out of order";
  }
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
  } catch (const json::exception&) {
    return "a field of the record has the wrong type (edited)";
  }
  if (leaf_hash(row.record) != row.leaf) return "the leaf hash does not match the record (edited)";
  if (chain_hash(previous_chain, row.leaf) != row.chain) {
    return "the chain hash does not follow from the previous row (rows reordered, removed or re-chained)";
  }
  return {};
}

std::string data_text(const json& record, const char* key) {
  const auto data = record.find("data");
  if (data == record.end() || !data->is_object()) return {};
  const auto value = data->find(key);
  return value != data->end() && value->is_string() ? value->get<std::string>() : std::string();
}

// The checks that span rows: checkpoints against the Merkle tree, the external
// checkpoint, and which key signed them.
class FileVerifier {
 public:
  FileVerifier(const SqliteStore& store, const VerifyOptions& options, VerifyReport& report)
      : store_(store), options_(options), report_(report) {}

  // The chain value before the first row, and what a predecessor says it must be.
  bool run(std::string start_chain, const std::optional<std::pair<std::int64_t, std::string>>& link) {
    const auto integrity = store_.integrity_check();
    if (integrity != "ok") return fail({}, "SQLite integrity check failed: " + integrity);
    chain_ = std::move(start_chain);
    std::int64_t expected = 1;
    store_.scan(EventQuery{}, [&](const StoredEvent& row) {
      const auto record = json::parse(row.record, nullptr, false);
      if (row.seq == 1 && !take_first_row(row, record, link)) return false;
      auto problem = check_row(row, record, expected, chain_);
      if (problem.empty() && row.kind == "checkpoint") problem = check_checkpoint(row, record);
      if (!problem.empty()) return fail(row.seq, std::move(problem));
      if (row.kind == "seal") successor_ = data_text(record, "next");
      frontier_.append(row.leaf);
      if (external_ && frontier_.size() == external_->size) external_root_ = frontier_.root();
      chain_ = row.chain;
      last_seq_ = row.seq;
      last_kind_ = row.kind;
      ++expected;
      ++report_.events;
      return true;
    });
    if (!report_.problem.empty()) return false;
    if (link && last_seq_ == 0) return fail({}, "the file is empty, but its predecessor was sealed into it");
    report_.head = mcp::to_hex(chain_);
    return check_external();
  }

  [[nodiscard]] const std::string& successor() const { return successor_; }
  [[nodiscard]] std::int64_t last_seq() const { return last_seq_; }
  [[nodiscard]] const std::string& head_chain() const { return chain_; }

  // Reads the external checkpoint before the scan when it belongs to this file.
  bool prepare_external() {
    if (!options_.external_checkpoint) return true;
    const auto& note = *options_.external_checkpoint;
    // Signed by the pinned key, or else by the key the log's own checkpoints name.
    std::optional<NoteVerifier> verifier = options_.key;
    std::string error;
    if (!verifier) {
      EventQuery newest_checkpoint;
      newest_checkpoint.kind = "checkpoint";
      newest_checkpoint.limit = 1;
      newest_checkpoint.newest_first = true;
      store_.scan(newest_checkpoint, [&](const StoredEvent& row) {
        verifier = NoteVerifier::parse(data_text(json::parse(row.record, nullptr, false), "key"), error);
        return false;
      });
    }
    if (!verifier) return fail({}, "cannot check the checkpoint file: no key given (--key) and none in the log");
    const auto opened = open_note(note, *verifier);
    if (!opened.ok) return fail({}, "checkpoint file: " + opened.error);
    const auto checkpoint = parse_checkpoint(opened.text, error);
    if (!checkpoint) return fail({}, "checkpoint file: " + error);
    if (checkpoint->origin != origin_for_log(store_.log_id())) return true;  // another file of the chain
    external_ = checkpoint;
    return true;
  }

  [[nodiscard]] bool external_matched() const { return external_.has_value(); }

 private:
  bool fail(std::optional<std::int64_t> seq, std::string problem) {
    report_.head = mcp::to_hex(chain_);
    report_.bad_file = store_.path();
    report_.bad_seq = seq;
    report_.problem = std::move(problem);
    return false;
  }

  // A file that continues a sealed one starts its chain from that file's head.
  bool take_first_row(const StoredEvent& row, const json& record,
                      const std::optional<std::pair<std::int64_t, std::string>>& link) {
    if (row.kind != "continue") {
      if (link) return fail(row.seq, "the predecessor was sealed into this file, but it does not continue it (files swapped?)");
      return true;
    }
    const auto claimed = mcp::from_hex(data_text(record, "previous_head"));
    if (!claimed || claimed->size() != 32) return fail(row.seq, "the continuation names no previous head");
    if (link) {
      const auto previous_seq = record.contains("data") ? record["data"].value("previous_seq", std::int64_t{-1}) : -1;
      if (*claimed != link->second || previous_seq != link->first) {
        return fail(row.seq, "continues another file than its predecessor (files swapped or replaced)");
      }
    } else {
      report_.notes.push_back(store_.path() + " continues " + data_text(record, "previous") +
                              "; verify from the first file to check that link");
    }
    chain_ = *claimed;
    return true;
  }

  std::string check_checkpoint(const StoredEvent& row, const json& record) {
    const auto named_key = data_text(record, "key");
    std::string error;
    std::optional<NoteVerifier> verifier;
    if (options_.key) {
      if (named_key != options_.key->verifier_key()) {
        return "the checkpoint is signed by another key (" + named_key + ") than the one given";
      }
      verifier = options_.key;
    } else {
      verifier = NoteVerifier::parse(named_key, error);
      if (!verifier) return "the checkpoint's key is malformed: " + error;
      if (!log_key_.empty() && log_key_ != named_key) return "the checkpoints are signed by different keys";
    }
    log_key_ = named_key;
    const auto opened = open_note(data_text(record, "note"), *verifier);
    if (!opened.ok) return "checkpoint: " + opened.error;
    const auto checkpoint = parse_checkpoint(opened.text, error);
    if (!checkpoint) return "checkpoint: " + error;
    if (checkpoint->origin != origin_for_log(store_.log_id())) {
      return "the checkpoint is for another log (" + checkpoint->origin + ")";
    }
    if (checkpoint->size != frontier_.size()) {
      return "the checkpoint attests " + std::to_string(checkpoint->size) + " rows, but " +
             std::to_string(frontier_.size()) + " precede it";
    }
    if (checkpoint->root != frontier_.root()) {
      return "the Merkle root of rows 1.." + std::to_string(checkpoint->size) +
             " differs from the signed checkpoint (rows edited and re-chained)";
    }
    ++report_.checkpoints;
    last_checkpoint_ = row.seq;
    return {};
  }

  bool check_external() {
    if (last_checkpoint_ > 0 && last_checkpoint_ < last_seq_ && last_kind_ != "seal") {
      report_.notes.push_back(store_.path() + ": rows " + std::to_string(last_checkpoint_ + 1) + ".." +
                              std::to_string(last_seq_) + " come after the last signed checkpoint");
    }
    if (!external_) return true;
    const auto rows = static_cast<std::uint64_t>(last_seq_);
    if (external_->size > rows) {
      report_.truncated = true;
      return fail(last_seq_ + 1, "TRUNCATED: the checkpoint file attests " + std::to_string(external_->size) +
                                     " rows, but the log ends at row " + std::to_string(rows) + ": rows " +
                                     std::to_string(rows + 1) + ".." + std::to_string(external_->size) +
                                     " were removed");
    }
    const auto root = external_->size == 0 ? mcp::sha256("") : external_root_;
    if (root != external_->root) {
      return fail({}, "the Merkle root of rows 1.." + std::to_string(external_->size) +
                          " differs from the checkpoint file (the log was rewritten)");
    }
    if (external_->size < rows) {
      report_.notes.push_back(store_.path() + ": rows " + std::to_string(external_->size + 1) + ".." +
                              std::to_string(rows) + " are newer than the checkpoint file (unattested by it)");
    }
    return true;
  }

  const SqliteStore& store_;
  const VerifyOptions& options_;
  VerifyReport& report_;
  std::string chain_;
  MerkleFrontier frontier_;
  std::optional<Checkpoint> external_;
  std::string external_root_;
  std::string log_key_;
  std::string successor_;
  std::int64_t last_seq_ = 0;
  std::int64_t last_checkpoint_ = 0;
  std::string last_kind_;
};

void note_unpinned_key(const VerifyOptions& options, VerifyReport& report) {
  if (report.ok && report.checkpoints > 0 && !options.key) {
    report.notes.push_back("checkpoint signatures were checked against the key the log names; pass --key to pin it");
  }
}

}  // namespace

VerifyReport verify(const SqliteStore& store, const VerifyOptions& options) {
  VerifyReport report;
  report.files.push_back(store.path());
  FileVerifier file(store, options, report);
  report.ok = file.prepare_external() && file.run(genesis_chain(), std::nullopt);
  if (report.ok && options.external_checkpoint && !file.external_matched()) {
    report.ok = false;
    report.problem = "the checkpoint file is for another log than " + store.path();
  }
  note_unpinned_key(options, report);
  return report;
}

VerifyReport verify(const std::string& path, const VerifyOptions& options) {
  VerifyReport report;
  std::string current = path;
  std::optional<std::pair<std::int64_t, std::string>> link;
  bool external_matched = false;
  for (;;) {
    std::unique_ptr<SqliteStore> store;
    try {
      store = std::make_unique<SqliteStore>(current, Durability::normal, true);
    } catch (const StoreError& e) {
      report.bad_file = current;
      report.problem = link ? std::string("the successor of a sealed file cannot be read: ") + e.what() : e.what();
      return report;
    }
    report.files.push_back(current);
    FileVerifier file(*store, options, report);
    if (!file.prepare_external() || !file.run(genesis_chain(), link)) return report;
    external_matched = external_matched || file.external_matched();
    if (file.successor().empty()) break;
    if (report.files.size() > 10000) {
      report.problem = "more than 10000 sealed files in a row";
      return report;
    }
    link = std::make_pair(file.last_seq(), file.head_chain());
    current = (std::filesystem::path(current).parent_path() / file.successor()).string();
    if (std::filesystem::path(file.successor()).is_absolute()) current = file.successor();
  }
  if (options.external_checkpoint && !external_matched) {
    report.problem = "the checkpoint file is for none of the files verified (another log)";
    return report;
  }
  report.ok = true;
  note_unpinned_key(options, report);
  return report;
}

}  // namespace sluice::audit
