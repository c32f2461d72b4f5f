#include "mcp/protocol_era.h"

namespace sluice::mcp {
namespace {

constexpr std::string_view modern_meta_prefix = "io.modelcontextprotocol/";

const json* request_meta(const Message& request) {
  const auto& params = request.params();
  if (!params.is_object()) return nullptr;
  const auto found = params.find("_meta");
  return found != params.end() && found->is_object() ? &*found : nullptr;
}

}  // namespace

std::string_view to_string(ProtocolEra era) {
  switch (era) {
    case ProtocolEra::undetermined: return "undetermined";
    case ProtocolEra::legacy: return "2025";
    case ProtocolEra::modern: return "2026-07-28";
  }
  return "undetermined";
}

ProtocolEra era_of_opening(const Message& message) {
  if (!message.is_request()) return ProtocolEra::undetermined;
  if (message.method() == "initialize") return ProtocolEra::legacy;
  if (message.method() == "server/discover") return ProtocolEra::modern;
  const auto* meta = request_meta(message);
  const bool claims_version = meta != nullptr && meta->contains(protocol_version_meta_key);
  return claims_version ? ProtocolEra::modern : ProtocolEra::legacy;
}

json modern_envelope(const Message& request) {
  json envelope = json::object();
  const auto* meta = request_meta(request);
  if (meta == nullptr) return envelope;
  for (const auto& [key, value] : meta->items()) {
    if (key.starts_with(modern_meta_prefix)) envelope[key] = value;
  }
  return envelope;
}

Message own_result(ProtocolEra era, json id, json result) {
  if (era == ProtocolEra::modern) result["resultType"] = "complete";
  return Message::result(std::move(id), std::move(result));
}

}  // namespace sluice::mcp
