// sluice-bench-relay: the floor of any process between an MCP client and its stdio
// server. It starts the server and copies bytes both ways in one thread around poll(2),
// as an event-loop proxy does, parsing nothing: whatever it adds to a round trip is the
// cost of one more process in the path (two more pipe hops, two more wake-ups), which
// Sluice pays too before it does any work of its own. sluice-bench-stdio --relay sets
// it beside Sluice.
//
//   sluice-bench-relay SERVER [ARGS...]
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

// One direction: bytes read from `from` wait in `pending` until `to` takes them, so
// that neither side's full pipe can stall the other direction.
struct Direction {
  int from;
  int to;
  std::string pending;
  bool ended = false;  // `from` reached its end

  [[nodiscard]] bool done() const { return ended && pending.empty(); }
};

constexpr std::size_t chunk = 64 * 1024;
// Stop reading a side while this much of it is waiting to be written.
constexpr std::size_t most_pending = 1024 * 1024;

// Reads what is there; false on an error other than "nothing yet".
bool take(Direction& direction) {
  std::array<char, chunk> buffer{};
  const ssize_t got = ::read(direction.from, buffer.data(), buffer.size());
  if (got < 0) return errno == EINTR || errno == EAGAIN;
  if (got == 0) direction.ended = true;
  direction.pending.append(buffer.data(), static_cast<std::size_t>(got));
  return true;
}

// Writes what the other side takes; false when it is gone.
bool give(Direction& direction) {
  const ssize_t put = ::write(direction.to, direction.pending.data(), direction.pending.size());
  if (put < 0) return errno == EINTR || errno == EAGAIN;
  direction.pending.erase(0, static_cast<std::size_t>(put));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0) {
    std::fprintf(argc < 2 ? stderr : stdout, "Usage: sluice-bench-relay SERVER [ARGS...]\n");
    return argc < 2 ? 2 : 0;
  }
  int to_server[2];
  int from_server[2];
  if (::pipe(to_server) != 0 || ::pipe(from_server) != 0) {
    std::perror("sluice-bench-relay: pipe");
    return 1;
  }
  const pid_t server = ::fork();
  if (server < 0) {
    std::perror("sluice-bench-relay: fork");
    return 1;
  }
  if (server == 0) {
    ::dup2(to_server[0], STDIN_FILENO);
    ::dup2(from_server[1], STDOUT_FILENO);
    for (const int fd : {to_server[0], to_server[1], from_server[0], from_server[1]}) ::close(fd);
    ::execvp(argv[1], argv + 1);
    std::fprintf(stderr, "sluice-bench-relay: cannot start %s: %s\n", argv[1], std::strerror(errno));
    ::_exit(127);
  }
  ::close(to_server[0]);
  ::close(from_server[1]);
  // A side that went away shows up as a failed write, not as the end of the relay.
  ::signal(SIGPIPE, SIG_IGN);
  std::array<Direction, 2> directions{Direction{STDIN_FILENO, to_server[1], {}},
                                      Direction{from_server[0], STDOUT_FILENO, {}}};
  for (const auto& direction : directions) {
    for (const int fd : {direction.from, direction.to}) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  // The client's end of input is passed on to the server; the server's end of output
  // ends the relay.
  while (!directions[1].done()) {
    std::array<pollfd, 4> watched{};
    nfds_t count = 0;
    for (const auto& direction : directions) {
      if (!direction.ended && direction.pending.size() < most_pending) watched[count++] = {direction.from, POLLIN, 0};
      if (!direction.pending.empty()) watched[count++] = {direction.to, POLLOUT, 0};
    }
    if (::poll(watched.data(), count, -1) < 0 && errno != EINTR) break;
    bool alive = true;
    for (auto& direction : directions) {
      for (nfds_t i = 0; i < count; ++i) {
        if (watched[i].revents == 0) continue;
        if (watched[i].fd == direction.from && watched[i].events == POLLIN) alive = alive && take(direction);
        if (watched[i].fd == direction.to && watched[i].events == POLLOUT) alive = alive && give(direction);
      }
      if (!direction.pending.empty() && alive) alive = give(direction);
      if (direction.done() && direction.to == to_server[1] && to_server[1] >= 0) {
        ::close(to_server[1]);
        to_server[1] = -1;
        direction.to = -1;
      }
    }
    if (!alive) break;
  }
  int status = 0;
  while (::waitpid(server, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
