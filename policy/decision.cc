#include "policy/decision.h"

#include <array>
#include <utility>

namespace sluice::policy {
namespace {

template <class Enum, std::size_t N>
std::optional<Enum> lookup(const std::array<std::pair<Enum, std::string_view>, N>& names, std::string_view text) {
  for (const auto& [value, name] : names) {
    if (name == text) return value;
  }
  return std::nullopt;
}

template <class Enum, std::size_t N>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& names, Enum value) {
  for (const auto& [candidate, name] : names) {
    if (candidate == value) return name;
  }
  return "?";
}

constexpr std::array<std::pair<Action, std::string_view>, 4> action_names{{
    {Action::allow, "allow"},
    {Action::deny, "deny"},
    {Action::dry_run, "dry_run"},
    {Action::require_approval, "require_approval"},
}};
constexpr std::array<std::pair<ToolClass, std::string_view>, 4> class_names{{
    {ToolClass::read, "read"},
    {ToolClass::mutate, "mutate"},
    {ToolClass::destructive, "destructive"},
    {ToolClass::changed, "changed"},
}};
constexpr std::array<std::pair<Mode, std::string_view>, 3> mode_names{{
    {Mode::enforce, "enforce"},
    {Mode::dry_run, "dry_run"},
    {Mode::monitor, "monitor"},
}};

}  // namespace

std::string_view to_string(Action action) { return name_of(action_names, action); }
std::string_view to_string(ToolClass tool_class) { return name_of(class_names, tool_class); }
std::string_view to_string(Mode mode) { return name_of(mode_names, mode); }
std::optional<Action> parse_action(std::string_view text) { return lookup(action_names, text); }
std::optional<ToolClass> parse_tool_class(std::string_view text) { return lookup(class_names, text); }
std::optional<Mode> parse_mode(std::string_view text) { return lookup(mode_names, text); }

}  // namespace sluice::policy
