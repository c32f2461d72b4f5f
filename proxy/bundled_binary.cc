#include "proxy/bundled_binary.h"

#include <system_error>

namespace sluice::proxy {

std::filesystem::path expected_next_to_sluice(std::string_view name) {
  std::error_code ec;
  // /proc/self/exe, not argv[0]: a client may start sluice through a symlink or PATH.
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return self.parent_path() / name;
}

std::optional<std::filesystem::path> installed_next_to_sluice(std::string_view name) {
  auto path = expected_next_to_sluice(name);
  std::error_code ec;
  if (path.parent_path().empty() || !std::filesystem::exists(path, ec)) return std::nullopt;
  return path;
}

}  // namespace sluice::proxy
