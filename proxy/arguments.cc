#include "proxy/arguments.h"

#include <pwd.h>
#include <unistd.h>

#include <charconv>
#include <iostream>
#include <utility>

#include "policy/duration.h"

namespace sluice::proxy {

std::string_view Arguments::value_of(std::string_view option) {
  if (done()) throw UsageError(std::string(option) + " needs a value");
  return take();
}

std::vector<std::string> Arguments::rest() {
  std::vector<std::string> out;
  while (!done()) out.emplace_back(take());
  return out;
}

bool Arguments::help_requested() {
  if (done() || (peek() != "-h" && peek() != "--help")) return false;
  take();
  return true;
}

std::optional<std::string_view> take_verb(Arguments& args, std::string_view usage, int& status) {
  if (args.done()) {
    std::cerr << usage;
    status = 2;
    return std::nullopt;
  }
  const auto verb = args.help_requested() ? std::string_view() : args.take();
  if (verb.empty() || args.help_requested()) {
    std::cout << usage;
    status = 0;
    return std::nullopt;
  }
  return verb;
}

void unknown_option(std::string_view command, std::string_view option) {
  throw UsageError(std::string(command) + ": unknown option \"" + std::string(option) + "\"; see sluice help " +
                   std::string(command));
}

std::size_t parse_byte_size(std::string_view option, std::string_view text) {
  std::size_t multiplier = 1;
  auto number = text;
  for (const auto& [suffix, factor] : {std::pair<std::string_view, std::size_t>{"MiB", 1 << 20},
                                       std::pair<std::string_view, std::size_t>{"KiB", 1 << 10}}) {
    if (number.ends_with(suffix)) {
      number.remove_suffix(suffix.size());
      multiplier = factor;
      break;
    }
  }
  std::size_t value = 0;
  const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (error != std::errc() || end != number.data() + number.size() || value == 0 ||
      value > (std::size_t{1} << 40) / multiplier) {
    throw UsageError(std::string(option) + ": expected a positive size such as 1048576, 512KiB or 64MiB, got \"" +
                     std::string(text) + "\"");
  }
  return value * multiplier;
}

std::chrono::milliseconds parse_duration_option(std::string_view option, std::string_view text) {
  const auto value = policy::parse_duration(text, std::chrono::hours(24));
  if (!value) {
    throw UsageError(std::string(option) + ": expected a duration such as 500ms, 5s or 1m, got \"" +
                     std::string(text) + "\"");
  }
  return *value;
}

std::string current_user() {
  if (const auto* account = ::getpwuid(::geteuid()); account != nullptr) return account->pw_name;
  return "uid:" + std::to_string(::geteuid());
}

}  // namespace sluice::proxy
