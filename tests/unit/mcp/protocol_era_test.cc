#include "mcp/protocol_era.h"

#include <catch2/catch.hpp>

namespace sluice::mcp {
namespace {

const json modern_meta = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                          {"io.modelcontextprotocol/clientCapabilities", json::object()},
                          {"progressToken", 7}};

TEST_CASE("a connection's era is the one its first request selects") {
  CHECK(era_of_opening(Message::request(0, "initialize", {{"protocolVersion", "2025-11-25"}})) ==
        ProtocolEra::legacy);
  CHECK(era_of_opening(Message::request(0, "server/discover", json::object())) == ProtocolEra::modern);
  SECTION("a modern client's first message may be a tools/call; its _meta claims the version") {
    CHECK(era_of_opening(Message::request(1, "tools/call", {{"name", "x"}, {"_meta", modern_meta}})) ==
          ProtocolEra::modern);
  }
  SECTION("a request that claims no version is 2025-era, as dual-era servers read it") {
    CHECK(era_of_opening(Message::request(1, "tools/call", {{"name", "x"}})) == ProtocolEra::legacy);
    CHECK(era_of_opening(Message::request(1, "ping")) == ProtocolEra::legacy);
    CHECK(era_of_opening(Message::request(1, "tools/call", {{"_meta", {{"progressToken", 1}}}})) ==
          ProtocolEra::legacy);
  }
  SECTION("notifications and responses open nothing") {
    CHECK(era_of_opening(Message::notification("notifications/initialized")) == ProtocolEra::undetermined);
    CHECK(era_of_opening(Message::result(1, json::object())) == ProtocolEra::undetermined);
  }
}

TEST_CASE("the modern envelope is the request's reserved _meta entries and nothing else") {
  const auto envelope = modern_envelope(Message::request(1, "tools/list", {{"_meta", modern_meta}}));
  CHECK(envelope.size() == 2);
  CHECK(envelope["io.modelcontextprotocol/protocolVersion"] == "2026-07-28");
  CHECK_FALSE(envelope.contains("progressToken"));
  CHECK(modern_envelope(Message::request(1, "tools/list")).empty());
}

TEST_CASE("a result Sluice makes carries resultType complete on a modern connection only") {
  const json result = {{"content", json::array()}, {"isError", true}};
  CHECK(own_result(ProtocolEra::modern, 3, result).body()["result"]["resultType"] == "complete");
  CHECK_FALSE(own_result(ProtocolEra::legacy, 3, result).body()["result"].contains("resultType"));
  CHECK(own_result(ProtocolEra::legacy, 3, result).body()["id"] == 3);
}

}  // namespace
}  // namespace sluice::mcp
