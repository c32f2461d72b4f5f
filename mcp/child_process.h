// An upstream MCP server run as a child process: spawned with pipes, its stderr
// relayed to Sluice's log, its exit observed, and stopped without leaving orphans.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/signal_set.hpp>

#include "mcp/async_event.h"
#include "mcp/stream_transport.h"

namespace sluice::mcp {

struct SpawnedProcess {
  pid_t pid = -1;
  int stdin_fd = -1;   // write end
  int stdout_fd = -1;  // read end
  int stderr_fd = -1;  // read end
};

// Starts `argv` (argv[0] looked up in PATH) as the leader of a new process group, so
// that stopping it also reaches whatever it started (npx, shells). The child gets
// SIGTERM if Sluice dies first. Throws std::system_error naming the command when it
// cannot be started, including when exec fails.
SpawnedProcess spawn_process(const std::vector<std::string>& argv);

// Raises this process's soft open-file limit to its hard one (an HTTP listener holds a
// descriptor per connection) and returns the soft limit now in force. Children spawned
// after it still start with the soft limit Sluice was given, as systemd gives its
// services 1024 whatever its own: a program using select() fails on a descriptor
// above 1023.
rlim_t raise_open_file_limit();

// The command as one line, for logs and error messages: "npx -y server".
std::string command_line(const std::vector<std::string>& argv);

// "exited with status 3", "was killed by signal 9 (Killed)".
std::string describe_wait_status(int status);

class ChildProcess {
 public:
  ChildProcess(const asio::any_io_executor& executor, const std::vector<std::string>& argv,
               std::size_t max_message_bytes);
  ~ChildProcess();

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  [[nodiscard]] Transport& transport() { return *transport_; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] const std::string& name() const { return name_; }

  // The raw wait status once the child has exited.
  [[nodiscard]] std::optional<int> exit_status() const { return exit_status_; }
  asio::awaitable<int> wait();

  // Closes the child's stdin and gives it `grace` to exit, then SIGTERM to its process
  // group and another `grace`, then SIGKILL. Returns once the child is reaped.
  asio::awaitable<void> stop(std::chrono::milliseconds grace);

 private:
  asio::awaitable<void> relay_stderr();
  asio::awaitable<void> watch_exit();
  void reap();
  asio::awaitable<bool> exited_within(std::chrono::milliseconds limit);
  void signal_group(int signal);

  asio::any_io_executor executor_;
  std::string name_;
  pid_t pid_ = -1;
  std::unique_ptr<StreamTransport> transport_;
  std::unique_ptr<LineReader> stderr_;
  asio::signal_set child_signals_;
  std::optional<int> exit_status_;
  AsyncEvent exited_;
};

}  // namespace sluice::mcp
