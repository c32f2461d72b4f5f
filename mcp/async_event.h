// A condition variable for coroutines on one io_context: waiters re-check their
// predicate after every notify_all(). Asio 1.18 has no channels; a timer that never
// expires on its own, cancelled to wake its waiters, is the idiom.
#pragma once

#include <chrono>
#include <memory>

#include "mcp/asio.h"

namespace sluice::mcp {

class AsyncEvent {
 public:
  explicit AsyncEvent(const asio::any_io_executor& executor)
      : timer_(executor, std::chrono::steady_clock::time_point::max()) {}

  void notify_all() { timer_.cancel(); }

  asio::awaitable<void> wait() {
    boost::system::error_code ignored;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }

  // Waits until `ready()` holds or `limit` has passed; returns `ready()`.
  template <class Predicate>
  asio::awaitable<bool> wait_for(Predicate ready, std::chrono::steady_clock::duration limit) {
    // The deadline outlives this frame if it returns first: the timer's own
    // completion still has to run, and must find its state alive.
    struct Deadline {
      asio::steady_timer timer;
      bool passed = false;
    };
    auto deadline = std::make_shared<Deadline>(Deadline{asio::steady_timer(timer_.get_executor(), limit)});
    asio::co_spawn(
        timer_.get_executor(),
        [deadline, this]() -> asio::awaitable<void> {
          boost::system::error_code ec;
          co_await deadline->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          if (!ec) {
            deadline->passed = true;
            notify_all();
          }
        },
        asio::detached);
    while (!ready() && !deadline->passed) co_await wait();
    deadline->timer.cancel();
    co_return ready();
  }

 private:
  asio::steady_timer timer_;
};

}  // namespace sluice::mcp
