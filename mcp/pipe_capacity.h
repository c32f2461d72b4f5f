// The buffer of a pipe, grown while a message larger than it crosses and given back
// once it has. A Linux pipe holds 64 KiB: a 1 MiB message crosses it in sixteen rounds
// of the writer filling it and the reader draining it, each a sleep and a wake-up of
// both processes (tens of microseconds apiece on a virtual machine). What a pipe holds
// counts against its user's pipe-user-pages-soft (64 MiB by default) for as long as it
// is that large, and a user over it gets small pipes everywhere: so not kept grown.
#pragma once

#include <cstddef>

namespace sluice::mcp {

class PipeCapacity {
 public:
  // The largest a pipe is grown to (the default /proc/sys/fs/pipe-max-size).
  static constexpr std::size_t most = 1 << 20;

  // `fd` is not owned; one that is not a pipe makes both calls do nothing.
  explicit PipeCapacity(int fd);

  // Makes room for `bytes` at once, up to `most`; a refusal (the user's pipe pages
  // are spent, say) leaves the pipe as it was.
  void fit(std::size_t bytes);
  // Gives the room back, once the pipe holds no more than its first capacity (until
  // then the kernel refuses, and a later call tries again).
  void relax();

  [[nodiscard]] std::size_t bytes() const { return current_; }
  [[nodiscard]] bool grown() const { return current_ > initial_; }

 private:
  int fd_;
  std::size_t initial_ = 0;  // 0: not a pipe
  std::size_t current_ = 0;
};

}  // namespace sluice::mcp
