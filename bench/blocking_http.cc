#include "bench/blocking_http.h"

#include <cstdint>
#include <iostream>
#include <thread>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "mcp/asio.h"

namespace sluice::bench {
namespace {

namespace http = boost::beast::http;
using asio::ip::tcp;

void serve_connection(tcp::socket socket, const HttpHandler& handler) {
  boost::beast::flat_buffer buffer;
  boost::system::error_code ec;
  for (;;) {
    // Room for the benchmark's 1 MiB payloads (Beast's default limit is 1 MiB).
    http::request_parser<http::string_body> parser;
    parser.body_limit(std::uint64_t{64} << 20);
    http::read(socket, buffer, parser, ec);
    if (ec) return;
    auto request = parser.release();
    HttpResponse response(http::status::accepted, request.version());
    response.keep_alive(request.keep_alive());
    if (!handler(request, response)) return;
    response.prepare_payload();
    http::write(socket, response, ec);
    if (ec || !response.keep_alive()) return;
  }
}

}  // namespace

void answer_json(HttpResponse& response, std::string json) {
  response.result(http::status::ok);
  response.set(http::field::content_type, "application/json");
  response.body() = std::move(json);
}

void serve_blocking_http(unsigned short port, HttpHandler handler) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  std::cerr << "listening on http://127.0.0.1:" << acceptor.local_endpoint().port() << "/mcp" << std::endl;
  for (;;) {
    tcp::socket socket(io);
    acceptor.accept(socket);
    socket.set_option(tcp::no_delay(true));
    std::thread(serve_connection, std::move(socket), std::cref(handler)).detach();
  }
}

}  // namespace sluice::bench
