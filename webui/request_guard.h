// The checks every request to the web UI passes before a handler sees it: the Host
// header (DNS rebinding), and for state-changing requests the exact Origin (scheme,
// host and port: cookies are not separated by port, so SameSite alone would let any
// other localhost app through), Sec-Fetch-Site, and the session's CSRF token.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::webui {

struct OriginPolicy {
  // The Host header values accepted ("127.0.0.1:8766", "localhost:8766"); empty
  // accepts any host (a wildcard bind behind a name we cannot know), in which case
  // Origin must still equal http://<Host>.
  std::vector<std::string> hosts;
};

enum class GuardVerdict { ok, bad_host, cross_site, bad_origin, bad_token };
std::string_view to_string(GuardVerdict verdict);

// The Host values a server bound to `host`:`port` answers to: the address itself,
// and for loopback also localhost, 127.0.0.1 and [::1]; empty for a wildcard address.
OriginPolicy origin_policy_for(std::string_view host, unsigned short port);

GuardVerdict check_host(const OriginPolicy& policy, std::string_view host);

// For POST and every other unsafe method. `expected_token` empty means no token is
// required (the login form, which has none yet; Origin still must match).
GuardVerdict check_unsafe_request(const OriginPolicy& policy, std::string_view host, std::string_view origin,
                                  std::string_view sec_fetch_site, std::string_view token,
                                  std::string_view expected_token);

// The value of cookie `name` in a Cookie header, if present exactly once.
std::optional<std::string> find_cookie(std::string_view header, std::string_view name);

bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace sluice::webui
