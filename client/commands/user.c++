#include "client/commands/user.h"

#include <boost/program_options.hpp>

#include "client/connection.h"
#include "client/json.h"
#include "client/present.h"
#include "client/rdzctl.h"
#include "daemon/domain/users.h"
#include "daemon/domain/validation.h"

namespace rdz {

namespace po = boost::program_options;

namespace {

// Parses `args` against `options` (positional NAME first). False after printing --help.
bool parse(po::options_description& options, const std::vector<std::string>& args,
           po::variables_map& vm, std::ostream& out) {
  options.add_options()("help,h", "this help");
  po::positional_options_description pos;
  pos.add("name", 1);
  po::store(po::command_line_parser(args).options(options).positional(pos).run(), vm);
  if (vm.count("help")) {
    out << options << "\n";
    return false;
  }
  po::notify(vm);
  return true;
}

std::string get(const po::variables_map& vm, const char* name) {
  return vm.count(name) ? vm[name].as<std::string>() : std::string();
}

schema::Role roleArg(const std::string& text) {
  if (text == "admin") return schema::Role::ADMIN;
  if (text == "viewer") return schema::Role::VIEWER;
  throw po::error("--role must be admin or viewer");
}

void setEntity(schema::EntityFilter::Builder out, const std::string& text) {
  if (text.empty() || text == "*") {
    out.setAll();
    return;
  }
  auto e = parseEntity(text);
  if (!e) throw po::error("--entity must be ZR7 or MDL, not '" + text + "'");
  out.setOne(static_cast<schema::Entity>(*e));
}

// The password, said once: rdzd keeps only its hash.
void printPassword(std::ostream& out, bool json, const std::string& name,
                   capnp::Text::Reader password) {
  if (json) {
    out << "{\"name\":" << jsonString(name) << ",\"password\":" << jsonString(password.cStr())
        << "}\n";
  } else {
    out << "user " << name << ": password " << password.cStr()
        << "\n(shown once: rdzd keeps only its hash; `rdzctl user set " << name
        << " --password` makes a new one)\n";
  }
}

int userAdd(const std::vector<std::string>& args, bool json,
            const std::function<Connection&()>& connection, std::ostream& out) {
  po::options_description o("rdzctl user add NAME --role admin|viewer [--entity E]");
  o.add_options()("name", po::value<std::string>(), "login name (a-z 0-9 . _ @ -)")(
      "role", po::value<std::string>(), "admin or viewer")(
      "entity", po::value<std::string>(), "ZR7 or MDL: sees and changes only that entity");
  po::variables_map vm;
  if (!parse(o, args, vm, out)) return EXIT_OK;
  if (!vm.count("name") || !vm.count("role")) {
    throw po::error("user add needs NAME --role admin|viewer");
  }
  auto req = connection().admin().addUserRequest();
  auto user = req.initUser();
  user.setName(get(vm, "name"));
  user.setRole(roleArg(get(vm, "role")));
  setEntity(user.initEntity(), get(vm, "entity"));
  auto resp = req.send().wait(connection().waitScope());
  printPassword(out, json, normalizeUserName(get(vm, "name")).value_or(""), resp.getPassword());
  return EXIT_OK;
}

int userList(const std::vector<std::string>& args, bool json,
             const std::function<Connection&()>& connection, std::ostream& out) {
  po::options_description o("rdzctl user list");
  o.add_options()("limit", po::value<std::string>(), "at most N users (default and max 1000)")(
      "after", po::value<std::string>(), "start after this name");
  po::variables_map vm;
  if (!parse(o, args, vm, out)) return EXIT_OK;
  auto req = connection().admin().listUsersRequest();
  if (vm.count("limit")) req.setLimit(static_cast<uint32_t>(std::stoul(get(vm, "limit"))));
  req.setAfter(get(vm, "after"));
  auto resp = req.send().wait(connection().waitScope());
  if (json) {
    out << toJson(resp) << "\n";
  } else {
    for (auto u : resp.getUsers()) out << textLine(u, {"name", "role", "entity", "actif"}) << "\n";
  }
  return EXIT_OK;
}

int userSet(const std::vector<std::string>& args, bool json,
            const std::function<Connection&()>& connection, std::ostream& out) {
  po::options_description o("rdzctl user set NAME [--password] [--actif oui|non]");
  o.add_options()("name", po::value<std::string>(), "login name")(
      "password", "make a new password (printed once)")(
      "actif", po::value<std::string>(), "oui or non (non: the user can no longer log in, and "
                                         "its open console sessions end)")(
      "role", po::value<std::string>(), "admin or viewer")(
      "entity", po::value<std::string>(), "ZR7, MDL or * (all)");
  po::variables_map vm;
  if (!parse(o, args, vm, out)) return EXIT_OK;
  if (!vm.count("name")) throw po::error("user set needs NAME");
  std::string name = normalizeUserName(get(vm, "name")).value_or(get(vm, "name"));
  // The current record, then the flags on top of it.
  std::string after;
  capnp::MallocMessageBuilder message;
  auto user = message.initRoot<schema::User>();
  bool have = false;
  for (;;) {
    auto page = connection().admin().listUsersRequest();
    page.setAfter(after);
    auto resp = page.send().wait(connection().waitScope());
    for (auto u : resp.getUsers()) {
      if (u.getName() == name) {
        user.setName(u.getName());
        user.setRole(u.getRole());
        user.setEntity(u.getEntity());
        user.setActif(u.getActif());
        have = true;
      }
    }
    if (have || resp.getNext().size() == 0) break;
    after = resp.getNext();
  }
  if (!have) throw std::runtime_error("no such user: " + name);
  if (vm.count("role")) user.setRole(roleArg(get(vm, "role")));
  if (vm.count("entity")) setEntity(user.initEntity(), get(vm, "entity"));
  if (vm.count("actif")) {
    auto b = parseBool(get(vm, "actif"));
    if (!b) throw po::error("--actif must be oui or non");
    user.setActif(*b);
  }
  auto req = connection().admin().setUserRequest();
  req.setUser(user.asReader());
  req.setNewPassword(vm.count("password") > 0);
  auto resp = req.send().wait(connection().waitScope());
  if (vm.count("password")) {
    printPassword(out, json, name, resp.getPassword());
  } else if (json) {
    out << toJson(user.asReader()) << "\n";
  }
  return EXIT_OK;
}

}  // namespace

int userCommand(const std::string& verb, const std::vector<std::string>& args, bool json,
                const std::function<Connection&()>& connection, std::ostream& out) {
  if (verb == "add") return userAdd(args, json, connection, out);
  if (verb == "list") return userList(args, json, connection, out);
  if (verb == "set") return userSet(args, json, connection, out);
  throw po::error("unknown command 'user " + verb + "'");
}

}  // namespace rdz
