// Recomputes the audit log's hash chain, Merkle roots and signed checkpoints from its
// records and says whether they hold, and if not, which row is the first that does
// not and why. Follows sealed files into their successors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/signed_note.h"
#include "audit/sqlite_store.h"

namespace sluice::audit {

struct VerifyOptions {
  // The verifier key checkpoints must be signed by. Without one, each checkpoint is
  // checked against the key it names, which shows consistency but not authenticity.
  std::optional<NoteVerifier> key;
  // A signed checkpoint kept outside the log (audit.checkpoint_file): the log must
  // still hold everything it attests.
  std::optional<std::string> external_checkpoint;
};

struct VerifyReport {
  bool ok = false;
  std::int64_t events = 0;        // rows checked, over all files
  std::int64_t checkpoints = 0;   // signed checkpoints checked
  std::string head;               // hex chain of the last good row
  std::vector<std::string> files; // in chain order
  std::string bad_file;
  std::optional<std::int64_t> bad_seq;
  std::string problem;            // what is wrong, empty when ok
  bool truncated = false;         // the external checkpoint attests rows that are gone
  std::vector<std::string> notes; // what holds but is worth knowing (unattested rows, unpinned key)
};

// Verifies the file at `path` and every file it was sealed into.
VerifyReport verify(const std::string& path, const VerifyOptions& options = {});
// Verifies one open file only.
VerifyReport verify(const SqliteStore& store, const VerifyOptions& options = {});

}  // namespace sluice::audit
