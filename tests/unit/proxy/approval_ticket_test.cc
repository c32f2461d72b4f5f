#include "proxy/approval_ticket.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

namespace sluice::proxy {
namespace {

const ApprovalTicket ticket{"0123456789abcdef0123456789abcdef", "pods_delete", std::string(64, 'a'), "agent",
                            "2026-12-02T08:00:00.000000Z",      std::nullopt};

std::filesystem::path scratch_dir() {
  char pattern[] = "/tmp/sluice-ticket-XXXXXX";
  REQUIRE(::mkdtemp(pattern) != nullptr);
  return pattern;
}

TEST_CASE("a sealed ticket opens to what was sealed, the upstream's state included") {
  const TicketSeal seal(std::string(64, '7'));
  const auto opened = seal.open(seal.seal(ticket));
  REQUIRE(opened.has_value());
  CHECK(opened->approval_id == ticket.approval_id);
  CHECK(opened->tool == "pods_delete");
  CHECK(opened->arguments_hash == ticket.arguments_hash);
  CHECK(opened->principal == "agent");
  CHECK(opened->expires == ticket.expires);
  CHECK_FALSE(opened->upstream_state.has_value());

  auto wrapping = ticket;
  wrapping.upstream_state = "upstream's own \"state\"";
  CHECK(seal.open(seal.seal(wrapping))->upstream_state == wrapping.upstream_state);
}

TEST_CASE("a ticket that was not sealed by this key, or was changed, does not open") {
  const TicketSeal seal(std::string(64, '7'));
  const auto state = seal.seal(ticket);
  CHECK(TicketSeal::claims_ours(state));
  SECTION("another key") { CHECK_FALSE(TicketSeal(std::string(64, '8')).open(state).has_value()); }
  SECTION("any one character changed") {
    for (std::size_t i = std::string("sluice.v1.").size(); i < state.size(); i += 7) {
      auto altered = state;
      altered[i] = altered[i] == 'A' ? 'B' : 'A';
      CAPTURE(i);
      CHECK_FALSE(seal.open(altered).has_value());
    }
  }
  SECTION("cut short, or not Sluice's at all") {
    CHECK_FALSE(seal.open(state.substr(0, state.size() - 2)).has_value());
    CHECK_FALSE(seal.open(state.substr(0, state.rfind('.'))).has_value());
    CHECK_FALSE(seal.open("sluice.v1.").has_value());
    CHECK_FALSE(seal.open("deploy:prod").has_value());
    CHECK_FALSE(TicketSeal::claims_ours("deploy:prod"));
  }
}

TEST_CASE("the key file is made once, private, and a readable one is refused") {
  const auto dir = scratch_dir();
  const auto path = (dir / "audit.db.approval-key").string();
  const auto first = TicketSeal::from_key_file(path);
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  // The same key next time: a ticket outlives a restart.
  CHECK(TicketSeal::from_key_file(path).open(first.seal(ticket)).has_value());

  ::chmod(path.c_str(), 0644);
  CHECK_THROWS_WITH(TicketSeal::from_key_file(path), Catch::Matchers::Contains("others may read the key"));
  ::chmod(path.c_str(), 0600);
  std::ofstream(path) << "not a key";
  CHECK_THROWS_WITH(TicketSeal::from_key_file(path), Catch::Matchers::Contains("expected 64 hex digits"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sluice::proxy
