#include "proxy/filters/metrics_filter.h"

namespace sluice::proxy {

asio::awaitable<void> MetricsFilter::on_verdict(Exchange& exchange, Verdict& verdict) {
  // A retry of an input round is the call counted in its first round.
  if (!exchange.decision || exchange.retry_of) co_return;
  // A call the audit log could not record is refused, whatever the policy said.
  const bool refused = verdict.kind() == Verdict::Kind::answer && verdict.response().is_error_response();
  metrics_.calls.add({refused ? std::string("refused") : std::string(policy::to_string(exchange.decision->action))});
  co_return;
}

}  // namespace sluice::proxy
