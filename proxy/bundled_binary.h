// The programs installed next to `sluice` (sluice-kube, sluice-demo-cluster): how
// `sluice run` finds its default upstream and `sluice demo` its cluster.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

namespace sluice::proxy {

// The program `name` in the directory of the running sluice binary, when it exists.
std::optional<std::filesystem::path> installed_next_to_sluice(std::string_view name);

// Where installed_next_to_sluice() looks for `name`, for error messages.
std::filesystem::path expected_next_to_sluice(std::string_view name);

}  // namespace sluice::proxy
