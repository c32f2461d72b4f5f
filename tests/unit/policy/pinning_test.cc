#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "policy/config.h"
#include "policy/pin_store.h"
#include "policy/tool_catalog.h"

namespace sluice::policy {
using json = nlohmann::json;
namespace {


json tool(const std::string& name, const std::string& description = "does things") {
  return {{"name", name},
          {"description", description},
          {"inputSchema", {{"type", "object"}, {"properties", {{"namespace", {{"type", "string"}}}}}}},
          {"annotations", {{"readOnlyHint", true}}}};
}

bool changed(const ToolCatalog& catalog, const std::string& name) {
  const auto* entry = catalog.find(name);
  REQUIRE(entry != nullptr);
  return entry->changed;
}

struct Pinned {
  PolicyConfig policy;
  MemoryPinStore pins;
  ToolCatalog catalog{policy, pins, "kube"};
};

TEST_CASE("the first listing ever seen pins every tool in it") {
  Pinned p;
  REQUIRE_FALSE(p.pins.has_pins("kube"));

  SECTION("in one page") { p.catalog.learn(json::array({tool("a"), tool("b")}), true, true); }
  SECTION("across pages") {
    p.catalog.learn(json::array({tool("a")}), true, false);
    p.catalog.learn(json::array({tool("b")}), false, true);
  }

  CHECK(p.pins.pinned_hash("kube", "a") == tool_definition_hash(tool("a")));
  CHECK(p.pins.pinned_hash("kube", "b") == tool_definition_hash(tool("b")));
  CHECK_FALSE(changed(p.catalog, "a"));
  CHECK_FALSE(changed(p.catalog, "b"));
  CHECK(p.catalog.classify("a").tool_class == ToolClass::read);
  CHECK(p.catalog.classify("b").tool_class == ToolClass::read);
}

TEST_CASE("pins belong to one upstream") {
  Pinned p;
  p.catalog.learn(json::array({tool("a")}), true, true);
  CHECK(p.pins.has_pins("kube"));
  CHECK_FALSE(p.pins.has_pins("kube2"));
  CHECK_FALSE(p.pins.has_pins("kub"));

  ToolCatalog other(p.policy, p.pins, "github");
  other.learn(json::array({tool("a", "something else")}), true, true);
  CHECK_FALSE(changed(other, "a"));
  CHECK(p.pins.pinned_hash("kube", "a") == tool_definition_hash(tool("a")));
}

TEST_CASE("a later listing marks a tool whose definition differs from its pin as changed") {
  Pinned p;
  p.catalog.learn(json::array({tool("stable"), tool("edited")}), true, true);

  json edited = tool("edited");
  SECTION("description") { edited["description"] = "does other things"; }
  SECTION("input schema") { edited["inputSchema"]["properties"]["force"] = {{"type", "boolean"}}; }
  SECTION("annotations") { edited["annotations"]["readOnlyHint"] = false; }
  SECTION("annotations removed") { edited.erase("annotations"); }

  p.catalog.learn(json::array({tool("stable"), edited}), true, true);
  CHECK(changed(p.catalog, "edited"));
  CHECK_FALSE(changed(p.catalog, "stable"));
  CHECK(p.catalog.classify("edited").tool_class == ToolClass::changed);
  CHECK(p.catalog.classify("edited").source == "pin");
  CHECK(p.catalog.classify("stable").tool_class == ToolClass::read);
  // The pin still holds the definition an operator accepted.
  CHECK(p.pins.pinned_hash("kube", "edited") == tool_definition_hash(tool("edited")));
}

TEST_CASE("a tool that appears after the first listing is changed") {
  Pinned p;
  p.catalog.learn(json::array({tool("a")}), true, true);

  SECTION("in a later listing") { p.catalog.learn(json::array({tool("a"), tool("late")}), true, true); }
  SECTION("in a later listing's second page") {
    p.catalog.learn(json::array({tool("a")}), true, false);
    p.catalog.learn(json::array({tool("late")}), false, true);
  }

  CHECK(changed(p.catalog, "late"));
  CHECK_FALSE(p.pins.pinned_hash("kube", "late").has_value());
  CHECK(p.catalog.classify("late").tool_class == ToolClass::changed);
}

TEST_CASE("pins kept from an earlier run apply to the first listing of this one") {
  Pinned earlier;
  earlier.catalog.learn(json::array({tool("a")}), true, true);

  ToolCatalog now(earlier.policy, earlier.pins, "kube");
  now.learn(json::array({tool("a", "changed since"), tool("b")}), true, true);
  CHECK(changed(now, "a"));
  CHECK(changed(now, "b"));
}

TEST_CASE("re-pinning a changed tool accepts its current definition") {
  Pinned p;
  p.catalog.learn(json::array({tool("a")}), true, true);
  p.catalog.learn(json::array({tool("a", "new text"), tool("b")}), true, true);
  REQUIRE(changed(p.catalog, "a"));
  REQUIRE(changed(p.catalog, "b"));

  p.catalog.repin("a");
  CHECK_FALSE(changed(p.catalog, "a"));
  CHECK(changed(p.catalog, "b"));
  CHECK(p.pins.pinned_hash("kube", "a") == tool_definition_hash(tool("a", "new text")));
  CHECK(p.catalog.classify("a").tool_class == ToolClass::read);

  SECTION("and the next listing keeps it accepted") {
    p.catalog.learn(json::array({tool("a", "new text")}), true, true);
    CHECK_FALSE(changed(p.catalog, "a"));
  }
  SECTION("re-pinning a tool that is not listed does nothing") {
    p.catalog.repin("ghost");
    CHECK_FALSE(p.pins.pinned_hash("kube", "ghost").has_value());
  }
}

TEST_CASE("a new listing forgets tools that are no longer listed") {
  Pinned p;
  p.catalog.learn(json::array({tool("a"), tool("b")}), true, true);
  REQUIRE(p.catalog.find("b") != nullptr);

  p.catalog.learn(json::array({tool("a")}), true, true);
  CHECK(p.catalog.find("a") != nullptr);
  CHECK(p.catalog.find("b") == nullptr);
  CHECK(p.catalog.classify("b").source == "default");

  SECTION("but its pin remains, so its return with the same definition is not a change") {
    p.catalog.learn(json::array({tool("a"), tool("b")}), true, true);
    CHECK_FALSE(changed(p.catalog, "b"));
  }
}

TEST_CASE("the catalog is stale from a list_changed notification until a listing completes") {
  Pinned p;
  p.catalog.learn(json::array({tool("a")}), true, true);
  CHECK_FALSE(p.catalog.stale());
  p.catalog.mark_stale();
  CHECK(p.catalog.stale());

  p.catalog.learn(json::array({tool("a")}), true, false);
  CHECK(p.catalog.stale());
  p.catalog.learn(json::array({tool("b")}), false, true);
  CHECK_FALSE(p.catalog.stale());
}

// Keeps pins in memory and records what the catalog reports as changed.
class RecordingPinStore final : public PinStore {
 public:
  struct Seen {
    std::string upstream;
    std::string tool;
    std::string hash;
    std::string definition;
  };

  [[nodiscard]] bool has_pins(const std::string& upstream) const override { return pins.has_pins(upstream); }
  [[nodiscard]] std::optional<std::string> pinned_hash(const std::string& upstream,
                                                       const std::string& name) const override {
    return pins.pinned_hash(upstream, name);
  }
  void pin(const std::string& upstream, const std::string& name, const std::string& hash) override {
    pins.pin(upstream, name, hash);
  }
  void saw_changed(const std::string& upstream, const std::string& name, const std::string& hash,
                   const std::string& definition) override {
    seen.push_back({upstream, name, hash, definition});
  }

  MemoryPinStore pins;
  std::vector<Seen> seen;
};

TEST_CASE("a changed or new tool is reported to the pin store for an operator to review") {
  const PolicyConfig policy;
  RecordingPinStore store;
  ToolCatalog catalog(policy, store, "kube");
  catalog.learn(json::array({tool("stable"), tool("edited")}), true, true);
  CHECK(store.seen.empty());

  const auto edited = tool("edited", "now deletes things");
  catalog.learn(json::array({tool("stable"), edited, tool("new")}), true, true);
  REQUIRE(store.seen.size() == 2);
  CHECK(store.seen[0].upstream == "kube");
  CHECK(store.seen[0].tool == "edited");
  CHECK(store.seen[0].hash == tool_definition_hash(edited));
  CHECK(json::parse(store.seen[0].definition) == edited);
  CHECK(store.seen[1].tool == "new");
  CHECK(store.seen[1].hash == tool_definition_hash(tool("new")));
}

TEST_CASE("a tool re-pinned in the pin store by an operator is no longer changed") {
  const PolicyConfig policy;
  MemoryPinStore pins;
  ToolCatalog catalog(policy, pins, "kube");
  catalog.learn(json::array({tool("a")}), true, true);
  const auto edited = tool("a", "new text");
  catalog.learn(json::array({edited}), true, true);
  REQUIRE(catalog.classify("a").tool_class == ToolClass::changed);

  // What `sluice tools pin` does, from outside this catalog.
  pins.pin("kube", "a", tool_definition_hash(edited));
  CHECK(catalog.classify("a").tool_class == ToolClass::read);
  CHECK_FALSE(changed(catalog, "a"));

  SECTION("but not when a different definition was pinned") {
    catalog.learn(json::array({tool("a", "newer text")}), true, true);
    pins.pin("kube", "a", tool_definition_hash(tool("a", "something else")));
    CHECK(catalog.classify("a").tool_class == ToolClass::changed);
  }
}

TEST_CASE("malformed entries in a listing are skipped") {
  Pinned p;
  p.catalog.learn(json::array({tool("a"), 5, json::object(), {{"name", 7}}, {{"description", "no name"}}}),
                  true, true);
  CHECK(p.catalog.find("a") != nullptr);
  CHECK_FALSE(p.catalog.empty());
  p.catalog.learn(json::array({tool("a")}), true, true);
  CHECK_FALSE(changed(p.catalog, "a"));
}

TEST_CASE("a tool's definition hash covers what decides a call and nothing else") {
  const auto base = tool("a");
  const auto hash = tool_definition_hash(base);

  SECTION("fields that do not decide a call are ignored") {
    auto decorated = base;
    decorated["title"] = "A friendly title";
    decorated["_meta"] = {{"vendor", "x"}};
    decorated["outputSchema"] = {{"type", "object"}};
    decorated["icons"] = json::array();
    CHECK(tool_definition_hash(decorated) == hash);
  }
  SECTION("key order does not matter") {
    const auto reordered = json::parse(
        R"({"annotations":{"readOnlyHint":true},"inputSchema":{"properties":{"namespace":{"type":"string"}},"type":"object"},)"
        R"("description":"does things","name":"a"})");
    CHECK(tool_definition_hash(reordered) == hash);
  }
  SECTION("each deciding field changes it") {
    for (const auto* key : {"name", "description", "inputSchema", "annotations"}) {
      CAPTURE(key);
      auto edited = base;
      edited[key] = "x";
      CHECK(tool_definition_hash(edited) != hash);
      edited.erase(key);
      CHECK(tool_definition_hash(edited) != hash);
    }
  }
  SECTION("it is a lower-case hex SHA-256") {
    CHECK(hash.size() == 64);
    CHECK(hash.find_first_not_of("0123456789abcdef") == std::string::npos);
  }
}

TEST_CASE("the catalog knows which arguments a tool's schema declares") {
  Pinned p;
  p.catalog.learn(
      json::array({tool("a"), {{"name", "bare"}}, {{"name", "odd"}, {"inputSchema", {{"properties", 1}}}}}),
      true, true);
  CHECK(p.catalog.takes_argument("a", "namespace"));
  CHECK_FALSE(p.catalog.takes_argument("a", "name"));
  CHECK_FALSE(p.catalog.takes_argument("bare", "namespace"));
  CHECK_FALSE(p.catalog.takes_argument("odd", "namespace"));
  CHECK_FALSE(p.catalog.takes_argument("unknown", "namespace"));
}

}  // namespace
}  // namespace sluice::policy
