#include "proxy/passwd_command.h"

#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <string>

#include <openssl/crypto.h>

#include "webui/password.h"

namespace sluice::proxy {
namespace {

constexpr std::string_view passwd_usage = R"(Usage:
  sluice passwd [--cost N]

Reads a password and prints its hash for ui.users[].password in sluice.yaml:
  scrypt$ln=17,r=8,p=1$SALT$KEY
On a terminal the password is asked for twice, without echo; otherwise the first
line of standard input is the password (for scripts: printf '%s\n' "$PW" | sluice passwd).

Options:
  --cost N     scrypt's N as a power of two (default: 17, i.e. N = 131072, r = 8, p = 1:
               128 MiB and about half a second per login); 10 to 20
  -h, --help   show this help
)";

// Restores the terminal's echo when it goes out of scope, also on an exception.
class EchoOff {
 public:
  EchoOff() {
    if (::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    active_ = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
  }
  ~EchoOff() {
    if (active_) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

std::string prompt(std::string_view question) {
  std::cerr << question << std::flush;
  std::string line;
  {
    const EchoOff quiet;
    std::getline(std::cin, line);
  }
  std::cerr << '\n';
  return line;
}

void wipe(std::string& secret) { OPENSSL_cleanse(secret.data(), secret.size()); }

}  // namespace

std::string_view passwd_help() { return passwd_usage; }

int passwd_command(Arguments& args) {
  webui::ScryptParameters parameters;
  while (!args.done()) {
    const auto arg = args.take();
    if (arg == "-h" || arg == "--help") {
      std::cout << passwd_usage;
      return 0;
    }
    if (arg == "--cost") {
      const auto value = std::string(args.value_of(arg));
      const auto cost = value.find_first_not_of("0123456789") == std::string::npos && !value.empty() && value.size() < 3
                            ? std::stoi(value)
                            : 0;
      if (cost < 10 || cost > 20) throw UsageError("passwd: --cost takes a number from 10 to 20, got \"" + value + "\"");
      parameters.log2_n = cost;
    } else {
      unknown_option("passwd", arg);
    }
  }
  std::string password;
  if (::isatty(STDIN_FILENO) != 0) {
    password = prompt("Password: ");
    auto again = prompt("Again: ");
    const bool same = password == again;
    wipe(again);
    if (!same) {
      wipe(password);
      std::cerr << "sluice: passwd: the passwords differ; nothing printed\n";
      return 1;
    }
  } else if (!std::getline(std::cin, password)) {
    std::cerr << "sluice: passwd: no password on standard input\n";
    return 1;
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) {
    std::cerr << "sluice: passwd: the password is empty\n";
    return 1;
  }
  const auto hash = webui::hash_password(password, parameters);
  wipe(password);
  std::cout << hash << '\n';
  return 0;
}

}  // namespace sluice::proxy
