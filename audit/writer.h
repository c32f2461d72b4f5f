// The one writer of the audit log: a thread of its own that commits whatever has
// queued up in one transaction (group commit), so that the event loop never waits on
// SQLite or fsync, and many calls in flight share one commit.
#pragma once

#include <atomic>
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

class AuditWriter {
 public:
  // Completions are handed back to the loop through `executor`.
  AuditWriter(const asio::any_io_executor& executor, std::unique_ptr<SqliteStore> store);
  // Writes what is still queued, then stops the thread.
  ~AuditWriter();
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  // Resumes once the event is committed; false if it could not be (the reason is
  // logged, and last_error() tells it).
  asio::awaitable<bool> commit(AuditEvent event);
  // Queues the event for the next group; nobody waits for it.
  void record(AuditEvent event);
  // Queues a pin together with the event that records it.
  void pin(PinRecord pin, AuditEvent event);

  [[nodiscard]] bool healthy() const { return healthy_.load(); }
  [[nodiscard]] std::string last_error() const;
  [[nodiscard]] std::uint64_t commits() const { return commits_.load(); }

 private:
  struct Item {
    AuditEvent event;
    std::optional<PinRecord> pin;
    std::function<void(bool)> done;  // runs on the loop
  };
  void enqueue(Item item);
  void run();

  asio::any_io_executor executor_;
  std::unique_ptr<SqliteStore> store_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::string last_error_;
  std::atomic<bool> healthy_{true};
  std::atomic<std::uint64_t> commits_{0};
  std::thread thread_;
};

}  // namespace sluice::audit
