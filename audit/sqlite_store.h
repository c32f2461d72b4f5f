// The audit log in one SQLite file (WAL): append-only events with their hash chain,
// and the tool pins. One object is one connection, used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "audit/approvals.h"
#include "audit/event.h"
#include "audit/merkle.h"
#include "audit/signed_note.h"

struct sqlite3;
struct sqlite3_stmt;

namespace sluice::audit {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct StoredEvent {
  std::int64_t seq = 0;
  std::string time;
  std::string record;  // canonical JSON
  std::string leaf;    // raw SHA-256
  std::string chain;   // raw SHA-256
  // The columns queries filter on, copies of the record's fields (verify checks).
  std::string kind, session, principal, tool, decision;
};

struct PinRecord {
  std::string upstream;
  std::string tool;
  std::string hash;
  std::string pinned_by;
  std::string pinned_at;  // set by the store
};

struct EventQuery {
  std::int64_t after_seq = 0;
  std::optional<std::string> since;  // UTC ISO-8601, inclusive
  std::optional<std::string> until;  // exclusive
  std::optional<std::string> kind;
  std::optional<std::string> tool;
  std::optional<std::string> decision;
  std::optional<std::string> principal;
  std::optional<std::string> session;
  std::optional<std::int64_t> limit;
  bool newest_first = false;
};

enum class Durability { normal, full };

struct VoteOutcome {
  VoteError error = VoteError::none;
  std::optional<ApprovalRecord> request;  // as it is now
};

// The event that records a change of an approval request, made by `actor`.
AuditEvent approval_event(const ApprovalRecord& request, const std::string& actor, const std::string& what);

struct SealResult {
  std::optional<StoredEvent> checkpoint;  // the final checkpoint, when signed
  StoredEvent seal;                       // the sealed file's last row
  StoredEvent continuation;               // the successor's first row
  std::string successor;
};

class Statement;

class SqliteStore {
 public:
  // Opens (creating and initialising if need be) the file. Refuses a file that is
  // not a Sluice audit log or has a newer schema. Throws StoreError naming the path.
  SqliteStore(std::string path, Durability durability, bool read_only = false);
  ~SqliteStore();
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Appends the events, and applies the pins and approval states, in one transaction:
  // all or nothing. Assigns each event its seq and time. Throws StoreError, with
  // nothing written.
  std::vector<StoredEvent> append(const std::vector<AuditEvent>& events, const std::vector<PinRecord>& pins = {},
                                  const std::vector<ApprovalRecord>& approvals = {});

  // One vote on an approval request, checked and recorded (state and event) under
  // the write lock, so that Sluice, the web UI and `sluice approvals` in other
  // processes never decide one request twice. Throws StoreError.
  VoteOutcome vote(const std::string& id, const Approver& approver, bool approve, const std::string& comment);
  // Requests in `state` (all when nullopt): pending ones oldest first, others newest first.
  [[nodiscard]] std::vector<ApprovalRecord> approvals(std::optional<ApprovalState> state, std::int64_t limit) const;
  [[nodiscard]] std::optional<ApprovalRecord> approval(const std::string& id) const;
  // Changes when another connection has committed to the file (PRAGMA data_version).
  [[nodiscard]] std::int64_t data_version() const;

  // Signs a checkpoint of the log as it is and appends it; nullopt when the newest
  // row is already a checkpoint. Throws StoreError.
  std::optional<StoredEvent> append_checkpoint(const NoteSigner& signer);

  // Closes this file for good: a final signed checkpoint (with a signer), a seal row
  // naming `next_path`, and `next_path` created with a first row that carries this
  // file's head, and the pins. Writers of this file follow the seal to the new one.
  SealResult seal(const std::string& next_path, const NoteSigner* signer, const std::string& by);

  // Visits matching events in order until `visit` returns false.
  void scan(const EventQuery& query, const std::function<bool(const StoredEvent&)>& visit) const;
  [[nodiscard]] std::optional<StoredEvent> event(std::int64_t seq) const;
  [[nodiscard]] std::vector<PinRecord> pins() const;
  [[nodiscard]] std::optional<PinRecord> pin(const std::string& upstream, const std::string& tool) const;
  // "ok", or what PRAGMA integrity_check found.
  [[nodiscard]] std::string integrity_check() const;
  // Moves on to the file this one was sealed into, if it was (appends do so by
  // themselves; readers that live long call this before they read).
  void follow_seals();
  // Stops SQLite from checkpointing the WAL inside a commit (its default, every 1000
  // pages): the owner calls checkpoint_wal() when wal_pages() says so, at a moment of
  // its choosing. Holds for the files seals lead to as well.
  void checkpoint_wal_by_hand();
  // Pages in the WAL since it was last reset, as of the last commit on this connection.
  [[nodiscard]] int wal_pages() const { return wal_pages_; }
  // Copies the WAL into the database file (PASSIVE: never waits for readers or
  // writers). Throws StoreError.
  void checkpoint_wal();
  // The file written to now: the one opened, or a successor it was sealed into.
  [[nodiscard]] const std::string& path() const { return path_; }
  // Names the log in its checkpoints' origin; empty in a schema 1 file opened read-only.
  [[nodiscard]] const std::string& log_id() const { return log_id_; }

 private:
  void open();
  // Finalizes the kept statements, then closes the connection.
  void close();
  void execute(const char* sql) const;
  void load_head();
  // BEGIN IMMEDIATE on the file that takes appends now, following seals.
  void begin_append();
  void begin_immediate();
  // COMMIT, remembering the pager's version: an append finds the head it wrote
  // unless another connection has committed since.
  void commit();
  // Steps a statement prepared once per connection.
  void run_kept(std::unique_ptr<Statement>& kept, const char* sql);
  // SQLITE_FCNTL_DATA_VERSION: changes with every commit to the file, this
  // connection's or another's (PRAGMA data_version does not count our own).
  [[nodiscard]] std::int64_t pager_version() const;
  // The file at path_ is no longer the one open (removed, or replaced): a removed one
  // is restored from this connection's copy, then the file at the path is taken on if
  // it is this log with every row this connection knows. Throws StoreError if not.
  void recover_file();
  void restore_removed_file();
  // Whether the file now at path_ is this log and holds the row this connection last saw.
  [[nodiscard]] std::string why_not_this_log() const;
  void rollback();
  std::vector<StoredEvent> append_locked(const std::vector<AuditEvent>& events, const std::vector<PinRecord>& pins);
  void catch_up_frontier();
  void put_approval(const ApprovalRecord& approval);
  std::optional<StoredEvent> checkpoint_locked(const NoteSigner& signer);
  [[noreturn]] void fail(const std::string& what) const;

  // Which file a path names now (device, inode); zeros when it names none.
  struct FileIdentity {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    bool operator==(const FileIdentity&) const = default;
  };
  static FileIdentity identity_of(const std::string& path);

  std::string path_;
  Durability durability_;
  bool read_only_;
  sqlite3* db_ = nullptr;
  std::string log_id_;
  std::int64_t head_seq_ = 0;
  std::string head_chain_;
  std::string head_kind_;
  std::string head_successor_;  // set when the file is sealed
  FileIdentity file_identity_;   // of path_ when opened
  MerkleFrontier frontier_;     // of the rows up to the last checkpoint written here
  // Prepared once per connection rather than once per group commit.
  std::unique_ptr<Statement> select_head_;
  std::unique_ptr<Statement> insert_event_;
  std::unique_ptr<Statement> begin_;
  std::unique_ptr<Statement> commit_;
  std::int64_t head_version_ = -1;  // pager_version() when head_* were last right; -1: unknown
  bool wal_by_hand_ = false;
  int wal_pages_ = 0;
};

// The current time as the audit log writes it: UTC, microseconds, ISO 8601.
std::string audit_time_now();

}  // namespace sluice::audit
