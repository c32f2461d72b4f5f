// Walking a subcommand's arguments, and the error for getting them wrong.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::proxy {

// Bad usage: the message says what to type instead; the exit status is 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Arguments {
 public:
  explicit Arguments(std::span<char*> args) : args_(args) {}

  [[nodiscard]] bool done() const { return index_ >= args_.size(); }
  [[nodiscard]] std::string_view peek() const { return args_[index_]; }
  std::string_view take() { return args_[index_++]; }
  // The value after an option that needs one.
  std::string_view value_of(std::string_view option);
  // Everything not taken yet (what follows `--`).
  std::vector<std::string> rest();
  // Whether the next argument asks for help (and takes it if so).
  bool help_requested();

 private:
  std::span<char*> args_;
  std::size_t index_ = 0;
};

// The verb of a command that has verbs ("sluice audit tail"), or nullopt when there
// is none to run: help was asked for (printed on stdout, `status` 0) or nothing was
// given (usage on stderr, `status` 2).
std::optional<std::string_view> take_verb(Arguments& args, std::string_view usage, int& status);

[[noreturn]] void unknown_option(std::string_view command, std::string_view option);
std::size_t parse_byte_size(std::string_view option, std::string_view text);
std::chrono::milliseconds parse_duration_option(std::string_view option, std::string_view text);

// The user this process runs as (from the password database, not the environment):
// the principal of a stdio session, and who acts in `sluice approvals` and `tools pin`.
std::string current_user();

}  // namespace sluice::proxy
