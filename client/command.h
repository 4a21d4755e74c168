// What every rdzctl command is made of: its declaration in the registry (CommandSpec), the
// invocation it runs in (Command: parsed options, connection, out/err, --json) and the helpers the
// command groups share. Each group lives in client/commands/NAME.c++ and defines
// `rdz::commands::NAME()` returning its CommandSpecs; client/CMakeLists.txt lists the groups, in
// the order `rdzctl --help` shows them (docs/ARCHITECTURE.md, "Adding an rdzctl command").
#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "client/connection.h"
#include "client/json.h"
#include "client/rdzctl.h"

namespace rdz {

namespace po = boost::program_options;

// Bad command line: exit 2, "(see rdzctl --help)".
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The global options, before the command's words.
struct Globals {
  std::string socket;
  std::string connect;
  std::string caFile;
  std::string tokenFile;
  uint32_t waitRdzd = 0;
  bool json = false;
};

class Command;

// One command as its group declares it. The registry makes `rdzctl --help` and
// `rdzctl NOUN VERB --help` from these fields; nothing else describes a command.
struct CommandSpec {
  std::string noun{};  // "client", "deliver"
  std::string verb{};  // "add"; "" for a one-word command
  // The synopsis after "rdzctl ", e.g. "client show ID"; "\n" starts a continuation line.
  std::string usage{};
  // More help under the synopsis ("" for none); "\n" between lines.
  std::string about{};
  // The command's flags and positional arguments (--help is added by the registry).
  std::function<void(po::options_description&)> options{};
  std::vector<std::string> positional{};  // the positional arguments' option names, in order
  bool lastRepeats = false;               // the last positional takes every remaining word
  // Runs the parsed command; returns the exit code. Empty: not built yet (exit 1).
  std::function<int(Command&)> run{};
};

using CommandGroup = std::vector<CommandSpec>;

// Every command, in help order (the group order of client/CMakeLists.txt).
const std::vector<CommandSpec>& allCommands();

// One invocation: globals, the command's parsed options, where to print, the connection (opened
// on first use).
class Command {
 public:
  Command(Globals globals, po::variables_map options, std::ostream& out, std::ostream& err);
  ~Command();

  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  bool json() const { return globals_.json; }

  bool has(const char* name) const { return vm_.count(name) > 0; }
  std::string get(const char* name) const;  // "" when absent
  std::vector<std::string> getAll(const char* name) const;

  // Throws ConnectError (exit 3).
  Connection& connection();
  kj::WaitScope& wait() { return connection().waitScope(); }

  // The one way a command prints its answer: with --json the record's JSON (client/json.h) on
  // one line, otherwise what `text` writes. `text` may write nothing.
  template <typename Reader, typename Text>
  void print(const Reader& record, Text&& text) {
    if (json()) {
      out_ << toJson(record) << "\n";
    } else {
      text(out_);
    }
  }
  template <typename Text>
  void print(JsonObject& record, Text&& text) {
    if (json()) {
      out_ << record.text() << "\n";
    } else {
      text(out_);
    }
  }

 private:
  Globals globals_;
  po::variables_map vm_;
  std::ostream& out_;
  std::ostream& err_;
  std::unique_ptr<Connection> connection_;
};

// ---- argument helpers ---------------------------------------------------------------------------

// "a, b,,c" -> {"a","b","c"}.
std::vector<std::string> splitList(const std::string& text);
// --entity's value, or UsageError.
schema::Entity entityArg(const std::string& text);
// oui/non (and the other spellings of parseBool) for --FLAG, or UsageError.
bool ouiNon(const std::string& flag, const std::string& text);
// A whole number in [0, max] for --FLAG, or UsageError.
uint32_t numberArg(const std::string& flag, const std::string& text, uint32_t max);
// A file's bytes, or UsageError.
std::string readWholeFile(const std::string& path);

template <typename List>
void setList(List list, const std::vector<std::string>& values) {
  for (size_t i = 0; i < values.size(); ++i) list.set(i, values[i]);
}

// Listings come in pages (SPEC §10): --limit N (at most 1000) and --after ID, the last id of the
// previous page. Without --json, the next page's --after is said on stderr.
void addPaging(po::options_description& o);
template <typename Request>
void setPaging(Command& cmd, Request& req) {
  if (cmd.has("limit")) req.setLimit(numberArg("limit", cmd.get("limit"), 1000));
  req.setAfter(cmd.get("after"));
}
void sayNextPage(Command& cmd, capnp::Text::Reader next);

// ---- text forms ---------------------------------------------------------------------------------

// A JSON value as plain text: strings bare, booleans oui/non, arrays comma-joined, null "".
std::string plain(capnp::JsonValue::Reader v);

// "name: value" lines of a record, in schema order.
void printRecord(std::ostream& out, capnp::JsonValue::Reader object);
template <typename Reader>
void printRecord(std::ostream& out, Reader reader) {
  capnp::MallocMessageBuilder message;
  auto value = message.initRoot<capnp::JsonValue>();
  rdzJson().encode(reader, value);
  printRecord(out, value.asReader());
}

// One line of chosen fields of a record, two spaces apart.
void printLine(std::ostream& out, capnp::JsonValue::Reader object,
               std::initializer_list<const char*> fields);
template <typename Reader>
void printLine(std::ostream& out, Reader reader, std::initializer_list<const char*> fields) {
  capnp::MallocMessageBuilder message;
  auto value = message.initRoot<capnp::JsonValue>();
  rdzJson().encode(reader, value);
  printLine(out, value.asReader(), fields);
}

std::string statutText(schema::Statut s);
// "ID statut [probleme,probleme]".
std::string answerLine(schema::SubmitResult::Reader r);
// A new record's id: the id, or {"id": …}.
void printId(Command& cmd, capnp::Text::Reader id);

}  // namespace rdz
