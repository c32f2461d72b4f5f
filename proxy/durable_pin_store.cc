#include "proxy/durable_pin_store.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace sluice::proxy {

DurablePinStore::DurablePinStore(std::unique_ptr<audit::SqliteStore> reader, audit::AuditWriter& writer)
    : reader_(std::move(reader)), writer_(writer) {}

bool DurablePinStore::has_pins(const std::string& upstream) const {
  if (recent_.has_pins(upstream)) return true;
  reader_->follow_seals();
  const auto pins = reader_->pins();
  return std::any_of(pins.begin(), pins.end(), [&](const audit::PinRecord& pin) { return pin.upstream == upstream; });
}

std::optional<std::string> DurablePinStore::pinned_hash(const std::string& upstream, const std::string& tool) const {
  try {
    reader_->follow_seals();
    if (const auto stored = reader_->pin(upstream, tool)) return stored->hash;
  } catch (const audit::StoreError& e) {
    // Unreadable pins count as no pin: the tool is then treated as changed.
    spdlog::error("audit log: cannot read the pin of {}: {}", tool, e.what());
    return std::nullopt;
  }
  return recent_.pinned_hash(upstream, tool);
}

void DurablePinStore::pin(const std::string& upstream, const std::string& tool, const std::string& hash) {
  recent_.pin(upstream, tool, hash);
  audit::AuditEvent event;
  event.kind = "pin";
  event.upstream = upstream;
  event.tool = tool;
  event.detail = "pinned definition sha256 " + hash + " (first listing)";
  writer_.pin(audit::PinRecord{upstream, tool, hash, "sluice (first listing)", {}}, std::move(event));
}

void DurablePinStore::saw_changed(const std::string& upstream, const std::string& tool, const std::string& hash,
                                  const std::string& definition) {
  audit::AuditEvent event;
  event.kind = "tool_changed";
  event.upstream = upstream;
  event.tool = tool;
  event.detail = "definition sha256 " + hash + " differs from the pin; review and re-pin with: sluice tools pin";
  event.summary = nlohmann::json::parse(definition, nullptr, false);
  writer_.record(std::move(event));
}

}  // namespace sluice::proxy
