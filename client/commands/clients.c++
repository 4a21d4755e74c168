// rdzctl client add|list|show|set (SPEC §4, §8.2).
#include "client/command.h"

namespace rdz {
namespace {

void clientFlags(po::options_description& o) {
  o.add_options()("entity", po::value<std::string>(), "ZR7 or MDL")(
      "nom", po::value<std::string>(), "client name")("email", po::value<std::string>(),
                                                      "delivery addresses, comma-separated")(
      "cc", po::value<std::string>(), "copy addresses, comma-separated")(
      "methode", po::value<std::string>(), "email (default) or api")(
      "api-url", po::value<std::string>(), "URL for methode api")(
      "api-header", po::value<std::string>(), "'Name: value' header for methode api")(
      "api-consent", po::value<std::string>(),
      "oui: each lead of the API's JSON carries its consent proof (default non)");
}

void applyClientFlags(Command& cmd, schema::Client::Builder c) {
  if (cmd.has("nom")) c.setNom(cmd.get("nom"));
  if (cmd.has("email"))
    setList(c.initEmails(splitList(cmd.get("email")).size()), splitList(cmd.get("email")));
  if (cmd.has("cc")) setList(c.initCc(splitList(cmd.get("cc")).size()), splitList(cmd.get("cc")));
  if (cmd.has("methode")) {
    std::string m = cmd.get("methode");
    if (m != "email" && m != "api") throw UsageError("--methode must be email or api");
    c.setMethode(m == "api" ? schema::Methode::API : schema::Methode::EMAIL);
  }
  if (cmd.has("api-url")) c.setApiUrl(cmd.get("api-url"));
  if (cmd.has("api-header")) c.setApiHeader(cmd.get("api-header"));
  if (cmd.has("api-consent")) c.setApiConsent(ouiNon("api-consent", cmd.get("api-consent")));
  if (cmd.has("actif")) c.setActif(ouiNon("actif", cmd.get("actif")));
}

int clientAdd(Command& cmd) {
  for (auto f : {"entity", "nom", "email"}) {
    if (!cmd.has(f)) throw UsageError(std::string("client add needs --") + f);
  }
  auto req = cmd.connection().admin().addClientRequest();
  auto c = req.initClient();
  c.setEntity(entityArg(cmd.get("entity")));
  c.setId(cmd.get("id"));
  applyClientFlags(cmd, c);
  auto resp = req.send().wait(cmd.wait());
  printId(cmd, resp.getId());
  return EXIT_OK;
}

int clientList(Command& cmd) {
  auto req = cmd.connection().viewer().listClientsRequest();
  if (cmd.has("entity")) req.initEntity().setOne(entityArg(cmd.get("entity")));
  setPaging(cmd, req);
  auto resp = req.send().wait(cmd.wait());
  sayNextPage(cmd, resp.getNext());
  cmd.print(resp, [&](std::ostream& out) {
    for (auto c : resp.getClients()) {
      printLine(out, c, {"id", "entity", "nom", "methode", "actif", "emails"});
    }
  });
  return EXIT_OK;
}

capnp::Response<schema::Viewer::GetClientResults> fetchClient(Command& cmd, const std::string& id) {
  auto req = cmd.connection().viewer().getClientRequest();
  req.setId(id);
  return req.send().wait(cmd.wait());
}

int clientShow(Command& cmd) {
  auto resp = fetchClient(cmd, cmd.get("id"));
  cmd.print(resp.getClient(), [&](std::ostream& out) { printRecord(out, resp.getClient()); });
  return EXIT_OK;
}

int clientSet(Command& cmd) {
  if (cmd.has("entity")) throw UsageError("a client's entity never changes");
  auto current = fetchClient(cmd, cmd.get("id"));
  auto req = cmd.connection().admin().setClientRequest();
  req.setClient(current.getClient());
  applyClientFlags(cmd, req.getClient());
  // The record as sent (a request cannot be read once sent).
  capnp::MallocMessageBuilder sent;
  sent.setRoot(req.asReader().getClient());
  req.send().wait(cmd.wait());
  cmd.print(sent.getRoot<schema::Client>().asReader(),
            [](std::ostream&) {});  // silent unless --json
  return EXIT_OK;
}

}  // namespace

namespace commands {

CommandGroup clients() {
  return {
      {.noun = "client",
       .verb = "add",
       .usage = "client add --entity E --nom N --email A[,B] [--id ID] [--cc A] [--methode "
                "email|api]\n[--api-url URL] [--api-header 'K: V'] [--api-consent oui|non]",
       .about = "--api-consent oui: each lead of the API's JSON carries its consent proof\n"
                "(\"consentement\"); CSV files never do",
       .options =
           [](po::options_description& o) {
             clientFlags(o);
             o.add_options()("id", po::value<std::string>(),
                             "id (slug); generated from --nom if absent");
           },
       .run = clientAdd},
      {.noun = "client",
       .verb = "list",
       .usage = "client list [--entity E] [--limit N] [--after ID]",
       .options =
           [](po::options_description& o) {
             o.add_options()("entity", po::value<std::string>(), "ZR7 or MDL");
             addPaging(o);
           },
       .run = clientList},
      {.noun = "client",
       .verb = "show",
       .usage = "client show ID",
       .options =
           [](po::options_description& o) {
             o.add_options()("id", po::value<std::string>()->required(), "client id");
           },
       .positional = {"id"},
       .run = clientShow},
      {.noun = "client",
       .verb = "set",
       .usage = "client set ID [--nom N] [--email A[,B]] [--cc A] [--methode email|api]\n"
                "[--api-url URL] [--api-header 'K: V'] [--api-consent oui|non] [--actif oui|non]",
       .options =
           [](po::options_description& o) {
             clientFlags(o);
             o.add_options()("id", po::value<std::string>()->required(), "client id")(
                 "actif", po::value<std::string>(), "oui or non");
           },
       .positional = {"id"},
       .run = clientSet},
  };
}

}  // namespace commands
}  // namespace rdz
