#include "proxy/audit_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "audit/signed_note.h"
#include "audit/sqlite_store.h"
#include "audit/verifier.h"
#include "mcp/digest.h"
#include "policy/config.h"

namespace sluice::proxy {
namespace {

using nlohmann::json;

constexpr std::string_view audit_usage = R"(Usage:
  sluice audit tail   --db DB [-n N] [-f] [--json]
  sluice audit show   --db DB SEQ
  sluice audit query  --db DB [--since TIME] [--until TIME] [--kind KIND] [--tool NAME]
                      [--decision ACTION] [--principal NAME] [--session ID] [--limit N] [--json]
  sluice audit export --db DB [--output FILE]
  sluice audit verify --db DB [--key VKEY|FILE] [--checkpoint FILE]
  sluice audit keygen --out PREFIX [--name NAME]
  sluice audit seal   --db DB [--next FILE] [--key PEM] [--key-name NAME] [--checkpoint-file FILE]

tail     the last N events (default 20); -f keeps printing new ones as they come
show     one event: its record, leaf and chain hashes
query    events matching every filter given; TIME is UTC ISO 8601, e.g.
         2026-11-25T13:00:00Z (since: inclusive, until: exclusive)
export   every event as JSON Lines (the record, plus "leaf" and "chain" in hex),
         streamed to stdout or FILE, for SIEM ingestion
verify   recomputes the hash chain, the Merkle roots and the signed checkpoints from
         the records, and follows sealed files into their successors; exit 0 when
         everything holds, else prints the first bad row and what is wrong, and exits 1.
         --key pins the checkpoints' verifier key (the line in PREFIX.pub, or that file);
         --checkpoint checks the log against a checkpoint kept outside it
         (audit.checkpoint_file): rows it attests that are gone are reported TRUNCATED
keygen   writes an Ed25519 key pair for signed checkpoints: PREFIX.pem (the private
         key, mode 0600: audit.checkpoint_key) and PREFIX.pub (the verifier key);
         --name is the key's name in the signatures (default sluice.local/audit,
         audit.checkpoint_name)
seal     closes DB for good: a final signed checkpoint (with --key), a last row naming
         the successor, and the successor FILE (default: DB's name with the time),
         whose first row carries DB's head. A running Sluice follows into it; verify
         checks the files as one log

Output is a table by default; --json prints one JSON record per line.
docs/audit-format.md describes records and hashes.
)";

constexpr std::string_view tools_usage = R"(Usage:
  sluice tools list --db DB
  sluice tools pin  --db DB TOOL [--upstream NAME] [--by NAME]

list   every pinned tool, and tools whose definition changed since their pin
pin    accept the latest definition of TOOL that Sluice saw (a tool_changed event
       in the audit log): its calls stop requiring approval because of the change.
       Review it first: sluice audit query --db DB --kind tool_changed --tool TOOL --json
       --upstream defaults to "upstream" (upstream.name of the configuration);
       --by names who re-pinned (default: the local user)
)";

struct Common {
  std::optional<std::string> db;
  bool json_output = false;
};

audit::SqliteStore open_store(const Common& common, bool read_only) {
  if (!common.db) throw UsageError("--db DB is required: the audit log file (audit.path of the configuration)");
  if (::access(common.db->c_str(), F_OK) != 0) throw UsageError(*common.db + ": no such file");
  return audit::SqliteStore(*common.db, audit::Durability::normal, read_only);
}

std::string shorten(const std::string& text, std::size_t width) {
  return text.size() <= width ? text : text.substr(0, width - 1) + "~";
}

void print_event(const audit::StoredEvent& row, bool as_json) {
  if (as_json) {
    std::cout << row.record << '\n';
    return;
  }
  const auto record = json::parse(row.record, nullptr, false);
  const auto field = [&](const char* key) {
    if (!record.is_object() || !record.contains(key)) return std::string();
    const auto& value = record[key];
    return value.is_string() ? value.get<std::string>() : value.dump();
  };
  std::string what = field("method");
  if (!field("tool").empty()) what = field("tool");
  std::string result = field("decision");
  if (!field("rule").empty()) result += " (" + field("rule") + ")";
  if (!field("outcome").empty()) result = field("outcome");
  if (record.is_object() && record.contains("latency_us")) result += " " + field("latency_us") + "us";
  if (result.empty()) result = field("detail");
  std::printf("%7lld  %s  %-12s %-15s %-24s %-8s %s\n", static_cast<long long>(row.seq), row.time.c_str(),
              field("kind").c_str(), shorten(field("direction"), 15).c_str(), shorten(what, 24).c_str(),
              field("session").substr(0, 8).c_str(), result.c_str());
}

void print_header(bool as_json) {
  if (!as_json) {
    std::printf("%7s  %-27s  %-12s %-15s %-24s %-8s %s\n", "SEQ", "TIME (UTC)", "KIND", "DIRECTION", "TOOL/METHOD",
                "SESSION", "DECISION / OUTCOME");
  }
}

std::int64_t whole_number(std::string_view option, std::string_view text) {
  try {
    std::size_t used = 0;
    const auto value = std::stoll(std::string(text), &used);
    if (used == text.size() && value >= 0) return value;
  } catch (const std::exception&) {
  }
  throw UsageError(std::string(option) + ": expected a whole number, got \"" + std::string(text) + "\"");
}

int tail(Arguments& args, Common& common) {
  std::int64_t count = 20;
  bool follow = false;
  while (!args.done()) {
    const auto arg = args.take();
    if (arg == "--db") {
      common.db = args.value_of(arg);
    } else if (arg == "-n") {
      count = whole_number(arg, args.value_of(arg));
    } else if (arg == "-f" || arg == "--follow") {
      follow = true;
    } else if (arg == "--json") {
      common.json_output = true;
    } else {
      unknown_option("audit tail", arg);
    }
  }
  const auto store = open_store(common, true);
  std::vector<audit::StoredEvent> last;
  audit::EventQuery newest;
  newest.limit = count;
  newest.newest_first = true;
  store.scan(newest, [&](const audit::StoredEvent& row) {
    last.push_back(row);
    return true;
  });
  print_header(common.json_output);
  std::int64_t seen = 0;
  for (auto it = last.rbegin(); it != last.rend(); ++it) {
    print_event(*it, common.json_output);
    seen = it->seq;
  }
  std::cout.flush();
  while (follow) {
    // The writer is another process: there is nothing to wait on but the file.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    audit::EventQuery newer;
    newer.after_seq = seen;
    store.scan(newer, [&](const audit::StoredEvent& row) {
      print_event(row, common.json_output);
      seen = row.seq;
      return true;
    });
    std::cout.flush();
  }
  return 0;
}

int show(Arguments& args, Common& common) {
  std::optional<std::int64_t> seq;
  while (!args.done()) {
    const auto arg = args.take();
    if (arg == "--db") {
      common.db = args.value_of(arg);
    } else if (!arg.starts_with("-") && !seq) {
      seq = whole_number("SEQ", arg);
    } else {
      unknown_option("audit show", arg);
    }
  }
  if (!seq) throw UsageError("audit show: name the event: sluice audit show --db DB SEQ");
  const auto store = open_store(common, true);
  const auto row = store.event(*seq);
  if (!row) {
    std::cerr << "sluice: no event " << *seq << " in " << *common.db << '\n';
    return 1;
  }
  std::cout << json::parse(row->record).dump(2) << "\nleaf:  " << mcp::to_hex(row->leaf)
            << "\nchain: " << mcp::to_hex(row->chain) << '\n';
  return 0;
}

int query(Arguments& args, Common& common) {
  audit::EventQuery filter;
  while (!args.done()) {
    const auto arg = args.take();
    if (arg == "--db") {
      common.db = args.value_of(arg);
    } else if (arg == "--json") {
      common.json_output = true;
    } else if (arg == "--since") {
      filter.since = args.value_of(arg);
    } else if (arg == "--until") {
      filter.until = args.value_of(arg);
    } else if (arg == "--kind") {
      filter.kind = args.value_of(arg);
    } else if (arg == "--tool") {
      filter.tool = args.value_of(arg);
    } else if (arg == "--decision") {
      filter.decision = args.value_of(arg);
    } else if (arg == "--principal") {
      filter.principal = args.value_of(arg);
    } else if (arg == "--session") {
      filter.session = args.value_of(arg);
    } else if (arg == "--limit") {
      filter.limit = whole_number(arg, args.value_of(arg));
    } else {
      unknown_option("audit query", arg);
    }
  }
  const auto store = open_store(common, true);
  print_header(common.json_output);
  store.scan(filter, [&](const audit::StoredEvent& row) {
    print_event(row, common.json_output);
    return true;
  });
  return 0;
}

int export_events(Arguments& args, Common& common) {
  std::optional<std::string> output;
  while (!args.done()) {
    const auto arg = args.take();
    if (arg == "--db") {
      common.db = args.value_of(arg);
    } else if (arg == "--output") {
      output = args.value_of(arg);
    } else if (arg == "--format") {
      if (args.value_of(arg) != "jsonl") throw UsageError("audit export: --format: only jsonl is supported");
    } else {
      unknown_option("audit export", arg);
    }
  }
  const auto store = open_store(common, true);
  std::ofstream file;
  if (output) {
    file.open(*output, std::ios::out | std::ios::trunc);
    if (!file) throw std::runtime_error(*output + ": cannot write the export");
  }
  std::ostream& out = output ? file : std::cout;
  std::int64_t count = 0;
  store.scan(audit::EventQuery{}, [&](const audit::StoredEvent& row) {
    auto record = json::parse(row.record);
    record["leaf"] = mcp::to_hex(row.leaf);
    record["chain"] = mcp::to_hex(row.chain);
    out << record.dump() << '\n';
    ++count;
    return static_cast<bool>(out);
  });
  out.flush();
  if (!out) throw std::runtime_error("writing the export failed");
  if (output) std::cerr << "exported " << count << " events to " << *output << '\n';
  return 0;
}

std::string read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(path + ": cannot read the " + what);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (content.size() > 64 * 1024) throw UsageError(path + ": too large for a " + what);
  return content;
}

// A verifier key given as itself, or as the file `sluice audit keygen` wrote it to.
audit::NoteVerifier verifier_key(const std::string& text) {
  auto key = text;
  if (::access(text.c_str(), R_OK) == 0) {
    key = read_file(text, "verifier key");
    key = key.substr(0, key.find('\n'));
  }
  std::string error;
  auto verifier = audit::NoteVerifier::parse(key, error);
  if (!verifier) throw UsageError("--key: " + error);
  return *verifier;
}

int verify_log(Arguments& args, Common& common) {
  audit::VerifyOptions options;
  while (!args.done()) {
    const auto arg = args.take();
    if (arg == "--db") {
      common.db = args.value_of(arg);
    } else if (arg == "--key") {
      options.key = verifier_key(std::string(args.value_of(arg)));
    } else if (arg == "--checkpoint") {
      options.external_checkpoint = read_file(std::string(args.value_of(arg)), "checkpoint");
    } else {
      unknown_option("audit verify", arg);
    }
  }
  open_store(common, true);  // the usage errors: no --db, no such file
  const auto report = audit::verify(*common.db, options);
  const auto files = report.files.size() > 1 ? " in " + std::to_string(report.files.size()) + " files" : "";
  if (report.ok) {
    std::cout << "ok: " << report.events << " events" << files;
    if (report.checkpoints > 0) std::cout << ", " << report.checkpoints << " signed checkpoints";
    std::cout << ", chain head " << report.head << '\n';
    for (const auto& note : report.notes) std::cout << "note: " << note << '\n';
    return 0;
  }
  std::cout << "FAILED: ";
  if (report.files.size() > 1 || report.bad_file != *common.db) std::cout << report.bad_file << ": ";
  if (report.bad_seq) std::cout << "event " << *report.bad_seq << ": ";
  std::cout << report.problem << "\n(" << report.events << " events before it verified" << files << ")\n";
  return 1;
}

int keygen(Arguments& args) {
  std::optional<std::string> prefix;
  std::string name = policy::CheckpointConfig{}.name;
  while (!args.done()) {
    const auto arg = args.take();
    if (arg == "--out") {
      prefix = args.value_of(arg);
    } else if (arg == "--name") {
      name = args.value_of(arg);
    } else {
      unknown_option("audit keygen", arg);
    }
  }
  if (!prefix) throw UsageError("--out PREFIX is required: keygen writes PREFIX.pem and PREFIX.pub");
  const auto private_path = *prefix + ".pem";
  const auto public_path = *prefix + ".pub";
  for (const auto& path : {private_path, public_path}) {
    if (::access(path.c_str(), F_OK) == 0) throw UsageError(path + " exists; keygen never overwrites a key");
  }
  const auto pair = audit::generate_key_pair(name);
  // Created 0600 from the start: the key is never readable by others, not even briefly.
  const int fd = ::open(private_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error(private_path + ": " + std::strerror(errno));
  const bool written = ::write(fd, pair.private_pem.data(), pair.private_pem.size()) ==
                       static_cast<ssize_t>(pair.private_pem.size());
  ::close(fd);
  if (!written) throw std::runtime_error(private_path + ": cannot write the key");
  std::ofstream(public_path) << pair.verifier_key << '\n';
  std::cout << "private key: " << private_path << " (audit.checkpoint_key; keep it secret)\n"
            << "verifier key: " << pair.verifier_key << "\n             (in " << public_path
            << "; give it to whoever verifies: sluice audit verify --key " << public_path << ")\n";
  return 0;
}

// The successor's default name: DB's stem and the time, beside it.
std::string default_successor(const std::string& db) {
  const std::filesystem::path path(db);
  auto stamp = audit::audit_time_now().substr(0, 19);  // 2026-11-25T14:53:13
  std::erase(stamp, ':');
  std::erase(stamp, '-');
  return (path.parent_path() / (path.stem().string() + "." + stamp + "Z" + path.extension().string())).string();
}

int seal(Arguments& args, Common& common) {
  std::optional<std::string> next;
  std::optional<std::string> key;
  std::optional<std::string> checkpoint_file;
  std::string key_name = policy::CheckpointConfig{}.name;
  while (!args.done()) {
    const auto arg = args.take();
    if (arg == "--db") {
      common.db = args.value_of(arg);
    } else if (arg == "--next") {
      next = args.value_of(arg);
    } else if (arg == "--key") {
      key = args.value_of(arg);
    } else if (arg == "--key-name") {
      key_name = args.value_of(arg);
    } else if (arg == "--checkpoint-file") {
      checkpoint_file = args.value_of(arg);
    } else {
      unknown_option("audit seal", arg);
    }
  }
  if (checkpoint_file && !key) throw UsageError("--checkpoint-file needs --key: only a signed checkpoint is written");
  auto store = open_store(common, false);
  std::optional<audit::NoteSigner> signer;
  if (key) signer = audit::NoteSigner::from_pem_file(*key, key_name);
  const auto result = store.seal(next.value_or(default_successor(store.path())), signer ? &*signer : nullptr, current_user());
  if (result.checkpoint) {
    const auto note = json::parse(result.checkpoint->record)["data"]["note"].get<std::string>();
    if (checkpoint_file) std::ofstream(*checkpoint_file) << note;
    std::cout << "final checkpoint: row " << result.checkpoint->seq << (checkpoint_file ? ", copied to " + *checkpoint_file : "")
              << '\n';
  }
  std::cout << "sealed " << store.path() << " at row " << result.seal.seq << " (head " << mcp::to_hex(result.seal.chain)
            << ")\nthe log continues in " << result.successor << '\n';
  return 0;
}

int list_tools(Arguments& args, Common& common) {
  while (!args.done()) {
    const auto arg = args.take();
    if (arg == "--db") {
      common.db = args.value_of(arg);
    } else {
      unknown_option("tools list", arg);
    }
  }
  const auto store = open_store(common, true);
  std::printf("%-12s %-28s %-10s %-27s %s\n", "UPSTREAM", "TOOL", "STATE", "PINNED AT", "PINNED BY");
  for (const auto& pin : store.pins()) {
    // A tool_changed event after the pin, with another hash, means it awaits review.
    std::string state = "pinned";
    audit::EventQuery changes;
    changes.since = pin.pinned_at;
    changes.kind = "tool_changed";
    changes.tool = pin.tool;
    store.scan(changes, [&](const audit::StoredEvent& row) {
                 const auto record = json::parse(row.record);
                 if (record.value("upstream", "") == pin.upstream &&
                     record.value("detail", "").find(pin.hash) == std::string::npos) {
                   state = "CHANGED";
                 }
                 return true;
               });
    std::printf("%-12s %-28s %-10s %-27s %s\n", pin.upstream.c_str(), pin.tool.c_str(), state.c_str(),
                pin.pinned_at.c_str(), pin.pinned_by.c_str());
  }
  return 0;
}

int pin_tool(Arguments& args, Common& common) {
  std::optional<std::string> tool;
  std::string upstream = "upstream";
  std::string by = current_user();
  while (!args.done()) {
    const auto arg = args.take();
    if (arg == "--db") {
      common.db = args.value_of(arg);
    } else if (arg == "--upstream") {
      upstream = args.value_of(arg);
    } else if (arg == "--by") {
      by = args.value_of(arg);
    } else if (!arg.starts_with("-") && !tool) {
      tool = arg;
    } else {
      unknown_option("tools pin", arg);
    }
  }
  if (!tool) throw UsageError("tools pin: name the tool: sluice tools pin --db DB TOOL");
  auto store = open_store(common, false);
  std::optional<std::string> hash;
  audit::EventQuery latest_change;
  latest_change.kind = "tool_changed";
  latest_change.tool = *tool;
  latest_change.newest_first = true;
  store.scan(latest_change, [&](const audit::StoredEvent& row) {
               const auto record = json::parse(row.record);
               if (record.value("upstream", "") != upstream) return true;
               const auto detail = record.value("detail", "");
               const auto at = detail.find("sha256 ");
               if (at != std::string::npos) hash = detail.substr(at + 7, 64);
               return false;
             });
  if (!hash) {
    std::cerr << "sluice: no changed definition of " << *tool << " (upstream " << upstream
              << ") is in the audit log; nothing to pin\n";
    return 1;
  }
  audit::AuditEvent event;
  event.kind = "pin";
  event.upstream = upstream;
  event.tool = *tool;
  event.principal = by;
  event.detail = "pinned definition sha256 " + *hash + " (re-pinned by " + by + ")";
  store.append({event}, {audit::PinRecord{upstream, *tool, *hash, by, {}}});
  std::cout << "pinned " << *tool << " (upstream " << upstream << ") to sha256 " << *hash << '\n';
  return 0;
}

}  // namespace

std::string_view audit_help() { return audit_usage; }
std::string_view tools_help() { return tools_usage; }

int audit_command(Arguments& args) {
  int status = 0;
  const auto verb = take_verb(args, audit_usage, status);
  if (!verb) return status;
  Common common;
  if (*verb == "tail") return tail(args, common);
  if (*verb == "show") return show(args, common);
  if (*verb == "query") return query(args, common);
  if (*verb == "export") return export_events(args, common);
  if (*verb == "verify") return verify_log(args, common);
  if (*verb == "keygen") return keygen(args);
  if (*verb == "seal") return seal(args, common);
  throw UsageError("audit: unknown command \"" + std::string(*verb) +
                   "\"; expected tail, show, query, export, verify, keygen or seal");
}

int tools_command(Arguments& args) {
  int status = 0;
  const auto verb = take_verb(args, tools_usage, status);
  if (!verb) return status;
  Common common;
  if (*verb == "list") return list_tools(args, common);
  if (*verb == "pin") return pin_tool(args, common);
  throw UsageError("tools: unknown command \"" + std::string(*verb) + "\"; expected list or pin");
}

}  // namespace sluice::proxy
