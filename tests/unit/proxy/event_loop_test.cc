#include "proxy/event_loop.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <catch2/catch.hpp>

#include "proxy/arguments.h"

namespace sluice::proxy {
namespace {

using namespace std::chrono_literals;

constexpr auto deadline = 5s;

// The loop under test, on a thread of its own. Going out of scope stops the context,
// so that a failed check ends the test instead of leaving the loop running.
class LoopThread {
 public:
  LoopThread(asio::io_context& io, std::chrono::microseconds budget)
      : io_(io), done_(std::async(std::launch::async, [&io, budget] { run_event_loop(io, budget); })) {}
  ~LoopThread() {
    io_.stop();
    if (done_.valid()) done_.wait();
  }
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  // Whether the loop returned within the deadline (rethrowing what it threw).
  bool returns_in_time() {
    if (done_.wait_for(deadline) != std::future_status::ready) return false;
    done_.get();
    return true;
  }

 private:
  asio::io_context& io_;
  std::future<void> done_;
};

// The scheduler state of thread `tid` of this process, from /proc: 'R' running or
// runnable, 'S' asleep in a system call (epoll_wait, for an event loop with nothing to do).
char thread_state(pid_t tid) {
  std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string line;
  std::getline(stat, line);
  // "tid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'.
  const auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() ? '?' : line[close + 2];
}

bool falls_asleep(pid_t tid) {
  const auto give_up = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < give_up) {
    if (thread_state(tid) == 'S') return true;
    std::this_thread::yield();
  }
  return false;
}

TEST_CASE("the event loop runs every handler, timers included, and returns when the work runs out") {
  const auto budget = GENERATE(0us, 50us);
  CAPTURE(budget.count());
  asio::io_context io;
  int chained = 0;
  bool timer_fired = false;
  // Each handler posts the next, so the context is never out of work until the last.
  std::function<void()> next = [&] {
    if (++chained < 100) asio::post(io, next);
  };
  asio::post(io, next);
  // Longer than the budget: the loop has to block for it, not only poll.
  asio::steady_timer timer(io, 5ms);
  timer.async_wait([&](const boost::system::error_code& ec) { timer_fired = !ec; });

  LoopThread loop(io, budget);
  CHECK(loop.returns_in_time());
  CHECK(chained == 100);
  CHECK(timer_fired);
  CHECK(io.stopped());
}

TEST_CASE("the event loop returns when a handler stops the context, with work still outstanding") {
  const auto budget = GENERATE(0us, 50us, 10000us);
  CAPTURE(budget.count());
  asio::io_context io;
  const auto work = asio::make_work_guard(io);
  asio::steady_timer far_off(io, 1h);
  far_off.async_wait([](const boost::system::error_code&) {});
  std::atomic<int> after_stop{0};
  asio::post(io, [&] {
    io.stop();
    asio::post(io, [&] { ++after_stop; });
  });

  LoopThread loop(io, budget);
  CHECK(loop.returns_in_time());
  CHECK(after_stop == 0);
}

TEST_CASE(
    "an idle event loop sleeps once the budget has passed, and wakes for a handler from another thread") {
  const auto budget = GENERATE(0us, 1000us);
  CAPTURE(budget.count());
  asio::io_context io;
  const auto work = asio::make_work_guard(io);
  std::promise<pid_t> loop_thread;
  std::promise<void> woken;
  asio::post(io, [&] { loop_thread.set_value(static_cast<pid_t>(::syscall(SYS_gettid))); });

  LoopThread loop(io, budget);
  auto tid = loop_thread.get_future();
  REQUIRE(tid.wait_for(deadline) == std::future_status::ready);
  // A loop that never stopped spinning would stay 'R' and fail here.
  CHECK(falls_asleep(tid.get()));

  asio::post(io, [&] {
    woken.set_value();
    io.stop();
  });
  CHECK(woken.get_future().wait_for(deadline) == std::future_status::ready);
  CHECK(loop.returns_in_time());
}

TEST_CASE("the value of --busy-poll is off or a duration from 1us to 10ms") {
  SECTION("a duration in range") {
    CHECK(parse_busy_poll("--busy-poll", "50us") == 50us);
    CHECK(parse_busy_poll("--busy-poll", "1us") == 1us);
    CHECK(parse_busy_poll("--busy-poll", "2ms") == 2ms);
    CHECK(parse_busy_poll("--busy-poll", "10ms") == 10ms);
    CHECK(parse_busy_poll("--busy-poll", "10000us") == 10ms);
  }
  SECTION("off") {
    CHECK(parse_busy_poll("--busy-poll", "off") == 0us);
    CHECK(parse_busy_poll("--busy-poll", "0") == 0us);
    CHECK(parse_busy_poll("--busy-poll", "0us") == 0us);
  }
  SECTION("out of range or not a duration: a usage error naming the flag and the range") {
    for (const auto* text :
         {"11ms", "10001us", "1s", "1m", "fast", "50", "", "-5us", "5 us", "1.5us", "on"}) {
      CAPTURE(text);
      CHECK_THROWS_MATCHES(
          parse_busy_poll("--busy-poll", text), UsageError,
          Catch::Matchers::Message("--busy-poll: expected off or a duration from 1us to 10ms, "
                                   "such as 50us, got \"" +
                                   std::string(text) + "\""));
    }
  }
}

}  // namespace
}  // namespace sluice::proxy
