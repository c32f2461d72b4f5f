#include "proxy/session.h"

#include <utility>

#include <spdlog/spdlog.h>

#include "mcp/oversized_line.h"
#include "mcp/random_id.h"
#include "policy/duration.h"

namespace sluice::proxy {

// The responses to one client batch (JSON-RPC 2.0 §6), collected until every request in
// it is answered and then sent back as one array. Each element is forwarded upstream
// on its own: batches were removed from MCP in 2025-06-18 and real servers drop them.
struct Session::BatchReply {
  mcp::json responses = mcp::json::array();
  std::size_t awaiting = 0;

  // Adds one response (or nothing, for a cancelled request); true when complete.
  bool settle(const mcp::json* response) {
    if (response != nullptr) responses.push_back(*response);
    return --awaiting == 0;
  }
};

namespace {

bool starts_with(const mcp::json& id, std::string_view prefix) {
  return id.is_string() && id.get_ref<const std::string&>().starts_with(prefix);
}

void log_message(Direction direction, const mcp::Message& message, std::string_view what) {
  if (!spdlog::should_log(spdlog::level::trace)) return;
  spdlog::trace("{} {} {} id={}", to_string(direction), what,
                message.is_response() ? std::string_view("response") : message.method(),
                message.id().dump());
}

}  // namespace

Session::Session(const asio::any_io_executor& executor, mcp::Transport& client, mcp::Transport& upstream,
                 Pipeline& pipeline, SessionOptions options)
    : executor_(executor),
      client_(client),
      upstream_(upstream),
      pipeline_(pipeline),
      options_(options),
      id_(mcp::random_hex(16)),
      // Random per session, so that a Sluice in front of another Sluice can send its own
      // requests through: the inner one reserves only the ids of its own session.
      own_id_prefix_("sluice-" + mcp::random_hex(4) + "-"),
      own_client_id_prefix_(own_id_prefix_ + "client-"),
      own_responses_(executor),
      upstream_end_(executor),
      pipeline_left_(executor),
      answer_timer_(executor) {}

asio::awaitable<SessionEnd> Session::run() {
  asio::co_spawn(executor_, read_upstream(), [this](const std::exception_ptr& error) {
    if (error) {
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        spdlog::error("session {}: reading the upstream failed: {}", id_, e.what());
      }
    }
    if (!upstream_ended_) {
      upstream_ended_ = true;
      upstream_end_.notify_all();
    }
  });
  co_await read_client();
  // Stopping: what is inside a filter finishes first (holds were cancelled, so held
  // calls are answered), and only then is anything left treated as gone.
  if (shutting_down_) co_await settled();
  // A client that went away waits for nothing: held calls end, never forwarded.
  std::vector<std::string> keys;
  for (const auto& [key, watchers] : gone_watchers_) keys.push_back(key);
  for (const auto& key : keys) request_gone(key);
  if (upstream_ended_) co_return SessionEnd::upstream_closed;
  upstream_.close_send();
  co_return SessionEnd::client_closed;
}

void Session::shut_down() {
  shutting_down_ = true;
  client_.close_receive();
}

asio::awaitable<void> Session::upstream_ended() {
  while (!upstream_ended_) co_await upstream_end_.wait();
}

asio::awaitable<void> Session::settled() {
  while (in_pipeline_ > 0) co_await pipeline_left_.wait();
}

asio::awaitable<void> Session::read_client() {
  while (auto frame = co_await client_.receive()) {
    if (frame->kind == mcp::Frame::Kind::oversized) {
      accept_from_client(mcp::Malformed{mcp::Error::message_too_large, nullptr,
                                        std::to_string(frame->size) + " bytes, limit " +
                                            std::to_string(options_.limits.max_message_bytes)});
    } else {
      accept_from_client(frame->parsed ? std::move(*frame->parsed)
                                       : mcp::parse_frame(std::move(frame->text), options_.limits));
    }
    co_await upstream_.drain(options_.max_queued_bytes);
  }
}

asio::awaitable<void> Session::read_upstream() {
  while (auto frame = co_await upstream_.receive()) {
    if (frame->kind == mcp::Frame::Kind::oversized) {
      spdlog::warn("session {}: upstream sent a message of {} bytes, over the {} byte limit; dropped", id_,
                   frame->size, options_.limits.max_message_bytes);
      answer_oversized(*frame);
    } else {
      accept_from_upstream(mcp::parse_frame(std::move(frame->text), options_.limits));
    }
    co_await client_.drain(options_.max_queued_bytes);
  }
  upstream_ended_ = true;
  if (shutting_down_) {
    fail_pending_requests(mcp::Error::shutting_down, "the upstream was stopped before it answered");
  } else {
    fail_pending_requests(mcp::Error::upstream_exited, "the request was in flight and will not be answered");
  }
  upstream_end_.notify_all();
  own_responses_.notify_all();
  client_.close_receive();
}

void Session::accept_from_client(mcp::Parsed parsed) {
  if (auto* malformed = std::get_if<mcp::Malformed>(&parsed)) {
    spdlog::warn("session {}: client sent an unusable message: {}{}{}", id_, mcp::describe(malformed->error),
                 malformed->detail.empty() ? "" : ": ", malformed->detail);
    answer_client(mcp::error_response(*malformed));
    return;
  }
  if (auto* message = std::get_if<mcp::Message>(&parsed)) {
    admit_client_message(std::move(*message), nullptr);
    return;
  }
  auto& elements = std::get<mcp::Batch>(parsed).elements;
  auto batch = std::make_shared<BatchReply>();
  for (const auto& element : elements) {
    const auto* message = std::get_if<mcp::Message>(&element);
    if (message == nullptr || message->is_request()) ++batch->awaiting;
  }
  for (auto& element : elements) {
    if (auto* malformed = std::get_if<mcp::Malformed>(&element)) {
      const auto error = mcp::error_response(*malformed);
      if (batch->settle(&error.body())) client_.send(batch->responses.dump());
    } else {
      admit_client_message(std::move(std::get<mcp::Message>(element)), batch);
    }
  }
}

void Session::admit_client_message(mcp::Message message, const std::shared_ptr<BatchReply>& batch) {
  if (message.is_response() && starts_with(message.id(), own_client_id_prefix_)) {
    // An answer to Sluice's own request: it stops here. (A late one, to a withdrawn
    // request, goes on like any response; the upstream ignores ids it never used.)
    const auto found = own_client_requests_.find(message.id().get<std::string>());
    if (found != own_client_requests_.end()) {
      auto answered = std::move(found->second);
      own_client_requests_.erase(found);
      answered(message);
      return;
    }
  }
  if (message.is_request()) {
    if (era_ == mcp::ProtocolEra::undetermined) {
      era_ = mcp::era_of_opening(message);
      spdlog::debug("session {}: the client speaks the {} era ({} opened the connection)", id_, mcp::to_string(era_),
                    message.method());
    }
    remember_client(message);
    auto key = mcp::id_key(message.id());
    const bool reserved = starts_with(message.id(), own_id_prefix_);
    if (reserved || client_requests_.contains(key)) {
      auto error = mcp::Message::error(message.id(), reserved ? mcp::Error::reserved_id : mcp::Error::duplicate_id,
                                       reserved ? own_id_prefix_ : key);
      if (batch) {
        if (batch->settle(&error.body())) client_.send(batch->responses.dump());
      } else {
        client_.send(error.wire());
      }
      return;
    }
    client_requests_.emplace(std::move(key), PendingRequest{message.id(), batch});
  } else if (message.method() == "notifications/cancelled") {
    forget_cancelled(message);
  }
  process(Direction::client_to_server, std::move(message));
}

void Session::remember_client(const mcp::Message& request) {
  const auto& params = request.params();
  if (era_ == mcp::ProtocolEra::legacy && request.method() == "initialize" && params.is_object()) {
    const auto capabilities = params.find("capabilities");
    if (capabilities != params.end() && capabilities->is_object()) client_capabilities_ = *capabilities;
  }
  if (era_ != mcp::ProtocolEra::modern) return;
  auto envelope = mcp::modern_envelope(request);
  if (envelope.empty()) return;
  const auto capabilities = envelope.find(mcp::client_capabilities_meta_key);
  if (capabilities != envelope.end() && capabilities->is_object()) client_capabilities_ = *capabilities;
  modern_envelope_ = std::move(envelope);
}

void Session::accept_from_upstream(mcp::Parsed parsed) {
  if (auto* malformed = std::get_if<mcp::Malformed>(&parsed)) {
    // Real servers and their wrappers print stray text on stdout; it is not the
    // client's business, and not a reason to end the session.
    spdlog::warn("session {}: skipped a line from the upstream that is not JSON-RPC ({}{}{})", id_,
                 mcp::describe(malformed->error), malformed->detail.empty() ? "" : ": ", malformed->detail);
    return;
  }
  if (auto* message = std::get_if<mcp::Message>(&parsed)) {
    if (!take_own_response(*message)) process(Direction::server_to_client, std::move(*message));
    return;
  }
  for (auto& element : std::get<mcp::Batch>(parsed).elements) {
    if (auto* message = std::get_if<mcp::Message>(&element)) {
      if (!take_own_response(*message)) process(Direction::server_to_client, std::move(*message));
    } else {
      spdlog::warn("session {}: skipped an element of an upstream batch: {}", id_,
                   std::get<mcp::Malformed>(element).detail);
    }
  }
}

bool Session::take_own_response(mcp::Message& message) {
  if (!message.is_response() || !starts_with(message.id(), own_id_prefix_)) return false;
  const auto found = own_requests_.find(message.id().get<std::string>());
  // A request Sluice took over is answered through the filters, like the client's.
  if (found == own_requests_.end() && client_requests_.contains(mcp::id_key(message.id()))) return false;
  if (found == own_requests_.end()) {
    spdlog::debug("session {}: dropped a late answer to Sluice's own request {}", id_, message.id().dump());
    return true;
  }
  found->second = std::move(message);
  own_responses_.notify_all();
  return true;
}

asio::awaitable<std::optional<mcp::Message>> Session::ask_upstream(std::string_view method, mcp::json params) {
  if (upstream_ended_ || !upstream_.can_send()) co_return std::nullopt;
  const auto id = own_id_prefix_ + std::to_string(next_own_request_++);
  own_requests_.emplace(id, std::nullopt);
  if (era_ == mcp::ProtocolEra::modern && !modern_envelope_.empty()) {
    if (!params.is_object()) params = mcp::json::object();
    auto& meta = params["_meta"];
    if (!meta.is_object()) meta = mcp::json::object();
    for (const auto& [key, value] : modern_envelope_.items()) {
      if (!meta.contains(key)) meta[key] = value;
    }
  }
  upstream_.send(mcp::Message::request(id, method, std::move(params)).wire());
  const bool answered = co_await own_responses_.wait_for(
      [&] { return own_requests_.at(id).has_value() || upstream_ended_; }, options_.own_request_timeout);
  if (!answered) {
    spdlog::warn("session {}: the upstream did not answer Sluice's own {} within {} ms", id_, method,
                 options_.own_request_timeout.count());
  }
  auto response = std::move(own_requests_.at(id));
  own_requests_.erase(id);
  co_return response;
}

void Session::process(Direction direction, mcp::Message message) {
  log_message(direction, message, "received");
  // With no filter installed nothing can suspend, so the message goes straight
  // through; otherwise each message gets its own coroutine so that one a filter holds
  // never delays the next. Both keep the order of messages that are not held.
  if (pipeline_.empty()) {
    deliver(direction, std::move(message));
    return;
  }
  ++in_pipeline_;
  asio::co_spawn(executor_, filter_and_deliver(direction, std::move(message)), [this](const std::exception_ptr&) {
    --in_pipeline_;
    pipeline_left_.notify_all();
  });
}

asio::awaitable<void> Session::filter_and_deliver(Direction direction, mcp::Message message) {
  std::optional<Verdict> verdict;
  try {
    Exchange exchange{direction, message, *this};
    verdict = co_await pipeline_.run(exchange);
  } catch (const std::exception& e) {
    // One bad message never brings the session down: its request gets an error.
    spdlog::error("session {}: a filter failed on a {} message: {}", id_, to_string(direction), e.what());
    if (message.is_request()) {
      auto error = mcp::Message::error(message.id(), -32603, "Internal error in Sluice");
      if (direction == Direction::client_to_server) {
        answer_client(std::move(error));
      } else {
        upstream_.send(error.wire());
      }
    }
    co_return;
  }
  switch (verdict->kind()) {
    case Verdict::Kind::forward: deliver(direction, std::move(message)); break;
    case Verdict::Kind::answer:
      if (direction == Direction::client_to_server) {
        answer_client(std::move(verdict->response()));
      } else {
        upstream_.send(std::move(verdict->response()).take_wire());
      }
      break;
    case Verdict::Kind::drop: log_message(direction, message, "dropped by a filter"); break;
  }
}

void Session::deliver(Direction direction, mcp::Message message) {
  if (direction == Direction::client_to_server) {
    if (message.is_response()) server_requests_.erase(mcp::id_key(message.id()));
    auto pending = client_requests_.end();
    if (message.is_request()) {
      // A request the client cancelled while a filter held it is not sent on: the upstream
      // would carry out a call that nobody waits for any more.
      pending = client_requests_.find(mcp::id_key(message.id()));
      if (pending == client_requests_.end()) return;
    }
    if (!upstream_.can_send() || upstream_ended_) {
      // Requests in flight were already answered when the upstream ended.
      if (pending != client_requests_.end()) {
        answer_client(mcp::Message::error(message.id(), mcp::Error::upstream_exited, "not forwarded"));
      }
      return;
    }
    if (pending != client_requests_.end()) {
      start_answer_clock(pending->first, pending->second, message.method() != "initialize");
    }
    upstream_.send(std::move(message).take_wire());
    return;
  }
  if (message.is_response()) {
    answer_client(std::move(message));
    return;
  }
  if (message.is_request()) server_requests_.insert_or_assign(mcp::id_key(message.id()), message.method());
  client_.send(std::move(message).take_wire());
}

void Session::answer_client(mcp::Message response) {
  const auto found = client_requests_.find(mcp::id_key(response.id()));
  if (found == client_requests_.end()) {
    // A late answer to a cancelled request, or one to an id never seen: the client
    // ignores what it no longer waits for (MCP requires it to), so pass it on.
    client_.send(std::move(response).take_wire());
    return;
  }
  auto batch = std::move(found->second.batch);
  auto taken_over = std::move(found->second.taken_over);
  gone_watchers_.erase(found->first);
  client_requests_.erase(found);
  if (taken_over) {
    taken_over(response);
  } else if (!batch) {
    client_.send(std::move(response).take_wire());
  } else if (batch->settle(&response.body())) {
    client_.send(batch->responses.dump());
  }
}

void Session::forget_cancelled(const mcp::Message& cancellation) {
  const auto& params = cancellation.params();
  if (!params.is_object() || !params.contains("requestId")) return;
  const auto key = mcp::id_key(params["requestId"]);
  const auto found = client_requests_.find(key);
  if (found == client_requests_.end()) return;
  auto batch = std::move(found->second.batch);
  client_requests_.erase(found);
  request_gone(key);
  if (batch && batch->settle(nullptr) && !batch->responses.empty()) client_.send(batch->responses.dump());
}

void Session::fail_pending_requests(mcp::Error error, const std::string& detail) {
  std::vector<mcp::json> ids;
  ids.reserve(client_requests_.size());
  for (const auto& [key, pending] : client_requests_) ids.push_back(pending.id);
  if (!ids.empty()) spdlog::warn("session {}: answering {} request(s) in flight with an error", id_, ids.size());
  for (const auto& id : ids) {
    request_gone(mcp::id_key(id));
    // Through the pipeline, as the upstream's answer would have gone: the audit log
    // then holds the outcome of every call it holds a decision of.
    answer_instead_of_upstream(id, error, detail);
  }
}

void Session::notify_client(const mcp::Message& notification) { client_.send(notification.wire()); }

std::string Session::ask_client(std::string_view method, mcp::json params,
                                std::function<void(const mcp::Message&)> answered) {
  auto id = own_client_id_prefix_ + std::to_string(next_own_request_++);
  own_client_requests_.emplace(id, std::move(answered));
  client_.send(mcp::Message::request(id, method, std::move(params)).wire());
  return id;
}

void Session::withdraw_from_client(const std::string& id, std::string_view reason) {
  if (own_client_requests_.erase(id) == 0) return;
  client_.send(mcp::Message::notification("notifications/cancelled", {{"requestId", id}, {"reason", reason}}).wire());
}

void Session::on_request_gone(const mcp::json& id, std::function<void()> gone) {
  auto key = mcp::id_key(id);
  if (!client_requests_.contains(key)) {
    gone();
    return;
  }
  gone_watchers_[std::move(key)].push_back(std::move(gone));
}

void Session::take_over(mcp::Message& request, mcp::Message answer,
                        std::function<void(const mcp::Message&)> answered) {
  answer_client(std::move(answer));
  mcp::json own = own_id_prefix_ + "task-" + std::to_string(next_own_request_++);
  request.mutable_body()["id"] = own;
  client_requests_.emplace(mcp::id_key(own), PendingRequest{own, nullptr, std::move(answered)});
}

void Session::request_gone(const std::string& key) {
  const auto found = gone_watchers_.find(key);
  if (found == gone_watchers_.end()) return;
  auto watchers = std::move(found->second);
  gone_watchers_.erase(found);
  for (auto& gone : watchers) gone();
}

void Session::start_answer_clock(const std::string& key, PendingRequest& pending, bool cancellable) {
  pending.forwarded = ++forwarded_count_;
  if (options_.request_timeout.count() == 0) return;
  // Answered requests leave their entry behind until it reaches the front; past twice
  // the requests pending they are swept out, so the queue stays as small as what waits.
  if (answers_due_.size() > 2 * client_requests_.size() + 64) {
    std::erase_if(answers_due_, [this](const AnswerDue& due) {
      const auto found = client_requests_.find(due.key);
      return found == client_requests_.end() || found->second.forwarded != due.forwarded;
    });
  }
  answers_due_.push_back(
      AnswerDue{std::chrono::steady_clock::now() + options_.request_timeout, key, pending.forwarded, cancellable});
  arm_answer_timer();
}

void Session::arm_answer_timer() {
  if (answer_timer_armed_ || answers_due_.empty()) return;
  answer_timer_armed_ = true;
  answer_timer_.expires_at(answers_due_.front().at);
  answer_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
    if (alive.expired()) return;
    answer_timer_armed_ = false;
    if (ec) return;
    expire_answers();
    arm_answer_timer();
  });
}

void Session::expire_answers() {
  const auto now = std::chrono::steady_clock::now();
  while (!answers_due_.empty() && answers_due_.front().at <= now) {
    const auto due = std::move(answers_due_.front());
    answers_due_.pop_front();
    const auto found = client_requests_.find(due.key);
    // Answered meanwhile, or the id was used again by a later request.
    if (found == client_requests_.end() || found->second.forwarded != due.forwarded || upstream_ended_) continue;
    const auto id = found->second.id;
    const auto timeout = policy::format_duration(options_.request_timeout);
    spdlog::warn("session {}: the upstream did not answer request {} within {} (upstream.request_timeout){}", id_,
                 id.dump(), timeout, due.cancellable ? "; cancelling it upstream" : "");
    if (due.cancellable && upstream_.can_send()) {
      upstream_.send(mcp::Message::notification(
                         "notifications/cancelled",
                         {{"requestId", id}, {"reason", "Sluice: no answer within " + timeout + " (upstream.request_timeout)"}})
                         .wire());
    }
    answer_instead_of_upstream(id, mcp::Error::upstream_timeout,
                               "no answer within " + timeout + " (upstream.request_timeout)" +
                                   (due.cancellable ? "; Sluice sent notifications/cancelled upstream" : ""));
  }
}

void Session::answer_oversized(const mcp::Frame& frame) {
  const auto id = mcp::response_id_of_oversized(frame);
  if (!id) return;
  const auto found = client_requests_.find(mcp::id_key(*id));
  if (found == client_requests_.end() || found->second.forwarded == 0) return;
  answer_instead_of_upstream(found->second.id, mcp::Error::upstream_message_too_large,
                             std::to_string(frame.size) + " bytes, over the " +
                                 std::to_string(options_.limits.max_message_bytes) +
                                 " byte limit (--max-message-bytes); it was dropped");
}

void Session::answer_instead_of_upstream(const mcp::json& id, mcp::Error error, const std::string& detail) {
  // Marked as answered before the pipeline runs, so that the timer cannot answer it twice.
  if (const auto found = client_requests_.find(mcp::id_key(id)); found != client_requests_.end()) {
    found->second.forwarded = 0;
  }
  process(Direction::server_to_client, mcp::Message::error(id, error, detail));
}

}  // namespace sluice::proxy
