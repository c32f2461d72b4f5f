#include "proxy/approval_queue.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include <spdlog/spdlog.h>

#include "mcp/digest.h"
#include "mcp/random_id.h"

namespace sluice::proxy {
namespace {

using Clock = std::chrono::system_clock;

// How often the store is looked at for decisions other processes made, while a call
// is held. SQLite has no cross-process notification; PRAGMA data_version is cheap.
constexpr std::chrono::milliseconds store_poll_interval{200};
constexpr std::int64_t max_listed = 500;

std::string this_holder() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(::getpid());
}

// An audit time `delay` from now.
std::string audit_time_in(std::chrono::seconds delay) {
  const auto now = audit::audit_time_now();
  const auto later = Clock::now() + delay;
  const std::time_t seconds = Clock::to_time_t(later);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  return std::string(text) + now.substr(19);  // keeps the fraction and the Z
}

// The one reading of an audit time (audit_time_now's form, to the microsecond); the
// epoch for text that is not one.
Clock::time_point time_of(const std::string& audit_time) {
  std::tm utc{};
  if (strptime(audit_time.c_str(), "%Y-%m-%dT%H:%M:%S", &utc) == nullptr) return Clock::time_point{};
  const auto micros = audit_time.size() >= 26 ? std::atoll(audit_time.substr(20, 6).c_str()) : 0;
  return Clock::from_time_t(timegm(&utc)) + std::chrono::microseconds(micros);
}

// Time left until an audit time, or zero.
Clock::duration until(const std::string& audit_time) {
  return std::max(Clock::duration::zero(), time_of(audit_time) - Clock::now());
}

double seconds_between(const std::string& from, const std::string& to) {
  return std::max(0.0, std::chrono::duration<double>(time_of(to) - time_of(from)).count());
}

std::string elapsed_text(const std::string& created) {
  const auto at = time_of(created);
  if (at == Clock::time_point{}) return "?";
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - at);
  if (seconds.count() < 120) return std::to_string(seconds.count()) + "s";
  return std::to_string(seconds.count() / 60) + "m";
}

webui::ApprovalState view_state(audit::ApprovalState state) {
  switch (state) {
    case audit::ApprovalState::pending: return webui::ApprovalState::pending;
    case audit::ApprovalState::approved: return webui::ApprovalState::approved;
    case audit::ApprovalState::denied: return webui::ApprovalState::denied;
    case audit::ApprovalState::expired: return webui::ApprovalState::expired;
    case audit::ApprovalState::cancelled: return webui::ApprovalState::cancelled;
  }
  return webui::ApprovalState::pending;
}

webui::DecideError decide_error(audit::VoteError error) {
  switch (error) {
    case audit::VoteError::none: return webui::DecideError::none;
    case audit::VoteError::not_found: return webui::DecideError::not_found;
    case audit::VoteError::not_pending:
    case audit::VoteError::expired: return webui::DecideError::not_pending;
    case audit::VoteError::own_request: return webui::DecideError::own_request;
    case audit::VoteError::not_allowed: return webui::DecideError::not_allowed;
    case audit::VoteError::already_voted: return webui::DecideError::already_voted;
  }
  return webui::DecideError::not_found;
}

bool process_alive(const std::string& holder, const std::string& this_host) {
  const auto colon = holder.rfind(':');
  if (colon == std::string::npos || holder.substr(0, colon) != this_host) return true;  // another host's: not ours to judge
  const auto pid = std::atoi(holder.c_str() + colon + 1);
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

}  // namespace

webui::ApprovalView view_of(const audit::ApprovalRecord& record) {
  webui::ApprovalView view;
  view.id = record.id;
  view.state = view_state(record.state);
  view.session = record.session;
  view.principal = record.principal;
  view.upstream = record.upstream;
  view.tool = record.tool;
  view.tool_class = record.tool_class;
  view.rule = record.rule;
  view.reason = record.reason;
  view.arguments = record.arguments;
  view.arguments_hash = record.arguments_hash;
  view.created = record.created;
  view.expires = record.expires;
  view.decided = record.decided;
  view.quorum = record.quorum;
  view.approver_roles = record.approver_roles;
  for (const auto& vote : record.votes) view.votes.push_back({vote.approver, vote.approve, vote.comment, vote.time});
  view.comment = record.comment;
  return view;
}

ApprovalQueue::ApprovalQueue(const asio::any_io_executor& executor, audit::AuditWriter* writer,
                             std::unique_ptr<audit::SqliteStore> reader, const audit::Redactor& redactor,
                             policy::ApprovalConfig config)
    : executor_(executor),
      writer_(writer),
      reader_(std::move(reader)),
      redactor_(redactor),
      config_(config),
      tickets_(TicketSeal::from_key_file(config_.state_key)),
      holder_(this_holder()),
      watch_wake_(executor) {
  if (reader_) asio::co_spawn(executor_, watch_store(), asio::detached);
}

ApprovalQueue::~ApprovalQueue() {
  *alive_ = false;
  watch_wake_.notify_all();
}

asio::awaitable<std::optional<audit::ApprovalRecord>> ApprovalQueue::create(HoldRequest request) {
  audit::ApprovalRecord record;
  record.id = mcp::random_hex(16);
  record.session = std::move(request.session);
  record.principal = std::move(request.principal);
  record.upstream = std::move(request.upstream);
  record.tool = std::move(request.tool);
  record.tool_class = std::move(request.tool_class);
  record.rule = std::move(request.rule);
  record.reason = std::move(request.reason);
  record.arguments = redactor_.redact(request.arguments);
  record.arguments_hash = std::move(request.arguments_hash);
  record.created = audit::audit_time_now();
  record.expires = audit_time_in(request.timeout);
  record.quorum = std::max(1, request.quorum);
  record.approver_roles = std::move(request.approver_roles);
  record.holder = holder_;
  if (writer_) {
    // Named, not temporaries: GCC 12 destroys a temporary argument of a coroutine
    // call inside co_await twice.
    auto stored = record;
    auto event = audit::approval_event(record, record.principal, "requested");
    const bool recorded = co_await writer_->commit_approval(std::move(stored), std::move(event));
    if (!recorded) co_return std::nullopt;
  }
  spdlog::warn("approval {}: {} by {} is held until an approver decides (rule {}, expires {})", record.id, record.tool,
               record.principal, record.rule, record.expires);
  live_.emplace(record.id, Live{record, std::make_shared<mcp::AsyncEvent>(executor_)});
  watch_wake_.notify_all();
  publish(record);
  co_return record;
}

asio::awaitable<HoldResult> ApprovalQueue::wait(HoldRequest request, std::function<void(const std::string&)> progress,
                                                std::function<void(const std::string&)> held) {
  const auto created = co_await create(std::move(request));
  if (!created) co_return HoldResult{HoldOutcome::unrecorded, {}};
  const auto id = created->id;
  held(id);
  if (!closing_why_.empty()) cancel(id, closing_why_);
  co_await settle(id, progress);
  auto found = live_.find(id);
  HoldResult result{HoldOutcome::cancelled, found != live_.end() ? found->second.record : *created};
  if (found != live_.end()) live_.erase(found);
  switch (result.request.state) {
    case audit::ApprovalState::approved:
      result.outcome = HoldOutcome::approved;
      result.request.consumed = true;
      changed(result.request, "sluice", "consumed: the approved call is forwarded");
      break;
    case audit::ApprovalState::denied: result.outcome = HoldOutcome::denied; break;
    case audit::ApprovalState::expired: result.outcome = HoldOutcome::expired; break;
    case audit::ApprovalState::cancelled:
    case audit::ApprovalState::pending: result.outcome = HoldOutcome::cancelled; break;
  }
  co_return result;
}

asio::awaitable<void> ApprovalQueue::settle(const std::string& id,
                                            const std::function<void(const std::string&)>& progress) {
  const auto alive = alive_;
  const auto changed_event = live_.at(id).changed;
  const auto settled = [this, &id, &alive] {
    if (!*alive) return true;
    const auto found = live_.find(id);
    return found == live_.end() || found->second.record.state != audit::ApprovalState::pending;
  };
  while (!settled()) {
    const auto left = until(live_.at(id).record.expires);
    const auto slice = std::min<Clock::duration>(left, config_.progress_interval);
    co_await changed_event->wait_for(settled, slice);
    if (settled()) break;
    auto& record = live_.at(id).record;
    if (expire(record, audit::audit_time_now())) {
      changed(record, "sluice", "expired");
      break;
    }
    if (progress) {
      progress("waiting for approval (request " + id.substr(0, 8) + "…, " + elapsed_text(record.created) +
               " elapsed, rule " + record.rule + ")");
    }
  }
}

asio::awaitable<HoldResult> ApprovalQueue::open(HoldRequest request) {
  const auto created = co_await create(std::move(request));
  if (!created) co_return HoldResult{HoldOutcome::unrecorded, {}};
  asio::co_spawn(executor_, settle_alone(created->id), asio::detached);
  co_return HoldResult{HoldOutcome::pending, *created};
}

asio::awaitable<void> ApprovalQueue::settle_alone(std::string id) {
  const auto alive = alive_;
  const std::function<void(const std::string&)> no_progress;
  co_await settle(id, no_progress);
  if (!*alive) co_return;
  const auto found = live_.find(id);
  if (found == live_.end()) co_return;
  const auto record = found->second.record;
  live_.erase(found);
  if (!writer_) remember_ended(record);
}

std::optional<audit::ApprovalRecord> ApprovalQueue::lookup(const std::string& id) {
  if (const auto found = live_.find(id); found != live_.end()) return found->second.record;
  if (reader_) return reader_->approval(id);
  for (const auto& record : memory_history_) {
    if (record.id == id) return record;
  }
  return std::nullopt;
}

asio::awaitable<HoldResult> ApprovalQueue::poll(const std::string& id, std::chrono::milliseconds long_poll) {
  if (const auto found = live_.find(id); found != live_.end()) {
    const auto changed_event = found->second.changed;
    const auto settled = [this, &id] {
      const auto live = live_.find(id);
      return live == live_.end() || live->second.record.state != audit::ApprovalState::pending;
    };
    const auto left = until(found->second.record.expires);
    co_await changed_event->wait_for(settled, std::min<Clock::duration>(left, long_poll));
  }
  auto record = lookup(id);
  if (!record) co_return HoldResult{HoldOutcome::unrecorded, {}};
  if (expire(*record, audit::audit_time_now())) changed(*record, "sluice", "expired");
  switch (record->state) {
    case audit::ApprovalState::pending: co_return HoldResult{HoldOutcome::pending, *record};
    case audit::ApprovalState::denied: co_return HoldResult{HoldOutcome::denied, *record};
    case audit::ApprovalState::expired: co_return HoldResult{HoldOutcome::expired, *record};
    case audit::ApprovalState::cancelled: co_return HoldResult{HoldOutcome::cancelled, *record};
    case audit::ApprovalState::approved: break;
  }
  // The store learns of a consumption a moment later; this process knows at once.
  if (record->consumed || !consumed_here_.insert(id).second) co_return HoldResult{HoldOutcome::used, *record};
  record->consumed = true;
  changed(*record, "sluice", "consumed: the approved call is forwarded");
  co_return HoldResult{HoldOutcome::approved, *record};
}

bool ApprovalQueue::approve_at_client(const std::string& id, const std::string& principal) {
  const auto found = live_.find(id);
  if (found == live_.end() || found->second.record.state != audit::ApprovalState::pending) return false;
  auto record = found->second.record;
  const auto now = audit::audit_time_now();
  record.state = audit::ApprovalState::approved;
  record.decided = now;
  record.comment = "approved at the client (approval.client_may_approve)";
  record.votes.push_back({principal, true, record.comment, now});
  changed(record, principal, "approved at the client (approval.client_may_approve)");
  return true;
}

std::vector<audit::ApprovalRecord> ApprovalQueue::candidates(audit::ApprovalState state) {
  if (reader_) {
    reload_from_store();
    return reader_->approvals(state, max_listed);
  }
  std::vector<audit::ApprovalRecord> out;
  for (const auto& [id, live] : live_) {
    if (live.record.state == state) out.push_back(live.record);
  }
  for (const auto& record : memory_history_) {
    if (record.state == state) out.push_back(record);
  }
  return out;
}

asio::awaitable<HoldResult> ApprovalQueue::defer(HoldRequest request) {
  // An earlier request for exactly this call: the same tool, real arguments and caller.
  const auto now = audit::audit_time_now();
  for (auto state : {audit::ApprovalState::approved, audit::ApprovalState::pending}) {
    for (auto record : candidates(state)) {
      if (record.tool != request.tool || record.arguments_hash != request.arguments_hash ||
          record.principal != request.principal || record.consumed) {
        continue;
      }
      if (state == audit::ApprovalState::pending) {
        if (expire(record, now)) {
          changed(record, "sluice", "expired");
          continue;
        }
        co_return HoldResult{HoldOutcome::pending, record};
      }
      // The approval window: an approved request can be used until it would have expired.
      if (now >= record.expires) continue;
      record.consumed = true;
      changed(record, record.principal, "consumed by a retry of the same call");
      co_return HoldResult{HoldOutcome::approved, record};
    }
  }
  const auto created = co_await create(std::move(request));
  if (!created) co_return HoldResult{HoldOutcome::unrecorded, {}};
  // Nobody waits here: the client retries. With a store, the store is the queue.
  if (reader_) live_.erase(created->id);
  co_return HoldResult{HoldOutcome::pending, *created};
}

void ApprovalQueue::cancel(const std::string& id, const std::string& why) {
  const auto found = live_.find(id);
  if (found == live_.end()) return;
  if (audit::cancel(found->second.record, why, audit::audit_time_now())) {
    changed(found->second.record, found->second.record.principal, "cancelled: " + why);
  }
}

void ApprovalQueue::cancel_all(const std::string& why) {
  closing_why_ = why;
  std::vector<std::string> ids;
  for (const auto& [id, live] : live_) ids.push_back(id);
  for (const auto& id : ids) cancel(id, why);
}

void ApprovalQueue::cancel_orphans() {
  if (!reader_) return;
  const auto host = holder_.substr(0, holder_.rfind(':'));
  for (auto record : reader_->approvals(audit::ApprovalState::pending, max_listed)) {
    if (record.holder == holder_ || process_alive(record.holder, host)) continue;
    if (audit::cancel(record, "the Sluice that held the call (" + record.holder + ") is gone", audit::audit_time_now())) {
      changed(record, "sluice", "cancelled: its Sluice is gone");
    }
  }
}

void ApprovalQueue::changed(const audit::ApprovalRecord& record, const std::string& actor, const std::string& what) {
  if (writer_) writer_->record_approval(record, audit::approval_event(record, actor, what));
  if (const auto found = live_.find(record.id); found != live_.end()) {
    found->second.record = record;
    found->second.changed->notify_all();
  } else if (!writer_ && record.state != audit::ApprovalState::pending) {
    remember_ended(record);
  }
  publish(record);
}

void ApprovalQueue::remember_ended(const audit::ApprovalRecord& record) {
  std::erase_if(memory_history_, [&](const audit::ApprovalRecord& old) { return old.id == record.id; });
  memory_history_.insert(memory_history_.begin(), record);
  if (memory_history_.size() > static_cast<std::size_t>(max_listed)) memory_history_.pop_back();
}

void ApprovalQueue::publish(const audit::ApprovalRecord& record) {
  if (metrics_) {
    metrics_->pending_approvals.set({}, static_cast<double>(pending().size()));
    // Counted once, when the request ends; its consumption is not another end.
    if (record.state != audit::ApprovalState::pending && !record.consumed) {
      metrics_->approvals.add({std::string(audit::to_string(record.state))});
      metrics_->approval_wait.observe({}, seconds_between(record.created, record.decided));
    }
  }
  if (subscribers_.empty()) return;
  const auto view = view_of(record);
  // A subscriber may unsubscribe while being told.
  const auto subscribers = subscribers_;
  for (const auto& [handle, on_change] : subscribers) on_change(view);
}

void ApprovalQueue::reload_from_store() {
  for (auto& [id, live] : live_) {
    const auto stored = reader_->approval(id);
    // A stored request still pending while this process already decided it is this
    // process's own decision not yet written (the writer thread commits it): stale, not
    // a change. Taking it moved the request back to pending, and its decision was then
    // published, and counted in sluice_approvals_total, a second time.
    if (!stored || stored->state == live.record.state || stored->state == audit::ApprovalState::pending) continue;
    live.record = *stored;
    live.changed->notify_all();
    publish(*stored);
  }
}

asio::awaitable<void> ApprovalQueue::watch_store() {
  const auto alive = alive_;
  std::int64_t seen = -1;
  asio::steady_timer timer(executor_);
  while (*alive) {
    if (live_.empty()) {
      co_await watch_wake_.wait();
      continue;
    }
    timer.expires_after(store_poll_interval);
    boost::system::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    if (!*alive) co_return;
    try {
      reader_->follow_seals();
      const auto version = reader_->data_version();
      if (version == seen) continue;
      seen = version;
      reload_from_store();
    } catch (const audit::StoreError& e) {
      // The held calls stay held: nothing is released without a readable decision.
      spdlog::error("approvals: cannot read the audit store: {}", e.what());
    }
  }
}

std::vector<webui::ApprovalView> ApprovalQueue::pending() const {
  std::vector<webui::ApprovalView> out;
  if (reader_) {
    for (const auto& record : reader_->approvals(audit::ApprovalState::pending, max_listed)) out.push_back(view_of(record));
    return out;
  }
  for (const auto& [id, live] : live_) {
    if (live.record.state == audit::ApprovalState::pending) out.push_back(view_of(live.record));
  }
  return out;
}

std::vector<webui::ApprovalView> ApprovalQueue::history(std::size_t limit) const {
  std::vector<webui::ApprovalView> out;
  const auto take = std::min<std::int64_t>(static_cast<std::int64_t>(limit), max_listed);
  if (reader_) {
    for (const auto& record : reader_->approvals(std::nullopt, take)) {
      if (record.state != audit::ApprovalState::pending) out.push_back(view_of(record));
    }
    return out;
  }
  for (const auto& record : memory_history_) {
    if (out.size() >= static_cast<std::size_t>(take)) break;
    out.push_back(view_of(record));
  }
  return out;
}

std::optional<webui::ApprovalView> ApprovalQueue::find(std::string_view id) const {
  if (const auto found = live_.find(id); found != live_.end()) return view_of(found->second.record);
  if (reader_) {
    if (const auto stored = reader_->approval(std::string(id))) return view_of(*stored);
  }
  return std::nullopt;
}

asio::awaitable<webui::DecideResult> ApprovalQueue::decide(std::string id, webui::Approver approver, bool approve,
                                                           std::string comment) {
  const audit::Approver who{approver.name, approver.roles};
  std::optional<audit::VoteOutcome> outcome;
  if (writer_) {
    outcome = co_await writer_->vote(id, who, approve, comment);
    if (!outcome) {
      co_return webui::DecideResult{webui::DecideError::audit_failed,
                                    "the vote could not be recorded in the audit log, so it did not count",
                                    std::nullopt};
    }
  } else {
    const auto found = live_.find(id);
    if (found == live_.end()) {
      outcome = audit::VoteOutcome{audit::VoteError::not_found, std::nullopt};
    } else {
      outcome = audit::VoteOutcome{audit::apply_vote(found->second.record, who, approve, comment, audit::audit_time_now()),
                                   found->second.record};
    }
  }
  if (outcome->request) {
    if (const auto found = live_.find(id); found != live_.end()) {
      found->second.record = *outcome->request;
      found->second.changed->notify_all();
    }
    if (outcome->error == audit::VoteError::none || outcome->error == audit::VoteError::expired) publish(*outcome->request);
  }
  if (outcome->error == audit::VoteError::none) {
    spdlog::warn("approval {}: {} by {}{}", id, approve ? "approved" : "denied", approver.name,
                 comment.empty() ? "" : ": " + comment);
  }
  std::optional<webui::ApprovalView> view;
  if (outcome->request) view = view_of(*outcome->request);
  co_return webui::DecideResult{decide_error(outcome->error), std::string(audit::describe(outcome->error)), view};
}

std::uint64_t ApprovalQueue::subscribe(std::function<void(const webui::ApprovalView&)> on_change) {
  const auto handle = next_subscriber_++;
  subscribers_.emplace(handle, std::move(on_change));
  return handle;
}

void ApprovalQueue::unsubscribe(std::uint64_t handle) { subscribers_.erase(handle); }

}  // namespace sluice::proxy
