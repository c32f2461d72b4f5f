// The web UI's static files (webui/assets/), embedded in the binary at build time by
// webui/embed_assets.cmake, so a running Sluice needs no files and loads nothing from
// elsewhere.
#pragma once

#include <span>
#include <string_view>

namespace sluice::webui {

struct Asset {
  std::string_view name;  // file name under webui/assets/, served at /assets/<name>
  std::string_view content_type;
  std::string_view body;
};

std::span<const Asset> assets();
const Asset* find_asset(std::string_view name);

}  // namespace sluice::webui
