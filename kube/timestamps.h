// Kubernetes timestamps (RFC 3339, UTC, whole seconds) and the short ages
// ("45s", "12m", "3d4h") that kubectl prints; shared by sluice-kube's text output
// and the demo cluster's tables.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::kube {

using Clock = std::chrono::system_clock;

std::string to_rfc3339(Clock::time_point time);
// Nullopt unless `text` is `YYYY-MM-DDTHH:MM:SS[.fraction]Z`.
std::optional<Clock::time_point> parse_rfc3339(std::string_view text);
// kubectl's HumanDuration; "<unknown>" for a time that cannot be read.
std::string human_age(std::chrono::seconds age);
std::string age_since(std::string_view rfc3339, Clock::time_point now);

}  // namespace sluice::kube
