#include "mcp/pipe_capacity.h"

#include <fcntl.h>

#include <bit>

namespace sluice::mcp {

PipeCapacity::PipeCapacity(int fd) : fd_(fd) {
  const int size = ::fcntl(fd_, F_GETPIPE_SZ);
  if (size > 0) initial_ = current_ = static_cast<std::size_t>(size);
}

void PipeCapacity::fit(std::size_t bytes) {
  if (initial_ == 0 || bytes <= current_ || current_ >= most) return;
  const auto wanted = bytes >= most ? most : std::bit_ceil(bytes);
  const int size = ::fcntl(fd_, F_SETPIPE_SZ, static_cast<int>(wanted));
  if (size > 0) current_ = static_cast<std::size_t>(size);
}

void PipeCapacity::relax() {
  if (!grown()) return;
  const int size = ::fcntl(fd_, F_SETPIPE_SZ, static_cast<int>(initial_));
  if (size > 0) current_ = static_cast<std::size_t>(size);
}

}  // namespace sluice::mcp
