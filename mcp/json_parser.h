// The JSON parser of the message path. It builds exactly the nlohmann::json value that
// nlohmann::json::parse builds from the same text, and rejects what it rejects
// (ill-formed UTF-8 in strings, lone surrogate escapes, control characters, trailing
// text) and one thing more: a NUL byte after the document, which nlohmann takes for
// the end of the input (tests/fuzz/json_parse.cc holds the two to that). It reads a
// string a run of bytes at a time instead of one byte per call, and stops at the
// nesting limit instead of after it. Profiled: nlohmann's own parser was a third of
// what Sluice spent per small message and almost all of it on a large one.
#pragma once

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sluice::mcp {

enum class JsonFault { none, syntax, too_deep };

// Parses one document (a leading UTF-8 byte order mark is skipped, as nlohmann does)
// into `out`. A container opened deeper than `max_depth` levels is `too_deep`, also
// when the text would have turned out to be invalid further on.
JsonFault parse_json(std::string_view text, int max_depth, nlohmann::json& out);

// How many bytes at the start of `text` stand for themselves inside a JSON string:
// printable ASCII other than the quote and the backslash. Read eight at a time.
std::size_t plain_json_run(std::string_view text);

// Whether `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates,
// nothing past U+10FFFF), by the rule the parser applies inside strings.
bool is_well_formed_utf8(std::string_view text);

}  // namespace sluice::mcp
