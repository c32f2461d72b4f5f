// The tasks Sluice makes of the calls it holds for approval, for a client that opted
// into tasks (a 2025-11-25 task-augmented tools/call, or the 2026-07-28 extension
// io.modelcontextprotocol/tasks in the call's client capabilities): the client has its
// task at once and polls it while an approver decides, which may take hours, and the
// task completes with the upstream's result once the call is released. Sluice answers
// tasks/* for these ids itself; they are unguessable (mcp::random_hex), never reach
// the upstream, and belong to the one session that made them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "mcp/asio.h"
#include "mcp/async_event.h"
#include "mcp/message.h"
#include "mcp/protocol_era.h"

namespace sluice::proxy {

enum class TaskStatus { working, completed, failed, cancelled };

std::string_view to_string(TaskStatus status);

struct ApprovalTask {
  std::string id;
  std::string approval_id;
  mcp::ProtocolEra era = mcp::ProtocolEra::legacy;
  TaskStatus status = TaskStatus::working;
  std::string status_message;
  std::string created_at;
  std::string updated_at;
  std::int64_t ttl_ms = 0;
  std::int64_t poll_interval_ms = 0;
  // Approved and sent to the upstream: a cancellation now only discards the answer.
  bool released = false;
  // What the call returned (completed), or the JSON-RPC error it ended with (failed).
  mcp::json result;
  mcp::json error;

  [[nodiscard]] bool terminal() const { return status != TaskStatus::working; }
};

class ApprovalTasks {
 public:
  explicit ApprovalTasks(const asio::any_io_executor& executor) : changed_(executor) {}

  ApprovalTask& create(mcp::ProtocolEra era, std::string approval_id, std::string status_message,
                       std::int64_t ttl_ms, std::int64_t poll_interval_ms);
  [[nodiscard]] ApprovalTask* find(std::string_view id);
  // A working task's new status message (it was approved, and runs).
  void progress(ApprovalTask& task, std::string status_message);
  // Ends a working task with the answer the call got: a result completes it (a tool
  // error too: the call ran, or Sluice answered it, as the protocol defines), a
  // JSON-RPC error fails it. A task already ended stays as it is.
  void finish(ApprovalTask& task, const mcp::Message& answer, std::string status_message);
  void cancel(ApprovalTask& task, std::string status_message);
  // Waits until the task has ended, or `gone()` holds (the one who waits left).
  asio::awaitable<void> until_ended(const std::string& id, const std::function<bool()>& gone);
  // Wakes until_ended() waiters to look at `gone()` again.
  void wake() { changed_.notify_all(); }

  // The task in its era's shapes: the answer to the call that made it, the answer to
  // tasks/get (a 2026-07-28 one carries the result or error once ended), and the
  // notifications/tasks/status a 2025 client gets on every change.
  [[nodiscard]] static mcp::json created(const ApprovalTask& task);
  [[nodiscard]] static mcp::json detailed(const ApprovalTask& task);
  [[nodiscard]] static mcp::Message status_notification(const ApprovalTask& task);
  // tasks/result (2025-11-25): exactly what the call would have returned.
  [[nodiscard]] static mcp::Message outcome(const ApprovalTask& task, const mcp::json& id);
  // Every task, for tasks/list.
  [[nodiscard]] mcp::json listed() const;

 private:
  static mcp::json fields(const ApprovalTask& task);

  std::map<std::string, ApprovalTask, std::less<>> tasks_;
  std::deque<std::string> order_;  // oldest first, to forget ended tasks past a bound
  mcp::AsyncEvent changed_;
};

}  // namespace sluice::proxy
