// Counts what the pipeline decided, for /metrics: tools/call requests by the action
// taken. It changes nothing; it sits last, so it sees the verdict that takes effect.
#pragma once

#include "proxy/pipeline.h"
#include "webui/metrics.h"

namespace sluice::proxy {

class MetricsFilter final : public Filter {
 public:
  explicit MetricsFilter(webui::SluiceMetrics& metrics) : metrics_(metrics) {}
  asio::awaitable<Verdict> on_message(Exchange& /*exchange*/) override { co_return Verdict::forward(); }
  asio::awaitable<void> on_verdict(Exchange& exchange, Verdict& verdict) override;

 private:
  webui::SluiceMetrics& metrics_;
};

}  // namespace sluice::proxy
