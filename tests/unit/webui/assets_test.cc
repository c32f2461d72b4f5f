#include <catch2/catch.hpp>

#include <regex>
#include <set>
#include <string>

#include "webui/assets.h"

using namespace sluice::webui;

TEST_CASE("the embedded assets are the files of webui/assets, with their content types") {
  std::set<std::string> names;
  for (const auto& asset : assets()) {
    names.emplace(asset.name);
    CHECK_FALSE(asset.body.empty());
  }
  CHECK(names == std::set<std::string>{"app.css", "app.html", "app.js", "favicon.svg", "login.html", "login.js"});
  REQUIRE(find_asset("app.js") != nullptr);
  CHECK(find_asset("app.js")->content_type == "text/javascript; charset=utf-8");
  CHECK(find_asset("app.html")->content_type == "text/html; charset=utf-8");
  CHECK(find_asset("app.css")->content_type == "text/css; charset=utf-8");
  CHECK(find_asset("../app.js") == nullptr);
  CHECK(find_asset("") == nullptr);
}

TEST_CASE("the pages hold no inline script or style, so the strict CSP costs nothing") {
  for (const auto* name : {"app.html", "login.html"}) {
    const std::string page(find_asset(name)->body);
    INFO(name);
    // Every <script> loads a file; no style element or attribute; no on* handlers.
    const std::regex script("<script([^>]*)>");
    for (auto it = std::sregex_iterator(page.begin(), page.end(), script); it != std::sregex_iterator(); ++it) {
      CHECK((*it)[1].str().find("src=\"/assets/") != std::string::npos);
    }
    CHECK(page.find("<style") == std::string::npos);
    CHECK(page.find("style=") == std::string::npos);
    CHECK_FALSE(std::regex_search(page, std::regex("\\son[a-z]+=", std::regex::icase)));
    CHECK(page.find("http://") == std::string::npos);
    CHECK(page.find("https://") == std::string::npos);
    // Every file the page references is embedded.
    const std::regex reference("\"/assets/([^\"]+)\"");
    for (auto it = std::sregex_iterator(page.begin(), page.end(), reference); it != std::sregex_iterator(); ++it) {
      CHECK(find_asset((*it)[1].str()) != nullptr);
    }
  }
}

TEST_CASE("the scripts never write data as HTML") {
  for (const auto* name : {"app.js", "login.js"}) {
    const std::string script(find_asset(name)->body);
    INFO(name);
    CHECK(script.find("innerHTML") == std::string::npos);
    CHECK(script.find("outerHTML") == std::string::npos);
    CHECK(script.find("insertAdjacentHTML") == std::string::npos);
    CHECK(script.find("document.write") == std::string::npos);
    CHECK(script.find("eval(") == std::string::npos);
  }
}
