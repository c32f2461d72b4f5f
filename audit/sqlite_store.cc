#include "audit/sqlite_store.h"

#include <sqlite3.h>

#include <chrono>
#include <cstdlib>
#include <ctime>

#include "audit/hash_chain.h"
#include "mcp/digest.h"

namespace sluice::audit {
namespace {

// 'SLCE': marks the file as a Sluice audit log (PRAGMA application_id).
constexpr int application_id = 0x534C4345;
constexpr int schema_version = 1;
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

// A prepared statement, finalized on every path.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement_, nullptr) != SQLITE_OK) {
      throw StoreError(std::string("cannot prepare a statement: ") + sqlite3_errmsg(db));
    }
  }
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void bind(int index, const std::string& text) {
    check(sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
  }
  void bind_optional(int index, const std::string& text) {
    if (text.empty()) {
      check(sqlite3_bind_null(statement_, index));
    } else {
      bind(index, text);
    }
  }
  void bind_blob(int index, const std::string& bytes) {
    check(sqlite3_bind_blob(statement_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT));
  }
  void bind(int index, std::int64_t value) { check(sqlite3_bind_int64(statement_, index, value)); }

  void reset() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }

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
  sqlite3_stmt* statement_ = nullptr;
};

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

SqliteStore::SqliteStore(std::string path, Durability durability, bool read_only) : path_(std::move(path)) {
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
      if (number("SELECT count(*) FROM sqlite_master") == 0) {
        execute(schema);
        execute(("PRAGMA application_id=" + std::to_string(application_id)).c_str());
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
    if (!read_only) {
      // A test seam: bounds the file's size so that a full disk can be simulated
      // without root (RELIABILITY.md §3). Never set in production.
      if (const char* pages = std::getenv("SLUICE_TEST_AUDIT_MAX_PAGE_COUNT")) {
        execute(("PRAGMA max_page_count=" + std::to_string(std::atoll(pages))).c_str());
      }
    }
    load_head();
  } catch (const StoreError& e) {
    sqlite3_close(db_);
    db_ = nullptr;
    // A statement's error ("file is not a database") does not know the path; fail()'s do.
    const std::string what = e.what();
    if (what.rfind(path_ + ": ", 0) == 0) throw;
    throw StoreError(path_ + ": cannot open the audit log: " + what);
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

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
  Statement head(db_, "SELECT seq, chain FROM events ORDER BY seq DESC LIMIT 1");
  if (head.step()) {
    head_seq_ = head.integer(0);
    head_chain_ = head.text(1);
  } else {
    head_seq_ = 0;
    head_chain_ = genesis_chain();
  }
}

std::vector<StoredEvent> SqliteStore::append(const std::vector<AuditEvent>& events, const std::vector<PinRecord>& pins) {
  std::vector<StoredEvent> stored;
  stored.reserve(events.size());
  try {
    // IMMEDIATE takes the write lock up front, so that busy_timeout applies
    // instead of a deadlock-avoiding SQLITE_BUSY halfway through.
    execute("BEGIN IMMEDIATE");
    // Another writer may have appended since we last looked.
    load_head();
    auto seq = head_seq_;
    auto chain = head_chain_;
    Statement insert(db_,
                     "INSERT INTO events (seq, time, kind, session, principal, tool, decision, record, leaf, chain) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    for (const auto& event : events) {
      StoredEvent row;
      row.seq = ++seq;
      row.time = audit_time_now();
      row.record = mcp::canonical_json(to_record(event, row.seq, row.time));
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
    execute("COMMIT");
    head_seq_ = seq;
    head_chain_ = chain;
  } catch (const StoreError& e) {
    // SQLITE_FULL, IOERR and BUSY may have rolled back already; make sure.
    if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw StoreError(path_ + ": cannot append to the audit log: " + e.what());
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
