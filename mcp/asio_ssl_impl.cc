// Asio's out-of-line SSL implementation, compiled once (BOOST_ASIO_SEPARATE_COMPILATION),
// in mcp, the lowest library that speaks TLS (the HTTP transports; kube's REST client
// links it from here); mcp/asio_impl.cc holds the rest.
#include <utility>

#include <boost/asio/ssl/impl/src.hpp>
