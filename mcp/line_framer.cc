#include "mcp/line_framer.h"

#include <algorithm>

namespace sluice::mcp {

LineFramer::LineFramer(std::size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

void LineFramer::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    const auto newline = bytes.find('\n');
    const auto chunk = bytes.substr(0, newline);
    if (discarding_) {
      discarded_bytes_ += chunk.size();
      keep_tail(chunk);
    } else if (partial_.size() + chunk.size() > max_line_bytes_) {
      discarding_ = true;
      discarded_bytes_ = partial_.size() + chunk.size();
      discarded_head_ = (partial_.size() >= kept_end_bytes ? partial_.substr(0, kept_end_bytes)
                                                           : partial_ + std::string(chunk.substr(0, kept_end_bytes - partial_.size())));
      discarded_tail_ = partial_.size() >= kept_end_bytes ? partial_.substr(partial_.size() - kept_end_bytes) : partial_;
      keep_tail(chunk);
      std::string().swap(partial_);
    } else {
      partial_.append(chunk);
    }
    if (newline == std::string_view::npos) return;
    end_line();
    bytes.remove_prefix(newline + 1);
  }
}

void LineFramer::keep_tail(std::string_view chunk) {
  if (chunk.size() >= kept_end_bytes) {
    discarded_tail_.assign(chunk.substr(chunk.size() - kept_end_bytes));
    return;
  }
  discarded_tail_.append(chunk);
  if (discarded_tail_.size() > kept_end_bytes) discarded_tail_.erase(0, discarded_tail_.size() - kept_end_bytes);
}

void LineFramer::end_line() {
  if (discarding_) {
    ready_.push_back(Frame{Frame::Kind::oversized, {}, discarded_bytes_, std::move(discarded_head_),
                           std::move(discarded_tail_)});
    discarded_head_.clear();
    discarded_tail_.clear();
    discarding_ = false;
    discarded_bytes_ = 0;
    return;
  }
  // Peers on Windows terminate lines with CRLF; the CR is not part of the message.
  if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
  const bool blank = std::all_of(partial_.begin(), partial_.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\r';
  });
  if (!blank) {
    const auto size = partial_.size();
    ready_.push_back(Frame{Frame::Kind::line, std::move(partial_), size});
  }
  partial_.clear();
}

std::optional<Frame> LineFramer::next() {
  if (ready_.empty()) return std::nullopt;
  Frame frame = std::move(ready_.front());
  ready_.pop_front();
  return frame;
}

}  // namespace sluice::mcp
