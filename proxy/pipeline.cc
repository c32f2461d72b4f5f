#include "proxy/pipeline.h"

namespace sluice::proxy {

std::string_view to_string(Direction direction) {
  return direction == Direction::client_to_server ? "client->server" : "server->client";
}

asio::awaitable<Verdict> Pipeline::run(Exchange& exchange) {
  auto verdict = Verdict::forward();
  for (const auto& filter : filters_) {
    verdict = co_await filter->on_message(exchange);
    if (verdict.kind() != Verdict::Kind::forward) break;
  }
  for (const auto& filter : filters_) co_await filter->on_verdict(exchange, verdict);
  co_return verdict;
}

}  // namespace sluice::proxy
