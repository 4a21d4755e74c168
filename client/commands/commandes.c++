// rdzctl commande add|list|show|set (SPEC §4, §8.2).
#include "client/command.h"

namespace rdz {
namespace {

void commandeFlags(po::options_description& o) {
  o.add_options()("produit", po::value<std::string>(), "produit code")(
      "quota-semaine", po::value<std::string>(), "weekly quota, 1..100000")(
      "quota-jour", po::value<std::string>(), "daily cap (0: none)")(
      "departements", po::value<std::string>(), "33,40 or * (default *)")(
      "priorite", po::value<std::string>(), "1..9, 1 served first (default 5)")(
      "lb-max-pct", po::value<std::string>(), "share of the weekly quota LB may fill (0..100)")(
      "fallback", po::value<std::string>(), "oui|non: accept the other entity's leftovers")(
      "jours", po::value<std::string>(), "delivery days (default lun,mar,mer,jeu,ven)")(
      "debut", po::value<std::string>(), "first day AAAA-MM-JJ")("fin", po::value<std::string>(),
                                                                 "last day AAAA-MM-JJ");
}

void applyCommandeFlags(Command& cmd, schema::Commande::Builder c) {
  if (cmd.has("produit")) c.setProduit(cmd.get("produit"));
  if (cmd.has("quota-semaine")) {
    c.setQuotaSemaine(numberArg("quota-semaine", cmd.get("quota-semaine"), 1000000));
  }
  if (cmd.has("quota-jour"))
    c.setQuotaJour(numberArg("quota-jour", cmd.get("quota-jour"), 1000000));
  if (cmd.has("departements")) {
    auto d = splitList(cmd.get("departements"));
    setList(c.initDepartements(d.size()), d);
  }
  if (cmd.has("priorite")) c.setPriorite(numberArg("priorite", cmd.get("priorite"), 255));
  if (cmd.has("lb-max-pct")) c.setLbMaxPct(numberArg("lb-max-pct", cmd.get("lb-max-pct"), 255));
  if (cmd.has("fallback")) c.setFallback(ouiNon("fallback", cmd.get("fallback")));
  if (cmd.has("jours")) {
    auto j = splitList(cmd.get("jours"));
    setList(c.initJours(j.size()), j);
  }
  if (cmd.has("debut")) c.setDebut(cmd.get("debut"));
  if (cmd.has("fin")) c.setFin(cmd.get("fin"));
  if (cmd.has("actif")) c.setActif(ouiNon("actif", cmd.get("actif")));
}

int commandeAdd(Command& cmd) {
  for (auto f : {"client", "produit", "quota-semaine"}) {
    if (!cmd.has(f)) throw UsageError(std::string("commande add needs --") + f);
  }
  auto req = cmd.connection().admin().addCommandeRequest();
  auto c = req.initCommande();
  c.setClient(cmd.get("client"));
  setList(c.initDepartements(1), {"*"});
  setList(c.initJours(5), {"lun", "mar", "mer", "jeu", "ven"});
  applyCommandeFlags(cmd, c);
  auto resp = req.send().wait(cmd.wait());
  printId(cmd, resp.getId());
  return EXIT_OK;
}

int commandeList(Command& cmd) {
  auto req = cmd.connection().viewer().listCommandesRequest();
  if (cmd.has("entity")) req.initEntity().setOne(entityArg(cmd.get("entity")));
  req.setClient(cmd.get("client"));
  setPaging(cmd, req);
  auto resp = req.send().wait(cmd.wait());
  sayNextPage(cmd, resp.getNext());
  cmd.print(resp, [&](std::ostream& out) {
    for (auto c : resp.getCommandes()) {
      printLine(out, c,
                {"id", "entity", "client", "produit", "quota_semaine", "priorite", "departements",
                 "actif"});
    }
  });
  return EXIT_OK;
}

capnp::Response<schema::Viewer::GetCommandeResults> fetchCommande(Command& cmd,
                                                                  const std::string& id) {
  auto req = cmd.connection().viewer().getCommandeRequest();
  req.setId(id);
  return req.send().wait(cmd.wait());
}

int commandeShow(Command& cmd) {
  auto resp = fetchCommande(cmd, cmd.get("id"));
  cmd.print(resp.getCommande(), [&](std::ostream& out) { printRecord(out, resp.getCommande()); });
  return EXIT_OK;
}

int commandeSet(Command& cmd) {
  auto current = fetchCommande(cmd, cmd.get("id"));
  auto req = cmd.connection().admin().setCommandeRequest();
  req.setCommande(current.getCommande());
  applyCommandeFlags(cmd, req.getCommande());
  // The record as sent (a request cannot be read once sent).
  capnp::MallocMessageBuilder sent;
  sent.setRoot(req.asReader().getCommande());
  req.send().wait(cmd.wait());
  cmd.print(sent.getRoot<schema::Commande>().asReader(),
            [](std::ostream&) {});  // silent unless --json
  return EXIT_OK;
}

}  // namespace

namespace commands {

CommandGroup commandes() {
  return {
      {.noun = "commande",
       .verb = "add",
       .usage = "commande add --client ID --produit P --quota-semaine N [--quota-jour N]\n"
                "[--departements 33,40|*] [--priorite 1-9] [--lb-max-pct 0-100]\n"
                "[--fallback oui|non] [--jours lun,mar,mer,jeu,ven,sam,dim]\n"
                "[--debut DATE] [--fin DATE]",
       .options =
           [](po::options_description& o) {
             o.add_options()("client", po::value<std::string>(), "client id");
             commandeFlags(o);
           },
       .run = commandeAdd},
      {.noun = "commande",
       .verb = "list",
       .usage = "commande list [--entity E] [--client ID] [--limit N] [--after ID]",
       .options =
           [](po::options_description& o) {
             o.add_options()("entity", po::value<std::string>(), "ZR7 or MDL")(
                 "client", po::value<std::string>(), "only this client's commandes");
             addPaging(o);
           },
       .run = commandeList},
      {.noun = "commande",
       .verb = "show",
       .usage = "commande show ID",
       .about = "its settings, and the replacements it is owed (remplacements_dus)",
       .options =
           [](po::options_description& o) {
             o.add_options()("id", po::value<std::string>()->required(), "commande id");
           },
       .positional = {"id"},
       .run = commandeShow},
      {.noun = "commande",
       .verb = "set",
       .usage = "commande set ID [add's flags but --client] [--actif oui|non]",
       .options =
           [](po::options_description& o) {
             commandeFlags(o);
             o.add_options()("id", po::value<std::string>()->required(), "commande id")(
                 "actif", po::value<std::string>(), "oui or non");
           },
       .positional = {"id"},
       .run = commandeSet},
  };
}

}  // namespace commands
}  // namespace rdz
