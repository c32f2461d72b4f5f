#include "proxy/pipeline.h"

namespace sluice::proxy {

std::string_view to_string(Direction direction) {
  return direction == Direction::client_to_server ? "client->server" : "server->client";
}

asio::awaitable<Verdict> Pipeline::run(Exchange& exchange) {
  for (const auto& filter : filters_) {
    auto verdict = co_await filter->on_message(exchange);
    if (verdict.kind() != Verdict::Kind::forward) co_return verdict;
  }
  co_return Verdict::forward();
}

}  // namespace sluice::proxy
