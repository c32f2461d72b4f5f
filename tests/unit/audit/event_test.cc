#include "audit/event.h"

#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "mcp/digest.h"

namespace sluice::audit {
namespace {

using json = nlohmann::json;

constexpr const char* time_text = "2024-05-06T07:08:09.123456Z";

json to_record(const AuditEvent& event, std::int64_t seq, const std::string& time) {
  return json::parse(record_text(event, seq, time));
}

TEST_CASE("a record carries its seq, time and kind, and leaves out every empty field") {
  AuditEvent event;
  event.kind = "session";
  REQUIRE(record_text(event, 3, time_text) ==
          mcp::canonical_json(json{{"seq", 3}, {"time", time_text}, {"kind", "session"}}));
}

TEST_CASE("a record carries every field that is set, under its documented name") {
  AuditEvent event;
  event.kind = "decision";
  event.session = "s1";
  event.principal = "alice";
  event.upstream = "kube";
  event.direction = "client->server";
  event.method = "tools/call";
  event.id = 42;
  event.tool = "delete_pod";
  event.tool_class = "destructive";
  event.decision = "deny";
  event.policy_action = "require_approval";
  event.rule = "no-deletes";
  event.reason = "deletes need approval";
  event.approval_id = "ap-1";
  event.arguments_hash = "abc123";
  event.arguments = {{"name", "web-0"}};
  event.outcome = "ok";
  event.result_size = 512;
  event.summary = {{"text", "deleted"}};
  event.latency_us = 1500;
  event.detail = "free text";

  REQUIRE(record_text(event, 1, time_text) == mcp::canonical_json(json{{"seq", 1},
                                                 {"time", time_text},
                                                 {"kind", "decision"},
                                                 {"session", "s1"},
                                                 {"principal", "alice"},
                                                 {"upstream", "kube"},
                                                 {"direction", "client->server"},
                                                 {"method", "tools/call"},
                                                 {"id", 42},
                                                 {"tool", "delete_pod"},
                                                 {"class", "destructive"},
                                                 {"decision", "deny"},
                                                 {"policy_action", "require_approval"},
                                                 {"rule", "no-deletes"},
                                                 {"reason", "deletes need approval"},
                                                 {"approval_id", "ap-1"},
                                                 {"arguments_hash", "abc123"},
                                                 {"arguments", {{"name", "web-0"}}},
                                                 {"outcome", "ok"},
                                                 {"result_size", 512},
                                                 {"summary", {{"text", "deleted"}}},
                                                 {"latency_us", 1500},
                                                 {"detail", "free text"}}));
}

TEST_CASE("a record keeps a JSON-RPC id whenever it is not null, even a falsy one") {
  AuditEvent event;
  event.kind = "message";
  SECTION("0") {
    event.id = 0;
    REQUIRE(to_record(event, 1, time_text).at("id") == json(0));
  }
  SECTION("the empty string") {
    event.id = "";
    REQUIRE(to_record(event, 1, time_text).at("id") == json(""));
  }
  SECTION("a string") {
    event.id = "req-9";
    REQUIRE(to_record(event, 1, time_text).at("id") == json("req-9"));
  }
  SECTION("null is left out") {
    event.id = nullptr;
    REQUIRE_FALSE(to_record(event, 1, time_text).contains("id"));
  }
}

TEST_CASE("a record keeps sizes and latencies of zero, and leaves out the unset ones") {
  AuditEvent event;
  event.kind = "outcome";
  SECTION("zero is a measurement") {
    event.result_size = 0;
    event.latency_us = 0;
    const auto record = to_record(event, 1, time_text);
    REQUIRE(record.at("result_size") == json(0));
    REQUIRE(record.at("latency_us") == json(0));
  }
  SECTION("-1 means not measured") {
    const auto record = to_record(event, 1, time_text);
    REQUIRE_FALSE(record.contains("result_size"));
    REQUIRE_FALSE(record.contains("latency_us"));
  }
}

TEST_CASE("a record keeps arguments and a summary that are empty but present") {
  AuditEvent event;
  event.kind = "decision";
  event.arguments = json::object();
  event.summary = json::array();
  const auto record = to_record(event, 1, time_text);
  REQUIRE(record.at("arguments") == json::object());
  REQUIRE(record.at("summary") == json::array());
}

TEST_CASE("a record's text is canonical JSON, whatever its strings hold") {
  AuditEvent event;
  event.kind = "decision";
  event.data = {{"note", "line one\nline two"}};
  event.id = "id-1";
  json expected = {{"seq", 7}, {"time", time_text}, {"kind", "decision"}, {"data", event.data}, {"id", "id-1"}};
  SECTION("quotes, backslashes and control characters are escaped") {
    event.reason = "a \"quoted\" path C:\\x\ttab\x01\x1f end";
    expected["reason"] = event.reason;
  }
  SECTION("UTF-8 is kept as it is") {
    event.detail = "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80";
    expected["detail"] = event.detail;
  }
  SECTION("bytes that are not UTF-8 are replaced as canonical_json replaces them") {
    event.tool = "bad \xff\xfe and cut \xe2\x82";
    expected["tool"] = event.tool;
  }
  SECTION("DEL and the other printable ASCII need no escape") {
    event.principal = std::string("~!@#$%^&*()_+{}|:<>?`-=[];',./ \x7f");
    expected["principal"] = event.principal;
  }
  const auto text = record_text(event, 7, time_text);
  REQUIRE(text == mcp::canonical_json(expected));
  REQUIRE(text == mcp::canonical_json(json::parse(text)));
}

}  // namespace
}  // namespace sluice::audit
