#include "kube/timestamps.h"

#include <cstdio>
#include <ctime>

namespace sluice::kube {

std::string to_rfc3339(Clock::time_point time) {
  const std::time_t seconds = Clock::to_time_t(time);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::optional<Clock::time_point> parse_rfc3339(std::string_view text) {
  if (text.size() < 20 || text.back() != 'Z') return std::nullopt;
  std::tm utc{};
  int consumed = 0;
  const std::string copy(text);
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &utc.tm_year, &utc.tm_mon, &utc.tm_mday, &utc.tm_hour,
                  &utc.tm_min, &utc.tm_sec, &consumed) != 6 ||
      consumed != 19) {
    return std::nullopt;
  }
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  return Clock::from_time_t(::timegm(&utc));
}

std::string human_age(std::chrono::seconds age) {
  using std::to_string;
  const long long s = age.count() < 0 ? 0 : age.count();
  if (s < 120) return to_string(s) + "s";
  const long long minutes = s / 60;
  if (minutes < 10) return to_string(minutes) + "m" + (s % 60 != 0 ? to_string(s % 60) + "s" : "");
  if (minutes < 180) return to_string(minutes) + "m";
  const long long hours = s / 3600;
  if (hours < 8) return to_string(hours) + "h" + (minutes % 60 != 0 ? to_string(minutes % 60) + "m" : "");
  if (hours < 48) return to_string(hours) + "h";
  const long long days = hours / 24;
  if (days < 8) return to_string(days) + "d" + (hours % 24 != 0 ? to_string(hours % 24) + "h" : "");
  if (days < 365 * 2) return to_string(days) + "d";
  return to_string(days / 365) + "y";
}

std::string age_since(std::string_view rfc3339, Clock::time_point now) {
  const auto time = parse_rfc3339(rfc3339);
  if (!time) return "<unknown>";
  return human_age(std::chrono::duration_cast<std::chrono::seconds>(now - *time));
}

}  // namespace sluice::kube
