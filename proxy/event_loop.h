// Running Sluice's one io_context: plainly, sleeping in epoll_wait whenever nothing is
// ready, or busy-polling for a bounded time after each burst of work. On a virtual
// machine every sleep and wake-up of the thread costs tens of microseconds, paid on
// every message; polling through the gap between a request and its answer avoids it,
// at the price of a core kept busy meanwhile (`sluice run --busy-poll`).
#pragma once

#include <chrono>
#include <string_view>

#include "mcp/asio.h"

namespace sluice::proxy {

// The longest busy-poll budget accepted: beyond it the spinning costs far more than the
// wake-up it saves.
constexpr std::chrono::microseconds max_busy_poll = std::chrono::milliseconds(10);

// Runs `io` until it is stopped or runs out of work, like io.run(). With a `busy_poll`
// budget above zero, once handlers have run the thread keeps polling without sleeping
// until `busy_poll` has passed with nothing to run, then blocks until the next handler:
// idle for longer than the budget, it uses no CPU.
void run_event_loop(asio::io_context& io, std::chrono::microseconds busy_poll);

// The value of `option` (--busy-poll): "off" or a zero duration is 0 (no busy polling),
// else a duration from 1us to max_busy_poll. Throws UsageError naming `option` otherwise.
std::chrono::microseconds parse_busy_poll(std::string_view option, std::string_view text);

}  // namespace sluice::proxy
