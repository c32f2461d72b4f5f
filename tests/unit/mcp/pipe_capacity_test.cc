#include "mcp/pipe_capacity.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include <catch2/catch.hpp>

#include "support/async_test.h"

namespace sluice::mcp {
namespace {

using test::Pipe;

std::size_t capacity_of(int fd) { return static_cast<std::size_t>(::fcntl(fd, F_GETPIPE_SZ)); }

TEST_CASE("a pipe grows to fit a large message and gets its first size back once it is read") {
  Pipe pipe;
  const auto first = capacity_of(pipe.write_end());
  PipeCapacity capacity(pipe.write_end());
  CHECK(capacity.bytes() == first);

  capacity.fit(first - 1);
  CHECK_FALSE(capacity.grown());

  capacity.fit(300 * 1024);
  CHECK(capacity.grown());
  CHECK(capacity_of(pipe.read_end()) == 512 * 1024);  // the next power of two; one pipe, both ends
  CHECK(capacity.bytes() == 512 * 1024);

  capacity.fit(64 * 1024 * 1024);
  CHECK(capacity.bytes() == PipeCapacity::most);

  // While the pipe holds more than its first size, the kernel keeps it large.
  const std::string held(first + 1, 'x');
  REQUIRE(::write(pipe.write_end(), held.data(), held.size()) == static_cast<ssize_t>(held.size()));
  capacity.relax();
  CHECK(capacity.grown());
  CHECK(capacity_of(pipe.write_end()) == PipeCapacity::most);

  std::string drained(held.size(), '\0');
  REQUIRE(::read(pipe.read_end(), drained.data(), drained.size()) == static_cast<ssize_t>(drained.size()));
  capacity.relax();
  CHECK_FALSE(capacity.grown());
  CHECK(capacity_of(pipe.write_end()) == first);
}

TEST_CASE("a descriptor that is not a pipe is left alone") {
  const int file = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  REQUIRE(file >= 0);
  PipeCapacity capacity(file);
  capacity.fit(1024 * 1024);
  CHECK(capacity.bytes() == 0);
  CHECK_FALSE(capacity.grown());
  capacity.relax();
  ::close(file);
}

}  // namespace
}  // namespace sluice::mcp
