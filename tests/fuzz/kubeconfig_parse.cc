// The kubeconfig parser on hostile text: it either gives credentials or throws a
// KubeconfigError (anything else escaping is a crash). The file sits in a directory
// that does not exist, so relative credential paths cannot reach real files. The
// input's first line, when it starts with "context=", names the context to use.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "kube/kubeconfig.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice::kube;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string context;
  if (text.starts_with("context=")) {
    const auto end = text.find('\n');
    context = std::string(text.substr(8, end == std::string_view::npos ? std::string_view::npos : end - 8));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
  try {
    const auto credentials = parse_kubeconfig(text, "/nonexistent-sluice-fuzz/kubeconfig", context);
    FUZZ_CHECK(credentials.server.starts_with("https://"));
    FUZZ_CHECK(credentials.client_certificate_pem.empty() == credentials.client_key_pem.empty());
  } catch (const KubeconfigError&) {
  }
  try {
    (void)decode_base64(text, "fuzz");
  } catch (const KubeconfigError&) {
  }
  return 0;
}
