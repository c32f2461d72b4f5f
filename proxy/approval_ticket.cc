#include "proxy/approval_ticket.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <openssl/crypto.h>
#include <nlohmann/json.hpp>

#include "mcp/digest.h"
#include "mcp/random_id.h"

namespace sluice::proxy {
namespace {

using nlohmann::json;

constexpr std::string_view ticket_prefix = "sluice.v1.";
constexpr std::size_t key_bytes = 32;
// A ticket is a few hundred bytes; an upstream's wrapped state is bounded by the
// message size limit. This only stops absurd input before any decoding.
constexpr std::size_t max_ticket_chars = std::size_t{1} << 20;

std::runtime_error key_error(const std::string& path, const std::string& what) {
  return std::runtime_error(path + ": approval.state_key: " + what);
}

std::string read_or_create_key(const std::string& path) {
  // Written whole under another name, then linked into place: several Sluices sharing one
  // audit log may start at once, and none may read a key file that is not yet written.
  const auto draft = path + ".new-" + mcp::random_hex(8);
  const int fd = ::open(draft.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw key_error(path, std::string("cannot create the key file: ") + std::strerror(errno));
  const auto fresh = mcp::random_hex(key_bytes);
  const bool written =
      ::write(fd, fresh.data(), fresh.size()) == static_cast<ssize_t>(fresh.size()) && ::fsync(fd) == 0;
  ::close(fd);
  const int linked = written ? ::link(draft.c_str(), path.c_str()) : -1;
  const int link_errno = errno;
  ::unlink(draft.c_str());
  if (!written) throw key_error(path, std::string("cannot write the new key: ") + std::strerror(link_errno));
  if (linked == 0) return fresh;
  if (link_errno != EEXIST)
    throw key_error(path, std::string("cannot create the key file: ") + std::strerror(link_errno));
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    throw key_error(path, std::string("cannot read: ") + std::strerror(errno));
  if ((info.st_mode & 077) != 0) {
    throw key_error(path, "others may read the key (mode " + std::to_string(info.st_mode & 0777) +
                              "); `chmod 600` it, or delete it and Sluice makes a new one");
  }
  std::ifstream in(path, std::ios::binary);
  std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  if (!in.good() && !in.eof()) throw key_error(path, "cannot read the key");
  if (key.size() != 2 * key_bytes || !mcp::from_hex(key)) throw key_error(path, "expected 64 hex digits");
  return key;
}

}  // namespace

TicketSeal TicketSeal::from_key_file(const std::string& path) {
  if (path.empty()) return TicketSeal(mcp::random_hex(key_bytes));
  return TicketSeal(read_or_create_key(path));
}

std::string TicketSeal::seal(const ApprovalTicket& ticket) const {
  json payload = {
      {"approval", ticket.approval_id}, {"tool", ticket.tool},       {"argumentsHash", ticket.arguments_hash},
      {"principal", ticket.principal},  {"expires", ticket.expires},
  };
  if (ticket.upstream_state) payload["upstreamState"] = *ticket.upstream_state;
  const auto body = std::string(ticket_prefix) + mcp::base64_encode(mcp::canonical_json(payload));
  return body + "." + mcp::to_hex(mcp::hmac_sha256(key_, body));
}

std::optional<ApprovalTicket> TicketSeal::open(std::string_view state) const {
  if (!claims_ours(state) || state.size() > max_ticket_chars) return std::nullopt;
  const auto dot = state.rfind('.');
  const auto body = state.substr(0, dot);
  const auto mac = mcp::from_hex(state.substr(dot + 1));
  const auto expected = mcp::hmac_sha256(key_, body);
  if (!mac || mac->size() != expected.size() ||
      CRYPTO_memcmp(mac->data(), expected.data(), expected.size()) != 0) {
    return std::nullopt;
  }
  // Sealed by this key, so the text is Sluice's own; parsed defensively all the same.
  const auto decoded = mcp::base64_decode(body.substr(ticket_prefix.size()));
  if (!decoded) return std::nullopt;
  const auto payload = json::parse(*decoded, nullptr, false);
  if (!payload.is_object()) return std::nullopt;
  ApprovalTicket ticket;
  for (auto [field, key] :
       {std::pair{&ticket.approval_id, "approval"}, std::pair{&ticket.tool, "tool"},
        std::pair{&ticket.arguments_hash, "argumentsHash"}, std::pair{&ticket.principal, "principal"},
        std::pair{&ticket.expires, "expires"}}) {
    const auto found = payload.find(key);
    if (found == payload.end() || !found->is_string()) return std::nullopt;
    *field = found->get<std::string>();
  }
  if (const auto upstream = payload.find("upstreamState"); upstream != payload.end()) {
    if (!upstream->is_string()) return std::nullopt;
    ticket.upstream_state = upstream->get<std::string>();
  }
  return ticket;
}

bool TicketSeal::claims_ours(std::string_view state) { return state.starts_with(ticket_prefix); }

}  // namespace sluice::proxy
