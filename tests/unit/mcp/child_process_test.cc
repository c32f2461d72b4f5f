#include "mcp/child_process.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>
#include <system_error>
#include <vector>

#include <boost/asio/signal_set.hpp>
#include <catch2/catch.hpp>

#include "support/async_test.h"

namespace sluice::mcp {
namespace {

using namespace std::chrono_literals;
using test::receive_line;
using test::run_test;

constexpr std::size_t child_line_limit = 1 << 20;

std::chrono::milliseconds since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

// While it lives, orphaned descendants of this process are re-parented to it instead
// of to init: a grandchild whose parent died becomes a child the test can wait for.
class SubreaperScope {
 public:
  SubreaperScope() { REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0UL, 0UL, 0UL) == 0); }
  ~SubreaperScope() { ::prctl(PR_SET_CHILD_SUBREAPER, 0UL, 0UL, 0UL, 0UL); }
  SubreaperScope(const SubreaperScope&) = delete;
  SubreaperScope& operator=(const SubreaperScope&) = delete;
};

TEST_CASE("a child running cat echoes the lines it is sent") {
  asio::io_context io;
  ChildProcess child(io.get_executor(), {"/bin/cat"}, child_line_limit);

  run_test(io, [&]() -> asio::awaitable<void> {
    child.transport().send(R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
    child.transport().send(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
    const auto first = co_await receive_line(child.transport());
    const auto second = co_await receive_line(child.transport());
    CHECK(first == R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
    CHECK(second == R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
    co_await child.stop(5s);
  });
}

TEST_CASE("stop() returns as soon as a child that exits on stdin EOF has exited") {
  asio::io_context io;
  ChildProcess child(io.get_executor(), {"/bin/cat"}, child_line_limit);
  constexpr auto grace = 20s;

  run_test(
      io,
      [&]() -> asio::awaitable<void> {
        const auto start = std::chrono::steady_clock::now();
        co_await child.stop(grace);
        CHECK(since(start) < grace / 2);
        REQUIRE(child.exit_status().has_value());
        CHECK(describe_wait_status(*child.exit_status()) == "exited with status 0");
      },
      30s);
}

TEST_CASE("stop() sends SIGTERM to a child that ignores stdin EOF") {
  asio::io_context io;
  ChildProcess child(io.get_executor(), {"/bin/sh", "-c", "echo ready; while :; do sleep 1; done"}, child_line_limit);
  constexpr auto grace = 100ms;

  run_test(io, [&]() -> asio::awaitable<void> {
    const auto greeting = co_await receive_line(child.transport());
    REQUIRE(greeting == "ready");
    const auto start = std::chrono::steady_clock::now();
    co_await child.stop(grace);
    CHECK(since(start) >= grace);
    REQUIRE(child.exit_status().has_value());
    CHECK(WIFSIGNALED(*child.exit_status()));
    CHECK(WTERMSIG(*child.exit_status()) == SIGTERM);
  });
}

TEST_CASE("stop() escalates to SIGKILL when the child ignores stdin EOF and SIGTERM") {
  asio::io_context io;
  ChildProcess child(io.get_executor(),
                     {"/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"}, child_line_limit);
  constexpr auto grace = 100ms;

  run_test(io, [&]() -> asio::awaitable<void> {
    // The trap is set once the child says so; SIGTERM before that would end it.
    const auto greeting = co_await receive_line(child.transport());
    REQUIRE(greeting == "ready");
    const auto start = std::chrono::steady_clock::now();
    co_await child.stop(grace);
    CHECK(since(start) >= 2 * grace);
    REQUIRE(child.exit_status().has_value());
    CHECK(WIFSIGNALED(*child.exit_status()));
    CHECK(WTERMSIG(*child.exit_status()) == SIGKILL);
    CHECK(describe_wait_status(*child.exit_status()) == "was killed by signal 9 (Killed)");
  });
}

TEST_CASE("no process the child started survives stop()") {
  SubreaperScope subreaper;
  std::string script;
  SECTION("when the child must be signalled") { script = "sleep 1000 & echo $!; wait"; }
  SECTION("when the child exits on stdin EOF, leaving the process behind") {
    script = "sleep 1000 & echo $!; read -r line; exit 0";
  }

  asio::io_context io;
  ChildProcess child(io.get_executor(), {"/bin/sh", "-c", script}, child_line_limit);
  asio::signal_set child_exits(io, SIGCHLD);
  pid_t grandchild = -1;
  struct KillOnFailure {
    pid_t& pid;
    ~KillOnFailure() {
      if (pid <= 0) return;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } cleanup{grandchild};

  run_test(
      io,
      [&]() -> asio::awaitable<void> {
        // Not JSON: the transport hands over frames as they are.
        grandchild = std::stoi(co_await receive_line(child.transport()));
        REQUIRE(grandchild > 0);
        REQUIRE(::kill(grandchild, 0) == 0);

        co_await child.stop(200ms);

        // Orphaned when the child died, the grandchild is now this process's to reap.
        int status = 0;
        for (;;) {
          const pid_t got = ::waitpid(grandchild, &status, WNOHANG);
          REQUIRE(got >= 0);
          if (got == grandchild) break;
          co_await child_exits.async_wait(asio::use_awaitable);
        }
        const pid_t reaped = std::exchange(grandchild, -1);
        CHECK(WIFSIGNALED(status));
        CHECK(WTERMSIG(status) == SIGTERM);
        const int signalled = ::kill(reaped, 0);
        const int error = errno;
        CHECK(signalled == -1);
        CHECK(error == ESRCH);
      },
      5s);
}

TEST_CASE("wait() returns the status of a child that exits on its own") {
  asio::io_context io;
  ChildProcess child(io.get_executor(), {"/bin/sh", "-c", "exit 3"}, child_line_limit);

  run_test(io, [&]() -> asio::awaitable<void> {
    const int status = co_await child.wait();
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 3);
    CHECK(describe_wait_status(status) == "exited with status 3");
  });
}

TEST_CASE("what a child writes to stderr does not reach its transport") {
  asio::io_context io;
  ChildProcess child(io.get_executor(), {"/bin/sh", "-c", "echo noise >&2; echo '{}'"}, child_line_limit);

  run_test(io, [&]() -> asio::awaitable<void> {
    const auto output = co_await receive_line(child.transport());
    CHECK(output == "{}");
    const auto end = co_await child.transport().receive();
    CHECK_FALSE(end.has_value());
  });
}

TEST_CASE("a child inherits no descriptor of Sluice's beyond its stdin, stdout and stderr") {
  asio::io_context io;
  // An open descriptor without close-on-exec, like a socket a library opened.
  const int leaked = ::dup(STDERR_FILENO);
  REQUIRE(leaked > 2);
  // The shell lists its own descriptors while it waits for ls (no pipeline: a shell
  // holds a pipe's ends while it starts the commands on either side).
  ChildProcess child(io.get_executor(), {"/bin/sh", "-c", "ls /proc/$$/fd"}, child_line_limit);
  ::close(leaked);

  run_test(io, [&]() -> asio::awaitable<void> {
    std::string listed;
    while (auto frame = co_await child.transport().receive()) listed += frame->text + " ";
    CHECK(listed == "0 1 2 ");
    co_await child.stop(5s);
  });
}

TEST_CASE("a child starts with the open-file limit Sluice was given, not the one Sluice raised itself to") {
  rlimit original{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &original) == 0);
  REQUIRE(original.rlim_max != RLIM_INFINITY);
  REQUIRE(original.rlim_max >= 64);
  // As if Sluice had been started with a soft limit under a larger hard one.
  rlimit given = original;
  given.rlim_cur = std::min<rlim_t>(512, original.rlim_max / 2);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &given) == 0);
  CHECK(raise_open_file_limit() == original.rlim_max);

  asio::io_context io;
  ChildProcess child(io.get_executor(), {"/bin/sh", "-c", "ulimit -Sn"}, child_line_limit);
  run_test(io, [&]() -> asio::awaitable<void> {
    const auto soft_limit = co_await receive_line(child.transport());
    CHECK(soft_limit == std::to_string(given.rlim_cur));
    co_await child.stop(5s);
  });
  ::setrlimit(RLIMIT_NOFILE, &original);
}

TEST_CASE("starting a command that does not exist throws an error naming it") {
  std::vector<std::string> argv;
  SECTION("given as a path") { argv = {"/nonexistent/sluice-test-server", "--stdio"}; }
  SECTION("looked up in PATH") { argv = {"sluice-test-no-such-server"}; }

  try {
    [[maybe_unused]] const auto spawned = spawn_process(argv);
    FAIL("spawn_process started " << argv.front());
  } catch (const std::system_error& e) {
    CHECK_THAT(e.what(), Catch::Matchers::Contains(argv.front()));
    CHECK(e.code() == std::errc::no_such_file_or_directory);
  }
}

}  // namespace
}  // namespace sluice::mcp
