#include "audit/signed_note.h"

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "audit/checkpoint.h"
#include "log_fixture.h"
#include "mcp/digest.h"

namespace sluice::audit {
namespace {

using Catch::Matchers::Contains;

// The worked example of c2sp.org/signed-note.
constexpr const char* example_key = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
constexpr const char* example_note =
    "This is an example message.\n\n"
    "\xE2\x80\x94 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

NoteVerifier parse_key(const std::string& text) {
  std::string error;
  auto verifier = NoteVerifier::parse(text, error);
  INFO(error);
  REQUIRE(verifier);
  return *verifier;
}

NoteSigner fresh_signer(const test::TempDir& dir, const std::string& name = "sluice.local/audit") {
  const auto pair = generate_key_pair(name);
  std::ofstream(dir.file("key.pem")) << pair.private_pem;
  return NoteSigner::from_pem_file(dir.file("key.pem"), name);
}

TEST_CASE("the specification's example note verifies under its key") {
  const auto verifier = parse_key(example_key);
  REQUIRE(verifier.name() == "example.com/foo");
  REQUIRE(verifier.key_id() == 0x530d903a);
  REQUIRE(verifier.verifier_key() == example_key);
  const auto opened = open_note(example_note, verifier);
  INFO(opened.error);
  REQUIRE(opened.ok);
  REQUIRE(opened.text == "This is an example message.\n");
}

TEST_CASE("the example note refused when anything in it changes") {
  const auto verifier = parse_key(example_key);
  std::string note = example_note;
  SECTION("its text") { note[0] = 't'; }
  SECTION("a bit of its signature") { note[note.size() - 10] = note[note.size() - 10] == 'A' ? 'B' : 'A'; }
  SECTION("its signature line without the em dash") { note.replace(note.find("\xE2\x80\x94"), 3, "-"); }
  SECTION("no blank line before the signatures") { note.erase(note.find("\n\n"), 1); }
  SECTION("a control character in the text") { note[4] = '\t'; }
  const auto opened = open_note(note, verifier);
  REQUIRE_FALSE(opened.ok);
  REQUIRE(opened.text.empty());
}

TEST_CASE("a note signed by another key only is refused; other keys' signatures are ignored") {
  test::TempDir dir;
  const auto other = fresh_signer(dir, "example.com/foo");
  const auto signed_by_other = other.sign("This is an example message.\n");
  const auto opened = open_note(signed_by_other, parse_key(example_key));
  REQUIRE_FALSE(opened.ok);
  REQUIRE_THAT(opened.error, Contains("not signed by"));

  // The example's signature line added to a note that another key signed too.
  const std::string example_signature = std::string(example_note).substr(std::string(example_note).find("\n\n") + 2);
  const auto both = signed_by_other + example_signature;
  REQUIRE(open_note(both, parse_key(example_key)).ok);
  REQUIRE(open_note(both, parse_key(other.verifier_key())).ok);
}

TEST_CASE("notes Sluice signs verify under its verifier key, and OpenSSL's command line agrees") {
  test::TempDir dir;
  const auto signer = fresh_signer(dir);
  const Checkpoint checkpoint{"sluice.local/0123456789abcdef", 42, mcp::sha256("root")};
  const auto note = signer.sign(checkpoint_text(checkpoint));
  const auto opened = open_note(note, parse_key(signer.verifier_key()));
  INFO(opened.error);
  REQUIRE(opened.ok);
  std::string error;
  const auto parsed = parse_checkpoint(opened.text, error);
  REQUIRE(parsed);
  REQUIRE(parsed->origin == checkpoint.origin);
  REQUIRE(parsed->size == 42);
  REQUIRE(parsed->root == checkpoint.root);

  // openssl pkeyutl -verify -rawin over the same text and signature.
  std::ofstream(dir.file("text"), std::ios::binary) << opened.text;
  const auto line = note.substr(note.find("\n\n") + 2);
  const auto blob = mcp::base64_decode(line.substr(line.rfind(' ') + 1, line.size() - line.rfind(' ') - 2));
  REQUIRE(blob);
  std::ofstream(dir.file("signature"), std::ios::binary) << blob->substr(4);
  const auto openssl = [&](const std::string& arguments) {
    const int status = std::system(("openssl " + arguments + " >/dev/null 2>&1").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  REQUIRE(openssl("pkey -in " + dir.file("key.pem") + " -pubout -out " + dir.file("public.pem")) == 0);
  REQUIRE(openssl("pkeyutl -verify -pubin -inkey " + dir.file("public.pem") + " -rawin -in " + dir.file("text") +
                  " -sigfile " + dir.file("signature")) == 0);
  std::ofstream(dir.file("text"), std::ios::binary) << opened.text << "tampered\n";
  REQUIRE(openssl("pkeyutl -verify -pubin -inkey " + dir.file("public.pem") + " -rawin -in " + dir.file("text") +
                  " -sigfile " + dir.file("signature")) != 0);
}

TEST_CASE("malformed verifier keys are refused with the reason") {
  std::string error;
  SECTION("no plus signs") { REQUIRE_FALSE(NoteVerifier::parse("example.com/foo", error)); }
  SECTION("a wrong key id") {
    REQUIRE_FALSE(NoteVerifier::parse("example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", error));
    REQUIRE_THAT(error, Contains("id"));
  }
  SECTION("another name") {
    REQUIRE_FALSE(NoteVerifier::parse("example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", error));
  }
  SECTION("a key that is not base64") {
    REQUIRE_FALSE(NoteVerifier::parse("example.com/foo+530d903a+Aeky!Rrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", error));
  }
  SECTION("a key of another type") {
    REQUIRE_FALSE(NoteVerifier::parse("example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", error));
  }
  REQUIRE_FALSE(error.empty());
}

TEST_CASE("a checkpoint key that is missing or not Ed25519 is refused naming the file") {
  test::TempDir dir;
  REQUIRE_THROWS_WITH(NoteSigner::from_pem_file(dir.file("absent.pem"), "n"), Contains("absent.pem"));
  std::ofstream(dir.file("junk.pem")) << "not a key\n";
  REQUIRE_THROWS_WITH(NoteSigner::from_pem_file(dir.file("junk.pem"), "n"), Contains("junk.pem"));
  REQUIRE(std::system(("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + dir.file("ec.pem") +
                       " 2>/dev/null").c_str()) == 0);
  REQUIRE_THROWS_WITH(NoteSigner::from_pem_file(dir.file("ec.pem"), "n"), Contains("Ed25519"));
}

TEST_CASE("checkpoint bodies: three lines, a decimal size, a 32-byte root") {
  std::string error;
  REQUIRE(parse_checkpoint("o\n0\n" + mcp::base64_encode(std::string(32, 'x')) + "\n", error));
  REQUIRE(parse_checkpoint("o\n7\n" + mcp::base64_encode(std::string(32, 'x')) + "\nextension\n", error));
  REQUIRE_FALSE(parse_checkpoint("o\n07\n" + mcp::base64_encode(std::string(32, 'x')) + "\n", error));
  REQUIRE_FALSE(parse_checkpoint("o\n-1\n" + mcp::base64_encode(std::string(32, 'x')) + "\n", error));
  REQUIRE_FALSE(parse_checkpoint("o\n1\n" + mcp::base64_encode(std::string(31, 'x')) + "\n", error));
  REQUIRE_FALSE(parse_checkpoint("o\n1\n", error));
  REQUIRE_FALSE(parse_checkpoint("\n1\n" + mcp::base64_encode(std::string(32, 'x')) + "\n", error));
}

}  // namespace
}  // namespace sluice::audit
