// The one writer of the audit log: a thread of its own that commits whatever has
// queued up in one transaction (group commit), so that the event loop never waits on
// SQLite or fsync, and many calls in flight share one commit.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "audit/event.h"
#include "audit/sqlite_store.h"
#include "mcp/asio.h"

namespace sluice::audit {

// Signed checkpoints (audit.checkpoint_key): every `every_rows` rows or `interval`,
// whichever comes first, and when the writer stops.
struct CheckpointOptions {
  std::optional<NoteSigner> signer;
  std::int64_t every_rows = 1000;
  std::chrono::milliseconds interval{std::chrono::minutes(1)};
  std::string file;  // the copy outside the log; empty: none
};

class AuditWriter {
 public:
  // How long an event nobody waits for may wait for a commit to ride with.
  static constexpr std::chrono::milliseconds record_delay{10};
  // The WAL's size at which the writer checkpoints it (SQLite's own default).
  static constexpr int wal_checkpoint_pages = 1000;

  // Completions are handed back to the loop through `executor`.
  AuditWriter(const asio::any_io_executor& executor, std::unique_ptr<SqliteStore> store,
              CheckpointOptions checkpoints = {});
  // Writes what is still queued, then stops the thread.
  ~AuditWriter();
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  // Resumes once the event is committed; false if it could not be (the reason is
  // logged, and last_error() tells it).
  asio::awaitable<bool> commit(AuditEvent event);
  // Queues the event for the next group; nobody waits for it. It rides with the next
  // commit someone waits for, or is written within record_delay when none comes.
  void record(AuditEvent event);
  // Queues a pin together with the event that records it.
  void pin(PinRecord pin, AuditEvent event);
  // Records an approval request's state with the event that records the change;
  // resumes once committed, false if it could not be.
  asio::awaitable<bool> commit_approval(ApprovalRecord approval, AuditEvent event);
  // Queues the same without waiting.
  void record_approval(ApprovalRecord approval, AuditEvent event);
  // A vote, checked and recorded on the writer's connection (SqliteStore::vote);
  // nullopt when the store failed.
  asio::awaitable<std::optional<VoteOutcome>> vote(std::string id, Approver approver, bool approve, std::string comment);

  [[nodiscard]] bool healthy() const { return healthy_.load(); }
  [[nodiscard]] std::string last_error() const;
  [[nodiscard]] std::uint64_t commits() const { return commits_.load(); }

 private:
  struct Item {
    std::optional<AuditEvent> event;
    std::optional<PinRecord> pin;
    std::optional<ApprovalRecord> approval;
    std::function<void(bool)> done;  // runs on the loop
    // Work of its own on the store, in its own transaction after the group's.
    std::function<void(SqliteStore&)> task = nullptr;
  };
  asio::awaitable<bool> enqueue_and_wait(Item item);
  void enqueue(Item item);
  void run();
  // On the writer's thread: signs a checkpoint when one is due (or `now`).
  void checkpoint(bool now);
  // On the writer's thread: copies the WAL into the database once it has grown.
  void checkpoint_wal();

  asio::any_io_executor executor_;
  std::unique_ptr<SqliteStore> store_;
  CheckpointOptions checkpoints_;
  std::int64_t rows_since_checkpoint_ = 0;
  std::chrono::steady_clock::time_point last_checkpoint_ = std::chrono::steady_clock::now();
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  std::size_t awaited_ = 0;  // items in queue_ that somebody waits for
  bool idle_ = false;        // the writer sleeps until an item comes
  bool stopping_ = false;
  std::string last_error_;
  std::atomic<bool> healthy_{true};
  std::atomic<std::uint64_t> commits_{0};
  std::thread thread_;
};

}  // namespace sluice::audit
