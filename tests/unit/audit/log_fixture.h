// What the audit tests share: a fresh directory per test for real SQLite files, a
// second, raw connection to a log (to look at it, lock it or tamper with it the way
// someone outside Sluice would), and a test-seam environment variable set only while
// a store is opened. Used only by tests/unit/audit/; move it to tests/support/ when
// another folder needs it.
#pragma once

#include <sqlite3.h>
#include <stdlib.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <type_traits>
#include <variant>
#include <vector>

#include <catch2/catch.hpp>

#include "audit/event.h"

namespace sluice::audit::test {

// A directory made with mkdtemp, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    auto pattern = (std::filesystem::temp_directory_path() / "sluice-audit-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Bytes bound as a BLOB rather than TEXT (leaf and chain columns).
struct Blob {
  std::string bytes;
};
using Value = std::variant<std::int64_t, std::string, Blob>;

// A plain sqlite3 connection, not a SqliteStore: nothing of Sluice's code between
// the test and the file.
class Connection {
 public:
  explicit Connection(const std::string& path, int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) {
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    INFO(path << ": " << sqlite3_errstr(rc));
    REQUIRE(rc == SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~Connection() { sqlite3_close(db_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement to its end; returns SQLITE_OK when it completed, else the
  // primary result code, and error() tells why.
  int run(const std::string& sql, const std::vector<Value>& values = {}) {
    sqlite3_stmt* statement = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr);
    if (rc != SQLITE_OK) {
      error_ = sqlite3_errmsg(db_);
      return rc;
    }
    bind(statement, values);
    while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
    }
    error_ = rc == SQLITE_DONE ? std::string() : std::string(sqlite3_errmsg(db_));
    sqlite3_finalize(statement);
    return rc == SQLITE_DONE ? SQLITE_OK : (rc & 0xff);
  }
  // Runs statements that must succeed.
  void execute(const std::string& sql, const std::vector<Value>& values = {}) {
    const int rc = run(sql, values);
    INFO(sql << ": " << error_);
    REQUIRE(rc == SQLITE_OK);
  }
  // The first column of the first row, which must exist.
  std::int64_t integer(const std::string& sql, const std::vector<Value>& values = {}) {
    return first(sql, values, [](sqlite3_stmt* s) { return sqlite3_column_int64(s, 0); });
  }
  std::string text(const std::string& sql, const std::vector<Value>& values = {}) {
    return first(sql, values, [](sqlite3_stmt* s) {
      const auto* bytes = sqlite3_column_blob(s, 0);
      return bytes == nullptr ? std::string()
                              : std::string(static_cast<const char*>(bytes),
                                            static_cast<std::size_t>(sqlite3_column_bytes(s, 0)));
    });
  }
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  void bind(sqlite3_stmt* statement, const std::vector<Value>& values) {
    int index = 0;
    for (const auto& value : values) {
      ++index;
      int rc = SQLITE_OK;
      if (const auto* number = std::get_if<std::int64_t>(&value)) {
        rc = sqlite3_bind_int64(statement, index, *number);
      } else if (const auto* text = std::get_if<std::string>(&value)) {
        rc = sqlite3_bind_text(statement, index, text->data(), static_cast<int>(text->size()), SQLITE_TRANSIENT);
      } else {
        const auto& blob = std::get<Blob>(value).bytes;
        rc = sqlite3_bind_blob(statement, index, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
      }
      REQUIRE(rc == SQLITE_OK);
    }
  }
  template <class Read>
  std::invoke_result_t<Read, sqlite3_stmt*> first(const std::string& sql, const std::vector<Value>& values, Read read) {
    sqlite3_stmt* statement = nullptr;
    const int prepared = sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr);
    INFO(sql << ": " << sqlite3_errmsg(db_));
    REQUIRE(prepared == SQLITE_OK);
    bind(statement, values);
    const int rc = sqlite3_step(statement);
    if (rc != SQLITE_ROW) {
      const std::string why = sqlite3_errmsg(db_);
      sqlite3_finalize(statement);
      FAIL(sql << ": no row (" << why << ")");
    }
    auto value = read(statement);
    sqlite3_finalize(statement);
    return value;
  }

  sqlite3* db_ = nullptr;
  std::string error_;
};

// Sets an environment variable for as long as it lives. The store reads its test
// seams when it opens, so a guard around the constructor is enough, and later
// stores in the same process are not affected.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) { ::setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { ::unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

inline constexpr const char* max_page_count_variable = "SLUICE_TEST_AUDIT_MAX_PAGE_COUNT";

// A decision event as the policy filter writes one.
inline AuditEvent decision(const std::string& tool, const std::string& verdict = "allow",
                           const std::string& session = "s1", const std::string& principal = "alice") {
  AuditEvent event;
  event.kind = "decision";
  event.session = session;
  event.principal = principal;
  event.upstream = "kube";
  event.direction = "client->server";
  event.method = "tools/call";
  event.id = 7;
  event.tool = tool;
  event.decision = verdict;
  event.reason = "rule matched";
  event.arguments = {{"namespace", "default"}};
  return event;
}

}  // namespace sluice::audit::test
