// The HTTP listener on hostile bytes: each input is what one client writes on one
// connection to a real HttpListener on loopback (Beast's request_parser as the
// listener configures it, then Sluice's own checks: path, Host, Origin, Accept,
// Content-Type, session ids, protocol versions, JSON-RPC bodies, several requests on
// a kept-alive connection). The listener must answer with HTTP or close, never crash,
// end every session it opened once asked to, and every connection once its client
// has gone.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "mcp/http_listener.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace sluice::mcp;
namespace asio = boost::asio;
using asio::ip::tcp;

struct Server {
  asio::io_context context;
  std::vector<std::string> opened;
  HttpListener listener;

  Server()
      : listener(context.get_executor(), options(),
                 [this](const std::shared_ptr<HttpServerSession>& session) { opened.push_back(session->id()); }) {
    listener.start();
  }

  static HttpListenerOptions options() {
    HttpListenerOptions options;
    options.address = "127.0.0.1:0";
    options.origin_allowed = [](std::string_view origin) { return origin == "http://localhost"; };
    // Small, so that the fuzzer reaches the body limit.
    options.max_body_bytes = 4096;
    options.max_sessions = 4;
    return options;
  }

  // Runs what is ready until nothing is: loopback delivers written bytes at once, so a
  // quiet io_context and an empty socket mean the listener has said all it will.
  void settle(tcp::socket& client, std::string& received) {
    for (int round = 0; round < 1000; ++round) {
      std::size_t work = context.poll();
      if (client.is_open()) {
        boost::system::error_code ec;
        std::array<char, 4096> buffer{};
        while (client.available(ec) > 0 && !ec) {
          const auto n = client.read_some(asio::buffer(buffer), ec);
          received.append(buffer.data(), n);
          work += n;
        }
      }
      if (work == 0) return;
    }
  }
};

Server& server() {
  static Server* instance = [] {
    spdlog::set_level(spdlog::level::off);
    return new Server();
  }();
  return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& s = server();
  tcp::socket client(s.context);
  client.connect(s.listener.local_endpoint());
  client.non_blocking(true);
  std::string received;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (!rest.empty()) {
    boost::system::error_code ec;
    const auto n = client.write_some(asio::buffer(rest.data(), rest.size()), ec);
    if (ec && ec != asio::error::would_block) break;
    rest.remove_prefix(n);
    s.settle(client, received);
  }
  boost::system::error_code ignored;
  client.shutdown(tcp::socket::shutdown_send, ignored);
  s.settle(client, received);
  FUZZ_CHECK(received.empty() || received.starts_with("HTTP/1.1 ") || received.starts_with("HTTP/1.0 "));

  client.close();
  for (const auto& id : s.opened) s.listener.end_session(id);
  s.opened.clear();
  s.settle(client, received);
  FUZZ_CHECK(s.listener.session_count() == 0);
  FUZZ_CHECK(s.listener.connection_count() == 0);
  return 0;
}
