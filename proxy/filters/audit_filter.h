// Records every message and decision in the audit log. A tools/call's decision is
// committed before the call is forwarded, and a call whose decision cannot be
// committed is refused: an audit log that can miss a call it forwarded is worse than
// none. Outcomes and other methods are queued and committed with the next group.
#pragma once

#include <chrono>
#include <string>
#include <unordered_map>
#include <vector>

#include "audit/redactor.h"
#include "audit/writer.h"
#include "proxy/pipeline.h"

namespace sluice::proxy {

class AuditFilter final : public Filter {
 public:
  AuditFilter(audit::AuditWriter& writer, const audit::Redactor& redactor, std::string upstream);

  asio::awaitable<Verdict> on_message(Exchange& exchange) override;
  asio::awaitable<void> on_verdict(Exchange& exchange, Verdict& verdict) override;

 private:
  audit::AuditEvent event_for(const Exchange& exchange, std::string kind) const;

  audit::AuditWriter& writer_;
  const audit::Redactor& redactor_;
  std::string upstream_;
  struct CallInFlight {
    std::string tool;
    std::chrono::steady_clock::time_point started;
    // Values redacted from the arguments: scrubbed from the result too, which may
    // echo them.
    std::vector<std::string> secrets;
    mcp::json first_id;
  };
  // Forwarded tools/call requests awaiting their result, by id_key; and those the
  // upstream answered with input_required, by the id_key of their first round, until
  // the client's retry (Exchange::retry_of) takes them on: one call, one record of
  // its decision and one of its outcome, however many rounds it takes.
  std::unordered_map<std::string, CallInFlight> calls_;
  std::unordered_map<std::string, CallInFlight> input_rounds_;
};

}  // namespace sluice::proxy
