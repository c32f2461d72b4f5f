#include "audit/writer.h"

#include <spdlog/spdlog.h>

#include "mcp/async_event.h"

namespace sluice::audit {

AuditWriter::AuditWriter(const asio::any_io_executor& executor, std::unique_ptr<SqliteStore> store)
    : executor_(executor), store_(std::move(store)), thread_([this] { run(); }) {}

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
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(item));
  }
  wake_.notify_one();
}

void AuditWriter::record(AuditEvent event) { enqueue(Item{std::move(event), std::nullopt, nullptr}); }

void AuditWriter::pin(PinRecord pin, AuditEvent event) { enqueue(Item{std::move(event), std::move(pin), nullptr}); }

asio::awaitable<bool> AuditWriter::commit(AuditEvent event) {
  struct Outcome {
    explicit Outcome(const asio::any_io_executor& executor) : settled(executor) {}
    bool done = false;
    bool ok = false;
    mcp::AsyncEvent settled;
  };
  auto outcome = std::make_shared<Outcome>(executor_);
  enqueue(Item{std::move(event), std::nullopt, [outcome](bool ok) {
                 outcome->done = true;
                 outcome->ok = ok;
                 outcome->settled.notify_all();
               }});
  while (!outcome->done) co_await outcome->settled.wait();
  co_return outcome->ok;
}

void AuditWriter::run() {
  for (;;) {
    std::deque<Item> group;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is written
      group.swap(queue_);
    }
    std::vector<AuditEvent> events;
    std::vector<PinRecord> pins;
    events.reserve(group.size());
    for (auto& item : group) {
      events.push_back(std::move(item.event));
      if (item.pin) pins.push_back(std::move(*item.pin));
    }
    bool ok = true;
    try {
      store_->append(events, pins);
      commits_.fetch_add(1);
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
    for (auto& item : group) {
      if (item.done) asio::post(executor_, [done = std::move(item.done), ok] { done(ok); });
    }
  }
}

}  // namespace sluice::audit
