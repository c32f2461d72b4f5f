// A quick check of JSON text before it is parsed: a pass over the bytes that says
// whether nlohmann's parse (and parse_frame's depth limit) would certainly accept it,
// for a caller that then needs only a few of its members (mcp/json_members.h) and can
// leave the rest unread. It is stricter than the parser on purpose: what it cannot
// vouch for without decoding (non-ASCII bytes, \u escapes of surrogates or of NUL,
// numbers with an exponent or of over 300 characters, which may overflow) it refuses,
// and the caller parses the text in full as before.
#pragma once

#include <string_view>

namespace sluice::mcp {

// true: `text` is one JSON value, ASCII only, nested at most `max_depth` deep, that
// the parser accepts. false: it is not, or the check cannot tell.
bool plainly_valid_json(std::string_view text, int max_depth);

}  // namespace sluice::mcp
