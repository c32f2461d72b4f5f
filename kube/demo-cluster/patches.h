// The patch formats kubectl and server-side apply send: JSON patch (RFC 6902),
// JSON merge patch (RFC 7386) and strategic merge patch (a merge patch in which
// lists of named objects, such as containers and env, merge by name).
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace sluice::kube::demo {

enum class PatchType { json_patch, merge, strategic_merge, apply };

// Null for a content type that is not a patch format.
const PatchType* patch_type_of(std::string_view content_type);

// Throws ApiError (422) when the patch cannot be applied.
nlohmann::json apply_patch(PatchType type, const nlohmann::json& target, const nlohmann::json& patch);

}  // namespace sluice::kube::demo
