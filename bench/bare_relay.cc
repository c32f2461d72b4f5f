// sluice-bench-relay: the floor of any process between an MCP client and its stdio
// server. It starts the server and copies bytes both ways in one thread around poll(2),
// as an event-loop proxy does, parsing nothing: whatever it adds to a round trip is the
// cost of one more process in the path (two more pipe hops, two more wake-ups), which
// Sluice pays too before it does any work of its own. sluice-bench-stdio --relay sets
// it beside Sluice.
//
// With --listen PORT it is the floor of a Streamable HTTP front instead: it serves
// http://127.0.0.1:PORT/mcp, one blocking thread per connection as sluice-bench-server's
// own HTTP mode does, writes each POST's body to the server as a line and answers a
// request (a body with an "id") with the server's next line as JSON, anything else with
// 202. It frames HTTP and parses no JSON, checks no header and keeps no session: what it
// adds over the server's own HTTP is what any HTTP-to-stdio front pays (a TCP hop, two
// pipe hops, their wake-ups) before it does any work. One exchange with the server at a
// time, so it is the floor for one session; bench/http_latency.mjs --relay sets it
// beside Sluice.
//
//   sluice-bench-relay [--listen PORT] SERVER [ARGS...]
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <string_view>

#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>

#include "bench/blocking_http.h"

namespace {

using sluice::bench::answer_json;
using sluice::bench::HttpRequest;
using sluice::bench::HttpResponse;
using sluice::bench::serve_blocking_http;

// The server's pipes, seen from the relay.
struct Server {
  pid_t pid = -1;
  int to = -1;    // its stdin
  int from = -1;  // its stdout
};

Server start_server(char** argv) {
  int to_server[2];
  int from_server[2];
  if (::pipe(to_server) != 0 || ::pipe(from_server) != 0) {
    std::perror("sluice-bench-relay: pipe");
    std::exit(1);
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("sluice-bench-relay: fork");
    std::exit(1);
  }
  if (pid == 0) {
    ::dup2(to_server[0], STDIN_FILENO);
    ::dup2(from_server[1], STDOUT_FILENO);
    for (const int fd : {to_server[0], to_server[1], from_server[0], from_server[1]}) ::close(fd);
    ::execvp(argv[0], argv);
    std::fprintf(stderr, "sluice-bench-relay: cannot start %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(to_server[0]);
  ::close(from_server[1]);
  // A side that went away shows up as a failed write, not as the end of the relay.
  ::signal(SIGPIPE, SIG_IGN);
  return {pid, to_server[1], from_server[0]};
}

int exit_status_of(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

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

int relay_stdio(Server server) {
  std::array<Direction, 2> directions{Direction{STDIN_FILENO, server.to, {}},
                                      Direction{server.from, STDOUT_FILENO, {}}};
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
      if (direction.done() && direction.to == server.to && server.to >= 0) {
        ::close(server.to);
        server.to = -1;
        direction.to = -1;
      }
    }
    if (!alive) break;
  }
  return exit_status_of(server.pid);
}

// The HTTP mode's side of the server: one line written, one line read, at a time.
class LineExchange {
 public:
  explicit LineExchange(Server server) : server_(server) {}

  // Writes `line` and a newline; with `answered`, returns the server's next line
  // (empty when it is gone).
  std::string exchange(std::string line, bool answered) {
    std::lock_guard lock(mutex_);
    line += '\n';
    for (std::size_t written = 0; written < line.size();) {
      const ssize_t put = ::write(server_.to, line.data() + written, line.size() - written);
      if (put < 0 && errno == EINTR) continue;
      if (put <= 0) return {};
      written += static_cast<std::size_t>(put);
    }
    return answered ? next_line() : std::string();
  }

 private:
  std::string next_line() {
    for (;;) {
      if (const auto end = read_.find('\n', scanned_); end != std::string::npos) {
        auto line = read_.substr(0, end);
        read_.erase(0, end + 1);
        scanned_ = 0;
        return line;
      }
      scanned_ = read_.size();
      std::array<char, chunk> buffer{};
      const ssize_t got = ::read(server_.from, buffer.data(), buffer.size());
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return {};
      read_.append(buffer.data(), static_cast<std::size_t>(got));
    }
  }

  Server server_;
  std::mutex mutex_;
  std::string read_;
  std::size_t scanned_ = 0;
};

[[noreturn]] void relay_http(Server server, unsigned short port) {
  LineExchange exchange(server);
  serve_blocking_http(port, [&exchange](HttpRequest& request, HttpResponse& response) {
    response.set("Mcp-Session-Id", "relay");
    if (request.method() != boost::beast::http::verb::post) {
      response.result(boost::beast::http::status::ok);
      return true;
    }
    // A request has an id; a notification or a response to the server gets 202.
    const bool answered = std::string_view(request.body()).find("\"id\"") != std::string_view::npos;
    auto line = exchange.exchange(std::move(request.body()), answered);
    if (!answered) return true;
    if (line.empty()) return false;  // the server is gone
    answer_json(response, std::move(line));
    return true;
  });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0) {
    std::fprintf(argc < 2 ? stderr : stdout, "Usage: sluice-bench-relay [--listen PORT] SERVER [ARGS...]\n");
    return argc < 2 ? 2 : 0;
  }
  if (std::strcmp(argv[1], "--listen") == 0) {
    if (argc < 4) {
      std::fprintf(stderr, "Usage: sluice-bench-relay [--listen PORT] SERVER [ARGS...]\n");
      return 2;
    }
    try {
      relay_http(start_server(argv + 3), static_cast<unsigned short>(std::stoi(argv[2])));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "sluice-bench-relay: %s\n", e.what());
      return 1;
    }
  }
  return relay_stdio(start_server(argv + 1));
}
