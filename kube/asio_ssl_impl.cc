// Asio's out-of-line SSL implementation, compiled once (BOOST_ASIO_SEPARATE_COMPILATION),
// here because kube is the library that speaks TLS; mcp/asio_impl.cc holds the rest.
#include <utility>

#include <boost/asio/ssl/impl/src.hpp>
