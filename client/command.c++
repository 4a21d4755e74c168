#include "client/command.h"

#include <fstream>
#include <map>
#include <sstream>

#include "client/present.h"
#include "daemon/domain/commerce.h"
#include "daemon/domain/validation.h"

namespace rdz {

Command::Command(Globals globals, po::variables_map options, std::ostream& out, std::ostream& err)
    : globals_(kj::mv(globals)), vm_(kj::mv(options)), out_(out), err_(err) {}

Command::~Command() = default;

std::string Command::get(const char* name) const {
  return has(name) ? vm_[name].as<std::string>() : std::string();
}

std::vector<std::string> Command::getAll(const char* name) const {
  return has(name) ? vm_[name].as<std::vector<std::string>>() : std::vector<std::string>();
}

Connection& Command::connection() {
  if (connection_ == nullptr) {
    Endpoint endpoint = resolveEndpoint(globals_.socket, globals_.tokenFile, "admin.token",
                                        globals_.connect, globals_.caFile);
    endpoint.waitForRdzd = std::chrono::seconds(globals_.waitRdzd);
    connection_ = std::make_unique<Connection>(endpoint);
  }
  return *connection_;
}

// ---- argument helpers ---------------------------------------------------------------------------

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    item = trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

schema::Entity entityArg(const std::string& text) {
  auto e = parseEntity(text);
  if (!e) throw UsageError("--entity must be ZR7 or MDL, not '" + text + "'");
  return static_cast<schema::Entity>(*e);
}

bool ouiNon(const std::string& flag, const std::string& text) {
  auto b = parseBool(text);
  if (!b) throw UsageError("--" + flag + " must be oui or non");
  return *b;
}

uint32_t numberArg(const std::string& flag, const std::string& text, uint32_t max) {
  try {
    size_t used = 0;
    unsigned long v = std::stoul(text, &used);
    if (used == text.size() && v <= max) return static_cast<uint32_t>(v);
  } catch (const std::exception&) {
    // not a number: reported below
  }
  throw UsageError("--" + flag + " must be a whole number up to " + std::to_string(max));
}

std::string readWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("cannot read " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void addPaging(po::options_description& o) {
  o.add_options()("limit", po::value<std::string>(), "at most N items (default and max 1000)")(
      "after", po::value<std::string>(), "start after this id (the previous page's last)");
}

void sayNextPage(Command& cmd, capnp::Text::Reader next) {
  if (!cmd.json() && next.size() > 0) {
    cmd.err() << "rdzctl: more on the next page: --after " << next.cStr() << "\n";
  }
}

// ---- text forms ---------------------------------------------------------------------------------

std::string plain(capnp::JsonValue::Reader v) { return plainText(v); }

void printRecord(std::ostream& out, capnp::JsonValue::Reader object) {
  for (auto member : object.getObject()) {
    out << member.getName().cStr() << ": " << plain(member.getValue()) << "\n";
  }
}

void printLine(std::ostream& out, capnp::JsonValue::Reader object,
               std::initializer_list<const char*> fields) {
  std::map<std::string, std::string> byName;
  for (auto member : object.getObject()) {
    byName[member.getName().cStr()] = plain(member.getValue());
  }
  std::string line;
  for (auto f : fields) line += (line.empty() ? "" : "  ") + byName[f];
  out << line << "\n";
}

std::string statutText(schema::Statut s) {
  static const char* NAMES[] = {"new", "delivered", "lb", "invalid", "rejected"};
  return NAMES[static_cast<int>(s)];
}

std::string answerLine(schema::SubmitResult::Reader r) {
  std::string line = std::string(r.getId().cStr()) + " " + statutText(r.getStatut());
  std::string problems;
  for (auto p : r.getProblemes()) problems += (problems.empty() ? "" : ",") + std::string(p.cStr());
  if (!problems.empty()) line += " " + problems;
  return line;
}

void printId(Command& cmd, capnp::Text::Reader id) {
  JsonObject record;
  record.addString("id", id.cStr());
  cmd.print(record, [&](std::ostream& out) { out << id.cStr() << "\n"; });
}

}  // namespace rdz
