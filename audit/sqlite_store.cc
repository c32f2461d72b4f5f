#include "audit/sqlite_store.h"

#include <openssl/rand.h>
#include <sqlite3.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <utility>

#include <spdlog/spdlog.h>

#include "audit/checkpoint.h"
#include "audit/hash_chain.h"
#include "mcp/digest.h"

namespace sluice::audit {

// A prepared statement, finalized on every path.
class Statement {
 public:
  // `borrowed`: the values bound are read in place, not copied first; for a statement
  // stepped and reset while they live.
  enum class Binding { copied, borrowed };
  Statement(sqlite3* db, const std::string& sql, Binding binding = Binding::copied)
      : db_(db), lifetime_(binding == Binding::borrowed ? SQLITE_STATIC : SQLITE_TRANSIENT) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement_, nullptr) != SQLITE_OK) {
      throw StoreError(std::string("cannot prepare a statement: ") + sqlite3_errmsg(db));
    }
  }
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void bind(int index, const std::string& text) {
    check(sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()), lifetime_));
  }
  void bind_optional(int index, const std::string& text) {
    if (text.empty()) {
      check(sqlite3_bind_null(statement_, index));
    } else {
      bind(index, text);
    }
  }
  void bind_blob(int index, const std::string& bytes) {
    check(sqlite3_bind_blob(statement_, index, bytes.data(), static_cast<int>(bytes.size()), lifetime_));
  }
  void bind(int index, std::int64_t value) { check(sqlite3_bind_int64(statement_, index, value)); }

  void reset() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }

  // Resets a statement kept for reuse when a use of it ends, however it ends: one
  // left stepping would hold its read transaction open.
  class Use {
   public:
    explicit Use(Statement& statement) : statement_(statement) {}
    ~Use() { statement_.reset(); }
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;

   private:
    Statement& statement_;
  };

  // True while there is a row.
  bool step() {
    const int rc = sqlite3_step(statement_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw StoreError(sqlite3_errmsg(db_));
  }
  std::int64_t integer(int column) const { return sqlite3_column_int64(statement_, column); }
  std::string text(int column) const {
    const auto* bytes = sqlite3_column_blob(statement_, column);
    return bytes == nullptr ? std::string()
                            : std::string(static_cast<const char*>(bytes), static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)));
  }

 private:
  void check(int rc) const {
    if (rc != SQLITE_OK) throw StoreError(sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_destructor_type lifetime_;
  sqlite3_stmt* statement_ = nullptr;
};

namespace {

// 'SLCE': marks the file as a Sluice audit log (PRAGMA application_id).
constexpr int application_id = 0x534C4345;
constexpr int schema_version = 2;
constexpr int busy_timeout_ms = 5000;

constexpr const char* schema = R"sql(
CREATE TABLE events (
  seq       INTEGER PRIMARY KEY,
  time      TEXT NOT NULL,
  kind      TEXT NOT NULL,
  session   TEXT,
  principal TEXT,
  tool      TEXT,
  decision  TEXT,
  record    TEXT NOT NULL,
  leaf      BLOB NOT NULL,
  chain     BLOB NOT NULL
);
CREATE INDEX events_by_time ON events(time);
CREATE TRIGGER events_refuse_update BEFORE UPDATE ON events
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER events_refuse_delete BEFORE DELETE ON events
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE pins (
  upstream  TEXT NOT NULL,
  tool      TEXT NOT NULL,
  hash      TEXT NOT NULL,
  pinned_by TEXT NOT NULL,
  pinned_at TEXT NOT NULL,
  PRIMARY KEY (upstream, tool)
);
)sql";

// Version 2: the log's identity, named in its checkpoints' origin, and approval
// requests (state, like pins: every change is also an event).
constexpr const char* schema_meta = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE approvals (
  id      TEXT PRIMARY KEY,
  state   TEXT NOT NULL,
  created TEXT NOT NULL,
  record  TEXT NOT NULL
);
CREATE INDEX approvals_by_state ON approvals(state, created);
)sql";

// Where a seal's `next` points: beside the sealed file unless it is absolute.
std::string successor_path(const std::string& sealed, const std::string& next) {
  if (next.empty()) return {};
  const std::filesystem::path path(next);
  return path.is_absolute() ? next : (std::filesystem::path(sealed).parent_path() / path).string();
}

// How one file names another in a seal or continuation row: by file name when they
// share a directory, so that the pair can be moved together.
std::string name_from(const std::string& from, const std::string& to) {
  const auto absolute_from = std::filesystem::absolute(from);
  const auto absolute_to = std::filesystem::absolute(to);
  return absolute_from.parent_path() == absolute_to.parent_path() ? absolute_to.filename().string()
                                                                  : absolute_to.string();
}

std::string new_log_id() {
  std::string bytes(8, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size())) != 1) {
    throw StoreError("no random bytes for the log id");
  }
  return mcp::to_hex(bytes);
}

constexpr const char* event_columns = "seq, time, record, leaf, chain, kind, session, principal, tool, decision";

StoredEvent stored_event(const Statement& row) {
  return StoredEvent{row.integer(0), row.text(1), row.text(2), row.text(3), row.text(4),
                     row.text(5),    row.text(6), row.text(7), row.text(8), row.text(9)};
}

}  // namespace

std::string audit_time_now() {
  const auto now = std::chrono::system_clock::now();
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const auto length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char fraction[16];
  std::snprintf(fraction, sizeof fraction, ".%06lldZ", static_cast<long long>(micros % 1000000));
  return std::string(text, length) + fraction;
}

SqliteStore::SqliteStore(std::string path, Durability durability, bool read_only)
    : path_(std::move(path)), durability_(durability), read_only_(read_only) {
  open();
}

void SqliteStore::open() {
  const auto durability = durability_;
  const auto read_only = read_only_;
  const int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (sqlite3_open_v2(path_.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError(path_ + ": cannot open the audit log: " + why);
  }
  try {
    sqlite3_busy_timeout(db_, busy_timeout_ms);
    // Each statement is finished before the next: an unfinished one keeps a read
    // transaction open, and journal_mode cannot change inside one.
    const auto number = [this](const char* sql) {
      Statement statement(db_, sql);
      statement.step();
      return statement.integer(0);
    };
    // Another program's database is refused before anything in it is changed.
    if (number("SELECT count(*) FROM sqlite_master") > 0 && number("PRAGMA application_id") != application_id) {
      fail("not a Sluice audit log (application_id differs)");
    }
    if (!read_only) {
      execute("PRAGMA journal_mode=WAL");
      execute(durability == Durability::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
      // Under the write lock: several Sluices may start on one new file at once,
      // and exactly one of them must create the schema.
      execute("BEGIN IMMEDIATE");
      const bool fresh = number("SELECT count(*) FROM sqlite_master") == 0;
      if (fresh) {
        execute(schema);
        execute(("PRAGMA application_id=" + std::to_string(application_id)).c_str());
      }
      // Migrations, each under the same write lock, from the version found.
      if (fresh || number("PRAGMA user_version") == 1) {
        execute(schema_meta);
        Statement insert(db_, "INSERT INTO meta (key, value) VALUES ('log_id', ?1)");
        insert.bind(1, new_log_id());
        insert.step();
        execute(("PRAGMA user_version=" + std::to_string(schema_version)).c_str());
      }
      execute("COMMIT");
    }
    const auto found_application = number("PRAGMA application_id");
    const auto found_version = number("PRAGMA user_version");
    if (number("SELECT count(*) FROM sqlite_master") == 0) fail("no audit log here (the file is empty)");
    if (found_application != application_id) fail("not a Sluice audit log (application_id differs)");
    if (found_version > schema_version) {
      fail("written by a newer Sluice (schema " + std::to_string(found_version) + ", this one reads " +
           std::to_string(schema_version) + ")");
    }
    file_identity_ = identity_of(path_);
    if (!read_only) {
      // A test seam: bounds the file's size so that a full disk can be simulated
      // without root (RELIABILITY.md §3). Never set in production.
      if (const char* pages = std::getenv("SLUICE_TEST_AUDIT_MAX_PAGE_COUNT")) {
        execute(("PRAGMA max_page_count=" + std::to_string(std::atoll(pages))).c_str());
      }
    }
    if (wal_by_hand_) checkpoint_wal_by_hand();
    if (found_version >= 2) {
      Statement select(db_, "SELECT value FROM meta WHERE key = 'log_id'");
      if (select.step()) log_id_ = select.text(0);
    }
    load_head();
  } catch (const StoreError& e) {
    close();
    // A statement's error ("file is not a database") does not know the path; fail()'s do.
    const std::string what = e.what();
    if (what.rfind(path_ + ": ", 0) == 0) throw;
    throw StoreError(path_ + ": cannot open the audit log: " + what);
  } catch (...) {
    close();
    throw;
  }
}

SqliteStore::~SqliteStore() { close(); }

void SqliteStore::close() {
  select_head_.reset();
  insert_event_.reset();
  begin_.reset();
  commit_.reset();
  head_version_ = -1;
  if (db_ != nullptr && identity_of(path_) != file_identity_) {
    // The WAL this connection used was removed with its file: SQLite would delete the
    // WAL by name on close, which is now the WAL of the file at the path.
    int persist = 1;
    sqlite3_file_control(db_, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
  }
  sqlite3_close(db_);
  db_ = nullptr;
}

void SqliteStore::checkpoint_wal_by_hand() {
  wal_by_hand_ = true;
  wal_pages_ = 0;
  // A hook of our own replaces SQLite's, which is what checkpoints inside a commit.
  sqlite3_wal_hook(
      db_,
      [](void* store, sqlite3*, const char*, int pages) {
        static_cast<SqliteStore*>(store)->wal_pages_ = pages;
        return SQLITE_OK;
      },
      this);
}

void SqliteStore::checkpoint_wal() {
  const int result = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  // BUSY: another connection (another Sluice on this log) is checkpointing it now.
  if (result != SQLITE_OK && result != SQLITE_BUSY) {
    fail(std::string("cannot checkpoint the WAL: ") + sqlite3_errmsg(db_));
  }
  wal_pages_ = 0;
}

SqliteStore::FileIdentity SqliteStore::identity_of(const std::string& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) return {};
  return {status.st_dev, status.st_ino};
}

void SqliteStore::fail(const std::string& what) const { throw StoreError(path_ + ": " + what); }

void SqliteStore::execute(const char* sql) const {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string why = error ? error : sqlite3_errmsg(db_);
    sqlite3_free(error);
    fail(why);
  }
}

void SqliteStore::load_head() {
  if (!select_head_) {
    select_head_ = std::make_unique<Statement>(db_, "SELECT seq, chain, kind, record FROM events ORDER BY seq DESC LIMIT 1");
  }
  auto& head = *select_head_;
  const Statement::Use use(head);
  head_successor_.clear();
  head_kind_.clear();
  if (head.step()) {
    head_seq_ = head.integer(0);
    head_chain_ = head.text(1);
    head_kind_ = head.text(2);
    if (head_kind_ == "seal") {
      const auto record = nlohmann::json::parse(head.text(3), nullptr, false);
      if (record.is_object() && record.contains("data") && record["data"].is_object()) {
        head_successor_ = successor_path(path_, record["data"].value("next", std::string()));
      }
      if (head_successor_.empty()) fail("sealed, but the seal row names no successor file");
    }
  } else {
    head_seq_ = 0;
    head_chain_ = genesis_chain();
  }
}

void SqliteStore::run_kept(std::unique_ptr<Statement>& kept, const char* sql) {
  if (!kept) kept = std::make_unique<Statement>(db_, sql);
  const Statement::Use use(*kept);
  kept->step();
}

void SqliteStore::begin_immediate() { run_kept(begin_, "BEGIN IMMEDIATE"); }

void SqliteStore::commit() {
  run_kept(commit_, "COMMIT");
  head_version_ = pager_version();
}

std::int64_t SqliteStore::pager_version() const {
  unsigned int version = 0;
  if (sqlite3_file_control(db_, "main", SQLITE_FCNTL_DATA_VERSION, &version) != SQLITE_OK) return -1;
  return version;
}

void SqliteStore::begin_append() {
  // IMMEDIATE takes the write lock up front, so that busy_timeout applies
  // instead of a deadlock-avoiding SQLITE_BUSY halfway through.
  if (db_ == nullptr) open();  // a recovery that failed halfway
  // Known only until this transaction ends well (commit() sets it again): a failed
  // one leaves head_seq_ ahead of the file.
  const auto known_version = std::exchange(head_version_, -1);
  begin_immediate();
  bool reload = known_version < 0 || pager_version() != known_version;
  // A log file removed (or replaced) under a running Sluice would still take appends,
  // into an inode nobody can read any more: those rows would be lost without a word.
  if (identity_of(path_) != file_identity_) {
    execute("ROLLBACK");
    recover_file();
    begin_immediate();
    reload = true;
  }
  // Another writer may have appended since we last looked, or sealed the file:
  // then the log goes on in its successor (`sluice audit seal`), where the seal
  // created it with its first row before releasing this file's lock. When no other
  // connection has committed since our last commit, the head is the one we wrote.
  if (reload) load_head();
  if (head_successor_.empty()) return;
  execute("ROLLBACK");
  follow_seals();
  begin_immediate();
  load_head();
}

void SqliteStore::recover_file() {
  if (identity_of(path_) == FileIdentity{}) restore_removed_file();
  if (const auto why = why_not_this_log(); !why.empty()) {
    // Refused, so that the calls these rows record are refused too (fail closed),
    // until the path is free again and this log is restored there.
    fail("the audit log file was replaced while Sluice had it open: " + why +
         "; calls are refused until that file is moved away, when Sluice restores its log there");
  }
  const auto rows = head_seq_;
  close();
  open();
  spdlog::warn("audit log: {} was removed or replaced while Sluice had it open; writing to the file now there, "
               "which holds all {} rows this Sluice wrote",
               path_, rows);
}

void SqliteStore::restore_removed_file() {
  // Several Sluices sharing the log all see it gone. One restores it, under this lock,
  // and the others find it back: had one of them removed the -wal and -shm below after
  // another had linked the restored file into place and opened it, that file's WAL
  // would be lost and the log malformed. The lock file stays: unlinking a lock file
  // lets two holders in.
  const int lock = ::open((path_ + ".restore-lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0 || ::flock(lock, LOCK_EX) != 0) {
    const int error = errno;
    if (lock >= 0) ::close(lock);
    fail("the audit log file was removed while Sluice had it open, and it cannot be restored there (" +
         std::string(std::strerror(error)) + "); calls are refused until it can");
  }
  struct LockRelease {
    int fd;
    ~LockRelease() { ::close(fd); }
  } release{lock};
  if (identity_of(path_) != FileIdentity{}) return;  // another Sluice restored it meanwhile
  // Copied from this connection (which still reads the removed file) under another
  // name, then linked into place: a reader never sees half a log, and a file someone
  // else put there meanwhile is not overwritten.
  const auto temporary = path_ + ".restore-" + std::to_string(::getpid());
  std::error_code ignored;
  std::filesystem::remove(temporary, ignored);
  sqlite3* copy = nullptr;
  int result = sqlite3_open_v2(temporary.c_str(), &copy, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (result == SQLITE_OK) {
    sqlite3_backup* backup = sqlite3_backup_init(copy, "main", db_, "main");
    result = backup != nullptr ? sqlite3_backup_step(backup, -1) : sqlite3_errcode(copy);
    sqlite3_backup_finish(backup);
  }
  const std::string why = copy != nullptr ? sqlite3_errmsg(copy) : "out of memory";
  sqlite3_close(copy);
  if (result != SQLITE_DONE) {
    std::filesystem::remove(temporary, ignored);
    fail("the audit log file was removed while Sluice had it open, and it cannot be restored there (" + why +
         "); calls are refused until it can");
  }
  // A WAL and index left at the path are the removed file's (this connection still
  // writes them through its descriptors): the restored file must not start from them.
  for (const char* suffix : {"-wal", "-shm"}) std::filesystem::remove(path_ + suffix, ignored);
  const bool linked = ::link(temporary.c_str(), path_.c_str()) == 0;
  const int error = errno;
  std::filesystem::remove(temporary, ignored);
  if (!linked && error != EEXIST) {
    fail("the audit log file was removed while Sluice had it open, and it cannot be restored there (" +
         std::string(std::strerror(error)) + "); calls are refused until it can");
  }
  if (linked) spdlog::error("AUDIT LOG FILE REMOVED: {} was removed while Sluice had it open; restored it", path_);
}

std::string SqliteStore::why_not_this_log() const {
  try {
    const SqliteStore there(path_, durability_, true);
    if (there.log_id_ != log_id_) return "it is another log (id " + there.log_id_ + ", not " + log_id_ + ")";
    if (head_seq_ == 0) return {};
    const auto row = there.event(head_seq_);
    if (!row || row->chain != head_chain_) {
      return "it lacks row " + std::to_string(head_seq_) + " as this Sluice wrote it";
    }
    return {};
  } catch (const StoreError& e) {
    return e.what();
  }
}

void SqliteStore::follow_seals() {
  // A reader follows a log restored or replaced at its path (recover_file), if it is this log.
  if (read_only_ && identity_of(path_) != FileIdentity{} && identity_of(path_) != file_identity_ &&
      why_not_this_log().empty()) {
    close();
    open();
  }
  load_head();
  for (int hops = 0; !head_successor_.empty(); ++hops) {
    if (hops == 64) fail("more than 64 sealed files in a row; open the newest one");
    const auto successor = head_successor_;
    close();
    path_ = successor;
    open();  // loads the successor's head
  }
}

void SqliteStore::rollback() {
  // SQLITE_FULL, IOERR and BUSY may have rolled back already; make sure.
  if (db_ != nullptr && sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

std::vector<StoredEvent> SqliteStore::append(const std::vector<AuditEvent>& events, const std::vector<PinRecord>& pins,
                                             const std::vector<ApprovalRecord>& approvals) {
  try {
    begin_append();
    auto stored = append_locked(events, pins);
    for (const auto& approval : approvals) put_approval(approval);
    commit();
    return stored;
  } catch (const StoreError& e) {
    rollback();
    throw StoreError(path_ + ": cannot append to the audit log: " + e.what());
  }
}

std::vector<StoredEvent> SqliteStore::append_locked(const std::vector<AuditEvent>& events,
                                                    const std::vector<PinRecord>& pins) {
  std::vector<StoredEvent> stored;
  stored.reserve(events.size());
  {
    auto seq = head_seq_;
    auto chain = head_chain_;
    if (!insert_event_) {
      insert_event_ = std::make_unique<Statement>(
          db_,
          "INSERT INTO events (seq, time, kind, session, principal, tool, decision, record, leaf, chain) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
          Statement::Binding::borrowed);
    }
    auto& insert = *insert_event_;
    const Statement::Use use(insert);
    for (const auto& event : events) {
      StoredEvent row;
      row.seq = ++seq;
      row.time = audit_time_now();
      row.record = record_text(event, row.seq, row.time);
      row.leaf = leaf_hash(row.record);
      row.chain = chain_hash(chain, row.leaf);
      chain = row.chain;
      row.kind = event.kind;
      row.session = event.session;
      row.principal = event.principal;
      row.tool = event.tool;
      row.decision = event.decision;
      insert.bind(1, row.seq);
      insert.bind(2, row.time);
      insert.bind(3, event.kind);
      insert.bind_optional(4, event.session);
      insert.bind_optional(5, event.principal);
      insert.bind_optional(6, event.tool);
      insert.bind_optional(7, event.decision);
      insert.bind(8, row.record);
      insert.bind_blob(9, row.leaf);
      insert.bind_blob(10, row.chain);
      insert.step();
      insert.reset();
      stored.push_back(std::move(row));
    }
    for (const auto& pin : pins) {
      Statement upsert(db_,
                       "INSERT INTO pins (upstream, tool, hash, pinned_by, pinned_at) VALUES (?1, ?2, ?3, ?4, ?5) "
                       "ON CONFLICT (upstream, tool) DO UPDATE SET hash = ?3, pinned_by = ?4, pinned_at = ?5");
      upsert.bind(1, pin.upstream);
      upsert.bind(2, pin.tool);
      upsert.bind(3, pin.hash);
      upsert.bind(4, pin.pinned_by);
      upsert.bind(5, audit_time_now());
      upsert.step();
    }
    head_seq_ = seq;
    head_chain_ = chain;
    if (!events.empty()) head_kind_ = events.back().kind;
  }
  return stored;
}

void SqliteStore::scan(const EventQuery& query, const std::function<bool(const StoredEvent&)>& visit) const {
  std::string sql = std::string("SELECT ") + event_columns + " FROM events WHERE seq > ?1";
  std::vector<std::string> texts;
  const auto condition = [&](const std::optional<std::string>& value, const char* clause) {
    if (!value) return;
    texts.push_back(*value);
    sql += std::string(" AND ") + clause + " ?" + std::to_string(texts.size() + 1);
  };
  condition(query.since, "time >=");
  condition(query.until, "time <");
  condition(query.kind, "kind =");
  condition(query.tool, "tool =");
  condition(query.decision, "decision =");
  condition(query.principal, "principal =");
  condition(query.session, "session =");
  sql += query.newest_first ? " ORDER BY seq DESC" : " ORDER BY seq";
  if (query.limit) sql += " LIMIT " + std::to_string(*query.limit);
  Statement select(db_, sql);
  select.bind(1, query.after_seq);
  for (std::size_t i = 0; i < texts.size(); ++i) select.bind(static_cast<int>(i + 2), texts[i]);
  while (select.step()) {
    if (!visit(stored_event(select))) return;
  }
}

std::optional<StoredEvent> SqliteStore::event(std::int64_t seq) const {
  Statement select(db_, std::string("SELECT ") + event_columns + " FROM events WHERE seq = ?1");
  select.bind(1, seq);
  if (!select.step()) return std::nullopt;
  return stored_event(select);
}

std::vector<PinRecord> SqliteStore::pins() const {
  std::vector<PinRecord> out;
  Statement select(db_, "SELECT upstream, tool, hash, pinned_by, pinned_at FROM pins ORDER BY upstream, tool");
  while (select.step()) out.push_back({select.text(0), select.text(1), select.text(2), select.text(3), select.text(4)});
  return out;
}

std::optional<PinRecord> SqliteStore::pin(const std::string& upstream, const std::string& tool) const {
  Statement select(db_, "SELECT upstream, tool, hash, pinned_by, pinned_at FROM pins WHERE upstream = ?1 AND tool = ?2");
  select.bind(1, upstream);
  select.bind(2, tool);
  if (!select.step()) return std::nullopt;
  return PinRecord{select.text(0), select.text(1), select.text(2), select.text(3), select.text(4)};
}

std::string SqliteStore::integrity_check() const {
  Statement check(db_, "PRAGMA integrity_check");
  std::string out;
  while (check.step()) out += (out.empty() ? "" : "; ") + check.text(0);
  return out;
}

}  // namespace sluice::audit

namespace sluice::audit {

void SqliteStore::catch_up_frontier() {
  if (frontier_.size() > static_cast<std::uint64_t>(head_seq_)) frontier_ = MerkleFrontier{};
  Statement select(db_, "SELECT seq, leaf FROM events WHERE seq > ?1 ORDER BY seq");
  select.bind(1, static_cast<std::int64_t>(frontier_.size()));
  while (select.step()) {
    if (static_cast<std::uint64_t>(select.integer(0)) != frontier_.size() + 1) {
      fail("row " + std::to_string(frontier_.size() + 1) + " is missing; run `sluice audit verify`");
    }
    frontier_.append(select.text(1));
  }
}

std::optional<StoredEvent> SqliteStore::checkpoint_locked(const NoteSigner& signer) {
  // Nothing new since the last checkpoint (or nothing at all): nothing to attest.
  if (head_seq_ == 0 || head_kind_ == "checkpoint") return std::nullopt;
  catch_up_frontier();
  const Checkpoint checkpoint{origin_for_log(log_id_), frontier_.size(), frontier_.root()};
  AuditEvent event;
  event.kind = "checkpoint";
  event.detail = "signed checkpoint of rows 1.." + std::to_string(checkpoint.size);
  event.data = {{"note", signer.sign(checkpoint_text(checkpoint))}, {"key", signer.verifier_key()}};
  auto rows = append_locked({event}, {});
  head_kind_ = "checkpoint";
  return rows.front();
}

std::optional<StoredEvent> SqliteStore::append_checkpoint(const NoteSigner& signer) {
  try {
    begin_append();
    auto row = checkpoint_locked(signer);
    commit();
    return row;
  } catch (const StoreError& e) {
    rollback();
    throw StoreError(path_ + ": cannot write a checkpoint: " + e.what());
  }
}

SealResult SqliteStore::seal(const std::string& next_path, const NoteSigner* signer, const std::string& by) {
  bool successor_created = false;
  try {
    begin_append();
    // Checked under the write lock: nobody can create it in between but another seal,
    // which waits for this one and then follows it.
    if (std::filesystem::exists(next_path)) fail(next_path + " exists; the log must continue in a new file");
    SealResult result;
    if (signer != nullptr) result.checkpoint = checkpoint_locked(*signer);
    AuditEvent seal;
    seal.kind = "seal";
    seal.principal = by;
    seal.detail = "sealed; the log continues in " + next_path;
    seal.data = {{"next", name_from(path_, next_path)}};
    result.seal = append_locked({seal}, {}).front();

    SqliteStore successor(next_path, durability_);
    successor_created = true;
    AuditEvent continuation;
    continuation.kind = "continue";
    continuation.principal = by;
    continuation.detail = "continues " + path_ + " after its row " + std::to_string(result.seal.seq);
    continuation.data = {{"previous", name_from(next_path, path_)},
                         {"previous_seq", result.seal.seq},
                         {"previous_head", mcp::to_hex(result.seal.chain)}};
    successor.begin_append();
    // The successor's chain goes on from the sealed file's head, so that the files
    // verify as one log.
    successor.head_chain_ = result.seal.chain;
    result.continuation = successor.append_locked({continuation}, pins()).front();
    successor.execute("COMMIT");
    execute("COMMIT");
    result.successor = next_path;
    return result;
  } catch (const StoreError& e) {
    rollback();
    if (successor_created) {
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(next_path + suffix);
    }
    throw StoreError(path_ + ": cannot seal the audit log: " + e.what());
  }
}

}  // namespace sluice::audit

namespace sluice::audit {

void SqliteStore::put_approval(const ApprovalRecord& approval) {
  Statement upsert(db_,
                   "INSERT INTO approvals (id, state, created, record) VALUES (?1, ?2, ?3, ?4) "
                   "ON CONFLICT (id) DO UPDATE SET state = ?2, record = ?4");
  upsert.bind(1, approval.id);
  upsert.bind(2, std::string(to_string(approval.state)));
  upsert.bind(3, approval.created);
  upsert.bind(4, to_json(approval).dump());
  upsert.step();
}

std::vector<ApprovalRecord> SqliteStore::approvals(std::optional<ApprovalState> state, std::int64_t limit) const {
  std::string sql = "SELECT record FROM approvals";
  if (state) sql += " WHERE state = ?1";
  sql += state == ApprovalState::pending ? " ORDER BY created" : " ORDER BY created DESC";
  sql += " LIMIT " + std::to_string(limit);
  Statement select(db_, sql);
  if (state) select.bind(1, std::string(to_string(*state)));
  std::vector<ApprovalRecord> out;
  while (select.step()) {
    if (auto record = approval_from_json(nlohmann::json::parse(select.text(0), nullptr, false))) {
      out.push_back(std::move(*record));
    }
  }
  return out;
}

std::optional<ApprovalRecord> SqliteStore::approval(const std::string& id) const {
  Statement select(db_, "SELECT record FROM approvals WHERE id = ?1");
  select.bind(1, id);
  if (!select.step()) return std::nullopt;
  return approval_from_json(nlohmann::json::parse(select.text(0), nullptr, false));
}

std::int64_t SqliteStore::data_version() const {
  Statement version(db_, "PRAGMA data_version");
  version.step();
  return version.integer(0);
}

AuditEvent approval_event(const ApprovalRecord& request, const std::string& actor, const std::string& what) {
  AuditEvent event;
  event.kind = "approval";
  event.session = request.session;
  event.principal = actor;
  event.upstream = request.upstream;
  event.tool = request.tool;
  event.tool_class = request.tool_class;
  event.decision = std::string(to_string(request.state));
  event.rule = request.rule;
  event.reason = request.comment;
  event.approval_id = request.id;
  event.arguments_hash = request.arguments_hash;
  event.detail = what;
  return event;
}

VoteOutcome SqliteStore::vote(const std::string& id, const Approver& approver, bool approve,
                              const std::string& comment) {
  try {
    begin_append();
    auto request = approval(id);
    if (!request) {
      execute("ROLLBACK");
      return {VoteError::not_found, std::nullopt};
    }
    const auto error = apply_vote(*request, approver, approve, comment, audit_time_now());
    if (error != VoteError::none && error != VoteError::expired) {
      execute("ROLLBACK");
      return {error, request};
    }
    std::string what = "expired";
    if (error == VoteError::none && !approve) what = "denied by " + approver.name;
    if (error == VoteError::none && approve) {
      what = request->state == ApprovalState::approved
                 ? "approved by " + approver.name
                 : "approval vote by " + approver.name + " (" + std::to_string(request->votes.size()) + " of " +
                       std::to_string(request->quorum) + ")";
    }
    append_locked({approval_event(*request, approver.name, what)}, {});
    put_approval(*request);
    commit();
    return {error, request};
  } catch (const StoreError& e) {
    rollback();
    throw StoreError(path_ + ": cannot record the vote: " + e.what());
  }
}

}  // namespace sluice::audit
