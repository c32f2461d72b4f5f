// Parses fuzz input as JSON no deeper than Sluice's own parser lets a message be
// (mcp::ParseLimits), so that targets behind that parser get the values it passes.
#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

inline std::optional<nlohmann::json> parse_bounded_json(std::string_view text, int max_depth = 128) {
  struct TooDeep {};
  try {
    return nlohmann::json::parse(
        text,
        [max_depth](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
          if (depth > max_depth) throw TooDeep{};
          return true;
        });
  } catch (const TooDeep&) {
    return std::nullopt;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}
