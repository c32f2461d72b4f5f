#include "mcp/child_process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <spdlog/spdlog.h>

namespace sluice::mcp {
namespace {

constexpr std::size_t max_stderr_line_bytes = 64 * 1024;

// The open-file limit Sluice was started with, for its children, once it raised its own
// (set before any child is spawned, read in the forked child).
bool open_file_limit_raised = false;
rlimit inherited_open_file_limit{};

struct Pipe {
  int read = -1;
  int write = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
    read = fds[0];
    write = fds[1];
  }
};

// Runs in the forked child: only async-signal-safe calls until exec.
[[noreturn]] void exec_child(char* const* args, pid_t parent, const Pipe& in, const Pipe& out,
                             const Pipe& err, const Pipe& status) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(127);  // Sluice died between fork and prctl
  ::dup2(in.read, STDIN_FILENO);
  ::dup2(out.write, STDOUT_FILENO);
  ::dup2(err.write, STDERR_FILENO);
  // Nothing else Sluice holds may reach the server: the listening socket, other
  // sessions' connections and pipes, the audit database. Marked close-on-exec rather
  // than closed, so that `status` still reports a failed exec.
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  if (open_file_limit_raised) ::setrlimit(RLIMIT_NOFILE, &inherited_open_file_limit);
  // Sluice ignores SIGPIPE and SIGXFSZ; exec keeps ignored signals ignored, the server should not.
  ::signal(SIGPIPE, SIG_DFL);
  ::signal(SIGXFSZ, SIG_DFL);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execvp(args[0], args);
  const int error = errno;
  [[maybe_unused]] const auto written = ::write(status.write, &error, sizeof error);
  ::_exit(127);
}

}  // namespace

SpawnedProcess spawn_process(const std::vector<std::string>& argv) {
  if (argv.empty()) throw std::invalid_argument("no upstream command given");
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  Pipe in, out, err, status;
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) exec_child(args.data(), parent, in, out, err, status);

  ::setpgid(pid, pid);  // also here, so that the group exists before anyone signals it
  for (const int fd : {in.read, out.write, err.write, status.write}) ::close(fd);
  int exec_error = 0;
  ssize_t got;
  do {
    got = ::read(status.read, &exec_error, sizeof exec_error);
  } while (got < 0 && errno == EINTR);
  ::close(status.read);
  if (got == static_cast<ssize_t>(sizeof exec_error)) {
    ::waitpid(pid, nullptr, 0);
    for (const int fd : {in.write, out.read, err.read}) ::close(fd);
    throw std::system_error(exec_error, std::generic_category(),
                            "cannot start upstream `" + command_line(argv) + "`");
  }
  return SpawnedProcess{pid, in.write, out.read, err.read};
}

rlim_t raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur >= limit.rlim_max) return limit.rlim_cur;
  const rlimit inherited = limit;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) return inherited.rlim_cur;
  inherited_open_file_limit = inherited;
  open_file_limit_raised = true;
  return limit.rlim_cur;
}

std::string command_line(const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& arg : argv) {
    if (!text.empty()) text += ' ';
    text += arg;
  }
  return text;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           ::strsignal(WTERMSIG(status)) + ")";
  }
  return "ended with wait status " + std::to_string(status);
}

ChildProcess::ChildProcess(const asio::any_io_executor& executor, const std::vector<std::string>& argv,
                           std::size_t max_message_bytes)
    : executor_(executor),
      name_(argv.empty() ? std::string() : argv.front()),
      child_signals_(executor, SIGCHLD),
      exited_(executor) {
  const auto spawned = spawn_process(argv);
  pid_ = spawned.pid;
  transport_ = std::make_unique<StreamTransport>(executor, spawned.stdout_fd, spawned.stdin_fd,
                                                 max_message_bytes);
  stderr_ = std::make_unique<LineReader>(executor, spawned.stderr_fd, max_stderr_line_bytes);
  asio::co_spawn(executor_, relay_stderr(), asio::detached);
  asio::co_spawn(executor_, watch_exit(), asio::detached);
}

ChildProcess::~ChildProcess() {
  boost::system::error_code ignored;
  child_signals_.cancel(ignored);
  if (!exit_status_) {
    signal_group(SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

asio::awaitable<void> ChildProcess::relay_stderr() {
  while (auto frame = co_await stderr_->next()) {
    if (frame->kind == Frame::Kind::line) {
      spdlog::info("upstream stderr: {}", frame->text);
    } else {
      spdlog::warn("upstream stderr: a line of {} bytes was dropped", frame->size);
    }
  }
}

void ChildProcess::reap() {
  if (exit_status_) return;
  int status = 0;
  pid_t got;
  do {
    got = ::waitpid(pid_, &status, WNOHANG);
  } while (got < 0 && errno == EINTR);
  if (got != pid_) return;
  exit_status_ = status;
  // What the server started itself (npx's node, a shell's children) must not outlive it.
  ::kill(-pid_, SIGTERM);
  exited_.notify_all();
}

asio::awaitable<void> ChildProcess::watch_exit() {
  reap();  // it may have exited before the signal set was listening
  while (!exit_status_) {
    boost::system::error_code ec;
    co_await child_signals_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    reap();
  }
}

asio::awaitable<int> ChildProcess::wait() {
  while (!exit_status_) co_await exited_.wait();
  co_return *exit_status_;
}

asio::awaitable<bool> ChildProcess::exited_within(std::chrono::milliseconds limit) {
  co_return co_await exited_.wait_for([this] { return exit_status_.has_value(); }, limit);
}

void ChildProcess::signal_group(int signal) {
  if (::kill(-pid_, signal) != 0) ::kill(pid_, signal);
}

asio::awaitable<void> ChildProcess::stop(std::chrono::milliseconds grace) {
  transport_->close_send();
  bool exited = co_await exited_within(grace);
  if (!exited) {
    spdlog::warn("upstream did not exit within {} ms of its stdin closing; sending SIGTERM", grace.count());
    signal_group(SIGTERM);
    exited = co_await exited_within(grace);
  }
  if (!exited) {
    spdlog::warn("upstream did not exit within {} ms of SIGTERM; sending SIGKILL", grace.count());
    signal_group(SIGKILL);
    co_await wait();
  }
}

}  // namespace sluice::mcp
