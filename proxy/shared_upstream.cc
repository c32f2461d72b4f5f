#include "proxy/shared_upstream.h"

#include <algorithm>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "mcp/json_members.h"
#include "mcp/protocol_era.h"

namespace sluice::proxy {

// JSON-RPC "internal error": the upstream asked something no session can answer.
constexpr int kInternalError = -32603;

namespace {

// The subscriptionId in a notification's `_meta`, or nullptr.
mcp::json* subscription_of(mcp::Message& notification) {
  auto& body = notification.mutable_body();
  const auto params = body.find("params");
  if (params == body.end() || !params->is_object()) return nullptr;
  const auto meta = params->find("_meta");
  if (meta == params->end() || !meta->is_object()) return nullptr;
  const auto id = meta->find(mcp::subscription_id_meta_key);
  return id == meta->end() ? nullptr : &*id;
}

// Relaying a request or a response needs only its id changed; splicing the new id into
// the text instead of parsing and re-serializing the whole message keeps a large
// payload from costing two full passes of nlohmann's each way. Only a plain message
// takes this way: one object, every key once (so that no JSON reader can see another
// id than the one spliced), nothing else to rewrite. Everything else is parsed.

bool unique_keys(const std::vector<mcp::JsonMember>& members) {
  for (std::size_t i = 0; i < members.size(); ++i) {
    for (std::size_t j = i + 1; j < members.size(); ++j) {
      if (members[i].key == members[j].key) return false;
    }
  }
  return true;
}

// `text` with `value` (a view into it) replaced by `replacement`.
std::string with_value(std::string_view text, std::string_view value, std::string_view replacement) {
  const auto at = static_cast<std::size_t>(value.data() - text.data());
  std::string out;
  out.reserve(text.size() - value.size() + replacement.size());
  out.append(text.substr(0, at)).append(replacement).append(text.substr(at + value.size()));
  return out;
}

// The members of a plain message, or nullopt.
std::optional<std::vector<mcp::JsonMember>> plain_members(std::string_view text) {
  auto members = mcp::object_members(text);
  if (!members || !unique_keys(*members)) return std::nullopt;
  const auto version = mcp::member_value(*members, "jsonrpc");
  if (!version || *version != R"("2.0")") return std::nullopt;
  return members;
}

// A JSON-RPC id (a string or a number) from its text, or discarded.
mcp::json id_of(std::string_view text) {
  auto id = mcp::json::parse(text, nullptr, false);
  return id.is_string() || id.is_number() ? id : mcp::json(mcp::json::value_t::discarded);
}

}  // namespace

class SharedUpstream::Port final : public mcp::Transport {
 public:
  explicit Port(SharedUpstream& hub) : hub_(&hub), arrived_(hub.executor_) {}
  ~Port() override { close(); }
  Port(const Port&) = delete;
  Port& operator=(const Port&) = delete;

  asio::awaitable<std::optional<mcp::Frame>> receive() override {
    while (inbox_.empty() && !closed_ && hub_ != nullptr && !hub_->ended_) co_await arrived_.wait();
    if (closed_ || inbox_.empty()) co_return std::nullopt;
    auto frame = std::move(inbox_.front());
    inbox_.pop_front();
    queued_bytes_ -= frame.size;
    co_return frame;
  }

  void send(std::string message) override {
    if (hub_ != nullptr && !send_closed_) hub_->from_session(*this, std::move(message));
  }

  asio::awaitable<void> drain(std::size_t max_queued_bytes) override {
    if (hub_ != nullptr) co_await hub_->upstream_.drain(max_queued_bytes);
  }

  // The shared upstream's input stays open for the other sessions.
  void close_send() override { send_closed_ = true; }
  void close_receive() override { close(); }
  void close() override {
    send_closed_ = true;
    if (closed_) return;
    closed_ = true;
    inbox_.clear();
    queued_bytes_ = 0;
    arrived_.notify_all();
    if (hub_ != nullptr) hub_->detach(*this);
  }

  [[nodiscard]] bool can_send() const override {
    return hub_ != nullptr && !send_closed_ && !hub_->ended_ && hub_->upstream_.can_send();
  }

  void deliver(std::string wire) {
    if (closed_) return;
    const auto size = wire.size();
    if (queued_bytes_ > 0 && queued_bytes_ + size > hub_->max_queued_bytes_) {
      spdlog::warn("a session sharing the upstream left {} bytes unread; it is detached", queued_bytes_);
      close();
      return;
    }
    queued_bytes_ += size;
    inbox_.push_back(mcp::Frame{mcp::Frame::Kind::line, std::move(wire), size});
    arrived_.notify_all();
  }

  void wake() { arrived_.notify_all(); }
  void orphan() {
    hub_ = nullptr;
    arrived_.notify_all();
  }

 private:
  SharedUpstream* hub_;
  mcp::AsyncEvent arrived_;
  std::deque<mcp::Frame> inbox_;
  std::size_t queued_bytes_ = 0;
  bool closed_ = false;
  bool send_closed_ = false;
};

SharedUpstream::SharedUpstream(const asio::any_io_executor& executor, mcp::Transport& upstream,
                               mcp::ParseLimits limits, std::size_t max_queued_bytes)
    : executor_(executor), upstream_(upstream), limits_(limits), max_queued_bytes_(max_queued_bytes) {}

SharedUpstream::~SharedUpstream() {
  for (auto* port : ports_) port->orphan();
}

std::unique_ptr<mcp::Transport> SharedUpstream::attach() {
  auto port = std::make_unique<Port>(*this);
  ports_.push_back(port.get());
  return port;
}

asio::awaitable<void> SharedUpstream::run() {
  while (auto frame = co_await upstream_.receive()) {
    if (frame->kind == mcp::Frame::Kind::oversized) {
      spdlog::warn("shared upstream sent a message of {} bytes, over the {} byte limit; dropped", frame->size,
                   limits_.max_message_bytes);
      continue;
    }
    if (route_plain_response(frame->text)) continue;
    auto parsed = mcp::parse_frame(std::move(frame->text), limits_);
    if (auto* message = std::get_if<mcp::Message>(&parsed)) {
      from_upstream(std::move(*message));
    } else {
      spdlog::warn(
          "shared upstream sent a batch or a malformed message; dropped: only single messages can be routed");
    }
  }
  ended_ = true;
  for (auto* port : ports_) port->wake();
}

bool SharedUpstream::forward_plain_request(Port& port, std::string_view wire) {
  const auto members = plain_members(wire);
  if (!members) return false;
  const auto method = mcp::member_value(*members, "method");
  const auto id = mcp::member_value(*members, "id");
  if (!method || !id || mcp::json::parse(*method, nullptr, false) == "initialize") return false;
  auto client_id = id_of(*id);
  if (client_id.is_discarded()) return false;
  if (const auto params = mcp::member_value(*members, "params")) {
    const auto fields = mcp::object_members(*params);
    if (!fields || !unique_keys(*fields)) return false;
    if (const auto meta = mcp::member_value(*fields, "_meta")) {
      // A progress token is rewritten too: parsed.
      const auto entries = mcp::object_members(*meta);
      if (!entries || mcp::member_value(*entries, "progressToken")) return false;
    }
  }
  upstream_.send(with_value(wire, *id, mcp::id_key(register_request(port, std::move(client_id)))));
  return true;
}

mcp::json SharedUpstream::register_request(Port& port, mcp::json client_id) {
  const mcp::json upstream_id = ++next_id_;
  client_requests_[mcp::id_key(upstream_id)] = ClientRequest{&port, std::move(client_id), upstream_id, next_id_};
  return upstream_id;
}

std::optional<SharedUpstream::ClientRequest> SharedUpstream::take_request(const std::string& key) {
  const auto request = client_requests_.find(key);
  if (request == client_requests_.end()) return std::nullopt;
  auto taken = std::move(request->second);
  client_requests_.erase(request);
  progress_tokens_.erase(key);
  return taken;
}

bool SharedUpstream::route_plain_response(std::string_view text) {
  const auto members = plain_members(text);
  if (!members || mcp::member_value(*members, "method")) return false;
  const auto id = mcp::member_value(*members, "id");
  if (!id || mcp::member_value(*members, "result").has_value() == mcp::member_value(*members, "error").has_value()) {
    return false;
  }
  const auto upstream_id = id_of(*id);
  if (upstream_id.is_discarded()) return false;
  const auto key = mcp::id_key(upstream_id);
  // Unknown ids are warned about, and initialize's answer is kept, on the parsed way.
  if (key == initialize_upstream_key_) return false;
  const auto request = take_request(key);
  if (!request) return false;
  if (request->port != nullptr) request->port->deliver(with_value(text, *id, mcp::id_key(request->id)));
  return true;
}

void SharedUpstream::from_session(Port& port, std::string wire) {
  if (forward_plain_request(port, wire)) return;
  auto parsed = mcp::parse_frame(std::move(wire), limits_);
  auto* message = std::get_if<mcp::Message>(&parsed);
  if (message == nullptr) {
    spdlog::warn("a session sent a batch or a malformed message to the shared upstream; dropped");
    return;
  }
  if (message->is_request()) {
    forward_request(port, std::move(*message));
  } else if (message->is_notification()) {
    forward_notification(port, std::move(*message));
  } else {
    const auto owner = server_requests_.find(mcp::id_key(message->id()));
    if (owner == server_requests_.end() || owner->second.port != &port) {
      spdlog::warn("a session answered id {} which the shared upstream did not ask it; dropped",
                   message->id().dump());
      return;
    }
    server_requests_.erase(owner);
    upstream_.send(message->wire());
  }
}

void SharedUpstream::forward_request(Port& port, mcp::Message message) {
  const bool initialize = message.method() == "initialize";
  if (initialize && initialize_result_) {
    port.deliver(mcp::Message::result(message.id(), *initialize_result_).wire());
    return;
  }
  if (initialize && initialize_sent_) {
    initialize_waiting_.emplace_back(&port, message.id());
    return;
  }
  const auto upstream_id = register_request(port, message.id());
  const auto key = mcp::id_key(upstream_id);
  if (initialize) {
    initialize_sent_ = true;
    initialize_upstream_key_ = key;
  }
  auto& body = message.mutable_body();
  body["id"] = upstream_id;
  auto params = body.find("params");
  if (params != body.end() && params->is_object()) {
    auto meta = params->find("_meta");
    if (meta != params->end() && meta->is_object() && meta->contains("progressToken")) {
      progress_tokens_[key] = ClientToken{&port, (*meta)["progressToken"]};
      (*meta)["progressToken"] = upstream_id;
    }
  }
  upstream_.send(message.wire());
}

void SharedUpstream::forward_notification(Port& port, mcp::Message message) {
  if (message.method() == "notifications/initialized") {
    if (std::exchange(initialized_sent_, true)) return;
  } else if (message.method() == "notifications/cancelled") {
    const auto& params = message.params();
    if (!params.is_object() || !params.contains("requestId")) return;
    const auto key = mcp::id_key(params["requestId"]);
    const auto request = std::find_if(
        client_requests_.begin(), client_requests_.end(),
        [&](const auto& entry) { return entry.second.port == &port && mcp::id_key(entry.second.id) == key; });
    if (request == client_requests_.end()) return;  // answered already, or never sent
    message.mutable_body()["params"]["requestId"] = request->second.upstream_id;
  }
  upstream_.send(message.wire());
}

void SharedUpstream::from_upstream(mcp::Message message) {
  if (message.is_response()) {
    const auto key = mcp::id_key(message.id());
    const auto request = take_request(key);
    if (!request) {
      spdlog::warn("shared upstream answered id {} which no session asked; dropped", message.id().dump());
      return;
    }
    if (key == initialize_upstream_key_) answer_initialize(message);
    if (request->port == nullptr) return;
    message.mutable_body()["id"] = request->id;
    request->port->deliver(message.wire());
  } else if (message.is_request()) {
    auto* owner = owner_of_server_request();
    if (owner == nullptr) {
      upstream_.send(
          mcp::Message::error(message.id(), kInternalError, "no client session is attached to answer it")
              .wire());
      return;
    }
    server_requests_[mcp::id_key(message.id())] = ServerRequest{owner, message.id()};
    owner->deliver(message.wire());
  } else if (message.method() == "notifications/progress") {
    const auto& params = message.params();
    if (!params.is_object() || !params.contains("progressToken")) return;
    const auto token = progress_tokens_.find(mcp::id_key(params["progressToken"]));
    if (token == progress_tokens_.end()) return;  // its request was answered already
    auto* port = token->second.port;
    message.mutable_body()["params"]["progressToken"] = token->second.token;
    port->deliver(message.wire());
  } else if (message.method() == "notifications/cancelled") {
    const auto& params = message.params();
    if (!params.is_object() || !params.contains("requestId")) return;
    const auto owner = server_requests_.find(mcp::id_key(params["requestId"]));
    if (owner == server_requests_.end()) {
      // On stdio a server may end a subscriptions/listen stream so, naming the listen request.
      const auto listen = client_requests_.find(mcp::id_key(params["requestId"]));
      if (listen == client_requests_.end() || listen->second.port == nullptr) return;
      message.mutable_body()["params"]["requestId"] = listen->second.id;
      listen->second.port->deliver(message.wire());
      return;
    }
    auto* port = owner->second.port;
    server_requests_.erase(owner);
    port->deliver(message.wire());
  } else if (auto* subscription = subscription_of(message)) {
    // 2026-07-28 subscriptions/listen: the stream's messages name the listen request,
    // which only its session knows, by the id it sent.
    const auto request = client_requests_.find(mcp::id_key(*subscription));
    if (request == client_requests_.end() || request->second.port == nullptr) return;
    *subscription = request->second.id;
    request->second.port->deliver(message.wire());
  } else {
    // A copy: a session over its queue bound is detached while this runs.
    const auto ports = ports_;
    for (auto* port : ports) port->deliver(message.wire());
  }
}

void SharedUpstream::answer_initialize(const mcp::Message& response) {
  initialize_upstream_key_.clear();
  if (response.is_error_response()) {
    initialize_sent_ = false;  // the next session's initialize tries again
  } else {
    initialize_result_ = response.body()["result"];
  }
  for (auto& [port, id] : std::exchange(initialize_waiting_, {})) {
    auto answer = response;
    answer.mutable_body()["id"] = id;
    port->deliver(answer.wire());
  }
}

// A server->client request carries nothing that names its session on stdio; the
// session whose request was forwarded last is the one most likely to have caused it
// (an elicitation during its tools/call).
SharedUpstream::Port* SharedUpstream::owner_of_server_request() const {
  const ClientRequest* newest = nullptr;
  for (const auto& [key, request] : client_requests_) {
    if (request.port != nullptr && (newest == nullptr || request.sequence > newest->sequence))
      newest = &request;
  }
  if (newest != nullptr) return newest->port;
  return ports_.empty() ? nullptr : ports_.front();
}

void SharedUpstream::detach(Port& port) {
  ports_.erase(std::remove(ports_.begin(), ports_.end(), &port), ports_.end());
  for (auto request = client_requests_.begin(); request != client_requests_.end();) {
    if (request->second.port != &port) {
      ++request;
      continue;
    }
    progress_tokens_.erase(request->first);
    if (request->first == initialize_upstream_key_) {
      // Its answer still comes, and the sessions that wait for it need it.
      request->second.port = nullptr;
      ++request;
      continue;
    }
    if (upstream_.can_send()) {
      upstream_.send(mcp::Message::notification(
                         "notifications/cancelled",
                         {{"requestId", request->second.upstream_id}, {"reason", "the client session ended"}})
                         .wire());
    }
    request = client_requests_.erase(request);
  }
  for (auto request = server_requests_.begin(); request != server_requests_.end();) {
    if (request->second.port != &port) {
      ++request;
      continue;
    }
    if (upstream_.can_send()) {
      upstream_.send(
          mcp::Message::error(request->second.id, kInternalError, "the client session it was sent to ended")
              .wire());
    }
    request = server_requests_.erase(request);
  }
  std::erase_if(initialize_waiting_, [&](const auto& waiting) { return waiting.first == &port; });
}

}  // namespace sluice::proxy
