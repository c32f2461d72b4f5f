// The YAML configuration loader on hostile text: it either loads or throws a
// ConfigError (anything else escaping is a crash), and what it loads, written back
// with to_yaml, loads again to the same configuration.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "policy/config_loader.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice::policy;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Config config;
  try {
    config = load_config_text(text, "fuzz.yaml");
  } catch (const ConfigError&) {
    return 0;
  }
  const auto written = to_yaml(config);
  Config again;
  try {
    again = load_config_text(written, "written.yaml");
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "to_yaml wrote what the loader refuses: %s\n%s\n", e.what(), written.c_str());
    std::abort();
  }
  FUZZ_CHECK(to_yaml(again) == written);
  return 0;
}
