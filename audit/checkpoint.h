// Checkpoints of the audit log (c2sp.org/tlog-checkpoint): origin, tree size and
// the RFC 6962 root, signed as a note. One is written into the log every so many
// rows and at shutdown, and copied to a file outside it, because only an outside
// copy reveals a tail cut off the log (docs/audit-format.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::audit {

struct Checkpoint {
  std::string origin;  // sluice.local/<log id>
  std::uint64_t size = 0;
  std::string root;    // raw 32 bytes
};

// The note text: "origin\nsize\nbase64(root)\n".
std::string checkpoint_text(const Checkpoint& checkpoint);
// Nullopt, with the reason, unless `text` is a checkpoint body (extension lines
// after the root are allowed and ignored, as the specification says).
std::optional<Checkpoint> parse_checkpoint(std::string_view text, std::string& error);

std::string origin_for_log(std::string_view log_id);

}  // namespace sluice::audit
