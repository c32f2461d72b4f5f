// What Sluice knows of the upstream's tools: their definitions as tools/list last
// showed them, their pins, and from both, each tool's class.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/config.h"
#include "policy/pin_store.h"

namespace sluice::policy {

// Hash of the parts of a tool definition that decide what a call does: name,
// description, input schema, annotations.
std::string tool_definition_hash(const nlohmann::json& tool);

struct Classification {
  ToolClass tool_class = ToolClass::mutate;
  std::string source;  // "policy.tools", "annotations", "pin", "default"
  // The definition differs from its pin (with annotations: pinned). Such a tool's
  // calls need approval until it is re-pinned, whatever its class.
  bool changed = false;
};

// The class of a tool from the operator's list, the server's annotations (as far as
// the configuration trusts them) or the safe default. `definition` is null when the
// tool is unknown; `changed` says that pinning flagged it.
Classification classify(std::string_view tool, const nlohmann::json* definition, bool changed,
                        const PolicyConfig& policy);

class ToolCatalog {
 public:
  ToolCatalog(const PolicyConfig& policy, PinStore& pins, std::string upstream);

  // Takes one page of a tools/list result. A listing starts with a page requested
  // without a cursor (which forgets the previous listing) and ends with a page that
  // has no nextCursor. The first listing ever seen for this upstream pins every tool
  // in it; later, a tool whose definition differs from its pin, or that has none, is
  // `changed`.
  void learn(const nlohmann::json& tools, bool first_page, bool last_page);

  struct Entry {
    nlohmann::json definition;
    std::string hash;
    bool changed = false;
  };
  [[nodiscard]] const Entry* find(std::string_view tool) const;
  [[nodiscard]] bool empty() const { return tools_.empty(); }
  // Asks the pin store again for a changed tool: an operator may have re-pinned it.
  [[nodiscard]] Classification classify(std::string_view tool);

  // Whether the tool's input schema has a top-level property `name`.
  [[nodiscard]] bool takes_argument(std::string_view tool, std::string_view name) const;

  // The upstream said its tools changed (notifications/tools/list_changed): until
  // a complete listing is seen again, what is known may be out of date.
  void mark_stale() { stale_ = true; }
  [[nodiscard]] bool stale() const { return stale_; }

  // Pins the tool's current definition (an operator accepted it).
  void repin(std::string_view tool);

 private:
  const PolicyConfig& policy_;
  PinStore& pins_;
  std::string upstream_;
  std::map<std::string, Entry, std::less<>> tools_;
  bool first_listing_ = false;
  bool stale_ = false;
};

}  // namespace sluice::policy
