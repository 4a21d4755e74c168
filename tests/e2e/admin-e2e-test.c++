// rdzctl against a real rdzd (SPEC §3.2, §8.2, §9): the contract scripts depend on, exit codes
// included.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "tests/e2e/harness.h"

namespace rdz::e2e {
namespace {

using Args = std::vector<std::string>;

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// The object of `list` (a JSON array) whose "id" is `id`.
capnp::JsonValue::Reader byId(capnp::List<capnp::JsonValue>::Reader list, const std::string& id) {
  for (auto item : list) {
    if (textAt(item, "id") == id) return item;
  }
  throw std::runtime_error("no element with id " + id);
}

mode_t modeOf(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) throw std::runtime_error("cannot stat " + path);
  return st.st_mode;
}

// A complete, valid lead (every SPEC §3.1 field that a form sends).
Args validLead(const std::string& phone = "06 12 34 56 78", const std::string& produit = "PV") {
  return {"produit=" + produit,
          "nom=Dupont-Lefèvre",
          "prenom=Élodie",
          "telephone=" + phone,
          "email=elodie.dupont@exemple.fr",
          "code_postal=33000",
          "ville=Bordeaux",
          "proprietaire=oui",
          "type_logement=maison",
          "consentement=true",
          "consentement_texte=J'accepte d'être recontactée.",
          "page_url=https://exemple.fr/devis?etape=3",
          "ip=192.0.2.7",
          "user_agent=Mozilla/5.0 (X11; Linux x86_64)",
          "source=site-pv",
          "utm_source=google",
          "utm_medium=cpc",
          "utm_campaign=renov-2026"};
}

Args submitArgs(const std::string& entity, const Args& fields, const std::string& key = "") {
  Args args = {"lead", "submit", "--entity", entity};
  if (!key.empty()) args.insert(args.end(), {"--idempotency-key", key});
  args.insert(args.end(), fields.begin(), fields.end());
  return args;
}

// ---- embedded default (SPEC §9) --------------------------------------------------------------

TEST(EmbeddedDefaultE2e, NoFlagsNoConfigDataInRdzDataAndRdzctlFindsIt) {
  test::TempDir tmp;
  Daemon rdzd(tmp.path(), {}, "rdz-data/rdzd.sock", tmp / "rdzd.log");
  rdzd.start();

  std::string data = tmp / "rdz-data";
  EXPECT_EQ(modeOf(data) & 07777, 0700u);
  for (auto name : {"admin.token", "ingest-zr7.token", "ingest-mdl.token", "tokens"}) {
    mode_t mode = modeOf(data + "/" + name);
    EXPECT_TRUE(S_ISREG(mode)) << name;
    EXPECT_EQ(mode & 07777, 0600u) << name;
  }
  mode_t socketMode = modeOf(data + "/rdzd.sock");
  EXPECT_TRUE(S_ISSOCK(socketMode));
  EXPECT_EQ(socketMode & 07777, 0660u);
  EXPECT_TRUE(std::filesystem::is_directory(data + "/db"));
  // Three distinct tokens.
  std::string admin = test::readFile(data + "/admin.token");
  std::string zr7 = test::readFile(data + "/ingest-zr7.token");
  std::string mdl = test::readFile(data + "/ingest-mdl.token");
  EXPECT_GE(admin.size(), 32u);
  EXPECT_NE(admin, zr7);
  EXPECT_NE(admin, mdl);
  EXPECT_NE(zr7, mdl);
  // The hashes file holds no token in clear.
  std::string hashes = test::readFile(data + "/tokens");
  for (std::string token : {admin, zr7, mdl}) {
    token.erase(token.find_last_not_of("\n ") + 1);
    EXPECT_EQ(hashes.find(token), std::string::npos);
  }

  // rdzctl in the same directory, no flags, no RDZ_* environment.
  auto added = run({"client", "add", "--entity", "ZR7", "--nom", "Soleil Plus", "--email",
                    "achat@soleil.fr", "--id", "soleil"},
                   inDir(tmp.path()));
  ASSERT_EQ(added.exitCode, 0) << describe(added);
  EXPECT_EQ(added.out, "soleil\n");
  auto listed = run({"--json", "client", "list"}, inDir(tmp.path()));
  ASSERT_EQ(listed.exitCode, 0) << describe(listed);
  Json json(listed.out);
  ASSERT_EQ(array(at(json.root(), "clients")).size(), 1u);
  EXPECT_EQ(textAt(array(at(json.root(), "clients"))[0], "nom"), "Soleil Plus");

  // Elsewhere there is no rdz-data: cannot connect.
  test::TempDir elsewhere;
  auto lost = run({"client", "list"}, inDir(elsewhere.path()));
  EXPECT_EQ(lost.exitCode, 3) << describe(lost);

  // A second start reuses the tokens.
  EXPECT_EQ(rdzd.stop(), 0) << rdzd.log();
  rdzd.start();
  EXPECT_EQ(test::readFile(data + "/admin.token"), admin);
  auto again = run({"client", "show", "soleil"}, inDir(tmp.path()));
  EXPECT_EQ(again.exitCode, 0) << describe(again);
}

// ---- clients, commandes, produits -------------------------------------------------------------

using AdminE2e = E2eTest;

TEST_F(AdminE2e, ClientsThroughRdzctl) {
  std::string generated = ctlOk({"client", "add", "--entity", "ZR7", "--nom", "Solar Co", "--email",
                                 "a@solar.fr,b@solar.fr"});
  EXPECT_FALSE(generated.empty());
  EXPECT_EQ(generated.find_first_of(" \t\n"), std::string::npos) << generated;

  auto added = ctlJson({"client", "add", "--entity", "MDL", "--nom", "Chaleur SA", "--email",
                        "leads@chaleur.fr", "--id", "chaleur", "--cc", "boss@chaleur.fr"});
  EXPECT_EQ(textAt(added.root(), "id"), "chaleur");

  auto all = ctlJson({"client", "list"});
  auto clients = array(at(all.root(), "clients"));
  ASSERT_EQ(clients.size(), 2u);
  auto solar = byId(clients, generated);
  EXPECT_EQ(textAt(solar, "nom"), "Solar Co");
  EXPECT_EQ(texts(at(solar, "emails")), (std::vector<std::string>{"a@solar.fr", "b@solar.fr"}));
  EXPECT_EQ(textAt(solar, "entity"), "ZR7");
  EXPECT_EQ(textAt(solar, "methode"), "email");
  EXPECT_TRUE(boolAt(solar, "actif"));
  auto chaleur = byId(clients, "chaleur");
  EXPECT_EQ(textAt(chaleur, "entity"), "MDL");
  EXPECT_EQ(texts(at(chaleur, "cc")), std::vector<std::string>{"boss@chaleur.fr"});

  auto mdlOnly = ctlJson({"client", "list", "--entity", "MDL"});
  ASSERT_EQ(array(at(mdlOnly.root(), "clients")).size(), 1u);
  EXPECT_EQ(textAt(array(at(mdlOnly.root(), "clients"))[0], "id"), "chaleur");

  // Human output: one line per client, with its id.
  std::string human = ctlOk({"client", "list"});
  EXPECT_NE(human.find(generated), std::string::npos);
  EXPECT_NE(human.find("chaleur"), std::string::npos);

  auto shown = ctlJson({"client", "show", "chaleur"});
  EXPECT_EQ(textAt(shown.root(), "nom"), "Chaleur SA");
  EXPECT_EQ(texts(at(shown.root(), "emails")), std::vector<std::string>{"leads@chaleur.fr"});

  ctlOk({"client", "set", "chaleur", "--actif", "non", "--nom", "Chaleur SAS"});
  auto after = ctlJson({"client", "show", "chaleur"});
  EXPECT_FALSE(boolAt(after.root(), "actif"));
  EXPECT_EQ(textAt(after.root(), "nom"), "Chaleur SAS");
  EXPECT_EQ(textAt(after.root(), "entity"), "MDL");
  EXPECT_EQ(texts(at(after.root(), "emails")), std::vector<std::string>{"leads@chaleur.fr"});

  // Refusals and usage errors.
  EXPECT_EQ(ctl({"client", "show", "personne"}).exitCode, 1);
  auto taken = ctl({"client", "add", "--entity", "ZR7", "--nom", "Dup", "--email", "x@y.fr",
                    "--id", "chaleur"});
  EXPECT_EQ(taken.exitCode, 1) << "an id already taken";
  EXPECT_EQ(taken.err, "rdzctl: client : l'identifiant chaleur est déjà pris\n");
  auto badEmail = ctl({"client", "add", "--entity", "ZR7", "--nom", "Mal", "--email", "x@"});
  EXPECT_EQ(badEmail.exitCode, 1);
  EXPECT_EQ(badEmail.err, "rdzctl: client : adresse e-mail invalide : « x@ »\n");
  EXPECT_EQ(ctl({"client", "add", "--entity", "XYZ", "--nom", "N", "--email", "x@y.fr"}).exitCode,
            2);
  EXPECT_EQ(ctl({"client", "add", "--entity", "ZR7", "--nom", "N"}).exitCode, 2);
  EXPECT_EQ(ctl({"client", "set", "chaleur", "--entity", "ZR7"}).exitCode, 2);
  EXPECT_EQ(ctl({"client", "set", "chaleur", "--actif", "peut-etre"}).exitCode, 2);
  EXPECT_EQ(ctl({"client", "frobnicate"}).exitCode, 2);
  EXPECT_EQ(ctl({"nonsense"}).exitCode, 2);
  EXPECT_EQ(ctl({}).exitCode, 2);
  EXPECT_EQ(ctl({"client", "list", "--bogus-flag"}).exitCode, 2);
  // Nothing of the refused ones was stored.
  EXPECT_EQ(array(at(ctlJson({"client", "list"}).root(), "clients")).size(), 2u);
}

TEST_F(AdminE2e, CommandesThroughRdzctl) {
  ctlOk(
      {"client", "add", "--entity", "ZR7", "--nom", "Solar", "--email", "a@s.fr", "--id", "solar"});
  ctlOk(
      {"client", "add", "--entity", "ZR7", "--nom", "Other", "--email", "o@o.fr", "--id", "other"});
  std::string first =
      ctlOk({"commande", "add", "--client", "solar", "--produit", "PV", "--quota-semaine", "50"});
  EXPECT_FALSE(first.empty());
  auto second = ctlJson({"commande", "add", "--client", "solar", "--produit", "PAC",
                         "--quota-semaine", "20", "--departements", "33,40", "--priorite", "2",
                         "--quota-jour", "5", "--jours", "lun,mer"});
  std::string secondId = textAt(second.root(), "id");
  EXPECT_NE(secondId, first);
  std::string otherId =
      ctlOk({"commande", "add", "--client", "other", "--produit", "ITE", "--quota-semaine", "1"});

  auto shown = ctlJson({"commande", "show", first});
  auto c = shown.root();
  EXPECT_EQ(textAt(c, "id"), first);
  EXPECT_EQ(textAt(c, "client"), "solar");
  EXPECT_EQ(textAt(c, "entity"), "ZR7");
  EXPECT_EQ(textAt(c, "produit"), "PV");
  EXPECT_EQ(numberAt(c, "quota_semaine"), 50);
  EXPECT_EQ(texts(at(c, "departements")), std::vector<std::string>{"*"});
  EXPECT_EQ(numberAt(c, "priorite"), 5);
  EXPECT_EQ(numberAt(c, "lb_max_pct"), 0);
  EXPECT_FALSE(boolAt(c, "fallback"));
  EXPECT_TRUE(boolAt(c, "actif"));
  EXPECT_EQ(texts(at(c, "jours")), (std::vector<std::string>{"lun", "mar", "mer", "jeu", "ven"}));

  auto shown2 = ctlJson({"commande", "show", secondId});
  EXPECT_EQ(texts(at(shown2.root(), "departements")), (std::vector<std::string>{"33", "40"}));
  EXPECT_EQ(numberAt(shown2.root(), "priorite"), 2);
  EXPECT_EQ(numberAt(shown2.root(), "quota_jour"), 5);
  EXPECT_EQ(texts(at(shown2.root(), "jours")), (std::vector<std::string>{"lun", "mer"}));

  auto solarOnly = ctlJson({"commande", "list", "--client", "solar"});
  auto list = array(at(solarOnly.root(), "commandes"));
  ASSERT_EQ(list.size(), 2u);
  byId(list, first);
  byId(list, secondId);
  EXPECT_EQ(array(at(ctlJson({"commande", "list"}).root(), "commandes")).size(), 3u);
  EXPECT_EQ(array(at(ctlJson({"commande", "list", "--entity", "MDL"}).root(), "commandes")).size(),
            0u);
  std::string human = ctlOk({"commande", "list", "--client", "other"});
  EXPECT_NE(human.find(otherId), std::string::npos);
  EXPECT_EQ(human.find(first), std::string::npos);

  ctlOk({"commande", "set", first, "--quota-semaine", "80"});
  auto changed = ctlJson({"commande", "show", first});
  EXPECT_EQ(numberAt(changed.root(), "quota_semaine"), 80);
  EXPECT_EQ(textAt(changed.root(), "produit"), "PV");  // untouched fields stay

  // Refusals: exit 1, nothing stored or changed.
  auto unknown =
      ctl({"commande", "add", "--client", "personne", "--produit", "PV", "--quota-semaine", "10"});
  EXPECT_EQ(unknown.exitCode, 1) << describe(unknown);
  EXPECT_EQ(unknown.err, "rdzctl: client inconnu : personne\n");
  // rdzd's message alone, in French (daemon/domain/commerce.c++): what the console shows too.
  for (auto quota : {"0", "100001"}) {
    auto bad =
        ctl({"commande", "add", "--client", "solar", "--produit", "PV", "--quota-semaine", quota});
    EXPECT_EQ(bad.exitCode, 1) << quota << "\n" << describe(bad);
    EXPECT_EQ(bad.err, "rdzctl: commande : quota_semaine doit être entre 1 et 100000\n");
    auto badSet = ctl({"commande", "set", first, "--quota-semaine", quota});
    EXPECT_EQ(badSet.exitCode, 1) << quota << "\n" << describe(badSet);
    EXPECT_EQ(badSet.err, bad.err);
  }
  auto badPriorite = ctl({"commande", "add", "--client", "solar", "--produit", "PV",
                          "--quota-semaine", "10", "--priorite", "0"});
  EXPECT_EQ(badPriorite.exitCode, 1);
  EXPECT_EQ(badPriorite.err, "rdzctl: commande : priorite doit être entre 1 et 9\n");
  auto badDepartement = ctl({"commande", "add", "--client", "solar", "--produit", "PV",
                             "--quota-semaine", "10", "--departements", "33,99"});
  EXPECT_EQ(badDepartement.err, "rdzctl: commande : département inconnu : « 99 »\n");
  auto unknownCommande = ctl({"commande", "show", "C999999"});
  EXPECT_EQ(unknownCommande.exitCode, 1);
  EXPECT_EQ(unknownCommande.err, "rdzctl: commande inconnue : C999999\n");
  EXPECT_EQ(array(at(ctlJson({"commande", "list"}).root(), "commandes")).size(), 3u);
  EXPECT_EQ(numberAt(ctlJson({"commande", "show", first}).root(), "quota_semaine"), 80);

  // Usage errors: exit 2.
  EXPECT_EQ(ctl({"commande", "add", "--client", "solar", "--produit", "PV"}).exitCode, 2);
  EXPECT_EQ(ctl({"commande", "add", "--client", "solar", "--produit", "PV", "--quota-semaine",
                 "beaucoup"})
                .exitCode,
            2);
  EXPECT_EQ(ctl({"commande", "add", "--client", "solar", "--produit", "PV", "--quota-semaine", "5",
                 "--fallback", "bof"})
                .exitCode,
            2);
  EXPECT_EQ(ctl({"commande", "show"}).exitCode, 2);
}

TEST_F(AdminE2e, ProduitsPerEntity) {
  auto defaults = ctlJson({"produit", "list", "--entity", "ZR7"});
  std::vector<std::string> codes;
  for (auto p : array(at(defaults.root(), "produits"))) codes.push_back(textAt(p, "code"));
  EXPECT_TRUE(contains(codes, "PV") && contains(codes, "PAC") && contains(codes, "ITE"));
  EXPECT_FALSE(contains(codes, "BAL"));

  // Unknown produit: stored, invalid.
  auto before = ctlJson(submitArgs("ZR7", validLead("0611000001", "BAL")));
  EXPECT_EQ(textAt(before.root(), "statut"), "invalid");
  EXPECT_TRUE(contains(texts(at(before.root(), "problemes")), "produit.unknown"));

  ctlOk({"produit", "add", "--entity", "ZR7", "BAL", "Ballon thermodynamique"});
  auto after = ctlJson({"produit", "list", "--entity", "ZR7"});
  bool found = false;
  for (auto p : array(at(after.root(), "produits"))) {
    if (textAt(p, "code") == "BAL") {
      found = true;
      EXPECT_EQ(textAt(p, "libelle"), "Ballon thermodynamique");
    }
  }
  EXPECT_TRUE(found) << ctlOk({"produit", "list", "--entity", "ZR7"});
  EXPECT_NE(ctlOk({"produit", "list", "--entity", "ZR7"}).find("BAL"), std::string::npos);
  // The other entity's catalogue is its own.
  EXPECT_EQ(ctlOk({"produit", "list", "--entity", "MDL"}).find("BAL"), std::string::npos);

  auto zr7 = ctlJson(submitArgs("ZR7", validLead("0611000002", "BAL")));
  EXPECT_EQ(textAt(zr7.root(), "statut"), "new")
      << ctlOk({"lead", "show", textAt(zr7.root(), "id")});
  auto mdl = ctlJson(submitArgs("MDL", validLead("0611000003", "BAL")));
  EXPECT_EQ(textAt(mdl.root(), "statut"), "invalid");

  EXPECT_EQ(ctl({"produit", "list"}).exitCode, 2);
  EXPECT_EQ(ctl({"produit", "add", "--entity", "ZR7"}).exitCode, 2);
}

// ---- leads ------------------------------------------------------------------------------------

TEST_F(AdminE2e, LeadSubmitShowFind) {
  auto answer = ctlJson(submitArgs("ZR7", validLead()));
  std::string id = textAt(answer.root(), "id");
  EXPECT_EQ(textAt(answer.root(), "statut"), "new");
  EXPECT_TRUE(texts(at(answer.root(), "problemes")).empty());

  auto shown = ctlJson({"lead", "show", id});
  auto lead = shown.root();
  for (auto name : {"produit",
                    "nom",
                    "prenom",
                    "telephone",
                    "email",
                    "code_postal",
                    "ville",
                    "proprietaire",
                    "type_logement",
                    "consentement",
                    "consentement_texte",
                    "consentement_le",
                    "page_url",
                    "ip",
                    "user_agent",
                    "source",
                    "utm_source",
                    "utm_medium",
                    "utm_campaign",
                    "recu_le",
                    "id",
                    "entity",
                    "departement",
                    "telephone_e164",
                    "statut",
                    "problemes"}) {
    EXPECT_TRUE(has(lead, name)) << name;
  }
  EXPECT_EQ(textAt(lead, "id"), id);
  EXPECT_EQ(textAt(lead, "entity"), "ZR7");
  EXPECT_EQ(textAt(lead, "statut"), "new");
  EXPECT_EQ(textAt(lead, "produit"), "PV");
  EXPECT_EQ(textAt(lead, "nom"), "Dupont-Lefèvre");
  EXPECT_EQ(textAt(lead, "prenom"), "Élodie");
  EXPECT_EQ(textAt(lead, "telephone"), "06 12 34 56 78");
  EXPECT_EQ(textAt(lead, "telephone_e164"), "+33612345678");
  EXPECT_EQ(textAt(lead, "email"), "elodie.dupont@exemple.fr");
  EXPECT_EQ(textAt(lead, "code_postal"), "33000");
  EXPECT_EQ(textAt(lead, "departement"), "33");
  EXPECT_EQ(textAt(lead, "ville"), "Bordeaux");
  EXPECT_EQ(textAt(lead, "type_logement"), "maison");
  EXPECT_TRUE(boolAt(lead, "consentement"));
  EXPECT_EQ(textAt(lead, "consentement_texte"), "J'accepte d'être recontactée.");
  EXPECT_EQ(textAt(lead, "page_url"), "https://exemple.fr/devis?etape=3");
  EXPECT_EQ(textAt(lead, "ip"), "192.0.2.7");
  EXPECT_EQ(textAt(lead, "user_agent"), "Mozilla/5.0 (X11; Linux x86_64)");
  EXPECT_EQ(textAt(lead, "source"), "site-pv");
  EXPECT_EQ(textAt(lead, "utm_source"), "google");
  EXPECT_EQ(textAt(lead, "utm_medium"), "cpc");
  EXPECT_EQ(textAt(lead, "utm_campaign"), "renov-2026");
  EXPECT_FALSE(textAt(lead, "recu_le").empty());
  EXPECT_EQ(textAt(lead, "consentement_le"), textAt(lead, "recu_le"));  // default
  EXPECT_TRUE(texts(at(lead, "problemes")).empty());

  // Human output of submit: id and statut.
  std::string line = ctlOk(submitArgs("MDL", validLead("0699887766")));
  EXPECT_EQ(line.rfind(" new"), line.size() - 4) << line;
  std::string mdlId = line.substr(0, line.find(' '));
  EXPECT_EQ(textAt(ctlJson({"lead", "show", mdlId}).root(), "entity"), "MDL");

  // Invalid fields: stored as invalid with machine-readable problemes.
  auto invalid =
      ctlJson(submitArgs("ZR7", {"produit=PV", "nom=Martin", "prenom=Luc", "telephone=12345",
                                 "code_postal=33000", "consentement=non"}));
  std::string invalidId = textAt(invalid.root(), "id");
  EXPECT_EQ(textAt(invalid.root(), "statut"), "invalid");
  auto problems = texts(at(invalid.root(), "problemes"));
  EXPECT_TRUE(contains(problems, "telephone.invalid")) << ::testing::PrintToString(problems);
  EXPECT_TRUE(contains(problems, "consentement.absent")) << ::testing::PrintToString(problems);
  auto stored = ctlJson({"lead", "show", invalidId});
  EXPECT_EQ(textAt(stored.root(), "statut"), "invalid");
  EXPECT_EQ(textAt(stored.root(), "telephone"), "12345");
  EXPECT_EQ(texts(at(stored.root(), "problemes")), problems);
  auto missing = ctlJson(submitArgs("ZR7", {"nom=Seul"}));
  EXPECT_EQ(textAt(missing.root(), "statut"), "invalid");
  EXPECT_TRUE(contains(texts(at(missing.root(), "problemes")), "code_postal.missing"));
  EXPECT_EQ(ctl({"lead", "show", textAt(missing.root(), "id")}).exitCode, 0);

  // find: any French form of the number, both entities unless told.
  auto found = ctlJson({"lead", "find", "--phone", "+33 6 12 34 56 78"});
  auto leads = array(at(found.root(), "leads"));
  ASSERT_EQ(leads.size(), 1u);
  EXPECT_EQ(textAt(leads[0], "id"), id);
  EXPECT_EQ(array(at(ctlJson({"lead", "find", "--phone", "0612345678", "--entity", "MDL"}).root(),
                     "leads"))
                .size(),
            0u);
  EXPECT_NE(ctlOk({"lead", "find", "--phone", "0612345678"}).find(id), std::string::npos);
  EXPECT_EQ(ctl({"lead", "show", "000000000000X"}).exitCode, 1);
  EXPECT_EQ(ctl({"lead", "find"}).exitCode, 2);
  EXPECT_EQ(ctl({"lead", "submit", "nom=X"}).exitCode, 2);                   // no --entity
  EXPECT_EQ(ctl({"lead", "submit", "--entity", "ZR7", "nom"}).exitCode, 2);  // not champ=valeur
  EXPECT_EQ(ctl({"lead", "submit", "--entity", "XX", "nom=X"}).exitCode, 2);
}

TEST_F(AdminE2e, IdempotencyAndDoubleSubmission) {
  auto first = ctlJson(submitArgs("ZR7", validLead(), "form-42"));
  std::string id = textAt(first.root(), "id");
  EXPECT_EQ(textAt(first.root(), "statut"), "new");

  // Same key, same body: same answer, nothing new.
  auto replay = ctlJson(submitArgs("ZR7", validLead(), "form-42"));
  EXPECT_EQ(textAt(replay.root(), "id"), id);
  EXPECT_EQ(textAt(replay.root(), "statut"), "new");
  auto found = ctlJson({"lead", "find", "--phone", "0612345678"});
  ASSERT_EQ(array(at(found.root(), "leads")).size(), 1u);

  // Same key, another body: refused, nothing stored.
  Args changed = validLead();
  changed[1] = "nom=Autre";
  auto conflict = ctl(submitArgs("ZR7", changed, "form-42"));
  EXPECT_EQ(conflict.exitCode, 1) << describe(conflict);
  EXPECT_FALSE(conflict.err.empty());
  EXPECT_EQ(array(at(ctlJson({"lead", "find", "--phone", "0612345678"}).root(), "leads")).size(),
            1u);
  // The key is per entity: the same key on MDL is a new submission.
  auto mdl = ctlJson(submitArgs("MDL", validLead(), "form-42"));
  EXPECT_NE(textAt(mdl.root(), "id"), id);
  EXPECT_EQ(textAt(mdl.root(), "statut"), "new");

  // Same phone (another form of it) + produit within 10 minutes, no key: a double submission.
  auto again = ctlJson(submitArgs("ZR7", validLead("+33612345678")));
  std::string againId = textAt(again.root(), "id");
  EXPECT_NE(againId, id);
  EXPECT_EQ(textAt(again.root(), "statut"), "invalid");
  EXPECT_TRUE(contains(texts(at(again.root(), "problemes")), "doublon.soumission"));
  auto shown = ctlJson({"lead", "show", againId});
  EXPECT_EQ(textAt(shown.root(), "doublon_de"), id);
  EXPECT_EQ(textAt(shown.root(), "statut"), "invalid");
  // Another produit is not a double submission.
  auto other = ctlJson(submitArgs("ZR7", validLead("0612345678", "PAC")));
  EXPECT_EQ(textAt(other.root(), "statut"), "new");
  EXPECT_EQ(array(at(ctlJson({"lead", "find", "--phone", "0612345678", "--entity", "ZR7"}).root(),
                     "leads"))
                .size(),
            3u);
}

TEST_F(AdminE2e, ImportJsonlAndCsv) {
  std::string longNom(500, 'x');
  std::string jsonl =
      R"({"produit":"PV","nom":"Import","prenom":"Un","telephone":"0611111111","code_postal":"33000","consentement":true,"recu_le":"2026-01-15T10:00:00+01:00"})"
      "\n"
      R"({"produit":"PV","nom":"Import","prenom":"Deux","telephone":"12","code_postal":"33000","consentement":"oui"})"
      "\n"
      "ceci n'est pas du JSON\n"
      R"({"produit":"PV","nom":")" +
      longNom +
      R"(","prenom":"Trois","telephone":"0611111113","code_postal":"33000","consentement":true})" +
      "\n";
  test::writeFile(tmp_ / "leads.jsonl", jsonl);
  auto r = ctl({"--json", "lead", "import", "--entity", "ZR7", tmp_ / "leads.jsonl"});
  EXPECT_EQ(r.exitCode, 1) << describe(r);
  Json result(r.out);
  EXPECT_EQ(numberAt(result.root(), "stored"), 1);
  EXPECT_EQ(numberAt(result.root(), "invalid"), 1);
  EXPECT_EQ(numberAt(result.root(), "refused"), 2);
  auto rows = array(at(result.root(), "rows"));
  ASSERT_EQ(rows.size(), 4u);
  for (unsigned i = 0; i < 4; ++i) EXPECT_EQ(numberAt(rows[i], "row"), i + 1);
  EXPECT_EQ(textAt(rows[0], "statut"), "new");
  EXPECT_EQ(textAt(rows[1], "statut"), "invalid");
  EXPECT_TRUE(contains(texts(at(rows[1], "problemes")), "telephone.invalid"));
  EXPECT_FALSE(textAt(rows[2], "refused").empty());
  EXPECT_FALSE(textAt(rows[3], "refused").empty());
  EXPECT_FALSE(has(rows[3], "id"));
  std::string jsonlId = textAt(rows[0], "id");
  auto kept = ctlJson({"lead", "show", jsonlId});
  EXPECT_EQ(textAt(kept.root(), "recu_le"), "2026-01-15T10:00:00+01:00");
  EXPECT_EQ(textAt(kept.root(), "nom"), "Import");
  EXPECT_EQ(ctl({"lead", "show", textAt(rows[1], "id")}).exitCode, 0);
  // The refused row was not stored.
  EXPECT_EQ(array(at(ctlJson({"lead", "find", "--phone", "0611111113"}).root(), "leads")).size(),
            0u);

  std::string csv =
      "produit;nom;prenom;telephone;code_postal;ville;consentement;recu_le\n"
      "PAC;Durand;\"Anne; Marie\";0622222221;40100;Dax;oui;2026-02-01T08:30:00+01:00\n"
      "PAC;Durand;Paul;0622222222;00100;Dax;non;\n"
      "PAC;" +
      longNom + ";Luc;0622222223;40100;Dax;oui;\n";
  test::writeFile(tmp_ / "leads.csv", csv);
  auto human = ctl({"lead", "import", "--entity", "MDL", tmp_ / "leads.csv"});
  EXPECT_EQ(human.exitCode, 1) << describe(human);
  // One line per row, then the totals.
  EXPECT_NE(human.out.find("row 1: stored "), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("row 2: stored "), std::string::npos) << human.out;
  EXPECT_NE(human.out.find(" invalid code_postal.invalid"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("row 3: refused"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("1 stored, 1 stored as invalid, 1 refused"), std::string::npos)
      << human.out;
  auto csvFound = ctlJson({"lead", "find", "--phone", "0622222221"});
  ASSERT_EQ(array(at(csvFound.root(), "leads")).size(), 1u);
  auto csvLead = array(at(csvFound.root(), "leads"))[0];
  EXPECT_EQ(textAt(csvLead, "entity"), "MDL");
  EXPECT_EQ(textAt(csvLead, "prenom"), "Anne; Marie");
  EXPECT_EQ(textAt(csvLead, "ville"), "Dax");
  EXPECT_EQ(textAt(csvLead, "recu_le"), "2026-02-01T08:30:00+01:00");
  EXPECT_EQ(textAt(csvLead, "statut"), "new");
  auto found = ctlJson({"lead", "find", "--phone", "0622222222"});  // outlives its readers
  auto csvInvalid = array(at(found.root(), "leads"));
  ASSERT_EQ(csvInvalid.size(), 1u);
  EXPECT_EQ(textAt(csvInvalid[0], "statut"), "invalid");
  auto invalidProblems = texts(at(csvInvalid[0], "problemes"));
  EXPECT_TRUE(contains(invalidProblems, "consentement.absent"))
      << ::testing::PrintToString(invalidProblems);
  EXPECT_EQ(array(at(ctlJson({"lead", "find", "--phone", "0622222223"}).root(), "leads")).size(),
            0u);

  // All rows fine: exit 0.
  test::writeFile(
      tmp_ / "ok.jsonl",
      R"({"produit":"ITE","nom":"A","prenom":"B","telephone":"0633333333","code_postal":"75011","consentement":true})"
      "\n");
  auto ok = ctl({"lead", "import", "--entity", "ZR7", tmp_ / "ok.jsonl"});
  EXPECT_EQ(ok.exitCode, 0) << describe(ok);
  EXPECT_EQ(ctl({"lead", "import", "--entity", "ZR7", tmp_ / "leads.txt"}).exitCode, 2);
}

// ---- security ---------------------------------------------------------------------------------

class SecurityE2e : public E2eTest {
 protected:
  // Debug logging: the most rdzd ever writes, none of it may be a token or personal data.
  std::vector<std::string> extraDaemonArgs() const override { return {"--log_level", "debug"}; }
};

TEST_F(SecurityE2e, TokensRolesAndLogs) {
  std::string ingest = ingestTokenFile("zr7");
  auto submitted = ctlAs(
      ingest, {"--json", "lead", "submit", "--entity", "ZR7", "produit=PV", "nom=Zabłocki",
               "prenom=Quirinus", "telephone=0687654321", "email=quirinus.zablocki@exemple.fr",
               "code_postal=69003", "consentement=true"});
  ASSERT_EQ(submitted.exitCode, 0) << describe(submitted);
  std::string id = textAt(Json(submitted.out).root(), "id");
  EXPECT_EQ(textAt(ctlJson({"lead", "show", id}).root(), "entity"), "ZR7");

  auto otherEntity = ctlAs(ingest, {"lead", "submit", "--entity", "MDL", "produit=PV",
                                    "nom=Zabłocki", "telephone=0687654322"});
  EXPECT_EQ(otherEntity.exitCode, 1) << describe(otherEntity);
  auto list = ctlAs(ingest, {"client", "list"});
  EXPECT_EQ(list.exitCode, 1) << describe(list);
  auto add =
      ctlAs(ingest, {"client", "add", "--entity", "ZR7", "--nom", "Pirate", "--email", "p@p.fr"});
  EXPECT_EQ(add.exitCode, 1) << describe(add);
  auto show = ctlAs(ingest, {"lead", "show", id});
  EXPECT_EQ(show.exitCode, 1) << describe(show);
  test::writeFile(
      tmp_ / "one.jsonl",
      R"({"produit":"PV","nom":"N","prenom":"P","telephone":"0687654323","code_postal":"33000","consentement":true})"
      "\n");
  auto import = ctlAs(ingest, {"lead", "import", "--entity", "ZR7", tmp_ / "one.jsonl"});
  EXPECT_EQ(import.exitCode, 1) << describe(import);
  EXPECT_EQ(array(at(ctlJson({"client", "list"}).root(), "clients")).size(), 0u);
  EXPECT_EQ(array(at(ctlJson({"lead", "find", "--phone", "0687654322"}).root(), "leads")).size(),
            0u);
  EXPECT_EQ(array(at(ctlJson({"lead", "find", "--phone", "0687654323"}).root(), "leads")).size(),
            0u);
  // The MDL ingest token is bound to MDL.
  auto mdlAsZr7 = ctlAs(ingestTokenFile("mdl"), {"lead", "submit", "--entity", "ZR7", "produit=PV",
                                                 "telephone=0687654324"});
  EXPECT_EQ(mdlAsZr7.exitCode, 1) << describe(mdlAsZr7);

  // Admin submission with personal data, through the admin path too.
  ASSERT_EQ(
      ctl({"lead", "submit", "--entity", "MDL", "produit=PAC", "nom=Wojciechowska",
           "prenom=Ermengarde", "telephone=0755443322", "code_postal=13001", "consentement=true"})
          .exitCode,
      0);

  // A wrong token: exit 3, whichever way it is given.
  std::string wrong = "e2e0wrong0token0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  auto viaEnv =
      run({"--socket", socketPath(), "client", "list"}, inDir(tmp_.path(), {{"RDZ_TOKEN", wrong}}));
  EXPECT_EQ(viaEnv.exitCode, 3) << describe(viaEnv);
  test::writeFile(tmp_ / "wrong.token", wrong + "\n");
  auto viaFile = ctlAs(tmp_ / "wrong.token", {"lead", "submit", "--entity", "ZR7", "nom=X"});
  EXPECT_EQ(viaFile.exitCode, 3) << describe(viaFile);
  auto viaEnvFile = run(
      {"client", "list"},
      inDir(tmp_.path(), {{"RDZ_SOCKET", socketPath()}, {"RDZ_TOKEN_FILE", tmp_ / "wrong.token"}}));
  EXPECT_EQ(viaEnvFile.exitCode, 3) << describe(viaEnvFile);
  // The right token through the environment works.
  auto envOk =
      run({"client", "list"},
          inDir(tmp_.path(), {{"RDZ_SOCKET", socketPath()}, {"RDZ_TOKEN_FILE", adminTokenFile()}}));
  EXPECT_EQ(envOk.exitCode, 0) << describe(envOk);
  std::string adminToken = test::readFile(adminTokenFile());
  adminToken.erase(adminToken.find_last_not_of("\n ") + 1);
  auto envToken = run({"--socket", socketPath(), "client", "list"},
                      inDir(tmp_.path(), {{"RDZ_TOKEN", adminToken}}));
  EXPECT_EQ(envToken.exitCode, 0) << describe(envToken);
  // Missing token file, missing socket: exit 3.
  EXPECT_EQ(ctlAs(tmp_ / "absent.token", {"client", "list"}).exitCode, 3);
  auto noSocket =
      run({"--socket", tmp_ / "nowhere.sock", "--token-file", adminTokenFile(), "client", "list"});
  EXPECT_EQ(noSocket.exitCode, 3) << describe(noSocket);

  // Nothing secret or personal in rdzd's log.
  std::string log = daemon_->log();
  EXPECT_FALSE(log.empty());
  for (auto secret :
       {std::string("0687654321"), std::string("+33687654321"), std::string("Zabłocki"),
        std::string("Quirinus"), std::string("quirinus.zablocki"), std::string("0755443322"),
        std::string("+33755443322"), std::string("Wojciechowska"), std::string("Ermengarde"), wrong,
        adminToken}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << "rdzd's log holds " << secret << ":\n" << log;
  }

  // No daemon at all: exit 3.
  EXPECT_EQ(daemon_->stop(), 0);
  auto stopped = ctl({"client", "list"});
  EXPECT_EQ(stopped.exitCode, 3) << describe(stopped);
  auto stoppedSubmit = ctlAs(ingest, {"lead", "submit", "--entity", "ZR7", "nom=X"});
  EXPECT_EQ(stoppedSubmit.exitCode, 3) << describe(stoppedSubmit);
}

// ---- refused input changes nothing ------------------------------------------------------------

TEST_F(AdminE2e, RefusedSubmissionsLeaveTheDatabaseUnchanged) {
  ctlOk(
      {"client", "add", "--entity", "ZR7", "--nom", "Solar", "--email", "a@s.fr", "--id", "solar"});
  ctlOk({"commande", "add", "--client", "solar", "--produit", "PV", "--quota-semaine", "10"});
  std::string firstId = textAt(ctlJson(submitArgs("ZR7", validLead("0644444444"))).root(), "id");
  const std::vector<Args> listings = {
      {"--json", "client", "list"},
      {"--json", "commande", "list"},
      {"--json", "produit", "list", "--entity", "ZR7"},
      {"--json", "lead", "find", "--phone", "0644444444"},
      {"--json", "lead", "find", "--phone", "0655555555"},
      {"--json", "lead", "show", firstId},
  };
  auto snapshot = [&]() {
    std::vector<std::string> outputs;
    for (auto& args : listings) {
      auto r = ctl(args);
      EXPECT_EQ(r.exitCode, 0) << describe(r);
      outputs.push_back(r.out);
    }
    return outputs;
  };
  auto before = snapshot();

  std::string ingest = ingestTokenFile("zr7");
  std::vector<std::pair<std::string, Args>> refusals;
  // Body over 16 KiB, every field within its own bound.
  Args big = validLead("0655555555");
  for (int i = 0; i < 40; ++i)
    big.push_back("extra" + std::to_string(i) + "=" + std::string(450, 'a'));
  refusals.push_back({"body over 16 KiB", big});
  // Not UTF-8 (passed as raw bytes: no shell in between).
  Args notUtf8 = validLead("0655555555");
  notUtf8[1] = "nom=Dupont\xff\xfe";
  refusals.push_back({"nom not UTF-8", notUtf8});
  Args overlong = validLead("0655555555");
  overlong[6] = "ville=Bordeaux\xc0\xaf";  // an overlong '/'
  refusals.push_back({"ville overlong UTF-8", overlong});
  // A field over 4 × its bound (nom ≤ 100).
  Args longNom = validLead("0655555555");
  longNom[1] = "nom=" + std::string(401, 'n');
  refusals.push_back({"nom over 4x its bound", longNom});
  // A same-phone refusal must not count as a double submission either.
  Args sameAsFirst = validLead("0644444444");
  sameAsFirst[2] = "prenom=" + std::string(401, 'p');
  refusals.push_back({"prenom over 4x its bound, phone of an existing lead", sameAsFirst});

  for (size_t i = 0; i < refusals.size(); ++i) {
    auto& [what, fields] = refusals[i];
    auto asAdmin = ctl(submitArgs("ZR7", fields, "refused-" + std::to_string(i)));
    EXPECT_EQ(asAdmin.exitCode, 1) << what << "\n" << describe(asAdmin);
    EXPECT_FALSE(asAdmin.err.empty()) << what;
    auto asIngest = ctlAs(ingest, submitArgs("ZR7", fields));
    EXPECT_EQ(asIngest.exitCode, 1) << what << "\n" << describe(asIngest);
  }
  // Unknown entity (the ingest path checks it too).
  EXPECT_EQ(ctl(submitArgs("EU", validLead("0655555555"))).exitCode, 2);

  auto after = snapshot();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(after[i], before[i]) << ::testing::PrintToString(listings[i]);
  }

  // A refused submission does not burn its idempotency key: the same key then works.
  auto keyed = ctlJson(submitArgs("ZR7", validLead("0655555555"), "refused-1"));
  EXPECT_EQ(textAt(keyed.root(), "statut"), "new");
  // And the second, valid lead on the first lead's phone is still only a double submission of
  // it, i.e. the refused one left no trace in the duplicate index.
  auto dup = ctlJson(submitArgs("ZR7", validLead("0644444444")));
  EXPECT_TRUE(contains(texts(at(dup.root(), "problemes")), "doublon.soumission"));
  EXPECT_EQ(textAt(ctlJson({"lead", "show", textAt(dup.root(), "id")}).root(), "doublon_de"),
            firstId);
}

// ---- clean stop -------------------------------------------------------------------------------

TEST_F(AdminE2e, SigtermStopsCleanlyAndDataSurvives) {
  ctlOk({"client", "add", "--entity", "MDL", "--nom", "Durable", "--email", "d@d.fr", "--id",
         "durable"});
  std::string commande =
      ctlOk({"commande", "add", "--client", "durable", "--produit", "ITE", "--quota-semaine", "7"});
  std::string leadId = textAt(ctlJson(submitArgs("MDL", validLead(), "k1")).root(), "id");
  auto beforeLead = ctl({"--json", "lead", "show", leadId});
  auto beforeClients = ctl({"--json", "client", "list"});

  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(daemon_->stop(), 0) << daemon_->log();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_EQ(ctl({"client", "list"}).exitCode, 3);
  daemon_->start();

  EXPECT_EQ(ctl({"--json", "lead", "show", leadId}).out, beforeLead.out);
  EXPECT_EQ(ctl({"--json", "client", "list"}).out, beforeClients.out);
  EXPECT_EQ(numberAt(ctlJson({"commande", "show", commande}).root(), "quota_semaine"), 7);
  // Idempotency keys survive a restart too.
  EXPECT_EQ(textAt(ctlJson(submitArgs("MDL", validLead(), "k1")).root(), "id"), leadId);
  // Ids keep growing after a restart (time-ordered, never reused).
  std::string next =
      ctlOk({"commande", "add", "--client", "durable", "--produit", "PV", "--quota-semaine", "1"});
  EXPECT_NE(next, commande);
  EXPECT_EQ(daemon_->stop(), 0) << daemon_->log();
}

}  // namespace
}  // namespace rdz::e2e
