// Escaping for the few values the server itself writes into HTML (error pages); the
// pages' scripts put data into the DOM with textContent only.
#pragma once

#include <string>
#include <string_view>

namespace sluice::webui {

// & < > " ' as character references; safe in text and in quoted attribute values.
std::string html_escape(std::string_view text);

// A complete, self-contained page saying `title` and `message`, both escaped.
std::string error_page(std::string_view title, std::string_view message);

}  // namespace sluice::webui
