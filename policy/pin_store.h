// Where tool pins live. The audit store will keep them durably; until then, and in
// tests, they live in memory behind the same interface.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>

namespace sluice::policy {

class PinStore {
 public:
  virtual ~PinStore() = default;
  [[nodiscard]] virtual bool has_pins(const std::string& upstream) const = 0;
  [[nodiscard]] virtual std::optional<std::string> pinned_hash(const std::string& upstream,
                                                               const std::string& tool) const = 0;
  virtual void pin(const std::string& upstream, const std::string& tool, const std::string& hash) = 0;
  // A listing showed a definition that differs from the pin (or a tool with none),
  // so that an operator can review it and re-pin.
  virtual void saw_changed(const std::string& /*upstream*/, const std::string& /*tool*/,
                           const std::string& /*hash*/, const std::string& /*definition*/) {}
};

class MemoryPinStore final : public PinStore {
 public:
  [[nodiscard]] bool has_pins(const std::string& upstream) const override {
    const auto it = pins_.lower_bound({upstream, ""});
    return it != pins_.end() && it->first.first == upstream;
  }
  [[nodiscard]] std::optional<std::string> pinned_hash(const std::string& upstream,
                                                       const std::string& tool) const override {
    const auto it = pins_.find({upstream, tool});
    if (it == pins_.end()) return std::nullopt;
    return it->second;
  }
  void pin(const std::string& upstream, const std::string& tool, const std::string& hash) override {
    pins_[{upstream, tool}] = hash;
  }

 private:
  std::map<std::pair<std::string, std::string>, std::string> pins_;
};

}  // namespace sluice::policy
