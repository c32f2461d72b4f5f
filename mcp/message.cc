#include "mcp/message.h"

#include <utility>

#include "mcp/digest.h"
#include "mcp/json_parser.h"

namespace sluice::mcp {
namespace {

const json& null_json() {
  static const json null_value;
  return null_value;
}

// Serializes without throwing: bodies built by Sluice may carry text that came from a
// peer, and a stray invalid byte must not take the session down. The canonical form is
// nlohmann's compact dump with invalid bytes replaced, written faster (mcp/digest.h).
std::string compact(const json& body) { return canonical_json(body); }

// The depth of a text that is not JSON, by its brackets outside strings: a document
// too deep is reported as such whatever else is wrong with it.
bool within_depth(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > max_depth) return false;
        break;
      case ']':
      case '}': --depth; break;
      default: break;
    }
  }
  return true;
}

bool valid_id(const json& id) { return id.is_string() || id.is_number(); }

json readable_id(const json& body) {
  if (body.is_object()) {
    const auto it = body.find("id");
    if (it != body.end() && valid_id(*it)) return *it;
  }
  return nullptr;
}

Malformed invalid(const json& body, std::string detail) {
  return Malformed{Error::invalid_request, readable_id(body), std::move(detail)};
}

// Checks one JSON value against JSON-RPC 2.0 and tells what kind of message it is.
std::variant<MessageKind, Malformed> classify(const json& body) {
  if (!body.is_object()) return invalid(body, "a JSON-RPC message must be a JSON object");
  const auto version = body.find("jsonrpc");
  if (version == body.end() || !version->is_string() || version->get_ref<const std::string&>() != "2.0") {
    return invalid(body, R"(member "jsonrpc" must be "2.0")");
  }
  const auto id = body.find("id");
  const bool has_id = id != body.end();
  const auto method = body.find("method");
  const bool has_result = body.contains("result");
  const auto error = body.find("error");
  const bool has_error = error != body.end();

  if (method != body.end()) {
    if (!method->is_string()) return invalid(body, R"(member "method" must be a string)");
    if (has_result || has_error) return invalid(body, "a message cannot be both a request and a response");
    const auto params = body.find("params");
    if (params != body.end() && !params->is_object() && !params->is_array()) {
      return invalid(body, R"(member "params" must be an object or an array)");
    }
    if (!has_id) return MessageKind::notification;
    if (!valid_id(*id)) return invalid(body, R"(member "id" must be a string or a number)");
    return MessageKind::request;
  }
  if (has_result == has_error) {
    return invalid(body, R"(a message needs "method", or exactly one of "result" and "error")");
  }
  if (!has_id) return invalid(body, R"(a response needs member "id")");
  if (has_error) {
    if (!id->is_null() && !valid_id(*id)) return invalid(body, R"(member "id" must be a string or a number)");
    const auto code = error->find("code");  // end() when error is not an object
    const auto text = error->find("message");
    if (!error->is_object() || code == error->end() || !code->is_number_integer() || text == error->end() ||
        !text->is_string()) {
      return invalid(body, R"(member "error" needs an integer "code" and a string "message")");
    }
  } else if (!valid_id(*id)) {
    return invalid(body, R"(member "id" must be a string or a number)");
  }
  return MessageKind::response;
}

BatchElement element(json body) {
  auto kind = classify(body);
  if (auto* malformed = std::get_if<Malformed>(&kind)) return std::move(*malformed);
  auto wire = compact(body);
  return Message(std::get<MessageKind>(kind), std::move(body), std::move(wire));
}

}  // namespace

Message::Message(MessageKind kind, json body, std::string wire)
    : kind_(kind), body_(std::move(body)), wire_(std::move(wire)) {}

Message Message::request(json id, std::string_view method, json params) {
  json body = {{"jsonrpc", "2.0"}, {"id", std::move(id)}, {"method", method}};
  if (!params.is_null()) body["params"] = std::move(params);
  return Message(MessageKind::request, std::move(body), {});
}

Message Message::notification(std::string_view method, json params) {
  json body = {{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) body["params"] = std::move(params);
  return Message(MessageKind::notification, std::move(body), {});
}

Message Message::result(json id, json result) {
  json body = {{"jsonrpc", "2.0"}, {"id", std::move(id)}, {"result", std::move(result)}};
  return Message(MessageKind::response, std::move(body), {});
}

Message Message::error(json id, int code, std::string_view message, json data) {
  json error = {{"code", code}, {"message", message}};
  if (!data.is_null()) error["data"] = std::move(data);
  json body = {{"jsonrpc", "2.0"}, {"id", std::move(id)}, {"error", std::move(error)}};
  return Message(MessageKind::response, std::move(body), {});
}

Message Message::error(json id, Error error, std::string_view detail) {
  std::string text(describe(error));
  if (!detail.empty()) text.append(": ").append(detail);
  return Message::error(std::move(id), jsonrpc_code(error), text);
}

bool Message::is_error_response() const { return is_response() && body_.contains("error"); }

const json& Message::id() const {
  const auto it = body_.find("id");
  return it == body_.end() ? null_json() : *it;
}

std::string_view Message::method() const {
  const auto it = body_.find("method");
  if (it == body_.end()) return {};
  return it->get_ref<const std::string&>();
}

const json& Message::params() const {
  const auto it = body_.find("params");
  return it == body_.end() ? null_json() : *it;
}

json& Message::mutable_body() {
  wire_.clear();
  return body_;
}

const std::string& Message::wire() const {
  if (wire_.empty()) wire_ = compact(body_);
  return wire_;
}

std::string Message::take_wire() && {
  (void)wire();
  return std::move(wire_);
}

std::string id_key(const json& id) { return compact(id); }

Parsed parse_frame(std::string line, const ParseLimits& limits) {
  if (line.size() > limits.max_message_bytes) {
    return Malformed{Error::message_too_large, nullptr,
                     std::to_string(line.size()) + " bytes, limit " +
                         std::to_string(limits.max_message_bytes)};
  }
  // The parser rejects ill-formed UTF-8 inside strings, and any byte outside strings
  // that is not JSON, so a document it accepts is valid UTF-8. It stops at the depth
  // limit; a document that is invalid before it gets that deep is still reported as
  // too deep if it is, as the bracket count over the whole text tells.
  json body;
  const auto fault = parse_json(line, limits.max_depth, body);
  if (fault == JsonFault::too_deep || (fault == JsonFault::syntax && !within_depth(line, limits.max_depth))) {
    return Malformed{Error::nesting_too_deep, nullptr,
                     "limit " + std::to_string(limits.max_depth) + " levels"};
  }
  if (fault != JsonFault::none) {
    return Malformed{Error::parse_error, nullptr, "not valid JSON (or not UTF-8)"};
  }

  if (body.is_array()) {
    if (body.empty()) return Malformed{Error::invalid_request, nullptr, "empty batch"};
    Batch batch;
    batch.elements.reserve(body.size());
    for (auto& item : body) batch.elements.push_back(element(std::move(item)));
    return batch;
  }
  auto kind = classify(body);
  if (auto* malformed = std::get_if<Malformed>(&kind)) return std::move(*malformed);
  return Message(std::get<MessageKind>(kind), std::move(body), std::move(line));
}

Message error_response(const Malformed& malformed) {
  return Message::error(malformed.id, malformed.error, malformed.detail);
}

bool is_utf8(std::string_view text) { return is_well_formed_utf8(text); }

std::string json_quoted(std::string_view text) {
  return json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace sluice::mcp
