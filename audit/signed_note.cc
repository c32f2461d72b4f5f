#include "audit/signed_note.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

#include "mcp/digest.h"

namespace sluice::audit {
namespace {

constexpr std::string_view em_dash = "\xE2\x80\x94";
constexpr char ed25519_type = 0x01;
constexpr std::size_t ed25519_key_size = 32;
constexpr std::size_t ed25519_signature_size = 64;
// Far above any note Sluice writes, and above the 16 signatures the specification
// asks verifiers to accept.
constexpr std::size_t max_note_size = 64 * 1024;

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using DigestContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

std::uint32_t key_id_of(std::string_view name, std::string_view public_key) {
  std::string input(name);
  input += '\n';
  input += ed25519_type;
  input += public_key;
  const auto digest = mcp::sha256(input);
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(digest[0])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(digest[1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(digest[2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(digest[3]));
}

std::string key_id_bytes(std::uint32_t id) {
  return {static_cast<char>(id >> 24), static_cast<char>(id >> 16), static_cast<char>(id >> 8), static_cast<char>(id)};
}

std::string hex_id(std::uint32_t id) {
  char text[9];
  std::snprintf(text, sizeof text, "%08x", id);
  return text;
}

std::string encode_verifier_key(const std::string& name, std::uint32_t id, const std::string& public_key) {
  return name + "+" + hex_id(id) + "+" + mcp::base64_encode(std::string(1, ed25519_type) + public_key);
}

// Key names are non-empty, with no spaces, plus signs or control characters.
bool valid_key_name(std::string_view name) {
  if (name.empty()) return false;
  for (const unsigned char c : name) {
    if (c <= 0x20 || c == '+' || c == 0x7f) return false;
  }
  return true;
}

enum class Half { public_key, private_key };

std::string raw_key(EVP_PKEY* key, Half half) {
  std::string out(ed25519_key_size, '\0');
  std::size_t length = out.size();
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  const int ok = half == Half::public_key ? EVP_PKEY_get_raw_public_key(key, bytes, &length)
                                          : EVP_PKEY_get_raw_private_key(key, bytes, &length);
  if (ok != 1 || length != ed25519_key_size) throw std::runtime_error("cannot read the Ed25519 key");
  return out;
}

}  // namespace

NoteSigner::NoteSigner(std::string name, std::string seed, std::string public_key)
    : name_(std::move(name)), seed_(std::move(seed)), public_key_(std::move(public_key)) {}

NoteSigner::~NoteSigner() { OPENSSL_cleanse(seed_.data(), seed_.size()); }

NoteSigner NoteSigner::from_pem_file(const std::string& path, std::string name) {
  if (!valid_key_name(name)) throw std::runtime_error("`" + name + "` is not a valid key name (no spaces or '+')");
  std::unique_ptr<FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "r"), &std::fclose);
  if (!file) throw std::runtime_error(path + ": cannot read the checkpoint key: " + std::strerror(errno));
  Key key(PEM_read_PrivateKey(file.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!key) throw std::runtime_error(path + ": not a PEM private key");
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_ED25519) {
    throw std::runtime_error(path + ": the checkpoint key must be Ed25519 (sluice audit keygen writes one)");
  }
  return NoteSigner(std::move(name), raw_key(key.get(), Half::private_key), raw_key(key.get(), Half::public_key));
}

std::string NoteSigner::sign(std::string_view text) const {
  Key key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed_.data()),
                                       seed_.size()),
          &EVP_PKEY_free);
  DigestContext context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::string signature(ed25519_signature_size, '\0');
  std::size_t length = signature.size();
  if (!key || !context || EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(text.data()), text.size()) != 1) {
    throw std::runtime_error("Ed25519 signing failed");
  }
  std::string note(text);
  note += '\n';
  note += em_dash;
  note += ' ' + name_ + ' ' + mcp::base64_encode(key_id_bytes(key_id_of(name_, public_key_)) + signature) + '\n';
  return note;
}

std::string NoteSigner::verifier_key() const {
  return encode_verifier_key(name_, key_id_of(name_, public_key_), public_key_);
}

std::optional<NoteVerifier> NoteVerifier::parse(std::string_view verifier_key, std::string& error) {
  const auto first = verifier_key.find('+');
  const auto second = first == std::string_view::npos ? first : verifier_key.find('+', first + 1);
  if (second == std::string_view::npos) {
    error = "a verifier key is name+id+key";
    return std::nullopt;
  }
  NoteVerifier verifier;
  verifier.name_ = std::string(verifier_key.substr(0, first));
  const auto id_text = verifier_key.substr(first + 1, second - first - 1);
  const auto key = mcp::base64_decode(verifier_key.substr(second + 1));
  if (!valid_key_name(verifier.name_)) {
    error = "the key name is empty or has spaces or '+'";
    return std::nullopt;
  }
  if (id_text.size() != 8 || id_text.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    error = "the key id is not 8 lower-case hex digits";
    return std::nullopt;
  }
  if (!key || key->size() != 1 + ed25519_key_size || (*key)[0] != ed25519_type) {
    error = "the key is not base64 of an Ed25519 public key (type 0x01 and 32 bytes)";
    return std::nullopt;
  }
  verifier.public_key_ = key->substr(1);
  verifier.key_id_ = key_id_of(verifier.name_, verifier.public_key_);
  if (hex_id(verifier.key_id_) != id_text) {
    error = "the key id does not match the name and key";
    return std::nullopt;
  }
  return verifier;
}

std::string NoteVerifier::verifier_key() const { return encode_verifier_key(name_, key_id_, public_key_); }

OpenedNote open_note(std::string_view note, const NoteVerifier& verifier) {
  const auto refuse = [](std::string why) { return OpenedNote{false, {}, std::move(why)}; };
  if (note.size() > max_note_size) return refuse("the note is larger than 64 KiB");
  for (const unsigned char c : note) {
    if (c < 0x20 && c != '\n') return refuse("the note contains a control character");
  }
  try {
    // dump() is nlohmann's UTF-8 check: it throws on an ill-formed sequence.
    (void)nlohmann::json(std::string(note)).dump();
  } catch (const nlohmann::json::type_error&) {
    return refuse("the note is not valid UTF-8");
  }
  const auto split = note.rfind("\n\n");
  if (split == std::string_view::npos || note.empty() || note.back() != '\n') {
    return refuse("no signature block (a blank line, then signature lines)");
  }
  const auto text = note.substr(0, split + 1);
  auto signatures = note.substr(split + 2);
  bool verified = false;
  while (!signatures.empty()) {
    const auto end = signatures.find('\n');
    const auto line = signatures.substr(0, end);
    signatures.remove_prefix(end + 1);
    if (line.substr(0, em_dash.size() + 1) != std::string(em_dash) + " ") return refuse("a signature line does not start with '— '");
    const auto rest = line.substr(em_dash.size() + 1);
    const auto space = rest.find(' ');
    if (space == std::string_view::npos) return refuse("a signature line has no signature");
    const auto name = rest.substr(0, space);
    const auto blob = mcp::base64_decode(rest.substr(space + 1));
    if (!blob || blob->size() < 4) return refuse("a signature is not base64 of a key id and signature");
    if (name != verifier.name_ || blob->substr(0, 4) != key_id_bytes(verifier.key_id_)) continue;
    const auto signature = blob->substr(4);
    Key key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                        reinterpret_cast<const unsigned char*>(verifier.public_key_.data()),
                                        verifier.public_key_.size()),
            &EVP_PKEY_free);
    DigestContext context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (!key || !context || signature.size() != ed25519_signature_size ||
        EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
        EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                         reinterpret_cast<const unsigned char*>(text.data()), text.size()) != 1) {
      return refuse("the signature by " + verifier.verifier_key() + " does not verify (the note was altered or forged)");
    }
    verified = true;
  }
  if (!verified) return refuse("not signed by " + verifier.verifier_key());
  return OpenedNote{true, std::string(text), {}};
}

KeyPair generate_key_pair(const std::string& name) {
  if (!valid_key_name(name)) throw std::runtime_error("`" + name + "` is not a valid key name (no spaces or '+')");
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), &EVP_PKEY_free);
  if (!key) throw std::runtime_error("cannot generate an Ed25519 key");
  std::unique_ptr<BIO, decltype(&BIO_free)> memory(BIO_new(BIO_s_mem()), &BIO_free);
  if (!memory || PEM_write_bio_PrivateKey(memory.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw std::runtime_error("cannot write the private key as PEM");
  }
  char* data = nullptr;
  const auto length = BIO_get_mem_data(memory.get(), &data);
  const auto public_key = raw_key(key.get(), Half::public_key);
  return KeyPair{std::string(data, static_cast<std::size_t>(length)),
                 encode_verifier_key(name, key_id_of(name, public_key), public_key)};
}

}  // namespace sluice::audit
