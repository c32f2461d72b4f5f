// Kubernetes manifests as JSON: YAML (or JSON, which is YAML) read into nlohmann::json
// with the types a Kubernetes decoder would give its scalars. Shared by sluice-kube
// (resources_apply) and the demo cluster (server-side apply bodies).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sluice::kube {

using json = nlohmann::json;

struct ManifestError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ManifestLimits {
  std::size_t max_bytes = std::size_t{4} << 20;
  int max_depth = 64;
};

// Parses one YAML or JSON document into a JSON object. Throws ManifestError naming
// the line on malformed input, more than one document, a non-object top level, or
// input beyond the limits.
json parse_manifest(std::string_view text, const ManifestLimits& limits = {});

}  // namespace sluice::kube
