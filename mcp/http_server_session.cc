#include "mcp/http_server_session.h"

#include <charconv>

#include <spdlog/spdlog.h>

#include "mcp/json_members.h"
#include "mcp/random_id.h"
#include "mcp/sse.h"

namespace sluice::mcp {
namespace {

// Finished POST streams kept for a client that lost the connection before it read
// the answer; the oldest go first.
constexpr std::size_t finished_streams_held = 32;

void summarize_message(const Message& message, PostSummary& summary) {
  if (message.is_request()) {
    summary.request_ids.push_back(message.id());
    if (message.method() == "initialize") summary.initialize = true;
    const auto& params = message.params();
    if (params.is_object()) {
      const auto meta = params.find("_meta");
      if (meta != params.end() && meta->is_object()) {
        const auto token = meta->find("progressToken");
        if (token != meta->end()) summary.progress_tokens.push_back(*token);
      }
    }
  } else if (message.method() == "notifications/cancelled") {
    const auto& params = message.params();
    if (params.is_object() && params.contains("requestId")) summary.cancelled_ids.push_back(params["requestId"]);
  }
}

// What send() and route() read of an outgoing message: the message with only its id,
// its method and the params or result that routing needs parsed (the others stand as
// empty objects); a batch in full; discarded when it is not JSON.
json outline(std::string_view message) {
  const auto members = object_members(message);
  if (!members) return json::parse(message, nullptr, false);
  json body = json::object();
  const auto method = member_value(*members, "method");
  if (method) body["method"] = json::parse(*method, nullptr, false);
  if (const auto id = member_value(*members, "id")) body["id"] = json::parse(*id, nullptr, false);
  if (const auto params = member_value(*members, "params")) {
    // Routing reads the params of a progress notification only.
    const bool progress = body.contains("method") && body["method"] == "notifications/progress";
    body["params"] = progress ? json::parse(*params, nullptr, false) : json::object();
  }
  if (const auto result = member_value(*members, "result")) {
    // Read only for what route() and tool_headers_ look for in it: the version of an
    // initialize result, the tools of a tools/list one.
    const auto fields = object_members(*result);
    const bool wanted = !fields || member_value(*fields, "protocolVersion") || member_value(*fields, "tools");
    body["result"] = wanted ? json::parse(*result, nullptr, false) : json::object();
  }
  if (member_value(*members, "error")) body["error"] = json::object();
  for (const auto& [key, value] : body.items()) {
    if (value.is_discarded()) return json(json::value_t::discarded);
  }
  return body;
}

}  // namespace

PostSummary summarize_post(const Parsed& parsed) {
  PostSummary summary;
  if (const auto* message = std::get_if<Message>(&parsed)) {
    summarize_message(*message, summary);
  } else if (const auto* batch = std::get_if<Batch>(&parsed)) {
    summary.batch = true;
    for (const auto& element : batch->elements) {
      if (const auto* member = std::get_if<Message>(&element)) summarize_message(*member, summary);
    }
  }
  return summary;
}

ServerStream::ServerStream(const asio::any_io_executor& executor, std::string id, bool json_answer,
                           std::size_t replay_bytes)
    : id_(std::move(id)), json_answer_(json_answer), replay_bytes_(replay_bytes), changed_(executor) {}

void ServerStream::push(std::string_view message) {
  if (finished_) return;
  if (!json_answer_ && !message.empty()) {
    ++messages_;
    if (messages_ == 1 && written_seq_ <= first_seq_) {
      sole_message_ = next_seq();
    } else {
      sole_message_.reset();
    }
  }
  events_.emplace_back(message);
  held_bytes_ += events_.back().size();
  trim();
  changed_.notify_all();
}

void ServerStream::finish() {
  finished_ = true;
  changed_.notify_all();
}

void ServerStream::mark_written(std::uint64_t seq) {
  written_seq_ = std::max(written_seq_, seq);
  sole_message_.reset();
  trim();
  changed_.notify_all();
}

std::string ServerStream::event(std::uint64_t seq) const {
  if (json_answer_) return message(seq);
  return encode_sse_event(id_ + "-" + std::to_string(seq), message(seq));
}

std::string ServerStream::take_sole_message() {
  // Moved out, not copied: no event of this stream reached a client, so none can
  // resume from it.
  auto& held = events_[sole_message_.value() - first_seq_];
  held_bytes_ -= held.size();
  auto message = std::move(held);
  held.clear();
  mark_written(next_seq());
  return message;
}

void ServerStream::trim() {
  // Written events go first. Unwritten ones go only when the stream holds several
  // times its budget: a client that never comes back must not hold memory forever.
  // A sole message stays, as the JSON answer it may still become.
  while (!events_.empty() && held_bytes_ > replay_bytes_ &&
         (first_seq_ < written_seq_ || held_bytes_ > 4 * replay_bytes_) && sole_message_ != first_seq_) {
    if (first_seq_ >= written_seq_) {
      spdlog::warn("stream {}: dropped an event nobody read; the stream holds over {} bytes", id_,
                   4 * replay_bytes_);
    }
    held_bytes_ -= events_.front().size();
    events_.pop_front();
    ++first_seq_;
  }
}

std::optional<std::uint64_t> ServerStream::parse_event_id(std::string_view event_id) const {
  if (!event_id.starts_with(id_) || event_id.size() <= id_.size() + 1 || event_id[id_.size()] != '-') {
    return std::nullopt;
  }
  const auto digits = event_id.substr(id_.size() + 1);
  std::uint64_t seq = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return seq;
}

std::uint64_t ServerStream::attach() {
  attached_ = true;
  ++generation_;
  changed_.notify_all();
  return generation_;
}

void ServerStream::detach(std::uint64_t generation) {
  if (generation == generation_) attached_ = false;
}

HttpServerSession::HttpServerSession(const asio::any_io_executor& executor, std::string principal,
                                     HttpSessionLimits limits, HttpSessionShape shape, ToolHeaderMap* tool_headers)
    : executor_(executor),
      id_(random_hex(16)),
      principal_(std::move(principal)),
      limits_(limits),
      shape_(shape),
      tool_headers_(tool_headers),
      inbound_ready_(executor),
      standalone_(std::make_shared<ServerStream>(executor, "0", false, limits.replay_bytes)) {}

std::shared_ptr<ServerStream> HttpServerSession::post(Parsed body, std::size_t body_bytes,
                                                      const PostSummary& summary, bool json_answer) {
  touch();
  for (const auto& id : summary.cancelled_ids) {
    // The cancelled request will get no answer; its stream must not wait for one.
    if (by_request_.contains(id_key(id))) answered(id);
  }
  std::shared_ptr<ServerStream> stream;
  if (!summary.request_ids.empty()) {
    stream = open_stream(json_answer);
    for (const auto& id : summary.request_ids) {
      auto key = id_key(id);
      // A duplicate id is refused by the proxy's session with an error that carries the
      // same id; the first request keeps its stream.
      if (by_request_.contains(key)) continue;
      by_request_.emplace(std::move(key), stream);
      ++unanswered_[stream->id()];
    }
    // MCP 2025-11-25: an event with an id and no data first, so that a client whose
    // connection breaks before the answer can resume the stream.
    if (!json_answer && protocol_version_ >= "2025-11-25") stream->push("");
    if (unanswered_[stream->id()] == 0) stream->finish();
    if (!json_answer) {
      for (const auto& token : summary.progress_tokens) by_progress_token_.insert_or_assign(id_key(token), stream);
    }
    if (summary.initialize && !summary.request_ids.empty()) initialize_request_ = id_key(summary.request_ids.front());
  }
  Frame frame;
  frame.size = body_bytes;
  frame.parsed = std::move(body);
  inbound_.push_back(std::move(frame));
  inbound_ready_.notify_all();
  return stream;
}

std::shared_ptr<ServerStream> HttpServerSession::open_stream(bool json_answer) {
  const auto number = next_stream_++;
  auto stream = std::make_shared<ServerStream>(executor_, std::to_string(number), json_answer, limits_.replay_bytes);
  streams_.emplace(number, stream);
  forget_finished_streams();
  return stream;
}

void HttpServerSession::forget_finished_streams() {
  std::size_t finished = 0;
  for (auto it = streams_.rbegin(); it != streams_.rend(); ++it) finished += it->second->finished() ? 1 : 0;
  for (auto it = streams_.begin(); it != streams_.end() && finished > finished_streams_held;) {
    if (it->second->finished() && !it->second->attached()) {
      unanswered_.erase(it->second->id());
      it = streams_.erase(it);
      --finished;
    } else {
      ++it;
    }
  }
}

std::shared_ptr<ServerStream> HttpServerSession::stream_of_event(std::string_view event_id) const {
  const auto dash = event_id.find('-');
  if (dash == std::string_view::npos) return nullptr;
  std::uint64_t number = 0;
  const auto digits = event_id.substr(0, dash);
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (error != std::errc() || end != digits.data() + digits.size()) return nullptr;
  if (number == 0) return standalone_;
  const auto found = streams_.find(number);
  return found == streams_.end() ? nullptr : found->second;
}

bool HttpServerSession::busy() const {
  if (standalone_->attached() || !by_request_.empty()) return true;
  for (const auto& [number, stream] : streams_) {
    if (stream->attached()) return true;
  }
  return false;
}

std::shared_ptr<ServerStream> HttpServerSession::undelivered_answers() const {
  for (const auto& [number, stream] : streams_) {
    if (!stream->delivered()) return stream;
  }
  return nullptr;
}

asio::awaitable<std::optional<Frame>> HttpServerSession::receive() {
  while (inbound_.empty() && !receive_closed_) co_await inbound_ready_.wait();
  if (inbound_.empty()) co_return std::nullopt;
  auto frame = std::move(inbound_.front());
  inbound_.pop_front();
  co_return frame;
}

void HttpServerSession::send(std::string message) {
  if (send_closed_) return;
  // The proxy sends JSON it produced or checked itself; one that does not parse here
  // has nowhere to go.
  const auto body = outline(message);
  if (body.is_discarded()) {
    spdlog::warn("http session {}: dropped an outgoing message that is not JSON", id_);
    return;
  }
  if (modern() && body.is_object() && body.contains("method") && body.contains("id")) {
    // 2026-07-28: a server never sends requests, and never on a request's stream.
    spdlog::warn("http: dropped a {} request to a 2026-07-28 client, which takes none", body["method"].dump());
    return;
  }
  if (tool_headers_ != nullptr && body.is_object() && body.contains("result")) tool_headers_->learn(body["result"]);
  auto* stream = route(body);
  if (stream == nullptr) {
    spdlog::debug("http session {}: dropped an answer nobody waits for any more", id_);
    return;
  }
  stream->push(message);
  // Responses are counted after the push so that a stream ends after its last answer.
  if (body.is_array()) {
    for (const auto& element : body) {
      if (element.is_object() && element.contains("id") && !element.contains("method")) answered(element["id"]);
    }
  } else if (body.contains("id") && !body.contains("method")) {
    answered(body["id"]);
  }
}

ServerStream* HttpServerSession::route(const json& message) {
  const json* first = &message;
  if (message.is_array()) {
    if (message.empty()) return nullptr;
    first = &message.front();
  }
  if (!first->is_object()) return nullptr;
  const auto method = first->find("method");
  if (method == first->end()) {
    const auto id = first->find("id");
    if (id == first->end()) return nullptr;
    const auto key = id_key(*id);
    if (initialize_request_ && *initialize_request_ == key) {
      const auto* result = first->contains("result") ? &(*first)["result"] : nullptr;
      if (result != nullptr && result->is_object() && result->contains("protocolVersion") &&
          (*result)["protocolVersion"].is_string()) {
        protocol_version_ = (*result)["protocolVersion"].get<std::string>();
      }
      initialize_request_.reset();
    }
    const auto found = by_request_.find(key);
    return found == by_request_.end() ? nullptr : found->second.get();
  }
  if (method->is_string() && method->get_ref<const std::string&>() == "notifications/progress") {
    const auto& params = (*first)["params"];
    if (params.is_object() && params.contains("progressToken")) {
      const auto found = by_progress_token_.find(id_key(params["progressToken"]));
      if (found != by_progress_token_.end() && !found->second->finished()) return found->second.get();
    }
  }
  if (standalone_->attached()) return standalone_.get();
  for (auto it = streams_.rbegin(); it != streams_.rend(); ++it) {
    if (!it->second->finished() && !it->second->json_answer()) return it->second.get();
  }
  return standalone_.get();
}

void HttpServerSession::answered(const json& id) {
  const auto found = by_request_.find(id_key(id));
  if (found == by_request_.end()) return;
  auto stream = std::move(found->second);
  by_request_.erase(found);
  auto& count = unanswered_[stream->id()];
  if (count > 0) --count;
  if (count == 0) {
    stream->finish();
    std::erase_if(by_progress_token_, [&](const auto& entry) { return entry.second == stream; });
    forget_finished_streams();
  }
}

void HttpServerSession::close_send() {
  send_closed_ = true;
  standalone_->finish();
  for (const auto& [number, stream] : streams_) stream->finish();
}

void HttpServerSession::close_receive() {
  receive_closed_ = true;
  inbound_ready_.notify_all();
}

void HttpServerSession::close() {
  close_receive();
  close_send();
}

}  // namespace sluice::mcp
