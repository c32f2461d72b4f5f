#include "proxy/approval_tasks.h"

#include <catch2/catch.hpp>

namespace sluice::proxy {
namespace {

using mcp::json;

mcp::Message tool_result(const std::string& text, bool is_error) {
  return mcp::Message::result(
      "sluice-1-task-0",
      {{"content", json::array({{{"type", "text"}, {"text", text}}})}, {"isError", is_error}});
}

TEST_CASE("a task of Sluice's is shaped for its era") {
  asio::io_context io;
  ApprovalTasks tasks(io.get_executor());

  SECTION("2025-11-25: CreateTaskResult wraps the task; durations without a unit; no resultType") {
    const auto& task = tasks.create(mcp::ProtocolEra::legacy, "a1", "waits for an approver", 600000, 1000);
    const auto created = ApprovalTasks::created(task);
    CHECK_FALSE(created.contains("resultType"));
    CHECK(created["task"]["taskId"] == task.id);
    CHECK(created["task"]["status"] == "working");
    CHECK(created["task"]["statusMessage"] == "waits for an approver");
    CHECK(created["task"]["ttl"] == 600000);
    CHECK(created["task"]["pollInterval"] == 1000);
    CHECK(created["task"]["createdAt"] == created["task"]["lastUpdatedAt"]);
    CHECK_FALSE(ApprovalTasks::detailed(task).contains("resultType"));
  }

  SECTION("2026-07-28: flat, resultType task, then complete on tasks/get; ttlMs and pollIntervalMs") {
    const auto& task = tasks.create(mcp::ProtocolEra::modern, "a1", "waits", 600000, 1000);
    const auto created = ApprovalTasks::created(task);
    CHECK(created["resultType"] == "task");
    CHECK(created["taskId"] == task.id);
    CHECK(created["ttlMs"] == 600000);
    CHECK(created["pollIntervalMs"] == 1000);
    CHECK_FALSE(created.contains("ttl"));
    CHECK(ApprovalTasks::detailed(task)["resultType"] == "complete");
  }

  SECTION("task ids are unguessable and distinct") {
    const auto first = tasks.create(mcp::ProtocolEra::legacy, "a1", "", 1, 1).id;
    const auto second = tasks.create(mcp::ProtocolEra::legacy, "a2", "", 1, 1).id;
    CHECK(first.size() == 32);
    CHECK(first != second);
    CHECK(tasks.find(first) != nullptr);
    CHECK(tasks.find("not-a-task") == nullptr);
  }
}

TEST_CASE("a task ends once, with the answer the call got") {
  asio::io_context io;
  ApprovalTasks tasks(io.get_executor());
  auto& task = tasks.create(mcp::ProtocolEra::modern, "a1", "waits", 1000, 1000);

  SECTION("a result completes it, a tool error too, and a 2026-07-28 tasks/get carries it") {
    tasks.finish(task, tool_result("Denied by approver bob", true), "Denied by approver bob");
    CHECK(task.status == TaskStatus::completed);
    const auto detailed = ApprovalTasks::detailed(task);
    CHECK(detailed["result"]["isError"] == true);
    CHECK(detailed["statusMessage"] == "Denied by approver bob");
    tasks.cancel(task, "too late");
    CHECK(task.status == TaskStatus::completed);
  }

  SECTION("a JSON-RPC error fails it, and tasks/result returns that error") {
    tasks.finish(task, mcp::Message::error("x", -32603, "upstream broke"), "Failed: upstream broke");
    CHECK(task.status == TaskStatus::failed);
    CHECK(ApprovalTasks::detailed(task)["error"]["code"] == -32603);
    const auto outcome = ApprovalTasks::outcome(task, 7);
    CHECK(outcome.is_error_response());
    CHECK(outcome.body()["error"]["message"] == "upstream broke");
    CHECK(outcome.id() == 7);
  }

  SECTION("tasks/result of a completed task is exactly the result, tied to the task") {
    tasks.finish(task, tool_result("ran", false), "Completed");
    const auto outcome = ApprovalTasks::outcome(task, 3);
    CHECK(outcome.body()["result"]["content"][0]["text"] == "ran");
    CHECK(outcome.body()["result"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"] == task.id);
  }

  SECTION("a cancelled task has no result, and says whether the call ran") {
    tasks.cancel(task, "cancelled by the client");
    CHECK(task.status == TaskStatus::cancelled);
    tasks.finish(task, tool_result("ran", false), "Completed");
    CHECK(task.status == TaskStatus::cancelled);
    const auto outcome = ApprovalTasks::outcome(task, 4);
    CHECK(outcome.body()["error"]["code"] == -32602);
    CHECK(outcome.body()["error"]["message"].get<std::string>().find("the call did not run") !=
          std::string::npos);
  }
}

TEST_CASE("ended tasks are forgotten past the bound, working ones never") {
  asio::io_context io;
  ApprovalTasks tasks(io.get_executor());
  const auto working = tasks.create(mcp::ProtocolEra::legacy, "held", "", 1, 1).id;
  auto& ended = tasks.create(mcp::ProtocolEra::legacy, "done", "", 1, 1);
  const auto ended_id = ended.id;
  tasks.cancel(ended, "cancelled");
  for (int i = 0; i < 254; ++i) tasks.create(mcp::ProtocolEra::legacy, "more", "", 1, 1);
  CHECK(tasks.listed().size() == 256);
  tasks.create(mcp::ProtocolEra::legacy, "one more", "", 1, 1);
  CHECK(tasks.listed().size() == 256);
  CHECK(tasks.find(working) != nullptr);
  CHECK(tasks.find(ended_id) == nullptr);
}

}  // namespace
}  // namespace sluice::proxy
