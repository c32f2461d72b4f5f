// Ed25519 signed notes (c2sp.org/signed-note): a text, a blank line, and lines
// "— <key name> base64(key id || signature)". Sluice signs its audit checkpoints
// this way, so that anyone holding the verifier key can check them with the
// ecosystem's own tools. Keys are Ed25519 through OpenSSL 3.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::audit {

class NoteSigner {
 public:
  // Reads an Ed25519 private key in PEM (PKCS #8, as `sluice audit keygen` and
  // `openssl genpkey -algorithm ed25519` write it). Throws std::runtime_error that
  // names the file.
  static NoteSigner from_pem_file(const std::string& path, std::string name);
  ~NoteSigner();
  NoteSigner(const NoteSigner&) = default;
  NoteSigner& operator=(const NoteSigner&) = default;

  // The signed note for `text`, which must end in a newline.
  [[nodiscard]] std::string sign(std::string_view text) const;
  // name+hex(key id)+base64(0x01 || public key): what verifiers pin.
  [[nodiscard]] std::string verifier_key() const;
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  NoteSigner(std::string name, std::string seed, std::string public_key);
  std::string name_;
  std::string seed_;        // the 32-byte private key
  std::string public_key_;  // 32 bytes
};

struct OpenedNote;

class NoteVerifier {
 public:
  // Nullopt, with the reason in `error`, unless `verifier_key` is a well-formed
  // Ed25519 verifier key whose id matches its name and key.
  static std::optional<NoteVerifier> parse(std::string_view verifier_key, std::string& error);
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] std::uint32_t key_id() const { return key_id_; }
  [[nodiscard]] std::string verifier_key() const;

 private:
  friend OpenedNote open_note(std::string_view note, const NoteVerifier& verifier);
  std::string name_;
  std::uint32_t key_id_ = 0;
  std::string public_key_;
};

struct OpenedNote {
  bool ok = false;
  std::string text;   // only when ok
  std::string error;  // why not
};

// Checks the note's form and that the verifier's key signed it (signatures by other
// keys are ignored, as the specification requires).
OpenedNote open_note(std::string_view note, const NoteVerifier& verifier);

struct KeyPair {
  std::string private_pem;
  std::string verifier_key;
};
KeyPair generate_key_pair(const std::string& name);

}  // namespace sluice::audit
