# Every dependency comes from Debian's packages (scripts/setup installs them).
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(spdlog 1.10 REQUIRED)
find_package(fmt REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(yaml-cpp 0.7 REQUIRED)

# Asio is compiled once, in mcp/asio_impl.cc, instead of in every translation unit
# that includes it; this is what keeps a rebuild of one file at seconds, not tens.
add_library(sluice_asio INTERFACE)
target_link_libraries(sluice_asio INTERFACE Boost::headers Threads::Threads)
target_compile_definitions(sluice_asio INTERFACE BOOST_ASIO_SEPARATE_COMPILATION BOOST_ASIO_NO_DEPRECATED)
