#include <catch2/catch.hpp>

#include "webui/metrics.h"

using namespace sluice::webui;

TEST_CASE("counters and gauges render in the Prometheus text format, one series per label set") {
  Metrics metrics;
  auto& calls = metrics.counter("sluice_tool_calls_total", "tools/call by decision", {"decision"});
  calls.add({"allow"});
  calls.add({"allow"});
  calls.add({"deny"}, 3);
  calls.add({"deny"}, -1);  // counters never go down
  auto& pending = metrics.gauge("sluice_pending_approvals", "waiting");
  pending.set({}, 4);
  pending.add({}, -1);
  CHECK(metrics.render() ==
        "# HELP sluice_tool_calls_total tools/call by decision\n"
        "# TYPE sluice_tool_calls_total counter\n"
        "sluice_tool_calls_total{decision=\"allow\"} 2\n"
        "sluice_tool_calls_total{decision=\"deny\"} 3\n"
        "# HELP sluice_pending_approvals waiting\n"
        "# TYPE sluice_pending_approvals gauge\n"
        "sluice_pending_approvals 3\n");
  CHECK(calls.value({"allow"}) == 2);
}

TEST_CASE("a histogram renders cumulative buckets, +Inf, sum and count") {
  Metrics metrics;
  auto& wait = metrics.histogram("wait_seconds", "wait", {1, 10});
  wait.observe({}, 0.5);
  wait.observe({}, 1);  // le is inclusive
  wait.observe({}, 5);
  wait.observe({}, 100);
  CHECK(metrics.render() ==
        "# HELP wait_seconds wait\n"
        "# TYPE wait_seconds histogram\n"
        "wait_seconds_bucket{le=\"1\"} 2\n"
        "wait_seconds_bucket{le=\"10\"} 3\n"
        "wait_seconds_bucket{le=\"+Inf\"} 4\n"
        "wait_seconds_sum 106.5\n"
        "wait_seconds_count 4\n");
}

TEST_CASE("label values and help are escaped and an unlabelled metric shows 0 before its first use") {
  Metrics metrics;
  metrics.gauge("up", "line one\nline \\two").set({}, 0);
  metrics.counter("odd_total", "odd", {"name"}).add({"a\"b\\c\nd"});
  metrics.counter("fresh_total", "fresh");
  const auto text = metrics.render();
  CHECK(text.find("# HELP up line one\\nline \\\\two\n") != std::string::npos);
  CHECK(text.find("odd_total{name=\"a\\\"b\\\\c\\nd\"} 1\n") != std::string::npos);
  CHECK(text.find("fresh_total 0\n") != std::string::npos);
}

TEST_CASE("names Prometheus would refuse are refused at registration") {
  Metrics metrics;
  CHECK_THROWS_AS(metrics.counter("9lives", "x"), std::invalid_argument);
  CHECK_THROWS_AS(metrics.counter("has-dash", "x"), std::invalid_argument);
  CHECK_THROWS_AS(metrics.counter("ok_total", "x", {"le"}), std::invalid_argument);
  CHECK_THROWS_AS(metrics.counter("ok_total", "x", {"__reserved"}), std::invalid_argument);
  CHECK_THROWS_AS(metrics.histogram("h", "x", {2, 1}), std::invalid_argument);
  metrics.counter("twice_total", "x");
  CHECK_THROWS_AS(metrics.gauge("twice_total", "x"), std::invalid_argument);
  CHECK(&metrics.counter("twice_total", "x") == &metrics.counter("twice_total", "y"));
  CHECK_THROWS_AS(metrics.counter("labelled_total", "x", {"a"}).add({}), std::invalid_argument);
}

TEST_CASE("the standard Sluice metrics are registered under their documented names") {
  Metrics metrics;
  SluiceMetrics standard(metrics);
  standard.calls.add({"require_approval"});
  standard.upstream_up.set({"kube"}, 1);
  standard.approval_wait.observe({}, 42);
  const auto text = metrics.render();
  for (const auto* name : {"sluice_tool_calls_total{decision=\"require_approval\"} 1", "sluice_pending_approvals 0",
                           "sluice_approval_wait_seconds_count 1", "sluice_audit_write_seconds_count 0",
                           "sluice_upstream_up{upstream=\"kube\"} 1", "# TYPE sluice_approvals_total counter"}) {
    INFO(name);
    CHECK(text.find(name) != std::string::npos);
  }
}
