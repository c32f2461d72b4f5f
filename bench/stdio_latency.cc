// sluice-bench-stdio: what Sluice adds to a stdio MCP session. The same tools/call is
// sent to a server (sluice-bench-server, or any stdio MCP server with --tool) directly
// and then through `sluice run`, one at a time (round-trip latency) and back to back
// (throughput), in one run so that every target sees the same machine. Every response
// is checked against the server's own answer to the first call; a wrong or missing one
// fails the run. With --relay the same calls also go through a bare relay, a process
// that copies bytes and parses nothing: the floor of any process in the middle.
// With --modern the same calls are also made in MCP 2026-07-28 (no handshake: a
// `server/discover`, then each call carries its version and capabilities in `_meta`),
// directly and through Sluice, each beside the direct connection of its own era.
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
#include <deque>
#include <exception>
#include <fstream>
#include <iterator>
#include <sstream>
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
#include "mcp/protocol_era.h"

namespace sluice::bench {
namespace {

using Clock = std::chrono::steady_clock;
using mcp::json;
using mcp::Message;

constexpr std::string_view protocol_version = "2025-11-25";
constexpr std::string_view modern_protocol_version = "2026-07-28";
constexpr std::chrono::milliseconds response_deadline{10'000};
// The calls of each kind are split into this many rounds, in which the targets take turns.
constexpr std::size_t rounds = 10;

constexpr std::string_view usage =
    "Usage: sluice-bench-stdio --sluice PATH (--server PATH | -- COMMAND [ARGS...]) [--calls N] [--pipelined M]\n"
    "                          [--warmup K] [--tool NAME] [--arguments JSON] [--audit-dir DIR] [--compare PATH]\n"
    "                          [--relay PATH] [--busy-poll DURATION] [--modern]\n"
    "\n"
    "  --sluice PATH     the sluice binary\n"
    "  --server PATH     the MCP server to call (sluice-bench-server); or, last, -- COMMAND [ARGS...]\n"
    "  --tool NAME       the tool every call calls (default lookup, sluice-bench-server's)\n"
    "  --arguments JSON  its arguments, a JSON object (default {\"key\":\"alpha\"})\n"
    "  --calls N         sequential tools/call round trips per target (default 20000)\n"
    "  --pipelined M     tools/call requests written back to back per target (default 20000)\n"
    "  --warmup K        round trips before measuring (default 1000)\n"
    "  --audit-dir DIR   also measure Sluice with an audit log in DIR, sync normal and full\n"
    "  --compare PATH    also measure another sluice binary (say, a build of main), in the same rounds\n"
    "  --relay PATH      also measure a bare relay (sluice-bench-relay): PATH COMMAND [ARGS...]\n"
    "  --busy-poll D     also measure sluice run --busy-poll D (and with audit normal, with --audit-dir)\n"
    "  --modern          also measure MCP 2026-07-28, direct and through sluice, in the same rounds\n";

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string sluice;
  std::vector<std::string> server;
  std::string tool = "lookup";
  json arguments = {{"key", "alpha"}};
  std::size_t calls = 20000;
  std::size_t pipelined = 20000;
  std::size_t warmup = 1000;
  std::optional<std::string> audit_dir;
  std::optional<std::string> compare;
  std::optional<std::string> relay;
  std::optional<std::string> busy_poll;
  bool modern = false;
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
    if (arg == "--modern") {
      options.modern = true;
      continue;
    }
    if (arg == "--") {
      options.server.assign(argv + i + 1, argv + argc);
      break;
    }
    if (i + 1 >= argc) throw UsageError(std::string(arg) + " needs a value");
    const std::string_view value = argv[++i];
    if (arg == "--sluice") {
      options.sluice = value;
    } else if (arg == "--server") {
      options.server = {std::string(value)};
    } else if (arg == "--tool") {
      options.tool = value;
    } else if (arg == "--arguments") {
      options.arguments = json::parse(value, nullptr, false);
      if (!options.arguments.is_object()) throw UsageError("--arguments: expected a JSON object");
    } else if (arg == "--relay") {
      options.relay = std::string(value);
    } else if (arg == "--busy-poll") {
      options.busy_poll = std::string(value);
    } else if (arg == "--calls") {
      options.calls = parse_count(arg, value);
    } else if (arg == "--pipelined") {
      options.pipelined = parse_count(arg, value);
    } else if (arg == "--audit-dir") {
      options.audit_dir = std::string(value);
    } else if (arg == "--compare") {
      options.compare = std::string(value);
    } else if (arg == "--warmup") {
      options.warmup = parse_count(arg, value);
    } else {
      throw UsageError("unknown option \"" + std::string(arg) + "\"");
    }
  }
  if (options.sluice.empty() || options.server.empty()) {
    throw UsageError("--sluice and a server (--server PATH or -- COMMAND...) are required");
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

  // The next message that is not a notification; a target that sends nothing for
  // `response_deadline` fails the run instead of hanging it.
  Message receive() {
    for (;;) {
      if (auto frame = framer_.next()) {
        if (frame->kind == mcp::Frame::Kind::oversized) {
          throw std::runtime_error("the target sent a line of " + std::to_string(frame->size) + " bytes");
        }
        auto parsed = mcp::parse_frame(std::move(frame->text), mcp::ParseLimits{});
        if (auto* message = std::get_if<Message>(&parsed)) {
          // A real server says things of its own (list_changed, log messages); only
          // answers are measured.
          if (message->is_notification()) continue;
          return std::move(*message);
        }
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

// What every 2026-07-28 request carries in place of a handshake.
json modern_meta() {
  return {{mcp::protocol_version_meta_key, modern_protocol_version},
          {mcp::client_capabilities_meta_key, json::object()},
          {"io.modelcontextprotocol/clientInfo", {{"name", "sluice-bench-stdio"}, {"version", "1"}}}};
}

// The one tools/call every target is sent, over and over.
struct ToolCall {
  std::string tool;
  json arguments;

  [[nodiscard]] std::string line(std::int64_t id, bool modern) const {
    json params = {{"name", tool}, {"arguments", arguments}};
    if (modern) params["_meta"] = modern_meta();
    return request_line(id, "tools/call", std::move(params));
  }
};

// Fails the run unless `message` is the result of request `id`.
const json& result_of(const Message& message, std::int64_t id) {
  if (!message.is_response() || message.id() != id || !message.body().contains("result")) {
    throw std::runtime_error("expected the result of request " + std::to_string(id) + ", got " +
                             message.wire());
  }
  return message.body()["result"];
}

// Fails the run unless `message` answers call `id` with `expected`, the server's own
// answer to the same call on the direct connection: a result that Sluice made up in the
// server's place (a denial, a dry run) is not a round trip to the server.
void expect_result(const Message& message, std::int64_t id, const json& expected) {
  if (result_of(message, id) != expected) {
    throw std::runtime_error("call " + std::to_string(id) + " was not answered as the server answers it: " +
                             message.wire());
  }
}

Message round_trip(Target& target, std::string_view request) {
  target.send(request);
  return target.receive();
}

// One target under test, and what has been measured of it so far.
struct Subject {
  Subject(std::string label, const std::vector<std::string>& argv, std::size_t baseline_index, const ToolCall& tool_call)
      : name(std::move(label)), target(argv), baseline(baseline_index), call(tool_call) {}

  std::string name;
  Target target;
  // The index of the direct connection of the same era, which this one is set beside
  // (its own for a direct one).
  std::size_t baseline;
  const ToolCall& call;
  // The server's answer to the call on the direct connection of this era: what every
  // answer must be.
  json expected;
  bool modern = false;
  bool audited = false;
  bool relay = false;
  std::int64_t next_id = 1;
  std::vector<double> round_trip_us;
  Clock::duration sequential_time{};
  std::size_t pipelined_calls = 0;
  Clock::duration pipelined_time{};
  std::int64_t peak_rss_kib = 0;
  double cpu_seconds = 0;  // the target's own, over the measured calls
};

// 2025: initialize and notifications/initialized. 2026-07-28 has no handshake: a
// client asks server/discover what the server speaks, and sends nothing after it.
void open_session(Subject& subject) {
  const auto id = subject.next_id++;
  if (subject.modern) {
    const auto discovered =
        round_trip(subject.target, request_line(id, "server/discover", {{"_meta", modern_meta()}}));
    const auto& versions = result_of(discovered, id).value("supportedVersions", json::array());
    if (std::find(versions.begin(), versions.end(), modern_protocol_version) == versions.end()) {
      throw std::runtime_error(subject.name + " does not support " + std::string(modern_protocol_version) + ": " +
                               discovered.wire());
    }
    return;
  }
  const auto initialized = round_trip(
      subject.target, request_line(id, "initialize",
                                   {{"protocolVersion", protocol_version},
                                    {"capabilities", json::object()},
                                    {"clientInfo", {{"name", "sluice-bench-stdio"}, {"version", "1"}}}}));
  if (result_of(initialized, id).value("protocolVersion", "") != protocol_version) {
    throw std::runtime_error(subject.name + " did not agree to protocol " + std::string(protocol_version) +
                             ": " + initialized.wire());
  }
  subject.target.send(Message::notification("notifications/initialized").wire() + '\n');
}

// `direct` is the direct connection of the subject's era, already initialized (or the
// subject itself, whose first answer becomes what every answer of its era must be).
void initialize(Subject& subject, const Subject& direct, std::size_t warmup_calls) {
  open_session(subject);
  if (&subject == &direct) {
    const auto id = subject.next_id++;
    subject.expected = result_of(round_trip(subject.target, subject.call.line(id, subject.modern)), id);
    if (subject.expected.value("isError", false)) {
      throw std::runtime_error("the server answered " + subject.call.tool + " with an error: " +
                               subject.expected.dump());
    }
  } else {
    subject.expected = direct.expected;
  }
  for (std::size_t i = 0; i < warmup_calls; ++i, ++subject.next_id) {
    expect_result(round_trip(subject.target, subject.call.line(subject.next_id, subject.modern)), subject.next_id,
                  subject.expected);
  }
}

void run_sequential(Subject& subject, std::size_t calls) {
  const auto start = Clock::now();
  for (std::size_t i = 0; i < calls; ++i, ++subject.next_id) {
    const auto request = subject.call.line(subject.next_id, subject.modern);
    const auto sent = Clock::now();
    const auto response = round_trip(subject.target, request);
    subject.round_trip_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - sent).count());
    expect_result(response, subject.next_id, subject.expected);
  }
  subject.sequential_time += Clock::now() - start;
}

// Writes all `calls` from a second thread while this one reads the responses, so that
// neither side's pipe can fill up and stall the other. Responses may come in any order
// (JSON-RPC does not promise one); each id must be answered exactly once.
void run_pipelined(Subject& subject, std::size_t calls) {
  const auto first_id = subject.next_id;
  subject.next_id += static_cast<std::int64_t>(calls);
  std::string requests;
  for (std::size_t i = 0; i < calls; ++i) {
    requests += subject.call.line(first_id + static_cast<std::int64_t>(i), subject.modern);
  }

  auto& target = subject.target;
  std::vector<bool> answered(calls, false);
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
    for (std::size_t received = 0; received < calls; ++received) {
      const auto response = target.receive();
      const auto& id = response.id();
      const auto index = id.is_number_integer() ? id.get<std::int64_t>() - first_id : -1;
      if (index < 0 || index >= static_cast<std::int64_t>(calls) ||
          answered[static_cast<std::size_t>(index)]) {
        throw std::runtime_error("a pipelined response answers no outstanding request: " + response.wire());
      }
      expect_result(response, id.get<std::int64_t>(), subject.expected);
      answered[static_cast<std::size_t>(index)] = true;
    }
  } catch (...) {
    target.kill();
    writer.join();
    throw;
  }
  subject.pipelined_time += Clock::now() - start;
  subject.pipelined_calls += calls;
  writer.join();
  if (write_error) std::rethrow_exception(write_error);
}

void finish(Subject& subject) {
  const int status = subject.target.finish();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(subject.name + " " + mcp::describe_wait_status(status) +
                             " after its stdin closed");
  }
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

// User and system CPU seconds a live process has used (utime and stime, fields 14 and
// 15 of /proc/<pid>/stat, in clock ticks).
double cpu_seconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto after_name = text.rfind(')');
  if (after_name == std::string::npos) throw std::runtime_error("unreadable /proc/" + std::to_string(pid) + "/stat");
  std::istringstream fields(text.substr(after_name + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i >= 14) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

struct Figures {
  double p50_us = 0;
  double p99_us = 0;
  double sequential_calls_per_second = 0;
  double pipelined_calls_per_second = 0;
  double cpu_per_10k_calls = 0;
};

double per_second(std::size_t calls, Clock::duration elapsed) {
  return calls == 0 ? 0 : static_cast<double>(calls) / std::chrono::duration<double>(elapsed).count();
}

Figures figures_of(Subject& subject) {
  auto& samples = subject.round_trip_us;
  std::sort(samples.begin(), samples.end());
  // Nearest rank.
  const auto percentile = [&](double fraction) {
    const auto rank = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(samples.size())));
    return samples[std::clamp<std::size_t>(rank, 1, samples.size()) - 1];
  };
  const auto calls = static_cast<double>(samples.size() + subject.pipelined_calls);
  return Figures{percentile(0.50), percentile(0.99), per_second(samples.size(), subject.sequential_time),
                 per_second(subject.pipelined_calls, subject.pipelined_time),
                 subject.cpu_seconds / calls * 10'000};
}

// Each direct connection, then each configuration of Sluice with its figures beside
// those of the direct connection of its era.
void print_table(const Options& options, std::deque<Subject>& subjects) {
  const auto added = [](double with, double without) {
    return fmt::format("{:+.1f} ({:.2f}×)", with - without, with / without);
  };
  const auto ratio = [](double over, double under) -> std::string {
    return under > 0 ? fmt::format("{:.2f}×", over / under) : "—";
  };
  fmt::print(
      "{} sequential tools/call, {} pipelined, {} warm-up calls per target, in {} interleaved rounds\n\n",
      options.calls, options.pipelined, options.warmup, rounds);
  fmt::print("| target | p50 µs | p99 µs | sequential calls/s | pipelined calls/s | CPU s / 10k calls | peak RSS |\n");
  fmt::print("|---|--:|--:|--:|--:|--:|--:|\n");
  std::vector<Figures> figures;
  for (auto& subject : subjects) figures.push_back(figures_of(subject));
  for (std::size_t i = 0; i < subjects.size(); ++i) {
    const auto& subject = subjects[i];
    const auto& own = figures[i];
    if (subject.baseline == i) {
      fmt::print("| {} | {:.1f} | {:.1f} | {:.0f} | {:.0f} | {:.2f} (the server's) | — |\n", subject.name, own.p50_us,
                 own.p99_us, own.sequential_calls_per_second, own.pipelined_calls_per_second,
                 own.cpu_per_10k_calls);
      continue;
    }
    const auto& direct = figures[subject.baseline];
    fmt::print("| {} | {:.1f} | {:.1f} | {:.0f} | {:.0f} | {:.2f} | {:.1f} MiB |\n", subject.name, own.p50_us,
               own.p99_us, own.sequential_calls_per_second, own.pipelined_calls_per_second, own.cpu_per_10k_calls,
               static_cast<double>(subject.peak_rss_kib) / 1024.0);
    fmt::print("| … vs {} | {} | {} | {} | {} | | |\n", subjects[subject.baseline].name,
               added(own.p50_us, direct.p50_us), added(own.p99_us, direct.p99_us),
               ratio(own.sequential_calls_per_second, direct.sequential_calls_per_second),
               ratio(own.pipelined_calls_per_second, direct.pipelined_calls_per_second));
  }
  // subjects[1] is Sluice without audit in front of subjects[0], the 2025 direct connection.
  const auto& direct = figures[0];
  const auto& plain = figures[1];
  const auto added_p50 = plain.p50_us - direct.p50_us;
  fmt::print("\nadded p50 latency: {:.1f} µs per call (goal: under 30 µs): {}\n", added_p50,
             added_p50 < 30.0 ? "met" : "NOT met");
  for (std::size_t i = 2; i < subjects.size(); ++i) {
    const auto& subject = subjects[i];
    if (subject.baseline == i) continue;
    if (subject.relay) {
      const auto floor = figures[i].p50_us - direct.p50_us;
      fmt::print("added p50 latency {} (copies bytes, parses nothing): {:.1f} µs per call, the floor of any "
                 "process between client and server on this machine; Sluice adds {:+.1f} µs over it\n",
                 subject.name, floor, added_p50 - floor);
      continue;
    }
    if (!subject.audited) {
      // The binary of --compare, or the 2026-07-28 path, in the same rounds.
      fmt::print("added p50 latency {}: {:.1f} µs per call\n", subject.name,
                 figures[i].p50_us - figures[subject.baseline].p50_us);
      continue;
    }
    // The audit's cost: each audited configuration against Sluice without audit.
    const auto share = figures[i].pipelined_calls_per_second / plain.pipelined_calls_per_second;
    const auto of_direct = figures[i].pipelined_calls_per_second / direct.pipelined_calls_per_second;
    fmt::print("{}: {:.0f}% of the pipelined throughput of direct, {:.0f}% of sluice without audit "
               "(goal with sync normal: 80% of direct)\n",
               subject.name, 100.0 * of_direct, 100.0 * share);
  }
}

// `total` spread over the rounds as evenly as whole calls allow.
std::size_t share_of_round(std::size_t total, std::size_t round) {
  return total / rounds + (round < total % rounds ? 1 : 0);
}

// Both targets run side by side and take turns, a round at a time, so that whatever
// else the machine does (it has two cores) weighs on both alike and the difference
// between them is Sluice's.
// The configuration of an audited Sluice: everything allowed, so that the figures
// are the audit's cost and nothing else's.
std::string audited_config(const std::string& dir, const std::string& name, const std::string& sync) {
  const auto config = dir + "/audit-" + name + ".yaml";
  const auto db = dir + "/audit-" + name + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db + suffix).c_str());
  std::ofstream(config) << "audit:\n  path: " << db << "\n  sync: " << sync
                        << "\npolicy:\n  default: allow\n";
  return config;
}

// `front` followed by the server's command.
std::vector<std::string> in_front_of(std::vector<std::string> front, const std::vector<std::string>& server) {
  front.insert(front.end(), server.begin(), server.end());
  return front;
}

void run(const Options& options) {
  const ToolCall call{options.tool, options.arguments};
  std::deque<Subject> subjects;  // Subjects do not move: they own processes
  const auto through_sluice = in_front_of({options.sluice, "--log-level", "warn", "run", "--"}, options.server);
  subjects.emplace_back("direct", options.server, 0, call);
  subjects.emplace_back("through sluice", through_sluice, 0, call);
  if (options.audit_dir) {
    for (const char* sync : {"normal", "full"}) {
      subjects.emplace_back(std::string("sluice + audit, sync ") + sync,
                            in_front_of({options.sluice, "--log-level", "warn", "run", "--config",
                                         audited_config(*options.audit_dir, sync, sync), "--"},
                                        options.server),
                            0, call);
      subjects.back().audited = true;
    }
  }
  if (options.busy_poll) {
    const std::string flag = "--busy-poll " + *options.busy_poll;
    subjects.emplace_back("through sluice " + flag,
                          in_front_of({options.sluice, "--log-level", "warn", "run", "--busy-poll", *options.busy_poll,
                                       "--"},
                                      options.server),
                          0, call);
    if (options.audit_dir) {
      subjects.emplace_back("sluice + audit, sync normal, " + flag,
                            in_front_of({options.sluice, "--log-level", "warn", "run", "--busy-poll",
                                         *options.busy_poll, "--config",
                                         audited_config(*options.audit_dir, "normal-busy-poll", "normal"), "--"},
                                        options.server),
                            0, call);
      subjects.back().audited = true;
    }
  }
  if (options.relay) {
    subjects.emplace_back("through a bare relay", in_front_of({*options.relay}, options.server), 0, call);
    subjects.back().relay = true;
  }
  if (options.compare) {
    subjects.emplace_back("through " + *options.compare,
                          in_front_of({*options.compare, "--log-level", "warn", "run", "--"}, options.server), 0,
                          call);
  }
  if (options.modern) {
    const auto direct = subjects.size();
    subjects.emplace_back("direct, 2026-07-28", options.server, direct, call);
    subjects.emplace_back("through sluice, 2026-07-28", through_sluice, direct, call);
    subjects[direct].modern = subjects[direct + 1].modern = true;
  }
  for (auto& subject : subjects) {
    initialize(subject, subjects[subject.baseline], options.warmup);
    subject.round_trip_us.reserve(options.calls);
  }
  std::vector<double> cpu_before;
  for (auto& subject : subjects) cpu_before.push_back(cpu_seconds(subject.target.pid()));
  for (std::size_t round = 0; round < rounds; ++round) {
    // The order rotates, so that no target always follows the same other one.
    for (std::size_t turn = 0; turn < subjects.size(); ++turn) {
      run_sequential(subjects[(round + turn) % subjects.size()], share_of_round(options.calls, round));
    }
    for (std::size_t turn = 0; turn < subjects.size(); ++turn) {
      run_pipelined(subjects[(round + turn) % subjects.size()], share_of_round(options.pipelined, round));
    }
  }

  for (std::size_t i = 0; i < subjects.size(); ++i) {
    subjects[i].cpu_seconds = cpu_seconds(subjects[i].target.pid()) - cpu_before[i];
  }
  // After the pipelined calls, when Sluice has buffered the most.
  for (std::size_t i = 0; i < subjects.size(); ++i) {
    if (subjects[i].baseline != i) subjects[i].peak_rss_kib = peak_rss_kib(subjects[i].target.pid());
  }
  for (auto& subject : subjects) finish(subject);
  print_table(options, subjects);
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
    run(*options);
    return 0;
  } catch (const UsageError& e) {
    fmt::print(stderr, "sluice-bench-stdio: {}\n\n{}", e.what(), usage);
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sluice-bench-stdio: {}\n", e.what());
    return 1;
  }
}
