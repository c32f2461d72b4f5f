// Durations as operators write them, in sluice.yaml and on the command line:
// a whole number and a unit, ms, s, m or h ("500ms", "15m"); us as well where a
// setting is finer than a millisecond ("50us").
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::policy {

// nullopt unless `text` is such a duration of at most `limit`.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text,
                                                        std::chrono::milliseconds limit);

// The same, with us (microseconds) among the units.
std::optional<std::chrono::microseconds> parse_fine_duration(std::string_view text,
                                                             std::chrono::microseconds limit);

// The same form back, in the largest unit that holds it whole: "5m", "1500ms".
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace sluice::policy
