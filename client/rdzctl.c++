// runRdzctl: global options, the registry of commands (client/commands/*.c++), help made from it,
// and the one place where failures become exit codes.
#include "client/rdzctl.h"

#include <kj/debug.h>

#include <set>

#include "client/command.h"
#include "client/connection.h"

namespace rdz {

// The groups of client/CMakeLists.txt, as RDZCTL_GROUP(name) lines (generated).
namespace commands {
#define RDZCTL_GROUP(name) CommandGroup name();
#include "client/rdzctl-groups.inc"
#undef RDZCTL_GROUP
}  // namespace commands

const std::vector<CommandSpec>& allCommands() {
  static const std::vector<CommandSpec> all = [] {
    std::vector<CommandSpec> list;
    auto add = [&](CommandGroup group) {
      for (auto& c : group) list.push_back(kj::mv(c));
    };
#define RDZCTL_GROUP(name) add(commands::name());
#include "client/rdzctl-groups.inc"
#undef RDZCTL_GROUP
    std::set<std::string> names;
    for (auto& c : list) {
      KJ_ASSERT(names.insert(c.noun + " " + c.verb).second, "rdzctl command declared twice", c.noun,
                c.verb);
    }
    return list;
  }();
  return all;
}

namespace {

constexpr char HELP_HEAD[] = R"(rdzctl — administer RDZ (talks to rdzd over its Unix socket, or TCP)

Usage: rdzctl [global options] COMMAND [options]

Global options:
  --socket PATH       rdzd's socket (env RDZ_SOCKET; default ./rdz-data/rdzd.sock)
  --connect HOST:PORT rdzd's TCP listener instead of the socket (env RDZ_CONNECT); TLS,
                      except plain TCP to a loopback host (127.0.0.0/8, ::1, localhost)
                      when no --ca-file is given
  --ca-file PEM       trust only this CA for rdzd's TLS certificate (env RDZ_CA_FILE;
                      default: the system's trusted CAs)
  --token-file F      file holding the token (env RDZ_TOKEN_FILE, or the token itself in
                      env RDZ_TOKEN; default ./rdz-data/admin.token)
  --wait-rdzd SECONDS keep trying to connect that long while rdzd is not answering yet
                      (starting after a boot or a restart); default 0: one try
  --json              print one JSON document on stdout
  -h, --help          this help; `rdzctl COMMAND --help` for a command's options

Commands:
)";

constexpr char HELP_TAIL[] = R"(
Listings (list commands) come in pages of at most 1000 (--limit, default 1000); when there is
more, stderr says the --after of the next page (--json: "next").
Times: --at is ISO 8601 with offset (2026-11-25T09:30:00+01:00); --date is AAAA-MM-JJ.

Exit codes: 0 ok, 1 refused or failed, 2 usage, 3 cannot connect or not authenticated.
)";

constexpr size_t ABOUT_COLUMN = 22;

std::string commandWords(const CommandSpec& c) {
  return c.verb.empty() ? c.noun : c.noun + " " + c.verb;
}

// The synopsis, its continuation lines indented to follow the command's words.
std::string usageText(const CommandSpec& c, size_t indent) {
  std::string pad(indent + commandWords(c).size() + 1, ' ');
  std::string out;
  size_t start = 0;
  while (true) {
    size_t end = c.usage.find('\n', start);
    out += (start == 0 ? "" : "\n" + pad) + c.usage.substr(start, end - start);
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string globalHelp() {
  std::string out = HELP_HEAD;
  std::string later;
  for (auto& c : allCommands()) {
    if (!c.run) {
      later += (later.empty() ? "" : ", ") + commandWords(c);
      continue;
    }
    std::string synopsis = "  " + usageText(c, 2);
    auto about = lines(c.about);
    size_t first = 0;
    if (!about.empty() && synopsis.find('\n') == std::string::npos &&
        synopsis.size() + 2 <= ABOUT_COLUMN) {
      synopsis += std::string(ABOUT_COLUMN - synopsis.size(), ' ') + about[0];
      first = 1;
    }
    out += synopsis + "\n";
    for (size_t i = first; i < about.size(); ++i) {
      out += std::string(ABOUT_COLUMN, ' ') + about[i] + "\n";
    }
  }
  if (!later.empty()) {
    out += "\nNot available yet in this version (they answer with exit code 1):\n  " + later + "\n";
  }
  return out + HELP_TAIL;
}

void commandHelp(std::ostream& out, const CommandSpec& c, const po::options_description& o) {
  out << "Usage: rdzctl " << usageText(c, std::string("Usage: rdzctl ").size()) << "\n";
  if (!c.about.empty()) {
    out << "\n";
    for (auto& line : lines(c.about)) out << "  " << line << "\n";
  }
  out << "\n" << o << "\n";
}

// The command named by the first words: NOUN VERB, else NOUN alone; null when none.
const CommandSpec* findCommand(const std::string& noun, const std::string& verb) {
  for (auto& c : allCommands()) {
    if (c.noun == noun && c.verb == verb && !verb.empty()) return &c;
  }
  for (auto& c : allCommands()) {
    if (c.noun == noun && c.verb.empty()) return &c;
  }
  return nullptr;
}

// Parses the words after the command's own with its options; runs it.
int runCommand(const CommandSpec& c, Globals globals, const std::vector<std::string>& args,
               std::ostream& out, std::ostream& err) {
  po::options_description o("Options");
  if (c.options) c.options(o);
  o.add_options()("help,h", "this help");
  po::positional_options_description pos;
  for (size_t i = 0; i < c.positional.size(); ++i) {
    pos.add(c.positional[i].c_str(), c.lastRepeats && i + 1 == c.positional.size() ? -1 : 1);
  }
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(o).positional(pos).run(), vm);
  if (vm.count("help")) {
    commandHelp(out, c, o);
    return EXIT_OK;
  }
  po::notify(vm);
  Command cmd(kj::mv(globals), kj::mv(vm), out, err);
  return c.run(cmd);
}

}  // namespace

int runRdzctl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Globals globals;
  std::vector<std::string> words;  // the command's own words and flags, in order
  bool help = false;
  try {
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      auto value = [&](const std::string& flag) -> std::string {
        if (a.size() > flag.size() && a.compare(0, flag.size() + 1, flag + "=") == 0) {
          return a.substr(flag.size() + 1);
        }
        if (i + 1 >= args.size()) throw UsageError(flag + " needs a value");
        return args[++i];
      };
      if (a == "--socket" || a.rfind("--socket=", 0) == 0) {
        globals.socket = value("--socket");
      } else if (a == "--connect" || a.rfind("--connect=", 0) == 0) {
        globals.connect = value("--connect");
      } else if (a == "--ca-file" || a.rfind("--ca-file=", 0) == 0) {
        globals.caFile = value("--ca-file");
      } else if (a == "--token-file" || a.rfind("--token-file=", 0) == 0) {
        globals.tokenFile = value("--token-file");
      } else if (a == "--wait-rdzd" || a.rfind("--wait-rdzd=", 0) == 0) {
        globals.waitRdzd = numberArg("wait-rdzd", value("--wait-rdzd"), 3600);
      } else if (a == "--json") {
        globals.json = true;
      } else if ((a == "--help" || a == "-h") && words.empty()) {
        help = true;
      } else {
        words.push_back(a);
      }
    }
    if (!globals.socket.empty() && !globals.connect.empty()) {
      throw UsageError("--socket and --connect exclude each other");
    }
    if (words.empty() || words[0] == "help") {
      (help || !words.empty() ? out : err) << globalHelp();
      return help || !words.empty() ? EXIT_OK : EXIT_USAGE;
    }
    std::string noun = words[0];
    std::string verb = words.size() > 1 ? words[1] : "";
    const CommandSpec* command = findCommand(noun, verb);
    if (command == nullptr) throw UsageError("unknown command '" + noun + " " + verb + "'");
    if (!command->run) {
      err << "rdzctl: '" << commandWords(*command) << "' is not available yet in this version\n";
      return EXIT_FAILED;
    }
    size_t consumed = command->verb.empty() ? 1 : 2;
    return runCommand(*command, kj::mv(globals),
                      std::vector<std::string>(words.begin() + consumed, words.end()), out, err);
  } catch (const UsageError& e) {
    err << "rdzctl: " << e.what() << " (see rdzctl --help)\n";
    return EXIT_USAGE;
  } catch (const po::error& e) {
    err << "rdzctl: " << e.what() << " (see rdzctl --help)\n";
    return EXIT_USAGE;
  } catch (const ConnectError& e) {
    err << "rdzctl: " << e.what() << "\n";
    return EXIT_CONNECT;
  } catch (const kj::Exception& e) {
    // Refusals from rdzd (and local failures such as an unterminated CSV quote).
    err << "rdzctl: " << cleanError(e.getDescription().cStr()) << "\n";
    return EXIT_FAILED;
  } catch (const std::exception& e) {
    err << "rdzctl: " << e.what() << "\n";
    return EXIT_FAILED;
  }
}

}  // namespace rdz
