#include "policy/duration.h"

#include <charconv>
#include <cstdint>
#include <utility>

namespace sluice::policy {
namespace {

// "ms" before "m" and "s": the longest unit that ends the text wins.
constexpr std::pair<std::string_view, std::int64_t> units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 3600 * 1000}};

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::chrono::milliseconds limit) {
  for (const auto& [unit, millis] : units) {
    if (!text.ends_with(unit)) continue;
    const auto number = text.substr(0, text.size() - unit.size());
    std::int64_t value = -1;
    const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (number.empty() || error != std::errc() || end != number.data() + number.size() || value < 0 ||
        value > limit.count() / millis) {
      return std::nullopt;
    }
    return std::chrono::milliseconds(value * millis);
  }
  return std::nullopt;
}

std::string format_duration(std::chrono::milliseconds duration) {
  const auto millis = duration.count();
  for (auto unit = std::rbegin(units); unit != std::rend(units); ++unit) {
    if (millis != 0 && millis % unit->second == 0) return std::to_string(millis / unit->second) + std::string(unit->first);
  }
  return std::to_string(millis) + "ms";
}

}  // namespace sluice::policy
