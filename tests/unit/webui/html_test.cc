#include <catch2/catch.hpp>

#include "webui/html.h"

using namespace sluice::webui;

TEST_CASE("html_escape neutralises markup in text and in quoted attributes") {
  CHECK(html_escape("<script>alert('x')</script>") == "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
  CHECK(html_escape("a & b") == "a &amp; b");
  CHECK(html_escape("\" onerror=\"x") == "&quot; onerror=&quot;x");
  CHECK(html_escape("plain text, ünïcode") == "plain text, ünïcode");
  CHECK(html_escape("&amp;") == "&amp;amp;");
}

TEST_CASE("an error page escapes what it is given and loads no inline code") {
  const auto page = error_page("Not <found>", "There is no page at /<img src=x onerror=alert(1)>.");
  CHECK(page.find("<img") == std::string::npos);
  CHECK(page.find("&lt;img src=x onerror=alert(1)&gt;") != std::string::npos);
  CHECK(page.find("Not &lt;found&gt;") != std::string::npos);
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("style=") == std::string::npos);
}
