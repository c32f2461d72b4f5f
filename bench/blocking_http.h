// The benchmarks' minimal Streamable HTTP server: http://127.0.0.1:PORT/mcp, one
// blocking thread per connection, requests one after another on each. What a benchmark
// front does with a request is its handler's; this is the HTTP both share, so that the
// direct baseline (sluice-bench-server --listen) and the bare HTTP relay
// (sluice-bench-relay --listen) cost the same in it.
#pragma once

#include <functional>
#include <string>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace sluice::bench {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

// Fills in the answer to `request`, which comes as 202 Accepted with the request's
// keep-alive and no body; false closes the connection without an answer.
using HttpHandler = std::function<bool(HttpRequest& request, HttpResponse& response)>;

// Answers `response` with `json` as its body, 200 OK.
void answer_json(HttpResponse& response, std::string json);

// Serves until the process ends; says "listening on URL" on stderr once it does.
[[noreturn]] void serve_blocking_http(unsigned short port, HttpHandler handler);

}  // namespace sluice::bench
