#include "webui/metrics.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace sluice::webui {
namespace {

bool valid_name(std::string_view name, bool allow_colon) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           (allow_colon && c == ':');
  });
}

std::string escape_help(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Prometheus floats: integers without a fraction, +Inf/-Inf/NaN by name.
std::string number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

std::string_view type_name(MetricKind kind) {
  switch (kind) {
    case MetricKind::counter: return "counter";
    case MetricKind::gauge: return "gauge";
    case MetricKind::histogram: return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

MetricFamily::MetricFamily(std::string name, std::string help, MetricKind kind, std::vector<std::string> label_names,
                           std::vector<double> buckets)
    : name_(std::move(name)), help_(std::move(help)), kind_(kind), label_names_(std::move(label_names)),
      buckets_(std::move(buckets)) {
  if (!valid_name(name_, true)) throw std::invalid_argument("metric name \"" + name_ + "\" is not valid");
  for (const auto& label : label_names_) {
    if (!valid_name(label, false) || label.starts_with("__") || label == "le") {
      throw std::invalid_argument("label name \"" + label + "\" of " + name_ + " is not valid");
    }
  }
  if (!std::is_sorted(buckets_.begin(), buckets_.end()) ||
      std::adjacent_find(buckets_.begin(), buckets_.end()) != buckets_.end()) {
    throw std::invalid_argument("the buckets of " + name_ + " must be strictly increasing");
  }
}

MetricFamily::Series& MetricFamily::series(const LabelValues& labels) {
  if (labels.size() != label_names_.size()) {
    throw std::invalid_argument(fmt::format("{} takes {} label values, got {}", name_, label_names_.size(), labels.size()));
  }
  auto [it, inserted] = series_.try_emplace(labels);
  if (inserted && kind_ == MetricKind::histogram) it->second.counts.assign(buckets_.size(), 0);
  return it->second;
}

void MetricFamily::add(const LabelValues& labels, double amount) {
  if (amount < 0 && kind_ == MetricKind::counter) return;
  series(labels).value += amount;
}

void MetricFamily::set(const LabelValues& labels, double value) { series(labels).value = value; }

void MetricFamily::observe(const LabelValues& labels, double value) {
  auto& entry = series(labels);
  entry.value += value;
  ++entry.count;
  const auto bucket = std::lower_bound(buckets_.begin(), buckets_.end(), value);
  if (bucket != buckets_.end()) ++entry.counts[static_cast<std::size_t>(bucket - buckets_.begin())];
}

double MetricFamily::value(const LabelValues& labels) const {
  const auto it = series_.find(labels);
  if (it == series_.end()) return 0;
  return kind_ == MetricKind::histogram ? static_cast<double>(it->second.count) : it->second.value;
}

std::string MetricFamily::label_text(const LabelValues& labels, std::string_view extra_name,
                                     std::string_view extra_value) const {
  std::string text;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    text += fmt::format("{}{}=\"{}\"", text.empty() ? "" : ",", label_names_[i], escape_label_value(labels[i]));
  }
  if (!extra_name.empty()) text += fmt::format("{}{}=\"{}\"", text.empty() ? "" : ",", extra_name, extra_value);
  return text.empty() ? text : "{" + text + "}";
}

void MetricFamily::render(std::string& out) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name_, escape_help(help_), name_, type_name(kind_));
  if (series_.empty() && label_names_.empty()) {
    // An unlabelled metric exists from registration: a scrape shows 0, not nothing.
    if (kind_ == MetricKind::histogram) {
      out += fmt::format("{}_bucket{{le=\"+Inf\"}} 0\n{}_sum 0\n{}_count 0\n", name_, name_, name_);
    } else {
      out += fmt::format("{} 0\n", name_);
    }
    return;
  }
  for (const auto& [labels, entry] : series_) {
    if (kind_ != MetricKind::histogram) {
      out += fmt::format("{}{} {}\n", name_, label_text(labels), number(entry.value));
      continue;
    }
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      cumulative += entry.counts[i];
      out += fmt::format("{}_bucket{} {}\n", name_, label_text(labels, "le", number(buckets_[i])), cumulative);
    }
    out += fmt::format("{}_bucket{} {}\n", name_, label_text(labels, "le", "+Inf"), entry.count);
    out += fmt::format("{}_sum{} {}\n", name_, label_text(labels), number(entry.value));
    out += fmt::format("{}_count{} {}\n", name_, label_text(labels), entry.count);
  }
}

MetricFamily& Metrics::add(std::string name, std::string help, MetricKind kind, std::vector<std::string> label_names,
                           std::vector<double> buckets) {
  for (const auto& family : families_) {
    if (family->name() != name) continue;
    if (family->kind() != kind) throw std::invalid_argument("metric " + name + " is already registered as a " + std::string(type_name(family->kind())));
    return *family;
  }
  auto family = std::make_unique<MetricFamily>(std::move(name), std::move(help), kind, std::move(label_names),
                                               std::move(buckets));
  families_.push_back(std::move(family));
  return *families_.back();
}

MetricFamily& Metrics::counter(std::string name, std::string help, std::vector<std::string> label_names) {
  return add(std::move(name), std::move(help), MetricKind::counter, std::move(label_names), {});
}

MetricFamily& Metrics::gauge(std::string name, std::string help, std::vector<std::string> label_names) {
  return add(std::move(name), std::move(help), MetricKind::gauge, std::move(label_names), {});
}

MetricFamily& Metrics::histogram(std::string name, std::string help, std::vector<double> buckets,
                                 std::vector<std::string> label_names) {
  return add(std::move(name), std::move(help), MetricKind::histogram, std::move(label_names), std::move(buckets));
}

std::string Metrics::render() const {
  std::string out;
  for (const auto& family : families_) family->render(out);
  return out;
}

SluiceMetrics::SluiceMetrics(Metrics& registry)
    : calls(registry.counter("sluice_tool_calls_total", "tools/call requests by the action taken", {"decision"})),
      pending_approvals(registry.gauge("sluice_pending_approvals", "Approval requests waiting for a decision")),
      approvals(registry.counter("sluice_approvals_total", "Approval requests by how they ended", {"state"})),
      approval_wait(registry.histogram("sluice_approval_wait_seconds", "Time from hold to decision, expiry or cancellation",
                                       {1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600})),
      audit_write(registry.histogram("sluice_audit_write_seconds", "Latency of one audit group commit",
                                     {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1})),
      audit_failures(registry.counter("sluice_audit_write_failures_total", "Audit writes that failed (calls refused)")),
      upstream_up(registry.gauge("sluice_upstream_up", "1 while the upstream is connected, else 0", {"upstream"})),
      ui_logins(registry.counter("sluice_ui_logins_total", "Web UI login attempts by result", {"result"})) {}

}  // namespace sluice::webui
