// rdzctl produit list|add (SPEC §4, §8.2).
#include "client/command.h"

namespace rdz {
namespace {

int produitList(Command& cmd) {
  if (!cmd.has("entity")) throw UsageError("produit list needs --entity");
  auto req = cmd.connection().viewer().listProduitsRequest();
  req.setEntity(entityArg(cmd.get("entity")));
  auto resp = req.send().wait(cmd.wait());
  cmd.print(resp, [&](std::ostream& out) {
    for (auto p : resp.getProduits()) printLine(out, p, {"code", "libelle"});
  });
  return EXIT_OK;
}

int produitAdd(Command& cmd) {
  if (!cmd.has("entity") || !cmd.has("code")) throw UsageError("produit add needs --entity CODE");
  auto req = cmd.connection().admin().addProduitRequest();
  auto p = req.initProduit();
  p.setEntity(entityArg(cmd.get("entity")));
  p.setCode(cmd.get("code"));
  p.setLibelle(cmd.get("libelle"));
  // The record as sent (a request cannot be read once sent).
  capnp::MallocMessageBuilder sent;
  sent.setRoot(req.asReader().getProduit());
  req.send().wait(cmd.wait());
  cmd.print(sent.getRoot<schema::Produit>().asReader(),
            [](std::ostream&) {});  // silent unless --json
  return EXIT_OK;
}

}  // namespace

namespace commands {

CommandGroup produits() {
  return {
      {.noun = "produit",
       .verb = "list",
       .usage = "produit list --entity E",
       .options =
           [](po::options_description& o) {
             o.add_options()("entity", po::value<std::string>(), "ZR7 or MDL");
           },
       .run = produitList},
      {.noun = "produit",
       .verb = "add",
       .usage = "produit add --entity E CODE [LIBELLE]",
       .options =
           [](po::options_description& o) {
             o.add_options()("entity", po::value<std::string>(), "ZR7 or MDL")(
                 "code", po::value<std::string>(), "produit code")(
                 "libelle", po::value<std::string>(), "label");
           },
       .positional = {"code", "libelle"},
       .run = produitAdd},
  };
}

}  // namespace commands
}  // namespace rdz
