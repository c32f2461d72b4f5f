#include "kube/demo-cluster/patches.h"

#include <algorithm>
#include <string>

#include "kube/demo-cluster/cluster_state.h"

namespace sluice::kube::demo {
namespace {

using json = nlohmann::json;

bool named_objects(const json& list) {
  return list.is_array() && std::all_of(list.begin(), list.end(), [](const json& element) {
           return element.is_object() && element.contains("name") && element["name"].is_string();
         });
}

json strategic_merge(json target, const json& patch) {
  if (!patch.is_object()) return patch;
  if (!target.is_object()) target = json::object();
  for (const auto& [key, value] : patch.items()) {
    // Element-order hints only reorder lists; the order of a merge result is ours to pick.
    if (key.rfind("$setElementOrder/", 0) == 0 || key == "$retainKeys") continue;
    if (key.rfind('$', 0) == 0) {
      throw ApiError(422, "Invalid", "strategic merge patch directive \"" + key + "\" is not supported by the demo cluster");
    }
    if (value.is_null()) {
      target.erase(key);
    } else if (value.is_array() && named_objects(value) && target.contains(key) && named_objects(target[key])) {
      json& list = target[key];
      for (const auto& element : value) {
        auto existing = std::find_if(list.begin(), list.end(),
                                     [&](const json& item) { return item["name"] == element["name"]; });
        if (existing == list.end()) list.push_back(strategic_merge(json::object(), element));
        else *existing = strategic_merge(*existing, element);
      }
    } else {
      target[key] = strategic_merge(target.contains(key) ? target[key] : json(), value);
    }
  }
  return target;
}

}  // namespace

const PatchType* patch_type_of(std::string_view content_type) {
  static constexpr PatchType json_patch = PatchType::json_patch;
  static constexpr PatchType merge = PatchType::merge;
  static constexpr PatchType strategic = PatchType::strategic_merge;
  static constexpr PatchType apply = PatchType::apply;
  const auto media = content_type.substr(0, content_type.find(';'));
  if (media == "application/json-patch+json") return &json_patch;
  if (media == "application/merge-patch+json") return &merge;
  if (media == "application/strategic-merge-patch+json") return &strategic;
  if (media == "application/apply-patch+yaml" || media == "application/apply-patch+json") return &apply;
  return nullptr;
}

json apply_patch(PatchType type, const json& target, const json& patch) {
  try {
    switch (type) {
      case PatchType::json_patch:
        return target.patch(patch);
      case PatchType::merge: {
        json result = target;
        result.merge_patch(patch);
        return result;
      }
      case PatchType::strategic_merge:
      case PatchType::apply:
        return strategic_merge(target, patch);
    }
  } catch (const json::exception& error) {
    throw ApiError(422, "Invalid", std::string("the patch cannot be applied: ") + error.what());
  }
  return target;
}

}  // namespace sluice::kube::demo
