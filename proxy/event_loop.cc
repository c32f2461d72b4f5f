#include "proxy/event_loop.h"

#include <string>

#include "policy/duration.h"
#include "proxy/arguments.h"

namespace sluice::proxy {

void run_event_loop(asio::io_context& io, std::chrono::microseconds busy_poll) {
  if (busy_poll <= std::chrono::microseconds::zero()) {
    io.run();
    return;
  }
  using clock = std::chrono::steady_clock;
  auto last_work = clock::now();
  // poll() returning 0 can mean the context stopped (io.stop(), or no work left, which
  // stops it too): stopped() tells, and ends the loop rather than spinning on.
  while (!io.stopped()) {
    if (io.poll() > 0) {
      last_work = clock::now();
    } else if (clock::now() - last_work >= busy_poll && io.run_one() > 0) {
      last_work = clock::now();
    }
  }
}

std::chrono::microseconds parse_busy_poll(std::string_view option, std::string_view text) {
  if (text == "off" || text == "0") return std::chrono::microseconds::zero();
  const auto budget = policy::parse_fine_duration(text, max_busy_poll);
  if (!budget) {
    throw UsageError(
        std::string(option) + ": expected off or a duration from 1us to " +
        policy::format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(max_busy_poll)) +
        ", such as 50us, got \"" + std::string(text) + "\"");
  }
  return *budget;
}

}  // namespace sluice::proxy
