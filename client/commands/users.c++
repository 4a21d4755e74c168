// rdzctl user add|list|set (SPEC §8.2, §8.4): the people who log in to the web console. Needs an
// admin token bound to no entity.
#include "client/command.h"
#include "daemon/domain/users.h"
#include "daemon/domain/validation.h"

namespace rdz {
namespace {

schema::Role roleArg(const std::string& text) {
  if (text == "admin") return schema::Role::ADMIN;
  if (text == "viewer") return schema::Role::VIEWER;
  throw UsageError("--role must be admin or viewer");
}

void setEntity(schema::EntityFilter::Builder out, const std::string& text) {
  if (text.empty() || text == "*") {
    out.setAll();
  } else {
    out.setOne(entityArg(text));
  }
}

std::string userName(const std::string& text) {
  return normalizeUserName(text).value_or(text);
}

// The password, said once: rdzd keeps only its hash.
void printPassword(Command& cmd, const std::string& name, capnp::Text::Reader password) {
  JsonObject json;
  json.addString("name", name).addString("password", password.cStr());
  cmd.print(json, [&](std::ostream& out) {
    out << "user " << name << ": password " << password.cStr()
        << "\n(shown once: rdzd keeps only its hash; `rdzctl user set " << name
        << " --password` makes a new one)\n";
  });
}

int userAdd(Command& cmd) {
  if (!cmd.has("name") || !cmd.has("role")) {
    throw UsageError("user add needs NAME --role admin|viewer");
  }
  auto req = cmd.connection().admin().addUserRequest();
  auto user = req.initUser();
  user.setName(cmd.get("name"));
  user.setRole(roleArg(cmd.get("role")));
  setEntity(user.initEntity(), cmd.get("entity"));
  auto resp = req.send().wait(cmd.wait());
  printPassword(cmd, userName(cmd.get("name")), resp.getPassword());
  return EXIT_OK;
}

int userList(Command& cmd) {
  auto req = cmd.connection().admin().listUsersRequest();
  setPaging(cmd, req);
  auto resp = req.send().wait(cmd.wait());
  sayNextPage(cmd, resp.getNext());
  cmd.print(resp, [&](std::ostream& out) {
    for (auto u : resp.getUsers()) printLine(out, u, {"name", "role", "entity", "actif"});
  });
  return EXIT_OK;
}

int userSet(Command& cmd) {
  if (!cmd.has("name")) throw UsageError("user set needs NAME");
  std::string name = userName(cmd.get("name"));
  // The current record (users are few: pages until found), then the flags on top of it.
  capnp::MallocMessageBuilder message;
  auto user = message.initRoot<schema::User>();
  bool found = false;
  std::string after;
  while (!found) {
    auto page = cmd.connection().admin().listUsersRequest();
    page.setAfter(after);
    auto resp = page.send().wait(cmd.wait());
    for (auto u : resp.getUsers()) {
      if (u.getName() == name) {
        user.setName(u.getName());
        user.setRole(u.getRole());
        user.setEntity(u.getEntity());
        user.setActif(u.getActif());
        found = true;
      }
    }
    if (resp.getNext().size() == 0) break;
    after = resp.getNext();
  }
  if (!found) throw std::runtime_error("no such user: " + name);
  if (cmd.has("role")) user.setRole(roleArg(cmd.get("role")));
  if (cmd.has("entity")) setEntity(user.initEntity(), cmd.get("entity"));
  if (cmd.has("actif")) user.setActif(ouiNon("actif", cmd.get("actif")));
  auto req = cmd.connection().admin().setUserRequest();
  req.setUser(user.asReader());
  req.setNewPassword(cmd.has("password"));
  auto resp = req.send().wait(cmd.wait());
  if (cmd.has("password")) {
    printPassword(cmd, name, resp.getPassword());
  } else {
    cmd.print(user.asReader(), [](std::ostream&) {});  // silent unless --json
  }
  return EXIT_OK;
}

}  // namespace

namespace commands {

CommandGroup users() {
  return {
      {.noun = "user",
       .verb = "add",
       .usage = "user add NAME --role admin|viewer [--entity E]",
       .about = "a person of the web console (rdz-console); prints a generated password\n"
                "once (rdzd keeps its scrypt hash only). --entity: sees and changes only\n"
                "that entity. Needs an admin token bound to no entity",
       .options =
           [](po::options_description& o) {
             o.add_options()("name", po::value<std::string>(), "login name (a-z 0-9 . _ @ -)")(
                 "role", po::value<std::string>(), "admin or viewer")(
                 "entity", po::value<std::string>(), "ZR7 or MDL");
           },
       .positional = {"name"},
       .run = userAdd},
      {.noun = "user",
       .verb = "list",
       .usage = "user list [--limit N] [--after NAME]",
       .options = [](po::options_description& o) { addPaging(o); },
       .run = userList},
      {.noun = "user",
       .verb = "set",
       .usage = "user set NAME [--password] [--actif oui|non] [--role admin|viewer]\n"
                "[--entity E|*]",
       .about = "--password: a new generated password, printed once; --actif non: the user\n"
                "can no longer log in and its open console sessions end",
       .options =
           [](po::options_description& o) {
             o.add_options()("name", po::value<std::string>(), "login name")(
                 "password", "make a new password (printed once)")(
                 "actif", po::value<std::string>(), "oui or non")(
                 "role", po::value<std::string>(), "admin or viewer")(
                 "entity", po::value<std::string>(), "ZR7, MDL or * (all)");
           },
       .positional = {"name"},
       .run = userSet},
  };
}

}  // namespace commands
}  // namespace rdz
