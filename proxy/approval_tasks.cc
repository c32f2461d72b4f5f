#include "proxy/approval_tasks.h"

#include <utility>

#include "audit/sqlite_store.h"
#include "mcp/random_id.h"

namespace sluice::proxy {
namespace {

using mcp::json;

// Tasks remembered per session. Past this the oldest ended one is forgotten (a
// working task never is: it holds an approval request).
constexpr std::size_t max_remembered_tasks = 256;
constexpr const char* related_task_meta_key = "io.modelcontextprotocol/related-task";

}  // namespace

std::string_view to_string(TaskStatus status) {
  switch (status) {
    case TaskStatus::working: return "working";
    case TaskStatus::completed: return "completed";
    case TaskStatus::failed: return "failed";
    case TaskStatus::cancelled: return "cancelled";
  }
  return "failed";
}

ApprovalTask& ApprovalTasks::create(mcp::ProtocolEra era, std::string approval_id, std::string status_message,
                                    std::int64_t ttl_ms, std::int64_t poll_interval_ms) {
  if (order_.size() >= max_remembered_tasks) {
    for (auto it = order_.begin(); it != order_.end(); ++it) {
      if (tasks_.at(*it).terminal()) {
        tasks_.erase(*it);
        order_.erase(it);
        break;
      }
    }
  }
  ApprovalTask task;
  task.id = mcp::random_hex(16);
  task.approval_id = std::move(approval_id);
  task.era = era;
  task.status_message = std::move(status_message);
  task.created_at = audit::audit_time_now();
  task.updated_at = task.created_at;
  task.ttl_ms = ttl_ms;
  task.poll_interval_ms = poll_interval_ms;
  order_.push_back(task.id);
  auto id = task.id;
  return tasks_.emplace(std::move(id), std::move(task)).first->second;
}

ApprovalTask* ApprovalTasks::find(std::string_view id) {
  const auto found = tasks_.find(id);
  return found == tasks_.end() ? nullptr : &found->second;
}

void ApprovalTasks::progress(ApprovalTask& task, std::string status_message) {
  if (task.terminal()) return;
  task.status_message = std::move(status_message);
  task.updated_at = audit::audit_time_now();
  changed_.notify_all();
}

void ApprovalTasks::finish(ApprovalTask& task, const mcp::Message& answer, std::string status_message) {
  if (task.terminal()) return;
  const auto& body = answer.body();
  if (answer.is_error_response()) {
    task.status = TaskStatus::failed;
    task.error = body["error"];
  } else {
    task.status = TaskStatus::completed;
    task.result = body.contains("result") ? body["result"] : json::object();
  }
  task.status_message = std::move(status_message);
  task.updated_at = audit::audit_time_now();
  changed_.notify_all();
}

void ApprovalTasks::cancel(ApprovalTask& task, std::string status_message) {
  if (task.terminal()) return;
  task.status = TaskStatus::cancelled;
  task.status_message = std::move(status_message);
  task.updated_at = audit::audit_time_now();
  changed_.notify_all();
}

asio::awaitable<void> ApprovalTasks::until_ended(const std::string& id, const std::function<bool()>& gone) {
  while (!gone()) {
    const auto* task = find(id);
    if (task == nullptr || task->terminal()) co_return;
    co_await changed_.wait();
  }
}

json ApprovalTasks::fields(const ApprovalTask& task) {
  json fields = {
      {"taskId", task.id},
      {"status", to_string(task.status)},
      {"statusMessage", task.status_message},
      {"createdAt", task.created_at},
      {"lastUpdatedAt", task.updated_at},
  };
  // The extension renamed the durations; 2025-11-25 has them without the unit.
  const bool modern = task.era == mcp::ProtocolEra::modern;
  fields[modern ? "ttlMs" : "ttl"] = task.ttl_ms;
  fields[modern ? "pollIntervalMs" : "pollInterval"] = task.poll_interval_ms;
  return fields;
}

json ApprovalTasks::created(const ApprovalTask& task) {
  if (task.era != mcp::ProtocolEra::modern) return {{"task", fields(task)}};
  auto result = fields(task);
  result["resultType"] = "task";
  return result;
}

json ApprovalTasks::detailed(const ApprovalTask& task) {
  auto result = fields(task);
  if (task.era != mcp::ProtocolEra::modern) return result;
  if (task.status == TaskStatus::completed) result["result"] = task.result;
  if (task.status == TaskStatus::failed) result["error"] = task.error;
  result["resultType"] = "complete";
  return result;
}

mcp::Message ApprovalTasks::status_notification(const ApprovalTask& task) {
  return mcp::Message::notification("notifications/tasks/status", fields(task));
}

mcp::Message ApprovalTasks::outcome(const ApprovalTask& task, const json& id) {
  const json related = {{related_task_meta_key, {{"taskId", task.id}}}};
  switch (task.status) {
    case TaskStatus::completed: {
      auto result = task.result.is_object() ? task.result : json::object();
      result["_meta"].update(related);
      return mcp::Message::result(id, std::move(result));
    }
    case TaskStatus::failed: {
      auto error = task.error;
      return mcp::Message::error(id, error.value("code", -32603), error.value("message", task.status_message),
                                 error.contains("data") ? error["data"] : json(nullptr));
    }
    default:
      // Cancelled before it ran: the call has no result, and never will.
      return mcp::Message::error(
          id, -32602,
          "Invalid params: task " + task.id + " was cancelled (" + task.status_message + "); " +
              (task.released ? "what the call returned was discarded" : "the call did not run"));
  }
}

json ApprovalTasks::listed() const {
  json tasks = json::array();
  for (const auto& id : order_) tasks.push_back(fields(tasks_.at(id)));
  return tasks;
}

}  // namespace sluice::proxy
