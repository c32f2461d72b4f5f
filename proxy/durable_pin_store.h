// Tool pins kept in the audit store. New pins and changed definitions go to the
// writer thread with an audit event each; lookups read the file, so that a re-pin by
// an operator (`sluice tools pin`) takes effect in a running Sluice.
#pragma once

#include <memory>

#include "audit/sqlite_store.h"
#include "audit/writer.h"
#include "policy/pin_store.h"

namespace sluice::proxy {

class DurablePinStore final : public policy::PinStore {
 public:
  // `reader`: a connection of the loop's own to the audit file, for lookups.
  DurablePinStore(std::unique_ptr<audit::SqliteStore> reader, audit::AuditWriter& writer);

  [[nodiscard]] bool has_pins(const std::string& upstream) const override;
  [[nodiscard]] std::optional<std::string> pinned_hash(const std::string& upstream,
                                                       const std::string& tool) const override;
  void pin(const std::string& upstream, const std::string& tool, const std::string& hash) override;
  void saw_changed(const std::string& upstream, const std::string& tool, const std::string& hash,
                   const std::string& definition) override;

 private:
  std::unique_ptr<audit::SqliteStore> reader_;
  audit::AuditWriter& writer_;
  // Pins written but perhaps not committed yet: the writer commits in groups.
  policy::MemoryPinStore recent_;
};

}  // namespace sluice::proxy
