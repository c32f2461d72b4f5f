#include "proxy/approvals_command.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "audit/approvals.h"
#include "audit/sqlite_store.h"

namespace sluice::proxy {
namespace {

constexpr std::string_view approvals_usage = R"(Usage:
  sluice approvals list    --db DB [--all] [--json]
  sluice approvals show    --db DB ID [--json]
  sluice approvals approve --db DB ID [--comment TEXT]
  sluice approvals deny    --db DB ID [--comment TEXT]

list     pending requests, oldest first (--all: decided ones too, newest first)
show     one request: tool, rule, who asked, redacted arguments, votes
approve  votes to run the held call, exactly as it was made, once; it runs when
         the rule's quorum of distinct approvers has approved
deny     refuses the call at once; the client is told, with the comment

DB is the audit log (audit.path) of the Sluice that holds the calls; a running
Sluice on this host sees a vote within a fraction of a second. You vote as the
user this command runs as, with the authority of write access to DB: the
principal that made a call cannot approve it (four eyes), and each approver
counts once toward the quorum. Every vote is an event in the audit log.
)";

struct Options {
  std::optional<std::string> db;
  std::optional<std::string> id;
  std::string comment;
  bool all = false;
  bool json_output = false;
};

Options parse(Arguments& args, std::string_view verb, bool takes_id, bool takes_comment) {
  Options options;
  while (!args.done()) {
    const auto arg = args.take();
    if (arg == "--db") {
      options.db = args.value_of(arg);
    } else if (arg == "--json" && !takes_comment) {
      options.json_output = true;
    } else if (arg == "--all" && !takes_id) {
      options.all = true;
    } else if (arg == "--comment" && takes_comment) {
      options.comment = args.value_of(arg);
    } else if (takes_id && !arg.starts_with("-") && !options.id) {
      options.id = arg;
    } else {
      unknown_option("approvals " + std::string(verb), arg);
    }
  }
  if (!options.db) throw UsageError("--db DB is required: the audit log file (audit.path of the configuration)");
  if (::access(options.db->c_str(), F_OK) != 0) throw UsageError(*options.db + ": no such file");
  if (takes_id && !options.id) throw UsageError("approvals " + std::string(verb) + ": the request's ID is required");
  return options;
}

void print_line(const audit::ApprovalRecord& request) {
  std::printf("%-32s  %-9s  %-26s  %-16s  %-24s  %s\n", request.id.c_str(),
              std::string(audit::to_string(request.state)).c_str(), request.created.c_str(), request.principal.c_str(),
              request.tool.c_str(), request.rule.c_str());
}

int list(Arguments& args) {
  const auto options = parse(args, "list", false, false);
  audit::SqliteStore store(*options.db, audit::Durability::normal, true);
  store.follow_seals();
  const auto requests =
      store.approvals(options.all ? std::nullopt : std::optional(audit::ApprovalState::pending), 1000);
  if (options.json_output) {
    for (const auto& request : requests) std::cout << audit::to_json(request).dump() << '\n';
    return 0;
  }
  std::printf("%-32s  %-9s  %-26s  %-16s  %-24s  %s\n", "ID", "STATE", "CREATED", "PRINCIPAL", "TOOL", "RULE");
  for (const auto& request : requests) print_line(request);
  if (requests.empty()) std::cout << (options.all ? "(no approval requests)\n" : "(nothing pending)\n");
  return 0;
}

int show(Arguments& args) {
  const auto options = parse(args, "show", true, false);
  audit::SqliteStore store(*options.db, audit::Durability::normal, true);
  store.follow_seals();
  const auto request = store.approval(*options.id);
  if (!request) {
    std::cerr << "sluice: approvals show: no request " << *options.id << '\n';
    return 1;
  }
  if (options.json_output) {
    std::cout << audit::to_json(*request).dump() << '\n';
    return 0;
  }
  std::cout << "request    " << request->id << "\nstate      " << audit::to_string(request->state)
            << (request->consumed ? " (the call ran)" : "") << "\ntool       " << request->tool << " ("
            << request->tool_class << ") on " << request->upstream << "\nrule       " << request->rule << ": "
            << request->reason << "\nasked by   " << request->principal << " in session " << request->session
            << "\ncreated    " << request->created << "\nexpires    " << request->expires << "\nquorum     "
            << request->quorum << "\narguments  " << request->arguments.dump(2) << '\n';
  for (const auto& vote : request->votes) {
    std::cout << "vote       " << (vote.approve ? "approve" : "deny") << " by " << vote.approver << " at "
              << vote.time << (vote.comment.empty() ? "" : ": " + vote.comment) << '\n';
  }
  if (!request->comment.empty()) std::cout << "comment    " << request->comment << '\n';
  return 0;
}

int vote(Arguments& args, bool approve) {
  const auto verb = approve ? "approve" : "deny";
  const auto options = parse(args, verb, true, true);
  audit::SqliteStore store(*options.db, audit::Durability::normal);
  const auto request = store.approval(*options.id);
  // Access to the file is the authority here: the local user may act in any role
  // the rule names; four eyes and the quorum still apply.
  audit::Approver approver{current_user(), {"approver"}};
  if (request) approver.roles.insert(approver.roles.end(), request->approver_roles.begin(), request->approver_roles.end());
  const auto outcome = store.vote(*options.id, approver, approve, options.comment);
  if (outcome.error != audit::VoteError::none) {
    std::cerr << "sluice: approvals " << verb << ": " << audit::describe(outcome.error) << '\n';
    return 1;
  }
  const auto& now = *outcome.request;
  if (now.state == audit::ApprovalState::pending) {
    const auto approvals = static_cast<int>(now.votes.size());
    std::cout << "recorded your approval of " << now.id << " (" << approvals << " of " << now.quorum
              << " needed)\n";
  } else {
    std::cout << now.id << " is " << audit::to_string(now.state) << " (" << now.tool << " by " << now.principal
              << ")\n";
  }
  return 0;
}

}  // namespace

std::string_view approvals_help() { return approvals_usage; }

int approvals_command(Arguments& args) {
  int status = 0;
  const auto verb = take_verb(args, approvals_usage, status);
  if (!verb) return status;
  if (*verb == "list") return list(args);
  if (*verb == "show") return show(args);
  if (*verb == "approve") return vote(args, true);
  if (*verb == "deny") return vote(args, false);
  throw UsageError("approvals: unknown command \"" + std::string(*verb) + "\"; expected list, show, approve or deny");
}

}  // namespace sluice::proxy
