// A small Prometheus registry: counters and gauges with labels, and histograms. The
// proxy increments it, the web UI serves it at /metrics in the text exposition format
// (version 0.0.4). Like the rest of Sluice's state it is touched on the loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::webui {

using LabelValues = std::vector<std::string>;

enum class MetricKind { counter, gauge, histogram };

// One metric name with its label names; one series per combination of label values.
class MetricFamily {
 public:
  MetricFamily(std::string name, std::string help, MetricKind kind, std::vector<std::string> label_names,
               std::vector<double> buckets);

  // Counters only go up: a negative `amount` is ignored.
  void add(const LabelValues& labels = {}, double amount = 1);
  void set(const LabelValues& labels, double value);
  void observe(const LabelValues& labels, double value);
  [[nodiscard]] double value(const LabelValues& labels = {}) const;

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] MetricKind kind() const { return kind_; }
  void render(std::string& out) const;

 private:
  struct Series {
    double value = 0;                  // counter, gauge; histogram: the sum
    std::vector<std::uint64_t> counts;  // histogram: per bucket, not cumulative
    std::uint64_t count = 0;
  };
  Series& series(const LabelValues& labels);
  [[nodiscard]] std::string label_text(const LabelValues& labels, std::string_view extra_name = {},
                                       std::string_view extra_value = {}) const;

  std::string name_;
  std::string help_;
  MetricKind kind_;
  std::vector<std::string> label_names_;
  std::vector<double> buckets_;  // upper bounds, ascending; +Inf is implicit
  std::map<LabelValues, Series> series_;
};

class Metrics {
 public:
  // Registers a family, or returns the one already registered under `name`. Throws
  // std::invalid_argument for a name or label name Prometheus would refuse, or for a
  // name already registered with a different kind.
  MetricFamily& counter(std::string name, std::string help, std::vector<std::string> label_names = {});
  MetricFamily& gauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  MetricFamily& histogram(std::string name, std::string help, std::vector<double> buckets,
                          std::vector<std::string> label_names = {});

  // Every family, in the order registered, in the Prometheus text format.
  [[nodiscard]] std::string render() const;

 private:
  MetricFamily& add(std::string name, std::string help, MetricKind kind, std::vector<std::string> label_names,
                    std::vector<double> buckets);
  std::vector<std::unique_ptr<MetricFamily>> families_;
};

// The metrics DESIGN.md promises, registered once under their documented names
// (docs/web-ui.md lists them).
struct SluiceMetrics {
  explicit SluiceMetrics(Metrics& registry);
  MetricFamily& calls;                // sluice_tool_calls_total{decision}
  MetricFamily& pending_approvals;    // sluice_pending_approvals
  MetricFamily& approvals;            // sluice_approvals_total{state}
  MetricFamily& approval_wait;        // sluice_approval_wait_seconds
  MetricFamily& audit_write;          // sluice_audit_write_seconds
  MetricFamily& audit_failures;       // sluice_audit_write_failures_total
  MetricFamily& upstream_up;          // sluice_upstream_up{upstream}
  MetricFamily& ui_logins;            // sluice_ui_logins_total{result}
};

// The text format's escaping of a label value: backslash, double quote, newline.
std::string escape_label_value(std::string_view value);

}  // namespace sluice::webui
