// `rdzctl stats` end to end (SPEC §7.3): the real rdzd and rdzctl, leads imported with their
// recu_le and a run at a given time, so nothing depends on the wall clock. Checks the exact JSON
// shape of the SPEC, member by member and in order, and the French table.
#include <sstream>

#include "tests/e2e/harness.h"

namespace rdz::e2e {
namespace {

using Args = std::vector<std::string>;

std::vector<std::string> memberNames(capnp::JsonValue::Reader object) {
  std::vector<std::string> names;
  for (auto member : object.getObject()) names.emplace_back(member.getName().cStr());
  return names;
}

const std::vector<std::string> COUNTERS = {
    "recus",           "invalides",         "livres_fresh",
    "livres_lb",       "fallback_entrants", "fallback_sortants",
    "doublons_evites", "rejetes",           "effaces",
    "stock_lb",        "fresh_invendus"};

class StatsE2e : public E2eTest {
 protected:
  void importLeads(const std::string& entity, const std::string& jsonl) {
    std::string file = tmp_ / ("import-" + std::to_string(++imports_) + ".jsonl");
    test::writeFile(file, jsonl);
    ctlOk({"lead", "import", "--entity", entity, file});
  }
  static std::string lead(const std::string& produit, const std::string& phone,
                          const std::string& recuLe) {
    return "{\"produit\":\"" + produit +
           "\",\"nom\":\"Nom\",\"prenom\":\"Prenom\",\"telephone\":\"" + phone +
           "\",\"code_postal\":\"33000\",\"consentement\":\"oui\",\"recu_le\":\"" + recuLe +
           "\"}\n";
  }
  int imports_ = 0;
};

TEST_F(StatsE2e, JsonHasTheShapeOfTheSpec) {
  ctlOk({"client", "add", "--entity", "ZR7", "--id", "alpha", "--nom", "Alpha", "--email",
         "leads@alpha.example"});
  std::string commande = textAt(
      ctlJson({"commande", "add", "--client", "alpha", "--produit", "PV", "--quota-semaine", "10"})
          .root(),
      "id");
  // 14 July: two valid leads and an invalid one. 23:30 UTC is 01:30 on the 15th in Paris.
  importLeads("ZR7", lead("PV", "0612000001", "2026-07-14T08:00:00Z") +
                         lead("PV", "12", "2026-07-14T09:00:00Z") +
                         lead("ITE", "0612000003", "2026-07-14T10:00:00Z") +
                         lead("PV", "0612000002", "2026-07-14T23:30:00Z"));
  auto run = ctl({"deliver", "--at", "2026-07-15T09:30:00+02:00", "--force", "--wait", "0"});
  // --wait 0 answers once the run is committed. No mail server listens here: the batch's first
  // attempt may have failed already by then, and rdzctl then exits 1 (a failure it knows of).
  ASSERT_TRUE(run.exitCode == 0 || run.exitCode == 1) << describe(run);
  ASSERT_NE(run.out.find(": committed"), std::string::npos) << describe(run);

  Json report = ctlJson({"stats", "--from", "2026-07-14", "--to", "2026-07-15"});
  auto root = report.root();
  EXPECT_EQ(memberNames(root), (std::vector<std::string>{"from", "to", "entities"}));
  EXPECT_EQ(textAt(root, "from"), "2026-07-14");
  EXPECT_EQ(textAt(root, "to"), "2026-07-15");
  auto entities = array(at(root, "entities"));
  ASSERT_EQ(entities.size(), 2u);
  for (auto entity : entities) {
    EXPECT_EQ(memberNames(entity),
              (std::vector<std::string>{"entity", "days", "total", "commandes"}));
    auto days = array(at(entity, "days"));
    ASSERT_EQ(days.size(), 2u);
    std::vector<std::string> dayMembers = {"date"};
    dayMembers.insert(dayMembers.end(), COUNTERS.begin(), COUNTERS.end());
    for (auto day : days) EXPECT_EQ(memberNames(day), dayMembers);
    EXPECT_EQ(memberNames(at(entity, "total")), COUNTERS);
  }

  auto zr7 = entities[0];
  EXPECT_EQ(textAt(zr7, "entity"), "ZR7");
  auto d14 = array(at(zr7, "days"))[0];
  EXPECT_EQ(textAt(d14, "date"), "2026-07-14");
  EXPECT_EQ(numberAt(d14, "recus"), 3);
  EXPECT_EQ(memberNames(at(d14, "invalides")), (std::vector<std::string>{"telephone.invalid"}));
  EXPECT_EQ(numberAt(at(d14, "invalides"), "telephone.invalid"), 1);
  EXPECT_EQ(numberAt(d14, "livres_fresh"), 0);
  EXPECT_TRUE(isNull(at(d14, "stock_lb")));  // no run on the 14th
  EXPECT_TRUE(isNull(at(d14, "fresh_invendus")));
  auto d15 = array(at(zr7, "days"))[1];
  EXPECT_EQ(textAt(d15, "date"), "2026-07-15");
  EXPECT_EQ(numberAt(d15, "recus"), 1);
  EXPECT_TRUE(memberNames(at(d15, "invalides")).empty());
  EXPECT_EQ(numberAt(d15, "livres_fresh"), 2);
  EXPECT_EQ(numberAt(d15, "livres_lb"), 0);
  EXPECT_EQ(numberAt(d15, "stock_lb"), 0);
  EXPECT_EQ(numberAt(d15, "fresh_invendus"), 1);  // the ITE lead: no commande takes it
  auto total = at(zr7, "total");
  EXPECT_EQ(numberAt(total, "recus"), 4);
  EXPECT_EQ(numberAt(at(total, "invalides"), "telephone.invalid"), 1);
  EXPECT_EQ(numberAt(total, "livres_fresh"), 2);
  EXPECT_EQ(numberAt(total, "fresh_invendus"), 1);

  auto commandes = array(at(zr7, "commandes"));
  ASSERT_EQ(commandes.size(), 1u);
  EXPECT_EQ(
      memberNames(commandes[0]),
      (std::vector<std::string>{"id", "client", "produit", "quota_semaine", "livres_semaine",
                                "lb_semaine", "remplacements_dus", "completion_pct", "manque"}));
  EXPECT_EQ(textAt(commandes[0], "id"), commande);
  EXPECT_EQ(textAt(commandes[0], "client"), "alpha");
  EXPECT_EQ(textAt(commandes[0], "produit"), "PV");
  EXPECT_EQ(numberAt(commandes[0], "quota_semaine"), 10);
  EXPECT_EQ(numberAt(commandes[0], "livres_semaine"), 2);
  EXPECT_EQ(numberAt(commandes[0], "lb_semaine"), 0);
  EXPECT_EQ(numberAt(commandes[0], "remplacements_dus"), 0);
  EXPECT_EQ(numberAt(commandes[0], "completion_pct"), 20);
  EXPECT_EQ(numberAt(commandes[0], "manque"), 8);

  auto mdl = entities[1];
  EXPECT_EQ(textAt(mdl, "entity"), "MDL");
  EXPECT_EQ(array(at(mdl, "commandes")).size(), 0u);
  EXPECT_EQ(numberAt(array(at(mdl, "days"))[1], "stock_lb"), 0);  // the full run ran MDL too

  // Filters and one entity.
  Json filtered = ctlJson({"stats", "--entity", "zr7", "--from", "2026-07-15", "--to", "2026-07-15",
                           "--produit", "ite"});
  auto only = array(at(filtered.root(), "entities"));
  ASSERT_EQ(only.size(), 1u);
  EXPECT_EQ(numberAt(array(at(only[0], "days"))[0], "livres_fresh"), 0);
  EXPECT_EQ(numberAt(array(at(only[0], "days"))[0], "recus"), 1);  // entity-wide
  EXPECT_EQ(array(at(only[0], "commandes")).size(), 0u);

  // The counters are durable: after a restart, the same answer.
  daemon_->restart();
  Json again = ctlJson({"stats", "--from", "2026-07-14", "--to", "2026-07-15"});
  EXPECT_EQ(numberAt(at(array(at(again.root(), "entities"))[0], "total"), "livres_fresh"), 2);
}

TEST_F(StatsE2e, TextIsAFrenchTable) {
  importLeads("MDL", lead("PAC", "0612000001", "2026-07-14T08:00:00Z"));
  std::string text =
      ctlOk({"stats", "--entity", "MDL", "--from", "2026-07-13", "--to", "2026-07-14"});
  EXPECT_NE(text.find("Statistiques MDL du 2026-07-13 au 2026-07-14"), std::string::npos) << text;
  EXPECT_NE(text.find("reçus"), std::string::npos) << text;
  std::istringstream lines(text);
  std::string line, day14, totalLine;
  while (std::getline(lines, line)) {
    if (line.rfind("2026-07-14", 0) == 0) day14 = line;
    if (line.rfind("total", 0) == 0) totalLine = line;
  }
  // date, reçus 1, then zeros, and "-" for the pools of a day without a run.
  std::istringstream cells(day14);
  std::vector<std::string> words;
  for (std::string w; cells >> w;) words.push_back(w);
  ASSERT_EQ(words.size(), 12u) << day14;
  EXPECT_EQ(words[1], "1");
  EXPECT_EQ(words[10], "-");
  EXPECT_EQ(words[11], "-");
  EXPECT_FALSE(totalLine.empty()) << text;
  EXPECT_NE(text.find("Aucune commande"), std::string::npos) << text;
}

TEST_F(StatsE2e, BadQueriesAreRefused) {
  EXPECT_EQ(ctl({"stats", "--from", "2026-13-01"}).exitCode, 2);
  EXPECT_EQ(ctl({"stats", "--entity", "XYZ"}).exitCode, 2);
  auto unknownClient = ctl({"stats", "--client", "personne"});
  EXPECT_EQ(unknownClient.exitCode, 1);
  EXPECT_NE(unknownClient.err.find("client inconnu : personne"), std::string::npos)
      << describe(unknownClient);
  EXPECT_EQ(ctl({"stats", "--from", "2026-07-15", "--to", "2026-07-14"}).exitCode, 1);
  // Default: today (Paris), one day.
  Json today = ctlJson({"stats"});
  EXPECT_EQ(textAt(today.root(), "from"), textAt(today.root(), "to"));
  EXPECT_EQ(array(at(array(at(today.root(), "entities"))[0], "days")).size(), 1u);
}

}  // namespace
}  // namespace rdz::e2e
