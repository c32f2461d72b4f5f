#include "audit/writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "mcp/async_event.h"

namespace sluice::audit {
namespace {

// Readers see the old checkpoint or the new one, never half of one.
void write_file_atomically(const std::string& path, const std::string& content) {
  const auto temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(temporary + ": " + std::strerror(errno));
  const bool written = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
                       ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!written || std::rename(temporary.c_str(), path.c_str()) != 0) {
    throw std::runtime_error(path + ": cannot write the checkpoint: " + std::strerror(written ? errno : saved));
  }
}

}  // namespace

AuditWriter::AuditWriter(const asio::any_io_executor& executor, std::unique_ptr<SqliteStore> store,
                         CheckpointOptions checkpoints)
    : executor_(executor),
      store_(std::move(store)),
      checkpoints_(std::move(checkpoints)),
      thread_([this] {
        store_->checkpoint_wal_by_hand();
        run();
      }) {}

AuditWriter::~AuditWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

std::string AuditWriter::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

void AuditWriter::enqueue(Item item) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    // An item somebody waits for wakes the writer; others only when it sleeps without
    // a deadline, and then only the first: a lingering writer takes them with its
    // next group anyway (a wake-up costs the loop's core a context switch, and a
    // group of its own costs a transaction).
    wake = item.done != nullptr || (idle_ && queue_.empty());
    if (item.done) ++awaited_;
    queue_.push_back(std::move(item));
  }
  if (wake) wake_.notify_one();
}

void AuditWriter::record(AuditEvent event) { enqueue(Item{std::move(event), std::nullopt, std::nullopt, nullptr}); }

void AuditWriter::pin(PinRecord pin, AuditEvent event) {
  enqueue(Item{std::move(event), std::move(pin), std::nullopt, nullptr});
}

void AuditWriter::record_approval(ApprovalRecord approval, AuditEvent event) {
  enqueue(Item{std::move(event), std::nullopt, std::move(approval), nullptr});
}

asio::awaitable<bool> AuditWriter::enqueue_and_wait(Item item) {
  struct Outcome {
    explicit Outcome(const asio::any_io_executor& executor) : settled(executor) {}
    bool done = false;
    bool ok = false;
    mcp::AsyncEvent settled;
  };
  auto outcome = std::make_shared<Outcome>(executor_);
  item.done = [outcome](bool ok) {
    outcome->done = true;
    outcome->ok = ok;
    outcome->settled.notify_all();
  };
  enqueue(std::move(item));
  while (!outcome->done) co_await outcome->settled.wait();
  co_return outcome->ok;
}

asio::awaitable<bool> AuditWriter::commit(AuditEvent event) {
  return enqueue_and_wait(Item{std::move(event), std::nullopt, std::nullopt, nullptr});
}

asio::awaitable<bool> AuditWriter::commit_approval(ApprovalRecord approval, AuditEvent event) {
  return enqueue_and_wait(Item{std::move(event), std::nullopt, std::move(approval), nullptr});
}

asio::awaitable<std::optional<VoteOutcome>> AuditWriter::vote(std::string id, Approver approver, bool approve,
                                                              std::string comment) {
  // Written by the writer's thread, read here after `done` was posted to the loop.
  auto outcome = std::make_shared<std::optional<VoteOutcome>>();
  Item item{std::nullopt, std::nullopt, std::nullopt, nullptr};
  item.task = [outcome, id = std::move(id), approver = std::move(approver), approve,
               comment = std::move(comment)](SqliteStore& store) { *outcome = store.vote(id, approver, approve, comment); };
  const bool ok = co_await enqueue_and_wait(std::move(item));
  co_return ok ? *outcome : std::nullopt;
}

void AuditWriter::run() {
  for (;;) {
    std::deque<Item> group;
    {
      std::unique_lock lock(mutex_);
      const auto awaited = [this] { return stopping_ || awaited_ > 0; };
      // After a group the writer lingers: what is recorded meanwhile (a call's
      // outcome) rides with the next commit somebody waits for (the next call's
      // decision), and wakes nobody.
      wake_.wait_for(lock, record_delay, awaited);
      if (queue_.empty()) {
        const auto ready = [this] { return stopping_ || !queue_.empty(); };
        idle_ = true;
        bool quiet_interval_over = false;
        if (checkpoints_.signer && rows_since_checkpoint_ > 0) {
          // A quiet log is still checkpointed within the interval.
          quiet_interval_over = !wake_.wait_until(lock, last_checkpoint_ + checkpoints_.interval, ready);
        } else {
          wake_.wait(lock, ready);
        }
        idle_ = false;
        if (quiet_interval_over) {
          lock.unlock();
          checkpoint(true);
          continue;
        }
        if (queue_.empty()) {
          // Stopping, and everything is written: a last checkpoint attests all of it.
          lock.unlock();
          checkpoint(true);
          return;
        }
        // Nobody waits for what has queued: give a commit somebody waits for a moment
        // to come, so that both share one transaction.
        if (!awaited()) wake_.wait_for(lock, record_delay, awaited);
      }
      group.swap(queue_);
      awaited_ = 0;
    }
    std::vector<AuditEvent> events;
    std::vector<PinRecord> pins;
    std::vector<ApprovalRecord> approvals;
    events.reserve(group.size());
    for (auto& item : group) {
      if (item.event) events.push_back(std::move(*item.event));
      if (item.pin) pins.push_back(std::move(*item.pin));
      if (item.approval) approvals.push_back(std::move(*item.approval));
    }
    bool ok = true;
    try {
      if (!events.empty()) store_->append(events, pins, approvals);
      commits_.fetch_add(1);
      rows_since_checkpoint_ += static_cast<std::int64_t>(events.size());
      if (!healthy_.exchange(true)) spdlog::warn("audit log: writing again to {}", store_->path());
    } catch (const StoreError& e) {
      ok = false;
      healthy_.store(false);
      {
        std::lock_guard lock(mutex_);
        last_error_ = e.what();
      }
      spdlog::error("AUDIT LOG UNAVAILABLE: {} events not written ({}); calls that need them are refused",
                    events.size(), e.what());
    }
    // One handler for the whole group: each post from this thread takes the loop's
    // lock and may wake it.
    std::vector<std::pair<std::function<void(bool)>, bool>> completions;
    completions.reserve(group.size());
    for (auto& item : group) {
      bool item_ok = ok;
      if (ok && item.task) {
        try {
          item.task(*store_);
        } catch (const StoreError& e) {
          item_ok = false;
          spdlog::error("audit log: {}", e.what());
        }
      }
      if (item.done) completions.emplace_back(std::move(item.done), item_ok);
    }
    if (!completions.empty()) {
      asio::post(executor_, [completions = std::move(completions)] {
        for (const auto& [done, item_ok] : completions) done(item_ok);
      });
    }
    checkpoint(false);
    if (ok) checkpoint_wal();
  }
}

void AuditWriter::checkpoint_wal() {
  // After the group's completions are posted, so that the calls waiting for them do
  // not wait for the checkpoint's fsyncs too, as they would inside SQLite's own.
  if (store_->wal_pages() < wal_checkpoint_pages) return;
  try {
    store_->checkpoint_wal();
  } catch (const StoreError& e) {
    // The commits are in the WAL; it is tried again after the next group.
    spdlog::warn("audit log: {}", e.what());
  }
}

void AuditWriter::checkpoint(bool now) {
  if (!checkpoints_.signer || rows_since_checkpoint_ == 0) return;
  if (!now && rows_since_checkpoint_ < checkpoints_.every_rows &&
      std::chrono::steady_clock::now() - last_checkpoint_ < checkpoints_.interval) {
    return;
  }
  last_checkpoint_ = std::chrono::steady_clock::now();
  try {
    const auto row = store_->append_checkpoint(*checkpoints_.signer);
    rows_since_checkpoint_ = 0;
    if (!row) return;
    const auto note = nlohmann::json::parse(row->record)["data"]["note"].get<std::string>();
    // The log line is a copy outside the database too (journald, a log shipper).
    spdlog::info("audit checkpoint at row {}: {}", row->seq, nlohmann::json(note).dump());
    if (!checkpoints_.file.empty()) write_file_atomically(checkpoints_.file, note);
  } catch (const std::exception& e) {
    // The rows themselves are committed; only their attestation is late. It is
    // tried again at the next group.
    spdlog::error("audit log: cannot write a signed checkpoint: {}", e.what());
  }
}

}  // namespace sluice::audit
