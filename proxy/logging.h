// Sluice logs to stderr only: in stdio mode stdout is the MCP channel.
#pragma once

#include <string_view>

namespace sluice::proxy {

enum class LogFormat { text, json };

// Throws std::invalid_argument naming the accepted values.
void configure_logging(std::string_view level, LogFormat format);
LogFormat parse_log_format(std::string_view text);

}  // namespace sluice::proxy
