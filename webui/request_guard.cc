#include "webui/request_guard.h"

#include <openssl/crypto.h>

#include <algorithm>


namespace sluice::webui {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::string_view to_string(GuardVerdict verdict) {
  switch (verdict) {
    case GuardVerdict::ok: return "ok";
    case GuardVerdict::bad_host: return "the Host header names no address this server answers to";
    case GuardVerdict::cross_site: return "cross-site requests are refused";
    case GuardVerdict::bad_origin: return "the Origin header is missing or is not this server";
    case GuardVerdict::bad_token: return "the CSRF token is missing or wrong; reload the page";
  }
  return "refused";
}

OriginPolicy origin_policy_for(std::string_view host, unsigned short port) {
  OriginPolicy policy;
  if (host == "0.0.0.0" || host == "::" || host.empty()) return policy;
  const auto suffix = ":" + std::to_string(port);
  const bool ipv6 = host.find(':') != std::string_view::npos;
  policy.hosts.push_back((ipv6 ? "[" + std::string(host) + "]" : std::string(host)) + suffix);
  if (host == "127.0.0.1" || host == "::1" || host == "localhost") {
    for (const auto* name : {"localhost", "127.0.0.1", "[::1]"}) {
      const auto value = name + suffix;
      if (std::find(policy.hosts.begin(), policy.hosts.end(), value) == policy.hosts.end()) policy.hosts.push_back(value);
    }
  }
  return policy;
}

GuardVerdict check_host(const OriginPolicy& policy, std::string_view host) {
  if (host.empty()) return GuardVerdict::bad_host;
  if (policy.hosts.empty()) return GuardVerdict::ok;
  for (const auto& allowed : policy.hosts) {
    if (equal_ignoring_case(allowed, host)) return GuardVerdict::ok;
  }
  return GuardVerdict::bad_host;
}

GuardVerdict check_unsafe_request(const OriginPolicy& policy, std::string_view host, std::string_view origin,
                                  std::string_view sec_fetch_site, std::string_view token,
                                  std::string_view expected_token) {
  if (check_host(policy, host) != GuardVerdict::ok) return GuardVerdict::bad_host;
  if (equal_ignoring_case(sec_fetch_site, "cross-site")) return GuardVerdict::cross_site;
  // OWASP: without Origin we cannot tell where the request came from, so refuse.
  if (!equal_ignoring_case(origin, "http://" + std::string(host))) return GuardVerdict::bad_origin;
  if (!expected_token.empty() && !constant_time_equal(token, expected_token)) return GuardVerdict::bad_token;
  return GuardVerdict::ok;
}

std::optional<std::string> find_cookie(std::string_view header, std::string_view name) {
  std::optional<std::string> found;
  while (!header.empty()) {
    const auto end = header.find(';');
    const auto pair = trim(header.substr(0, end));
    header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
    const auto equals = pair.find('=');
    if (equals == std::string_view::npos || trim(pair.substr(0, equals)) != name) continue;
    // Two cookies of one name (one planted by a sibling subdomain or port) are ambiguous.
    if (found) return std::nullopt;
    auto value = trim(pair.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    found = std::string(value);
  }
  return found;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace sluice::webui
