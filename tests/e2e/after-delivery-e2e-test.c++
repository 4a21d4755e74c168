// After delivery end to end (SPEC §7.1–7.2): the real rdzd and rdzctl, real SMTP servers
// (python3-aiosmtpd) whose Maildirs are read back. Rejection with replacement across weeks,
// RGPD erasure checked on the raw files of the data directory, the opposition list in runs.
//
// Run dates are given with `deliver --at … --force` and leads imported with their `recu_le`, so
// nothing depends on the wall clock.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "daemon/domain/digest.h"
#include "daemon/domain/time.h"
#include "tests/e2e/harness.h"
#include "tests/support/smtp.h"

namespace rdz::e2e {
namespace {

using namespace std::chrono_literals;
using Args = std::vector<std::string>;

std::string jsonQuoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Paris 09:30 of a date in winter (UTC+1).
std::string runAt(const std::string& date) { return date + "T09:30:00+01:00"; }

class AfterDeliveryE2e : public E2eTest {
 protected:
  // Every scenario leaves data that passes the audit (SPEC §7.5).
  void TearDown() override {
    expectAuditClean();
    E2eTest::TearDown();
  }
  AfterDeliveryE2e() {
    while (mdlPort_ == zr7Port_) mdlPort_ = test::freePort();
  }
  std::vector<std::string> extraDaemonArgs() const override {
    return {"--zr7.smtp.port", std::to_string(zr7Port_), "--mdl.smtp.port",
            std::to_string(mdlPort_)};
  }

  std::unique_ptr<test::PythonServer> mailbox(const std::string& entity) {
    auto server = entity == "ZR7" ? test::PythonServer::mailbox(tmp_, zr7Port_, maildir("ZR7"))
                                  : test::PythonServer::mailbox(tmp_, mdlPort_, maildir("MDL"));
    if (!server->running()) throw std::runtime_error("the SMTP server did not start");
    return server;
  }
  std::string maildir(const std::string& entity) const {
    return tmp_ / ("mail-" + entity);
  }

  void addClient(const std::string& entity, const std::string& id) {
    ASSERT_EQ(ctlOk({"client", "add", "--entity", entity, "--id", id, "--nom", id, "--email",
                     "leads@" + id + ".example"}),
              id);
  }
  std::string addCommande(const std::string& client, const std::string& produit, int quota,
                          const Args& more = {}) {
    Args args = {"commande",  "add",   "--client",        client,
                 "--produit", produit, "--quota-semaine", std::to_string(quota)};
    args.insert(args.end(), more.begin(), more.end());
    return textAt(ctlJson(args).root(), "id");
  }

  // Imports one lead (admin import, with recu_le); returns its id. `fields` override defaults.
  std::string importLead(const std::string& entity, const std::string& phone,
                         const std::string& recuLe,
                         std::vector<std::pair<std::string, std::string>> fields = {}) {
    std::vector<std::pair<std::string, std::string>> all = {
        {"produit", "PV"}, {"nom", "Nom"},        {"prenom", "Prenom"}, {"telephone", phone},
        {"code_postal", "33000"}, {"consentement", "oui"}, {"recu_le", recuLe}};
    for (auto& [k, v] : fields) {
      const std::string& name = k;  // a lambda reads it (clang before 16 cannot capture a binding)
      auto it = std::find_if(all.begin(), all.end(), [&](auto& f) { return f.first == name; });
      if (it != all.end()) {
        it->second = v;
      } else {
        all.emplace_back(k, v);
      }
    }
    std::string line;
    for (auto& [k, v] : all) line += (line.empty() ? "{" : ",") + jsonQuoted(k) + ":" + jsonQuoted(v);
    std::string file = tmp_ / ("import-" + std::to_string(++imports_) + ".jsonl");
    test::writeFile(file, line + "}\n");
    Json result = ctlJson({"lead", "import", "--entity", entity, file});
    auto rows = array(at(result.root(), "rows"));
    if (rows.size() != 1) throw std::runtime_error("import failed");
    return textAt(rows[0], "id");
  }

  RunResult deliver(const std::string& date) {
    return ctl({"deliver", "--at", runAt(date), "--force", "--wait", "20"});
  }
  double assignedOn(const std::string& date) {
    return numberAt(at(ctlJson({"run", "show", date}).root(), "run"), "assigned");
  }
  std::string statut(const std::string& id) {
    return textAt(ctlJson({"lead", "show", id}).root(), "statut");
  }
  double owed(const std::string& commande) {
    return numberAt(ctlJson({"commande", "show", commande}).root(), "remplacements_dus");
  }

  // Every CSV attachment's bytes of every email in `entity`'s Maildir.
  std::string attachments(const std::string& entity) {
    std::string all;
    for (auto& file : test::maildirFiles(maildir(entity))) {
      for (auto& content : test::all(test::dumpMessage(tmp_, file), "attachment.content")) {
        all += content;
      }
    }
    return all;
  }

  int zr7Port_ = test::freePort();
  int mdlPort_ = test::freePort();
  int imports_ = 0;
};

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---- rejection ------------------------------------------------------------------------------

TEST_F(AfterDeliveryE2e, RejectionWindowCreditReplacementAndNeverAgain) {
  auto zr7Smtp = mailbox("ZR7");
  auto mdlSmtp = mailbox("MDL");
  addClient("ZR7", "acheteur");
  // 2 a week, 1 a day, every day.
  std::string cmd = addCommande("acheteur", "PV", 2,
                                {"--quota-jour", "1", "--jours", "lun,mar,mer,jeu,ven,sam,dim"});
  // Week 48 (Mon 23 – Sun 29 Nov 2026), then week 49.
  std::string a = importLead("ZR7", "0611000001", "2026-11-24T08:00:00+01:00");
  std::string b = importLead("ZR7", "0611000002", "2026-11-25T08:00:00+01:00");
  std::string c = importLead("ZR7", "0611000003", "2026-11-26T08:00:00+01:00");
  std::string d = importLead("ZR7", "0611000004", "2026-11-27T08:00:00+01:00");
  std::string e = importLead("ZR7", "0611000005", "2026-11-30T08:00:00+01:00");
  std::string f = importLead("ZR7", "0611000006", "2026-11-30T08:01:00+01:00");
  std::string g = importLead("ZR7", "0611000007", "2026-11-30T08:02:00+01:00");

  ASSERT_EQ(deliver("2026-11-24").exitCode, 0);  // a (1/2)
  ASSERT_EQ(deliver("2026-11-25").exitCode, 0);  // b (2/2)
  EXPECT_EQ(statut(a), "delivered");
  EXPECT_EQ(statut(b), "delivered");

  // The window's start, ±1 s: before the delivery is refused, the delivery instant accepted.
  RunResult early = ctl({"lead", "reject", b, "--reason", "injoignable", "--at",
                         "2026-11-25T09:29:59+01:00"});
  EXPECT_EQ(early.exitCode, 1) << describe(early);
  EXPECT_TRUE(contains(early.err, "before the delivery")) << early.err;
  Json rb = ctlJson({"lead", "reject", b, "--reason", "injoignable", "--at", runAt("2026-11-25")});
  EXPECT_EQ(textAt(rb.root(), "id"), b);
  EXPECT_EQ(textAt(rb.root(), "statut"), "rejected");
  EXPECT_EQ(textAt(rb.root(), "commande"), cmd);
  EXPECT_EQ(textAt(rb.root(), "client"), "acheteur");
  EXPECT_EQ(textAt(rb.root(), "credit"), "semaine");  // the week's counter went down
  EXPECT_EQ(owed(cmd), 0);

  // Same week: the next run replaces b.
  ASSERT_EQ(deliver("2026-11-26").exitCode, 0);
  EXPECT_EQ(assignedOn("2026-11-26"), 1);
  EXPECT_EQ(statut(c), "delivered");
  ASSERT_EQ(deliver("2026-11-27").exitCode, 0);  // the week is full again: d waits
  EXPECT_EQ(assignedOn("2026-11-27"), 0);
  EXPECT_EQ(statut(d), "new");

  ASSERT_EQ(deliver("2026-11-30").exitCode, 0);  // week 49: d (1/2), quota_jour 1
  EXPECT_EQ(statut(d), "delivered");

  // Refusals write nothing: every listing stays byte-identical.
  auto snapshot = [&]() {
    std::string s;
    for (Args args : {Args{"lead", "show", a}, Args{"lead", "show", b}, Args{"lead", "show", g},
                      Args{"commande", "list"}, Args{"commande", "show", cmd},
                      Args{"batch", "list"}, Args{"run", "list"}, Args{"client", "list"}}) {
      args.insert(args.begin(), "--json");
      RunResult r = ctl(args);
      s += r.out + "\n";
    }
    return s;
  };
  std::string before = snapshot();
  struct Refusal {
    Args args;
    std::string says;
  };
  std::vector<Refusal> refusals = {
      {{"lead", "reject", a, "--reason", "autre", "--at", "2026-12-01T09:30:01+01:00"},
       "window is over"},
      {{"lead", "reject", b, "--reason", "autre", "--at", runAt("2026-11-26")}, "already rejected"},
      {{"lead", "reject", g, "--reason", "autre"}, "never delivered"},
      {{"lead", "reject", a, "--reason", "trop_cher", "--at", runAt("2026-11-25")},
       "unknown reason"},
      {{"lead", "reject", "001ZZZZZZZZZZ", "--reason", "autre"}, "no such lead"},
  };
  for (auto& r : refusals) {
    RunResult result = ctl(r.args);
    EXPECT_EQ(result.exitCode, 1) << describe(result);
    EXPECT_TRUE(contains(result.err, r.says)) << r.says << ": " << result.err;
    EXPECT_EQ(result.out, "");
  }
  EXPECT_EQ(snapshot(), before);

  // The window's end, exactly 7 × 24 h after a's delivery: accepted, in a later week, so one
  // replacement is owed.
  Json ra = ctlJson({"lead", "reject", a, "--reason", "faux_numero", "--at", runAt("2026-12-01")});
  EXPECT_EQ(textAt(ra.root(), "credit"), "remplacement_du");
  EXPECT_EQ(owed(cmd), 1);
  Json shownA = ctlJson({"lead", "show", a});
  bool historyHasRejection = false;
  for (auto h : array(at(shownA.root(), "history"))) {
    // The reason by its French label (daemon/domain/labels.h); `credit` keeps the code.
    if (textAt(h, "event") == "rejet") {
      historyHasRejection = contains(textAt(h, "detail"), "raison faux numéro") &&
                            contains(textAt(h, "detail"), "crédit remplacement dû");
    }
  }
  EXPECT_TRUE(historyHasRejection);

  // The replacement is served by a delivery beyond the weekly quota, still one a day.
  ASSERT_EQ(deliver("2026-12-01").exitCode, 0);  // e: 2/2 (the quota), quota_jour 1
  EXPECT_EQ(assignedOn("2026-12-01"), 1);
  EXPECT_EQ(owed(cmd), 1);
  ASSERT_EQ(deliver("2026-12-02").exitCode, 0);  // f: the replacement
  EXPECT_EQ(assignedOn("2026-12-02"), 1);
  EXPECT_EQ(statut(f), "delivered");
  EXPECT_EQ(owed(cmd), 0);
  ASSERT_EQ(deliver("2026-12-03").exitCode, 0);  // served: nothing more this week
  EXPECT_EQ(assignedOn("2026-12-03"), 0);
  EXPECT_EQ(statut(g), "new");

  // 40 days on, a fallback commande of MDL takes every LB lead of ZR7 it may: never a or b.
  addClient("MDL", "repreneur");
  addCommande("repreneur", "PV", 50,
              {"--fallback", "oui", "--lb-max-pct", "100", "--jours", "lun,mar,mer,jeu,ven,sam,dim"});
  ASSERT_EQ(deliver("2027-01-12").exitCode, 0);
  EXPECT_EQ(assignedOn("2027-01-12"), 5);  // c, d, e, f, g
  EXPECT_EQ(statut(a), "rejected");
  EXPECT_EQ(statut(b), "rejected");
  EXPECT_EQ(numberAt(ctlJson({"lead", "show", b}).root(), "nb_livraisons"), 1);
  std::string mdlCsv = attachments("MDL");
  EXPECT_TRUE(contains(mdlCsv, "0611000003"));
  EXPECT_FALSE(contains(mdlCsv, "0611000001"));
  EXPECT_FALSE(contains(mdlCsv, "0611000002"));
}

// ---- erasure --------------------------------------------------------------------------------

using test::filesContaining;

TEST_F(AfterDeliveryE2e, ErasureLeavesNoPersonalValueInTheDataDirectory) {
  // ZR7's SMTP server is down at first: the batch stays unsent (failed, retried later).
  const std::string T = runAt("2026-11-24");
  addClient("ZR7", "client-e");
  std::string cmd = addCommande("client-e", "PV", 10);
  const std::vector<std::pair<std::string, std::string>> markers = {
      {"nom", "Xqnomzz"},           {"prenom", "Xqprenomzz"},
      {"email", "xqmail@zz-exemple.fr"}, {"code_postal", "40990"},
      {"ville", "Xqvillezz"},       {"ip", "10.77.66.55"},
      {"user_agent", "XqAgentzz/1.0"}, {"page_url", "https://xqpage.zz-exemple.fr/form"},
      {"consentement_texte", "XqConsentementzz"}};
  std::string x = importLead("ZR7", "06 87 65 43 21", "2026-11-24T08:00:00+01:00", markers);
  std::string y = importLead("ZR7", "0611223344", "2026-11-24T08:01:00+01:00");
  std::string x2 = importLead("MDL", "+33687654321", "2026-11-24T08:02:00+01:00", markers);
  // A backup flushes the memtables: the leads' records and pool entries, as received, are in SST
  // files that the run's changes only shadow.
  ctlOk({"backup", tmp_ / "before-the-run"});
  RunResult run = deliver("2026-11-24");
  EXPECT_EQ(run.exitCode, 1) << describe(run);  // the batch failed
  Json failed = ctlJson({"batch", "list", "--status", "failed"});
  ASSERT_EQ(array(at(failed.root(), "batches")).size(), 1u);
  std::string batch = textAt(array(at(failed.root(), "batches"))[0], "id");
  EXPECT_EQ(array(at(array(at(failed.root(), "batches"))[0], "deliveries")).size(), 2u);

  // Before: the markers are in the files (the check below can see them). A compaction may be
  // replacing the file that holds them while they are looked for (a file deleted meanwhile reads
  // empty): then they are looked for again.
  auto inFiles = [&](std::string_view needle, test::Match match) {
    for (int attempt = 0; attempt < 50; ++attempt) {
      if (!filesContaining(dataDir(), needle, match).empty()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  };
  EXPECT_TRUE(inFiles("Xqvillezz", test::Match::anywhere));
  EXPECT_TRUE(inFiles("40990", test::Match::wholeNumber));

  Json erased = ctlJson({"lead", "erase", "--phone", "0687654321"});
  EXPECT_EQ(numberAt(erased.root(), "leads"), 2);

  std::vector<std::string> needles = {"687654321", "06 87 65 43 21"};
  for (auto& [name, value] : markers) needles.push_back(value);
  for (auto& needle : needles) {
    // The code postal is five digits: RocksDB's LOG timestamps hold such runs by chance.
    auto match = needle == "40990" ? test::Match::wholeNumber : test::Match::anywhere;
    EXPECT_EQ(filesContaining(dataDir(), needle, match), std::vector<std::string>{})
        << "still in the data directory: " << needle;
  }

  // The record keeps ids, status and counts.
  Json shown = ctlJson({"lead", "show", x});
  EXPECT_EQ(textAt(shown.root(), "id"), x);
  EXPECT_EQ(textAt(shown.root(), "statut"), "delivered");
  EXPECT_EQ(numberAt(shown.root(), "nb_livraisons"), 1);
  EXPECT_EQ(textAt(shown.root(), "produit"), "PV");
  EXPECT_EQ(textAt(shown.root(), "departement"), "40");
  EXPECT_TRUE(boolAt(shown.root(), "efface"));
  for (auto field : {"nom", "prenom", "telephone", "telephone_e164", "email", "code_postal",
                     "ville", "ip", "user_agent", "page_url", "consentement_texte"}) {
    EXPECT_EQ(textAt(shown.root(), field), "") << field;
  }
  EXPECT_TRUE(boolAt(ctlJson({"lead", "show", x2}).root(), "efface"));
  EXPECT_EQ(numberAt(ctlJson({"commande", "show", cmd}).root(), "remplacements_dus"), 1);

  // The unsent batch goes out without the erased lead.
  auto zr7Smtp = mailbox("ZR7");
  ASSERT_EQ(ctl({"batch", "resend", batch}).exitCode, 0);
  ASSERT_EQ(test::waitForMaildirFiles(maildir("ZR7"), 1, 10s).size(), 1u);
  std::string csv = attachments("ZR7");
  EXPECT_TRUE(contains(csv, "0611223344"));
  EXPECT_FALSE(contains(csv, "0687654321"));
  EXPECT_FALSE(contains(csv, "Xqnomzz"));

  // The number is opposed now: a new submission is stored invalid.
  Json again = ctlJson({"lead", "submit", "--entity", "ZR7", "produit=PV", "nom=A", "prenom=B",
                        "telephone=0687654321", "code_postal=33000", "consentement=oui"});
  EXPECT_EQ(textAt(again.root(), "statut"), "invalid");
  EXPECT_EQ(texts(at(again.root(), "problemes")), std::vector<std::string>{"telephone.oppose"});
  EXPECT_EQ(texts(at(ctlJson({"opposition", "check", "0687654321"}).root(), "entities")),
            (std::vector<std::string>{"ZR7", "MDL"}));
  (void)y;
}

// ---- opposition -----------------------------------------------------------------------------

TEST_F(AfterDeliveryE2e, OppositionImportAndTheRunSkipsOwnAndFallbackLists) {
  auto zr7Smtp = mailbox("ZR7");
  auto mdlSmtp = mailbox("MDL");
  std::string file = tmp_ / "opposes.txt";
  test::writeFile(file, "06 11 11 11 11\n+33622222222\nnot a phone\n\n0633333333\r\n12\n");
  RunResult imported = ctl({"--json", "opposition", "import", "--entity", "MDL", file});
  EXPECT_EQ(imported.exitCode, 1) << describe(imported);  // two lines not parsed
  Json result(imported.out);
  EXPECT_EQ(numberAt(result.root(), "added"), 3);
  auto invalid = array(at(result.root(), "invalid"));
  ASSERT_EQ(invalid.size(), 2u);
  EXPECT_EQ(numberAt(invalid[0], "line"), 3);
  EXPECT_EQ(numberAt(invalid[1], "line"), 6);
  // Idempotent.
  Json twice(ctl({"--json", "opposition", "import", "--entity", "MDL", file}).out);
  EXPECT_EQ(numberAt(twice.root(), "added"), 0);
  EXPECT_EQ(numberAt(twice.root(), "already"), 3);
  Json counts = ctlJson({"opposition", "count"});
  EXPECT_EQ(ctlOk({"opposition", "count", "--entity", "MDL"}), "MDL 3");
  EXPECT_EQ(ctlOk({"opposition", "count", "--entity", "ZR7"}), "ZR7 0");
  RunResult bad = ctl({"opposition", "add", "--entity", "ZR7", "0699999999", "123"});
  EXPECT_EQ(bad.exitCode, 1);
  EXPECT_EQ(ctlOk({"opposition", "count", "--entity", "ZR7"}), "ZR7 0");  // nothing added

  // ZR7: a PV commande of its own; PAC only through an MDL fallback commande.
  addClient("ZR7", "z-client");
  addClient("MDL", "m-client");
  addCommande("z-client", "PV", 10);
  addCommande("m-client", "PAC", 10, {"--fallback", "oui"});
  const std::string recu = "2026-11-24T08:00:00+01:00";
  std::string own = importLead("ZR7", "0644444444", recu);                        // ZR7's list
  std::string onMdl = importLead("ZR7", "0611111111", recu);                      // MDL's list
  std::string viaFallback = importLead("ZR7", "0622222222", recu, {{"produit", "PAC"}});
  std::string free = importLead("ZR7", "0655555555", recu, {{"produit", "PAC"}});
  ASSERT_EQ(ctlOk({"opposition", "add", "--entity", "ZR7", "0644444444"}), "1 added, 0 already on the list");

  ASSERT_EQ(deliver("2026-11-24").exitCode, 0);
  EXPECT_EQ(statut(own), "new");             // its own entity's list
  EXPECT_EQ(statut(onMdl), "delivered");     // MDL's list does not bind ZR7's own commande
  EXPECT_EQ(statut(viaFallback), "new");     // fallback: the receiving entity's list
  EXPECT_EQ(statut(free), "delivered");      // fallback to MDL
  bool recorded = false;
  auto ownShown = ctlJson({"lead", "show", own});  // outlives the loop's readers
  for (auto h : array(at(ownShown.root(), "history"))) {
    recorded = recorded || textAt(h, "event") == "opposition";
  }
  EXPECT_TRUE(recorded);
  EXPECT_FALSE(contains(attachments("ZR7"), "0644444444"));
  EXPECT_FALSE(contains(attachments("MDL"), "0622222222"));

  // Removal makes them deliverable again.
  EXPECT_EQ(ctlOk({"opposition", "remove", "--entity", "ZR7", "+33644444444"}), "removed from the list");
  EXPECT_EQ(ctlOk({"opposition", "remove", "--entity", "MDL", "06 22 22 22 22"}), "removed from the list");
  ASSERT_EQ(deliver("2026-11-25").exitCode, 0);
  EXPECT_EQ(statut(own), "delivered");
  EXPECT_EQ(statut(viaFallback), "delivered");
  EXPECT_EQ(ctlOk({"opposition", "check", "0644444444"}), "on no opposition list");
  (void)counts;
}

// SPEC §7.1–7.2 and §8.1: an admin bound to ZR7 rejects, erases and edits the opposition list of
// ZR7 only. Every refusal exits 1 and leaves every listing byte-identical; an erasure without
// --entity wipes the ZR7 lead of the number and not the MDL one.
TEST_F(AfterDeliveryE2e, AnEntityBoundAdminActsOnItsOwnEntityOnly) {
  auto zr7Smtp = mailbox("ZR7");
  auto mdlSmtp = mailbox("MDL");
  addClient("ZR7", "z-client");
  addClient("MDL", "m-client");
  addCommande("z-client", "PV", 10);
  addCommande("m-client", "PV", 10);
  const std::string recu = "2026-11-24T08:00:00+01:00";
  std::string zr7Lead = importLead("ZR7", "0677000001", recu, {{"nom", "Zedbound"}});
  std::string zr7Other = importLead("ZR7", "0677000002", recu);
  std::string mdlLead = importLead("MDL", "0677000001", recu, {{"nom", "Emdebound"}});
  ASSERT_EQ(deliver("2026-11-24").exitCode, 0);
  ASSERT_EQ(statut(zr7Lead), "delivered");
  ASSERT_EQ(statut(mdlLead), "delivered");
  ASSERT_EQ(ctlOk({"opposition", "add", "--entity", "MDL", "0677000003"}),
            "1 added, 0 already on the list");

  // The ZR7-bound admin token: its hash in the tokens file, read when rdzd starts.
  const std::string token = "5a7b0e1d9c3f4a6b8e2d1c0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b";
  const std::string tokenFile = tmp_ / "zr7-admin.token";
  test::writeFile(tokenFile, token + "\n");
  {
    std::ofstream tokens(dataDir() + "/tokens", std::ios::app);
    tokens << "admin zr7 " << sha256Hex(token) << " zr7-admin\n";
  }
  daemon_->restart();

  auto snapshot = [&]() {
    std::string all;
    for (const Args& args :
         {Args{"lead", "show", mdlLead}, Args{"lead", "show", zr7Lead}, Args{"batch", "list"},
          Args{"commande", "list"}, Args{"opposition", "count"}, Args{"run", "list"}}) {
      Args json = {"--json"};
      json.insert(json.end(), args.begin(), args.end());
      all += ctlOk(json) + "\n";
    }
    return all;
  };
  const std::string before = snapshot();
  const Args refused[] = {
      {"lead", "reject", mdlLead, "--reason", "autre", "--at", "2026-11-25T10:00:00+01:00"},
      {"lead", "erase", "--phone", "0677000001", "--entity", "MDL"},
      {"opposition", "add", "--entity", "MDL", "0677000004"},
      {"opposition", "remove", "--entity", "MDL", "0677000003"},
  };
  for (const Args& args : refused) {
    RunResult r = ctlAs(tokenFile, args);
    EXPECT_EQ(r.exitCode, 1) << args[0] << " " << args[1] << ": " << describe(r);
    EXPECT_FALSE(r.err.empty()) << args[0] << " " << args[1];
  }
  std::string importFile = tmp_ / "mdl-list.txt";
  test::writeFile(importFile, "0677000005\n");
  RunResult import = ctlAs(tokenFile, {"opposition", "import", "--entity", "MDL", importFile});
  EXPECT_EQ(import.exitCode, 1) << describe(import);
  EXPECT_EQ(snapshot(), before);  // nothing written by any refusal

  // What it sees of the lists: ZR7's only.
  RunResult check = ctlAs(tokenFile, {"opposition", "check", "0677000003"});
  EXPECT_EQ(check.exitCode, 0) << describe(check);
  EXPECT_EQ(check.out, "on no opposition list\n");
  RunResult count = ctlAs(tokenFile, {"opposition", "count"});
  EXPECT_EQ(count.out, "ZR7 0\n") << describe(count);

  // Its own entity: allowed.
  RunResult rejected = ctlAs(tokenFile, {"--json", "lead", "reject", zr7Other, "--reason", "autre",
                                         "--at", "2026-11-25T10:00:00+01:00"});
  EXPECT_EQ(rejected.exitCode, 0) << describe(rejected);
  EXPECT_EQ(statut(zr7Other), "rejected");
  RunResult erased = ctlAs(tokenFile, {"--json", "lead", "erase", "--phone", "06 77 00 00 01"});
  ASSERT_EQ(erased.exitCode, 0) << describe(erased);
  EXPECT_EQ(numberAt(Json(erased.out).root(), "leads"), 1);
  Json zr7Shown = ctlJson({"lead", "show", zr7Lead});
  EXPECT_TRUE(boolAt(zr7Shown.root(), "efface"));
  Json mdlShown = ctlJson({"lead", "show", mdlLead});
  EXPECT_FALSE(boolAt(mdlShown.root(), "efface"));
  EXPECT_EQ(textAt(mdlShown.root(), "nom"), "Emdebound");
  EXPECT_EQ(textAt(mdlShown.root(), "statut"), "delivered");
  // The number joined ZR7's list only.
  EXPECT_EQ(ctlOk({"opposition", "check", "0677000001"}), "on the opposition list of ZR7");
}

}  // namespace
}  // namespace rdz::e2e
