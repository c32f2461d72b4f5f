// The JSON-RPC 2.0 message model. A message keeps the exact bytes it arrived as, so
// that one no filter touched is forwarded byte for byte; touching the body drops them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "mcp/error.h"

namespace sluice::mcp {

using json = nlohmann::json;

enum class MessageKind { request, notification, response };

class Message {
 public:
  static Message request(json id, std::string_view method, json params = nullptr);
  static Message notification(std::string_view method, json params = nullptr);
  static Message result(json id, json result);
  static Message error(json id, int code, std::string_view message, json data = nullptr);
  static Message error(json id, Error error, std::string_view detail = {});

  // Takes a body already checked to be a JSON-RPC message (see parse_frame).
  Message(MessageKind kind, json body, std::string wire);

  [[nodiscard]] MessageKind kind() const { return kind_; }
  [[nodiscard]] bool is_request() const { return kind_ == MessageKind::request; }
  [[nodiscard]] bool is_notification() const { return kind_ == MessageKind::notification; }
  [[nodiscard]] bool is_response() const { return kind_ == MessageKind::response; }
  [[nodiscard]] bool is_error_response() const;

  // The request's or response's id (null for notifications and for errors whose
  // request could not be read).
  [[nodiscard]] const json& id() const;
  // Empty for responses.
  [[nodiscard]] std::string_view method() const;
  [[nodiscard]] const json& params() const;

  [[nodiscard]] const json& body() const { return body_; }
  // Write access to the body; the message is then re-serialized when sent.
  json& mutable_body();

  // The compact single-line form to put on the wire.
  [[nodiscard]] const std::string& wire() const;
  // The wire form, moved out of a message that is done with (what a transport sends),
  // instead of copied: a message may be megabytes.
  [[nodiscard]] std::string take_wire() &&;

 private:
  MessageKind kind_;
  json body_;
  mutable std::string wire_;
};

// A key under which ids of one direction are tracked: 7 and "7" are different ids.
std::string id_key(const json& id);

// What a line turned out to be that is not a usable message. `id` is the request's
// id where it could be read, so that the error can be addressed to it.
struct Malformed {
  Error error;
  json id;
  std::string detail;
};

using BatchElement = std::variant<Message, Malformed>;
struct Batch {
  std::vector<BatchElement> elements;
};

using Parsed = std::variant<Message, Batch, Malformed>;

struct ParseLimits {
  std::size_t max_message_bytes = std::size_t{64} << 20;
  int max_depth = 128;
};

// Parses one frame. Never throws on hostile input: every failure is a Malformed.
Parsed parse_frame(std::string line, const ParseLimits& limits);

// The error response that answers a malformed frame.
Message error_response(const Malformed& malformed);

// Whether text is well-formed UTF-8, as every string in a JSON message must be.
bool is_utf8(std::string_view text);

// Text as a JSON string literal, for log and error messages, which must not fail
// themselves: ill-formed bytes become U+FFFD.
std::string json_quoted(std::string_view text);

}  // namespace sluice::mcp
