#include "proxy/demo_cluster.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "mcp/child_process.h"

namespace sluice::proxy {
namespace {

constexpr std::string_view serving_prefix = "serving ";

// Copies the cluster's stderr to its log file until the cluster closes it; a thread of
// its own, because a full pipe would stop the cluster in the middle of a request.
void copy_log(int from, int to) {
  char buffer[8192];
  for (;;) {
    const auto got = ::read(from, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    for (ssize_t written = 0; written < got;) {
      const auto put = ::write(to, buffer + written, static_cast<std::size_t>(got - written));
      if (put < 0 && errno == EINTR) continue;
      if (put <= 0) break;
      written += put;
    }
  }
  ::close(from);
  ::close(to);
}

// The URL from the cluster's "serving https://HOST:PORT" line, or empty when it closed
// its output or the deadline passed first.
std::string read_serving_line(int fd, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::string seen;
  for (;;) {
    const auto newline = seen.find('\n');
    if (newline != std::string::npos) {
      const auto line = seen.substr(0, newline);
      if (line.starts_with(serving_prefix)) return line.substr(serving_prefix.size());
      seen.erase(0, newline + 1);
      continue;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0 || seen.size() > 4096) return {};
    pollfd ready{fd, POLLIN, 0};
    const int polled = ::poll(&ready, 1, static_cast<int>(left.count()));
    if (polled < 0 && errno == EINTR) continue;
    if (polled <= 0) return {};
    char buffer[512];
    const auto got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return {};
    seen.append(buffer, static_cast<std::size_t>(got));
  }
}

}  // namespace

DemoCluster::DemoCluster(const std::filesystem::path& program, const std::filesystem::path& kubeconfig,
                         const std::filesystem::path& log_file, std::chrono::milliseconds deadline) {
  const int log = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0)
    throw std::runtime_error("demo: cannot write " + log_file.string() + ": " + std::strerror(errno));
  mcp::SpawnedProcess spawned;
  try {
    spawned = mcp::spawn_process(
        {program.string(), "--listen", "127.0.0.1:0", "--write-kubeconfig", kubeconfig.string()});
  } catch (...) {
    ::close(log);
    throw;
  }
  pid_ = spawned.pid;
  stdout_fd_ = spawned.stdout_fd;
  ::close(spawned.stdin_fd);
  log_copier_ = std::thread(copy_log, spawned.stderr_fd, log);
  url_ = read_serving_line(stdout_fd_, deadline);
  if (url_.empty()) {
    stop();
    throw std::runtime_error("demo: " + program.string() + " did not start within " +
                             std::to_string(deadline.count()) + " ms; its log is " + log_file.string());
  }
}

DemoCluster::~DemoCluster() { stop(); }

void DemoCluster::stop() {
  if (pid_ > 0) {
    ::kill(-pid_, SIGTERM);  // the group: spawn_process made it a group leader
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  if (stdout_fd_ >= 0) {
    ::close(stdout_fd_);
    stdout_fd_ = -1;
  }
  if (log_copier_.joinable()) log_copier_.join();
}

}  // namespace sluice::proxy
