#include "audit/checkpoint.h"

#include <charconv>

#include "mcp/digest.h"

namespace sluice::audit {

std::string checkpoint_text(const Checkpoint& checkpoint) {
  return checkpoint.origin + "\n" + std::to_string(checkpoint.size) + "\n" + mcp::base64_encode(checkpoint.root) + "\n";
}

std::optional<Checkpoint> parse_checkpoint(std::string_view text, std::string& error) {
  const auto take_line = [&text]() -> std::optional<std::string_view> {
    const auto end = text.find('\n');
    if (end == std::string_view::npos) return std::nullopt;
    const auto line = text.substr(0, end);
    text.remove_prefix(end + 1);
    return line;
  };
  const auto origin = take_line();
  const auto size = take_line();
  const auto root = take_line();
  if (!origin || !size || !root || origin->empty()) {
    error = "a checkpoint is three lines: origin, size, root";
    return std::nullopt;
  }
  Checkpoint checkpoint;
  checkpoint.origin = std::string(*origin);
  const auto* end = size->data() + size->size();
  const auto [last, status] = std::from_chars(size->data(), end, checkpoint.size);
  // Decimal without leading zeros, as the specification writes it.
  if (size->empty() || status != std::errc() || last != end || ((*size)[0] == '0' && size->size() > 1)) {
    error = "the checkpoint's size is not a decimal number";
    return std::nullopt;
  }
  const auto hash = mcp::base64_decode(*root);
  if (!hash || hash->size() != 32) {
    error = "the checkpoint's root is not base64 of a SHA-256 hash";
    return std::nullopt;
  }
  checkpoint.root = *hash;
  return checkpoint;
}

std::string origin_for_log(std::string_view log_id) { return "sluice.local/" + std::string(log_id); }

}  // namespace sluice::audit
