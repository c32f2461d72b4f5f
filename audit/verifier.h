// Recomputes the audit log's hash chain from its records and says whether it holds,
// and if not, which row is the first that does not and why.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "audit/sqlite_store.h"

namespace sluice::audit {

struct VerifyReport {
  bool ok = false;
  std::int64_t events = 0;        // rows checked
  std::string head;               // hex chain of the last good row
  std::optional<std::int64_t> bad_seq;
  std::string problem;            // what is wrong, empty when ok
};

VerifyReport verify(const SqliteStore& store);

}  // namespace sluice::audit
