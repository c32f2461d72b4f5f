#include "webui/html.h"

namespace sluice::webui {

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string error_page(std::string_view title, std::string_view message) {
  return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html_escape(title) +
         " · Sluice</title><link rel=\"stylesheet\" href=\"/assets/app.css\"></head>\n<body><main class=\"narrow\"><h1>" +
         html_escape(title) + "</h1><p>" + html_escape(message) + "</p><p><a href=\"/\">Pending approvals</a></p></main></body></html>\n";
}

}  // namespace sluice::webui
