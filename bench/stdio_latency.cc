// sluice-bench-stdio: what Sluice adds to a stdio MCP session. The same tools/call is
// sent to sluice-bench-server directly and then through `sluice run`, one at a time
// (round-trip latency) and back to back (throughput), in one run so that both targets
// see the same machine. Every response is checked; a wrong or missing one fails the run.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "mcp/child_process.h"
#include "mcp/line_framer.h"
#include "mcp/message.h"

namespace sluice::bench {
namespace {

using Clock = std::chrono::steady_clock;
using mcp::json;
using mcp::Message;

constexpr std::string_view protocol_version = "2025-11-25";
constexpr std::chrono::milliseconds response_deadline{10'000};

constexpr std::string_view usage =
    "Usage: sluice-bench-stdio --sluice PATH --server PATH [--calls N] [--pipelined M] [--warmup K]\n"
    "\n"
    "  --sluice PATH     the sluice binary\n"
    "  --server PATH     the MCP server to call (sluice-bench-server)\n"
    "  --calls N         sequential tools/call round trips per target (default 20000)\n"
    "  --pipelined M     tools/call requests written back to back per target (default 20000)\n"
    "  --warmup K        round trips before measuring (default 1000)\n";

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string sluice;
  std::string server;
  std::size_t calls = 20000;
  std::size_t pipelined = 20000;
  std::size_t warmup = 1000;
};

std::size_t parse_count(std::string_view option, std::string_view text) {
  std::size_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    throw UsageError(std::string(option) + ": expected a whole number, got \"" + std::string(text) + "\"");
  }
  return value;
}

// Nothing when help was asked for.
std::optional<Options> parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") return std::nullopt;
    if (i + 1 >= argc) throw UsageError(std::string(arg) + " needs a value");
    const std::string_view value = argv[++i];
    if (arg == "--sluice") {
      options.sluice = value;
    } else if (arg == "--server") {
      options.server = value;
    } else if (arg == "--calls") {
      options.calls = parse_count(arg, value);
    } else if (arg == "--pipelined") {
      options.pipelined = parse_count(arg, value);
    } else if (arg == "--warmup") {
      options.warmup = parse_count(arg, value);
    } else {
      throw UsageError("unknown option \"" + std::string(arg) + "\"");
    }
  }
  if (options.sluice.empty() || options.server.empty()) {
    throw UsageError("--sluice and --server are required");
  }
  if (options.calls == 0) throw UsageError("--calls: at least one call is needed for percentiles");
  return options;
}

// An MCP server under test, spawned with pipes. Its stderr is copied to ours so that
// what Sluice warns about shows up next to the figures.
class Target {
 public:
  explicit Target(const std::vector<std::string>& argv)
      : process_(mcp::spawn_process(argv)), stderr_relay_(relay, process_.stderr_fd) {}

  ~Target() {
    if (!exit_status_) {
      kill();
      ::waitpid(process_.pid, nullptr, 0);
    }
    stderr_relay_.join();
    for (const int fd : {process_.stdin_fd, process_.stdout_fd, process_.stderr_fd}) {
      if (fd >= 0) ::close(fd);
    }
  }

  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;

  [[nodiscard]] pid_t pid() const { return process_.pid; }

  // Blocks until all of `bytes` is in the pipe. Safe to call from one thread while
  // another receives.
  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t put = ::write(process_.stdin_fd, bytes.data(), bytes.size());
      if (put < 0 && errno == EINTR) continue;
      if (put < 0) throw std::system_error(errno, std::generic_category(), "writing to the target");
      bytes.remove_prefix(static_cast<std::size_t>(put));
    }
  }

  // The next message; a target that sends nothing for `response_deadline` fails the run
  // instead of hanging it.
  Message receive() {
    for (;;) {
      if (auto frame = framer_.next()) {
        if (frame->kind == mcp::Frame::Kind::oversized) {
          throw std::runtime_error("the target sent a line of " + std::to_string(frame->size) + " bytes");
        }
        auto parsed = mcp::parse_frame(std::move(frame->text), mcp::ParseLimits{});
        if (auto* message = std::get_if<Message>(&parsed)) return std::move(*message);
        throw std::runtime_error("the target sent a line that is not a JSON-RPC message");
      }
      pollfd readable{process_.stdout_fd, POLLIN, 0};
      const int ready = ::poll(&readable, 1, static_cast<int>(response_deadline.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) throw std::system_error(errno, std::generic_category(), "waiting for the target");
      if (ready == 0) {
        throw std::runtime_error("the target sent nothing for " + std::to_string(response_deadline.count()) +
                                 " ms while a response was due");
      }
      const ssize_t got = ::read(process_.stdout_fd, buffer_.data(), buffer_.size());
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw std::system_error(errno, std::generic_category(), "reading from the target");
      if (got == 0) throw std::runtime_error("the target closed its stdout before answering");
      framer_.feed(std::string_view(buffer_.data(), static_cast<std::size_t>(got)));
    }
  }

  // Unblocks a writer stuck on a full pipe when the reader has given up.
  void kill() const { ::kill(-process_.pid, SIGKILL); }

  // Closes the target's stdin, as a client that is done does, and returns its wait status.
  int finish() {
    ::close(process_.stdin_fd);
    process_.stdin_fd = -1;
    int status = 0;
    while (::waitpid(process_.pid, &status, 0) < 0) {
      if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitpid");
    }
    exit_status_ = status;
    return status;
  }

 private:
  static void relay(int fd) {
    std::array<char, 4096> buffer{};
    for (;;) {
      const ssize_t got = ::read(fd, buffer.data(), buffer.size());
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return;
      if (::write(STDERR_FILENO, buffer.data(), static_cast<std::size_t>(got)) < 0) return;
    }
  }

  mcp::SpawnedProcess process_;
  std::thread stderr_relay_;
  mcp::LineFramer framer_{std::size_t{1} << 20};
  std::array<char, 64 * 1024> buffer_{};
  std::optional<int> exit_status_;
};

std::string request_line(std::int64_t id, std::string_view method, json params) {
  return Message::request(id, method, std::move(params)).wire() + '\n';
}

std::string lookup_call(std::int64_t id) {
  return request_line(id, "tools/call", {{"name", "lookup"}, {"arguments", {{"key", "alpha"}}}});
}

// Fails the run unless `message` is the result of request `id`.
const json& result_of(const Message& message, std::int64_t id) {
  if (!message.is_response() || message.id() != id || !message.body().contains("result")) {
    throw std::runtime_error("expected the result of request " + std::to_string(id) + ", got " +
                             message.wire());
  }
  return message.body()["result"];
}

// Fails the run unless `message` is sluice-bench-server's own answer to lookup call
// `id`: a result that Sluice made up in the server's place (a denial, a dry run) is
// not a round trip to the server.
void expect_lookup_result(const Message& message, std::int64_t id) {
  static const json answer = {
      {"content", json::array({{{"type", "text"}, {"text", "value of alpha: 42"}}})},
      {"isError", false},
  };
  if (result_of(message, id) != answer) {
    throw std::runtime_error("call " + std::to_string(id) +
                             " was not answered by the server: " + message.wire());
  }
}

Message round_trip(Target& target, std::string_view request) {
  target.send(request);
  return target.receive();
}

Clock::duration pipelined_calls(Target& target, std::int64_t first_id, std::size_t count) {
  std::string requests;
  for (std::size_t i = 0; i < count; ++i) requests += lookup_call(first_id + static_cast<std::int64_t>(i));

  std::vector<bool> answered(count, false);
  std::exception_ptr write_error;
  const auto start = Clock::now();
  std::thread writer([&] {
    try {
      target.send(requests);
    } catch (...) {
      write_error = std::current_exception();
    }
  });
  try {
    for (std::size_t received = 0; received < count; ++received) {
      const auto response = target.receive();
      const auto& id = response.id();
      const auto index = id.is_number_integer() ? id.get<std::int64_t>() - first_id : -1;
      if (index < 0 || index >= static_cast<std::int64_t>(count) ||
          answered[static_cast<std::size_t>(index)]) {
        throw std::runtime_error("a pipelined response answers no outstanding request: " + response.wire());
      }
      expect_lookup_result(response, id.get<std::int64_t>());
      answered[static_cast<std::size_t>(index)] = true;
    }
  } catch (...) {
    target.kill();
    writer.join();
    throw;
  }
  const auto elapsed = Clock::now() - start;
  writer.join();
  if (write_error) std::rethrow_exception(write_error);
  return elapsed;
}

// Peak resident set size of a live process, in KiB.
std::int64_t peak_rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::stoll(line.substr(6));
  }
  throw std::runtime_error("no VmHWM in /proc/" + std::to_string(pid) + "/status");
}

struct Measurement {
  std::vector<double> round_trip_us;  // sorted
  double sequential_calls_per_second = 0;
  double pipelined_calls_per_second = 0;
  std::optional<std::int64_t> peak_rss_kib;

  // Nearest-rank percentile.
  [[nodiscard]] double percentile(double fraction) const {
    const auto rank =
        static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(round_trip_us.size())));
    return round_trip_us[std::clamp<std::size_t>(rank, 1, round_trip_us.size()) - 1];
  }
};

double per_second(std::size_t count, Clock::duration elapsed) {
  return static_cast<double>(count) / std::chrono::duration<double>(elapsed).count();
}

Measurement measure(const std::string& name, const std::vector<std::string>& argv, const Options& options,
                    bool sample_peak_rss) {
  Target target(argv);
  std::int64_t next_id = 1;
  const auto initialized =
      round_trip(target, request_line(next_id, "initialize",
                                      {{"protocolVersion", protocol_version},
                                       {"capabilities", json::object()},
                                       {"clientInfo", {{"name", "sluice-bench-stdio"}, {"version", "1"}}}}));
  if (result_of(initialized, next_id++).value("protocolVersion", "") != protocol_version) {
    throw std::runtime_error(name + " did not agree to protocol " + std::string(protocol_version) + ": " +
                             initialized.wire());
  }
  target.send(Message::notification("notifications/initialized").wire() + '\n');

  for (std::size_t i = 0; i < options.warmup; ++i, ++next_id) {
    expect_lookup_result(round_trip(target, lookup_call(next_id)), next_id);
  }

  Measurement result;
  result.round_trip_us.reserve(options.calls);
  const auto sequential_start = Clock::now();
  for (std::size_t i = 0; i < options.calls; ++i, ++next_id) {
    const auto request = lookup_call(next_id);
    const auto sent = Clock::now();
    const auto response = round_trip(target, request);
    result.round_trip_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - sent).count());
    expect_lookup_result(response, next_id);
  }
  result.sequential_calls_per_second = per_second(options.calls, Clock::now() - sequential_start);
  std::sort(result.round_trip_us.begin(), result.round_trip_us.end());

  if (options.pipelined > 0) {
    result.pipelined_calls_per_second =
        per_second(options.pipelined, pipelined_calls(target, next_id, options.pipelined));
  }

  if (sample_peak_rss) result.peak_rss_kib = peak_rss_kib(target.pid());
  const int status = target.finish();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(name + " " + mcp::describe_wait_status(status) + " after its stdin closed");
  }
  return result;
}

void print_table(const Options& options, const Measurement& direct, const Measurement& sluice) {
  const auto added_p50 = sluice.percentile(0.50) - direct.percentile(0.50);
  const auto latency = [](const Measurement& m, double fraction) {
    return fmt::format("{:.1f}", m.percentile(fraction));
  };
  const auto added = [&](double fraction) {
    return fmt::format("{:+.1f} ({:.2f}×)", sluice.percentile(fraction) - direct.percentile(fraction),
                       sluice.percentile(fraction) / direct.percentile(fraction));
  };
  const auto ratio = [](double over, double under) -> std::string {
    return under > 0 ? fmt::format("{:.2f}×", over / under) : "—";
  };

  fmt::print("{} sequential tools/call, {} pipelined, {} warm-up calls per target\n\n", options.calls,
             options.pipelined, options.warmup);
  fmt::print("| target | p50 µs | p99 µs | sequential calls/s | pipelined calls/s | peak RSS |\n");
  fmt::print("|---|--:|--:|--:|--:|--:|\n");
  fmt::print("| direct | {} | {} | {:.0f} | {:.0f} | — |\n", latency(direct, 0.50), latency(direct, 0.99),
             direct.sequential_calls_per_second, direct.pipelined_calls_per_second);
  fmt::print("| through sluice | {} | {} | {:.0f} | {:.0f} | {:.1f} MiB |\n", latency(sluice, 0.50),
             latency(sluice, 0.99), sluice.sequential_calls_per_second, sluice.pipelined_calls_per_second,
             static_cast<double>(sluice.peak_rss_kib.value_or(0)) / 1024.0);
  fmt::print("| sluice vs direct | {} | {} | {} | {} | |\n", added(0.50), added(0.99),
             ratio(sluice.sequential_calls_per_second, direct.sequential_calls_per_second),
             ratio(sluice.pipelined_calls_per_second, direct.pipelined_calls_per_second));
  fmt::print("\nadded p50 latency: {:.1f} µs per call (goal: under 50 µs): {}\n", added_p50,
             added_p50 < 50.0 ? "met" : "NOT met");
}

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) {
  using namespace sluice::bench;
  // A target that dies must show up as a failed write, not end the benchmark silently.
  ::signal(SIGPIPE, SIG_IGN);
  try {
    const auto options = parse_options(argc, argv);
    if (!options) {
      fmt::print("{}", usage);
      return 0;
    }
    const auto direct = measure("the server", {options->server}, *options, false);
    const auto sluice = measure(
        "sluice", {options->sluice, "--log-level", "warn", "run", "--", options->server}, *options, true);
    print_table(*options, direct, sluice);
    return 0;
  } catch (const UsageError& e) {
    fmt::print(stderr, "sluice-bench-stdio: {}\n\n{}", e.what(), usage);
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sluice-bench-stdio: {}\n", e.what());
    return 1;
  }
}
