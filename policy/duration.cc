#include "policy/duration.h"

#include <charconv>
#include <cstdint>
#include <utility>

namespace sluice::policy {
namespace {

using namespace std::chrono_literals;

// "us" and "ms" before "m" and "s": the longest unit that ends the text wins.
constexpr std::pair<std::string_view, std::chrono::microseconds> units[] = {
    {"us", 1us}, {"ms", 1ms}, {"s", 1s}, {"m", 1min}, {"h", 1h}};

// Units finer than `Duration` are not offered: a timeout in milliseconds does not take "us".
template <typename Duration>
std::optional<Duration> parse_in(std::string_view text, Duration limit) {
  for (const auto& [unit, length] : units) {
    if (length < Duration(1) || !text.ends_with(unit)) continue;
    const auto per_unit = std::chrono::duration_cast<Duration>(length).count();
    const auto number = text.substr(0, text.size() - unit.size());
    std::int64_t value = -1;
    const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (number.empty() || error != std::errc() || end != number.data() + number.size() || value < 0 ||
        value > limit.count() / per_unit) {
      return std::nullopt;
    }
    return Duration(value * per_unit);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text,
                                                        std::chrono::milliseconds limit) {
  return parse_in(text, limit);
}

std::optional<std::chrono::microseconds> parse_fine_duration(std::string_view text,
                                                             std::chrono::microseconds limit) {
  return parse_in(text, limit);
}

std::string format_duration(std::chrono::milliseconds duration) {
  const auto millis = duration.count();
  for (auto unit = std::rbegin(units); unit != std::rend(units) && unit->second >= 1ms; ++unit) {
    const auto per_unit = std::chrono::duration_cast<std::chrono::milliseconds>(unit->second).count();
    if (millis != 0 && millis % per_unit == 0)
      return std::to_string(millis / per_unit) + std::string(unit->first);
  }
  return std::to_string(millis) + "ms";
}

}  // namespace sluice::policy
