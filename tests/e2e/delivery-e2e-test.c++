// The daily delivery run end to end (SPEC §5–6): the real rdzd and rdzctl, real SMTP servers
// (python3-aiosmtpd, one per entity, so a message's SMTP account is visible), and every email
// read back from the Maildir by Python's `email` package and checked lead by lead: recipients,
// subject, Message-ID, attachment names, and the CSV cells of every row.
//
// Reference times are given with `deliver --at` (or `--date`), leads are imported with their
// `recu_le`, so nothing depends on the wall clock except the retry time of a failed batch.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "daemon/domain/calendar.h"
#include "daemon/domain/time.h"
#include "tests/e2e/harness.h"
#include "tests/support/smtp.h"

namespace rdz::e2e {
namespace {

using namespace std::chrono_literals;
using Args = std::vector<std::string>;
using Row = std::vector<std::string>;

constexpr std::string_view BOM = "\xEF\xBB\xBF";
const Row ZR7_HEADER = {"nom",         "prenom", "telephone",          "email",
                        "code_postal", "ville",  "proprietaire_maison"};
const Row MDL_HEADER = {"nom",         "prenom", "telephone",    "email",
                        "code_postal", "ville",  "proprietaire", "type_logement"};

// ---- times -----------------------------------------------------------------------------------

Timestamp timeOf(const std::string& iso) {
  auto t = parseIso(iso);
  if (!t) throw std::runtime_error("not an ISO time: " + iso);
  return *t;
}

// `iso` moved by `delta`, as ISO 8601 (Europe/Paris offset).
std::string shifted(const std::string& iso, std::chrono::seconds delta) {
  return formatIso(timeOf(iso) + delta);
}

constexpr std::chrono::seconds DAY = std::chrono::hours(24);

// ---- leads -----------------------------------------------------------------------------------

// One lead as the test imports it, and what its CSV row must say.
struct LeadSpec {
  std::string name;  // the test's name for it, for messages
  std::string produit;
  std::string nom;
  std::string prenom;
  std::string telephone;  // as submitted
  std::string national;   // what the CSV must show: French national digits
  std::string email;
  std::string codePostal;
  std::string ville;
  std::string proprietaire;  // as submitted: oui/non/true/false/1/0 or empty
  std::string typeLogement;  // maison/appartement or empty
  std::string recuLe;
  std::string id;  // set by the import
};

std::string ouiNonOf(const std::string& submitted) {
  if (submitted == "oui" || submitted == "true" || submitted == "1") return "oui";
  if (submitted == "non" || submitted == "false" || submitted == "0") return "non";
  if (submitted.empty()) return "";
  throw std::runtime_error("bad proprietaire in a test lead: " + submitted);
}

// The CSV row the receiving entity's format makes of `lead` (SPEC §6).
Row rowOf(const std::string& entity, const LeadSpec& lead) {
  Row row = {lead.nom, lead.prenom, lead.national, lead.email, lead.codePostal, lead.ville};
  if (entity == "ZR7") {
    row.push_back(ouiNonOf(lead.proprietaire) == "oui" && lead.typeLogement == "maison" ? "oui"
                                                                                        : "non");
  } else {
    row.push_back(ouiNonOf(lead.proprietaire));
    row.push_back(lead.typeLogement);
  }
  return row;
}

std::string jsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out.push_back(c);
    }
  }
  return out + "\"";
}

// ---- CSV (a strict reader of SPEC §6's format) -----------------------------------------------

struct Csv {
  bool bom = false;
  std::vector<Row> rows;  // header included
  std::string error;      // empty when the bytes are well-formed
};

// UTF-8 BOM, ';' separator, every record ended by CRLF, RFC 4180 quoting. A bare CR or LF
// outside quotes, text after a closing quote or an unterminated last record is an error.
Csv parseCsv(std::string_view s) {
  Csv csv;
  if (s.starts_with(BOM)) {
    csv.bom = true;
    s.remove_prefix(BOM.size());
  }
  Row row;
  std::string field;
  bool quoted = false;
  bool wasQuoted = false;
  size_t i = 0;
  auto fail = [&](const std::string& what) {
    csv.error = what + " at byte " + std::to_string(i);
    return csv;
  };
  while (i < s.size()) {
    char c = s[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < s.size() && s[i + 1] == '"') {
          field.push_back('"');
          i += 2;
          continue;
        }
        quoted = false;
        ++i;
        if (i < s.size() && s[i] != ';' && s[i] != '\r') return fail("text after a closing quote");
        continue;
      }
      field.push_back(c);
      ++i;
      continue;
    }
    if (c == '"') {
      if (!field.empty() || wasQuoted) return fail("a quote inside an unquoted field");
      quoted = wasQuoted = true;
      ++i;
      continue;
    }
    if (c == ';') {
      row.push_back(std::move(field));
      field.clear();
      wasQuoted = false;
      ++i;
      continue;
    }
    if (c == '\r') {
      if (i + 1 >= s.size() || s[i + 1] != '\n') return fail("CR without LF");
      row.push_back(std::move(field));
      field.clear();
      wasQuoted = false;
      csv.rows.push_back(std::move(row));
      row.clear();
      i += 2;
      continue;
    }
    if (c == '\n') return fail("LF without CR");
    field.push_back(c);
    ++i;
  }
  if (quoted) return fail("unterminated quoted field");
  if (!field.empty() || !row.empty() || wasQuoted) return fail("last record without CRLF");
  return csv;
}

std::string show(const std::vector<Row>& rows) {
  std::string out;
  for (auto& r : rows) {
    out += "  [";
    for (size_t i = 0; i < r.size(); ++i) out += (i ? "|" : "") + r[i];
    out += "]\n";
  }
  return out;
}

// ---- emails ----------------------------------------------------------------------------------

struct Email {
  std::string file;
  std::string to, cc, subject, messageId, fromAddress, mailFrom;
  std::set<std::string> envelope;                  // X-RcptTo: every RCPT TO
  std::map<std::string, std::string> attachments;  // file name -> decoded bytes
  std::vector<std::string> attachmentOrder;
};

std::set<std::string> addressList(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string a; std::getline(in, a, ',');) {
    a.erase(0, a.find_first_not_of(' '));
    a.erase(a.find_last_not_of(' ') + 1);
    if (!a.empty()) out.insert(a);
  }
  return out;
}

std::string hostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == 0) return "rdz.localhost";
  return name;
}

std::vector<std::string> keys(const std::map<std::string, std::string>& m) {
  std::vector<std::string> out;
  for (auto& [k, v] : m) out.push_back(k);
  return out;
}

// ---- the fixture ----------------------------------------------------------------------------

struct Batch {
  std::string id, entity, client, run, status, lastError, nextAttempt;
  size_t deliveries = 0;
  uint32_t attempts = 0;
  std::vector<std::string> responses;
};

class DeliveryE2e : public E2eTest {
 protected:
  // Every scenario leaves data that passes the audit (SPEC §7.5).
  void TearDown() override {
    expectAuditClean();
    E2eTest::TearDown();
  }
  DeliveryE2e() {
    while (mdlPort_ == zr7Port_) mdlPort_ = test::freePort();
    // Per-entity subject templates (SPEC §6: placeholders {client}, {date}, {nb}); the body
    // stays the built-in one.
    for (auto [slug, name] : {std::pair{"zr7", "ZR7"}, std::pair{"mdl", "MDL"}}) {
      std::filesystem::create_directories(tmp_ / ("templates/" + std::string(slug)));
      test::writeFile(tmp_ / ("templates/" + std::string(slug) + "/subject.txt"),
                      "[" + std::string(name) + "] {client} — {date} — {nb} lead(s)\n");
    }
  }

  std::vector<std::string> extraDaemonArgs() const override {
    return daemonArgs(zr7Port_, mdlPort_);
  }

  std::vector<std::string> daemonArgs(int zr7Port, int mdlPort) const {
    return {"--zr7.smtp.port", std::to_string(zr7Port), "--mdl.smtp.port", std::to_string(mdlPort),
            "--zr7.smtp.from", "leads@zr7.example",     "--mdl.smtp.from", "leads@mdl.example",
            "--zr7.smtp.bcc",  "archive@zr7.example",   "--mdl.smtp.bcc",  "archive@mdl.example",
            "--templates_dir", tmp_ / "templates"};
  }

  // rdzd again on the same data, with other SMTP ports (after kill9()).
  void restartDaemon(int zr7Port, int mdlPort) {
    std::vector<std::string> args = {"--data_dir", dataDir()};
    auto extra = daemonArgs(zr7Port, mdlPort);
    args.insert(args.end(), extra.begin(), extra.end());
    daemon_ = std::make_unique<Daemon>(tmp_.path(), args, socketPath(), tmp_ / "rdzd.log");
    daemon_->start();
  }

  std::string zr7Maildir() const { return tmp_ / "mail-zr7"; }
  std::string mdlMaildir() const { return tmp_ / "mail-mdl"; }

  std::unique_ptr<test::PythonServer> startMailbox(const std::string& entity) {
    auto server = entity == "ZR7" ? test::PythonServer::mailbox(tmp_, zr7Port_, zr7Maildir())
                                  : test::PythonServer::mailbox(tmp_, mdlPort_, mdlMaildir());
    if (!server->running()) throw std::runtime_error("the SMTP server did not start");
    return server;
  }

  // ---- setup through rdzctl ----

  void addClient(const std::string& entity, const std::string& id, const std::string& nom,
                 const std::string& emails, const std::string& cc = "") {
    Args args = {"client", "add", "--entity", entity, "--id", id, "--nom", nom, "--email", emails};
    if (!cc.empty()) args.insert(args.end(), {"--cc", cc});
    ASSERT_EQ(ctlOk(args), id);
  }

  // Returns the new commande's id.
  std::string addCommande(const std::string& client, const std::string& produit, int quota,
                          const Args& more = {}) {
    Args args = {"commande",  "add",   "--client",        client,
                 "--produit", produit, "--quota-semaine", std::to_string(quota)};
    args.insert(args.end(), more.begin(), more.end());
    return textAt(ctlJson(args).root(), "id");
  }

  // A lead with distinct, valid data; phone forms alternate between +33 and national.
  LeadSpec lead(const std::string& name, const std::string& produit, const std::string& cp,
                const std::string& recuLe) {
    ++counter_;
    char digits[16];
    std::snprintf(digits, sizeof(digits), "%08d", 13000000 + counter_);
    std::string national = std::string("06") + digits;
    std::string spaced = national.substr(0, 2) + " " + national.substr(2, 2) + " " +
                         national.substr(4, 2) + " " + national.substr(6, 2) + " " +
                         national.substr(8, 2);
    LeadSpec l;
    l.name = name;
    l.produit = produit;
    l.nom = "Nom" + std::to_string(counter_);
    l.prenom = "Prénom" + std::to_string(counter_);
    l.telephone = counter_ % 2 ? "+33 " + spaced.substr(1) : spaced;
    l.national = national;
    l.email = "lead" + std::to_string(counter_) + "@exemple.fr";
    l.codePostal = cp;
    l.ville = "Ville " + std::to_string(counter_);
    l.proprietaire = counter_ % 3 == 0 ? "non" : "oui";
    l.typeLogement = counter_ % 2 ? "maison" : "appartement";
    l.recuLe = recuLe;
    return l;
  }

  // Imports `leads` (JSON Lines, admin import with recu_le) into `entity`; every one must be
  // stored as `new` without problems. Sets their ids.
  void importLeads(const std::string& entity, std::vector<LeadSpec*> leads) {
    std::string jsonl;
    for (LeadSpec* l : leads) {
      std::vector<std::pair<std::string, std::string>> fields = {{"produit", l->produit},
                                                                 {"nom", l->nom},
                                                                 {"prenom", l->prenom},
                                                                 {"telephone", l->telephone},
                                                                 {"email", l->email},
                                                                 {"code_postal", l->codePostal},
                                                                 {"ville", l->ville},
                                                                 {"proprietaire", l->proprietaire},
                                                                 {"type_logement", l->typeLogement},
                                                                 {"consentement", "oui"},
                                                                 {"recu_le", l->recuLe}};
      std::string line;
      for (auto& [k, v] : fields) {
        if (v.empty()) continue;
        line += (line.empty() ? "{" : ",") + jsonString(k) + ":" + jsonString(v);
      }
      jsonl += line + "}\n";
    }
    std::string file = tmp_ / ("import-" + std::to_string(++imports_) + ".jsonl");
    test::writeFile(file, jsonl);
    Json result = ctlJson({"lead", "import", "--entity", entity, file});
    auto rows = array(at(result.root(), "rows"));
    ASSERT_EQ(rows.size(), leads.size());
    for (size_t i = 0; i < leads.size(); ++i) {
      ASSERT_EQ(textAt(rows[i], "statut"), "new") << leads[i]->name;
      ASSERT_TRUE(texts(at(rows[i], "problemes")).empty()) << leads[i]->name;
      leads[i]->id = textAt(rows[i], "id");
    }
  }

  RunResult deliver(const Args& more) {
    Args args = {"deliver"};
    args.insert(args.end(), more.begin(), more.end());
    return ctl(args);
  }

  std::string statut(const LeadSpec& l) {
    return textAt(ctlJson({"lead", "show", l.id}).root(), "statut");
  }

  std::vector<Batch> batches(const std::string& status = "") {
    Args args = {"batch", "list"};
    if (!status.empty()) args.insert(args.end(), {"--status", status});
    Json json = ctlJson(args);
    std::vector<Batch> out;
    for (auto b : array(at(json.root(), "batches"))) {
      Batch batch;
      batch.id = textAt(b, "id");
      batch.entity = textAt(b, "entity");
      batch.client = textAt(b, "client");
      batch.run = textAt(b, "run");
      batch.status = textAt(b, "status");
      batch.lastError = textAt(b, "last_error");
      if (!isNull(at(b, "next_attempt"))) batch.nextAttempt = textAt(b, "next_attempt");
      batch.deliveries = array(at(b, "deliveries")).size();
      batch.attempts = static_cast<uint32_t>(numberAt(b, "attempts"));
      batch.responses = texts(at(b, "responses"));
      out.push_back(std::move(batch));
    }
    return out;
  }

  Batch batchOf(const std::string& client) {
    Batch found;
    int n = 0;
    for (auto& b : batches()) {
      if (b.client == client) {
        found = b;
        ++n;
      }
    }
    if (n != 1) {
      throw std::runtime_error("client " + client + " has " + std::to_string(n) + " batches");
    }
    return found;
  }

  // Waits until no batch is pending (the Sender made its attempts).
  bool waitUntilNoBatchPending(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!batches("pending").empty()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(50ms);
    }
    return true;
  }

  Json runShow(const std::string& id) { return ctlJson({"run", "show", id}); }

  std::vector<Email> emails(const std::string& maildir) {
    std::vector<Email> out;
    for (auto& file : test::maildirFiles(maildir)) {
      test::Dump dump = test::dumpMessage(tmp_, file);
      Email e;
      e.file = file;
      e.to = test::one(dump, "header.To").value_or("");
      e.cc = test::one(dump, "header.Cc").value_or("");
      e.subject = test::one(dump, "header.Subject").value_or("");
      e.messageId = test::one(dump, "header.Message-ID").value_or("");
      e.fromAddress = test::one(dump, "from.address").value_or("");
      e.mailFrom = test::one(dump, "header.X-MailFrom").value_or("");
      e.envelope = addressList(test::one(dump, "header.X-RcptTo").value_or(""));
      auto names = test::all(dump, "attachment.filename");
      auto contents = test::all(dump, "attachment.content");
      EXPECT_EQ(names.size(), contents.size()) << file;
      for (size_t i = 0; i < names.size() && i < contents.size(); ++i) {
        EXPECT_EQ(e.attachments.count(names[i]), 0u) << "two attachments named " << names[i];
        e.attachments[names[i]] = contents[i];
        e.attachmentOrder.push_back(names[i]);
      }
      out.push_back(std::move(e));
    }
    return out;
  }

  // The one email of `list` whose To is `to`.
  static const Email& emailTo(const std::vector<Email>& list, const std::string& to) {
    const Email* found = nullptr;
    int n = 0;
    for (auto& e : list) {
      if (e.to == to) {
        found = &e;
        ++n;
      }
    }
    if (n != 1) throw std::runtime_error(std::to_string(n) + " emails to " + to);
    return *found;
  }

  // The attachment `name` of `email` holds exactly `leads`, in this order, in `entity`'s format.
  static void expectCsv(const Email& email, const std::string& name, const std::string& entity,
                        const std::vector<const LeadSpec*>& leads) {
    SCOPED_TRACE("attachment " + name + " of " + email.file);
    auto it = email.attachments.find(name);
    ASSERT_TRUE(it != email.attachments.end())
        << "no such attachment; there are: " << ::testing::PrintToString(keys(email.attachments));
    const std::string& bytes = it->second;
    Csv csv = parseCsv(bytes);
    EXPECT_TRUE(csv.bom) << "no UTF-8 BOM";
    ASSERT_EQ(csv.error, "") << bytes;
    ASSERT_FALSE(csv.rows.empty());
    EXPECT_EQ(csv.rows[0], entity == "ZR7" ? ZR7_HEADER : MDL_HEADER) << "the header row";
    std::vector<Row> expected, actual(csv.rows.begin() + 1, csv.rows.end());
    std::string names;
    for (auto* l : leads) {
      expected.push_back(rowOf(entity, *l));
      names += l->name + " ";
    }
    EXPECT_EQ(actual, expected) << "expected the leads " << names << "\nexpected:\n"
                                << show(expected) << "actual:\n"
                                << show(actual);
  }

  // Recipients, sender and Message-ID of a batch's email.
  void expectEnvelope(const Email& email, const std::string& entity, const Batch& batch,
                      const std::set<std::string>& recipients) {
    SCOPED_TRACE(email.file);
    std::string slug = entity == "ZR7" ? "zr7" : "mdl";
    EXPECT_EQ(email.fromAddress, "leads@" + slug + ".example");
    EXPECT_EQ(email.mailFrom, "leads@" + slug + ".example");
    std::set<std::string> envelope = recipients;
    envelope.insert("archive@" + slug + ".example");
    EXPECT_EQ(email.envelope, envelope);
    EXPECT_EQ(email.messageId, "<" + batch.id + "@" + host_ + ">");
  }

  int zr7Port_ = test::freePort();
  int mdlPort_ = test::freePort();
  std::string host_ = hostName();
  int counter_ = 0;
  int imports_ = 0;
};

bool mentions(const RunResult& r, std::string_view text) {
  return r.out.find(text) != std::string::npos || r.err.find(text) != std::string::npos;
}

// Every CSV row (data rows only) of every attachment of `mails`.
std::vector<Row> allRows(const std::vector<Email>& mails) {
  std::vector<Row> rows;
  for (auto& e : mails) {
    for (auto& [name, bytes] : e.attachments) {
      Csv csv = parseCsv(bytes);
      EXPECT_EQ(csv.error, "") << name;
      if (csv.rows.size() > 1) rows.insert(rows.end(), csv.rows.begin() + 1, csv.rows.end());
    }
  }
  return rows;
}

// How many of `rows` show `lead`'s phone.
size_t rowsWithPhone(const std::vector<Row>& rows, const LeadSpec& lead) {
  return std::count_if(rows.begin(), rows.end(),
                       [&](const Row& r) { return r.size() > 2 && r[2] == lead.national; });
}

// ---- a. the basic run ------------------------------------------------------------------------

TEST_F(DeliveryE2e, QuotasPrioritiesOldestFirstOneEmailPerClient) {
  auto zr7Smtp = startMailbox("ZR7");
  auto mdlSmtp = startMailbox("MDL");
  const std::string T = "2026-11-24T09:30:00+01:00";  // a Tuesday
  const std::string D = "2026-11-24";

  addClient("ZR7", "solaire-sud", "Solaire Sud",
            "achats@solaire-sud.example,compta@solaire-sud.example", "chef@solaire-sud.example");
  addClient("ZR7", "eco-habitat", "Éco Habitat", "leads@eco-habitat.example");
  addClient("ZR7", "isol-plus", "Isol Plus", "leads@isol-plus.example");
  addClient("MDL", "maison-verte", "Maison Verte", "leads@maison-verte.example");
  std::string solaire =
      addCommande("solaire-sud", "PV", 2, {"--priorite", "1", "--departements", "33,40"});
  std::string eco = addCommande("eco-habitat", "PV", 10, {"--quota-jour", "3"});
  addCommande("isol-plus", "ITE", 5);
  std::string verte = addCommande("maison-verte", "PAC", 3);

  // ZR7 PV, oldest first: z1 (974, only eco covers it), z2 and z3 (solaire's two, priorite 1),
  // z4 and z5 (eco: solaire is full), z6 (eco is at its quota_jour), z7 (after T).
  LeadSpec z1 = lead("z1", "PV", "97400", shifted(T, -4 * DAY));
  z1.telephone = "0692 12 34 56";  // Réunion: +262 692…, national 0692…
  z1.national = "0692123456";
  z1.ville = "Saint-Denis";
  LeadSpec z2 = lead("z2", "PV", "33000", shifted(T, -3 * DAY));
  z2.nom = "Hoarau; père";
  z2.prenom = "Hélène \"Léna\"";
  z2.proprietaire = "oui";
  z2.typeLogement = "maison";
  LeadSpec z3 = lead("z3", "PV", "40100", shifted(T, -2 * DAY));
  z3.proprietaire = "true";
  z3.typeLogement = "appartement";
  LeadSpec z4 = lead("z4", "PV", "33600", shifted(T, -1 * DAY));
  z4.proprietaire = "1";
  z4.typeLogement = "maison";
  LeadSpec z5 = lead("z5", "PV", "33700", shifted(T, -12h));
  z5.proprietaire = "non";
  z5.typeLogement = "maison";
  LeadSpec z6 = lead("z6", "PV", "33800", shifted(T, -1h));
  LeadSpec z7 = lead("z7", "PV", "33000", shifted(T, 1s));
  // MDL PAC: quota 3 for four leads; m3 has no proprietaire / type_logement.
  LeadSpec m1 = lead("m1", "PAC", "69001", shifted(T, -5 * DAY));
  m1.proprietaire = "oui";
  m1.typeLogement = "maison";
  LeadSpec m2 = lead("m2", "PAC", "69002", shifted(T, -4 * DAY));
  m2.proprietaire = "0";
  m2.typeLogement = "appartement";
  LeadSpec m3 = lead("m3", "PAC", "69003", shifted(T, -3 * DAY));
  m3.proprietaire = "";
  m3.typeLogement = "";
  m3.email = "";
  m3.ville = "";
  LeadSpec m4 = lead("m4", "PAC", "69004", shifted(T, -2 * DAY));
  importLeads("ZR7", {&z1, &z2, &z3, &z4, &z5, &z6, &z7});
  importLeads("MDL", {&m1, &m2, &m3, &m4});

  // --dry-run first: the plan, and nothing written, nothing sent.
  {
    Json plan = ctlJson({"deliver", "--at", T, "--dry-run"});
    auto run = at(plan.root(), "run");
    EXPECT_TRUE(boolAt(run, "dry_run"));
    EXPECT_EQ(numberAt(run, "assigned"), 8);
    std::set<std::pair<std::string, std::string>> planned;
    for (auto d : array(at(run, "plan"))) {
      planned.insert({textAt(d, "lead"), textAt(d, "commande")});
      EXPECT_EQ(textAt(d, "pass"), "fresh");
    }
    std::set<std::pair<std::string, std::string>> expected = {
        {z1.id, eco}, {z2.id, solaire}, {z3.id, solaire}, {z4.id, eco},
        {z5.id, eco}, {m1.id, verte},   {m2.id, verte},   {m3.id, verte}};
    EXPECT_EQ(planned, expected);
    EXPECT_EQ(array(at(ctlJson({"run", "list"}).root(), "runs")).size(), 0u);
    EXPECT_TRUE(batches().empty());
    EXPECT_EQ(statut(z2), "new");
    EXPECT_EQ(statut(m1), "new");
  }
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(test::maildirFiles(zr7Maildir()).empty());
  EXPECT_TRUE(test::maildirFiles(mdlMaildir()).empty());

  RunResult r = deliver({"--at", T});
  ASSERT_EQ(r.exitCode, 0) << describe(r);

  Json shown = runShow(D);
  auto run = at(shown.root(), "run");
  EXPECT_EQ(textAt(run, "status"), "complete");
  EXPECT_EQ(textAt(run, "reference"), T);
  EXPECT_EQ(numberAt(run, "assigned"), 8);
  EXPECT_EQ(numberAt(run, "aged"), 0);
  EXPECT_EQ(numberAt(run, "doublons_evites"), 0);
  EXPECT_EQ(texts(at(run, "batches")).size(), 3u);

  // One batch per client that got leads, all sent at the first attempt; none for isol-plus.
  auto all = batches();
  ASSERT_EQ(all.size(), 3u);
  for (auto& b : all) {
    EXPECT_EQ(b.status, "sent") << b.client;
    EXPECT_EQ(b.attempts, 1u) << b.client;
    EXPECT_EQ(b.run, D);
    EXPECT_NE(b.client, "isol-plus");
  }
  Batch bSolaire = batchOf("solaire-sud"), bEco = batchOf("eco-habitat"),
        bVerte = batchOf("maison-verte");
  EXPECT_EQ(bSolaire.entity, "ZR7");
  EXPECT_EQ(bSolaire.deliveries, 2u);
  EXPECT_EQ(bEco.deliveries, 3u);
  EXPECT_EQ(bVerte.entity, "MDL");
  EXPECT_EQ(bVerte.deliveries, 3u);

  auto zr7Mails = emails(zr7Maildir());
  auto mdlMails = emails(mdlMaildir());
  ASSERT_EQ(zr7Mails.size(), 2u);
  ASSERT_EQ(mdlMails.size(), 1u);

  const Email& mSolaire =
      emailTo(zr7Mails, "achats@solaire-sud.example, compta@solaire-sud.example");
  expectEnvelope(
      mSolaire, "ZR7", bSolaire,
      {"achats@solaire-sud.example", "compta@solaire-sud.example", "chef@solaire-sud.example"});
  EXPECT_EQ(mSolaire.cc, "chef@solaire-sud.example");
  EXPECT_EQ(mSolaire.subject, "[ZR7] Solaire Sud — 2026-11-24 — 2 lead(s)");
  EXPECT_EQ(mSolaire.attachmentOrder,
            (std::vector<std::string>{"ZR7_solaire-sud_PV_2026-11-24.csv"}));
  expectCsv(mSolaire, "ZR7_solaire-sud_PV_2026-11-24.csv", "ZR7", {&z2, &z3});
  // RFC 4180 on the wire: the ';' and the quotes of z2 are quoted, not split.
  EXPECT_NE(mSolaire.attachments.begin()->second.find("\"Hoarau; père\";\"Hélène \"\"Léna\"\"\""),
            std::string::npos);

  const Email& mEco = emailTo(zr7Mails, "leads@eco-habitat.example");
  expectEnvelope(mEco, "ZR7", bEco, {"leads@eco-habitat.example"});
  EXPECT_EQ(mEco.cc, "");
  EXPECT_EQ(mEco.subject, "[ZR7] Éco Habitat — 2026-11-24 — 3 lead(s)");
  EXPECT_EQ(keys(mEco.attachments),
            (std::vector<std::string>{"ZR7_eco-habitat_PV_2026-11-24.csv"}));
  expectCsv(mEco, "ZR7_eco-habitat_PV_2026-11-24.csv", "ZR7", {&z1, &z4, &z5});

  const Email& mVerte = emailTo(mdlMails, "leads@maison-verte.example");
  expectEnvelope(mVerte, "MDL", bVerte, {"leads@maison-verte.example"});
  EXPECT_EQ(mVerte.subject, "[MDL] Maison Verte — 2026-11-24 — 3 lead(s)");
  EXPECT_EQ(keys(mVerte.attachments),
            (std::vector<std::string>{"MDL_maison-verte_PAC_2026-11-24.csv"}));
  expectCsv(mVerte, "MDL_maison-verte_PAC_2026-11-24.csv", "MDL", {&m1, &m2, &m3});

  // Nobody wrote to isol-plus.
  for (auto* list : {&zr7Mails, &mdlMails}) {
    for (auto& e : *list) EXPECT_EQ(e.envelope.count("leads@isol-plus.example"), 0u) << e.file;
  }

  for (auto* l : {&z1, &z2, &z3, &z4, &z5, &m1, &m2, &m3}) {
    EXPECT_EQ(statut(*l), "delivered") << l->name;
  }
  for (auto* l : {&z6, &z7, &m4}) EXPECT_EQ(statut(*l), "new") << l->name;
  Json z2Shown = ctlJson({"lead", "show", z2.id});
  EXPECT_EQ(numberAt(z2Shown.root(), "nb_livraisons"), 1);
  EXPECT_EQ(textAt(z2Shown.root(), "derniere_livraison"), T);
}

// ---- b. fallback -----------------------------------------------------------------------------

TEST_F(DeliveryE2e, FallbackCommandeGetsTheOtherEntitysLeftoversInItsOwnFormat) {
  auto zr7Smtp = startMailbox("ZR7");
  auto mdlSmtp = startMailbox("MDL");
  const std::string T = "2026-11-25T09:30:00+01:00";  // a Wednesday

  addClient("ZR7", "soleil", "Soleil", "leads@soleil.example");
  addClient("MDL", "sans-repli", "Sans Repli", "leads@sans-repli.example");
  addClient("MDL", "avec-repli", "Avec Repli", "leads@avec-repli.example");
  addCommande("soleil", "PV", 1);
  // Created first, so it wins MDL's own lead (same priorite, same completion, older id); it has
  // room left but no fallback: it must not get ZR7's leftovers.
  std::string sans = addCommande("sans-repli", "PV", 5);
  std::string avec = addCommande("avec-repli", "PV", 2, {"--fallback", "oui"});

  LeadSpec z1 = lead("z1", "PV", "33000", shifted(T, -3 * DAY));
  LeadSpec z2 = lead("z2", "PV", "33000", shifted(T, -2 * DAY));
  z2.proprietaire = "oui";
  z2.typeLogement = "maison";
  LeadSpec z3 = lead("z3", "PV", "40100", shifted(T, -1 * DAY));
  z3.proprietaire = "non";
  z3.typeLogement = "appartement";
  LeadSpec z4 = lead("z4", "PV", "33000", shifted(T, -2h));
  LeadSpec m1 = lead("m1", "PV", "69001", shifted(T, -1 * DAY));
  importLeads("ZR7", {&z1, &z2, &z3, &z4});
  importLeads("MDL", {&m1});

  {
    Json plan = ctlJson({"deliver", "--at", T, "--dry-run"});
    std::map<std::string, std::string> passOf;
    for (auto d : array(at(at(plan.root(), "run"), "plan"))) {
      passOf[textAt(d, "lead")] = textAt(d, "pass");
      if (textAt(d, "lead") == m1.id) {
        EXPECT_EQ(textAt(d, "commande"), sans);
      }
      if (textAt(d, "lead") == z2.id) {
        EXPECT_EQ(textAt(d, "lead_entity"), "ZR7");
        EXPECT_EQ(textAt(d, "entity"), "MDL");
        EXPECT_EQ(textAt(d, "commande"), avec);
      }
    }
    EXPECT_EQ(passOf, (std::map<std::string, std::string>{{z1.id, "fresh"},
                                                          {m1.id, "fresh"},
                                                          {z2.id, "fresh_fallback"},
                                                          {z3.id, "fresh_fallback"}}));
  }

  RunResult r = deliver({"--at", T});
  ASSERT_EQ(r.exitCode, 0) << describe(r);

  auto zr7Mails = emails(zr7Maildir());
  auto mdlMails = emails(mdlMaildir());
  ASSERT_EQ(zr7Mails.size(), 1u);
  ASSERT_EQ(mdlMails.size(), 2u);  // through MDL's own SMTP account, both

  const Email& soleil = emailTo(zr7Mails, "leads@soleil.example");
  EXPECT_EQ(keys(soleil.attachments), (std::vector<std::string>{"ZR7_soleil_PV_2026-11-25.csv"}));
  expectCsv(soleil, "ZR7_soleil_PV_2026-11-25.csv", "ZR7", {&z1});

  Batch bAvec = batchOf("avec-repli");
  EXPECT_EQ(bAvec.entity, "MDL");
  const Email& mAvec = emailTo(mdlMails, "leads@avec-repli.example");
  expectEnvelope(mAvec, "MDL", bAvec, {"leads@avec-repli.example"});
  EXPECT_EQ(mAvec.subject, "[MDL] Avec Repli — 2026-11-25 — 2 lead(s)");
  EXPECT_EQ(keys(mAvec.attachments),
            (std::vector<std::string>{"MDL_avec-repli_PV_2026-11-25.csv"}));
  expectCsv(mAvec, "MDL_avec-repli_PV_2026-11-25.csv", "MDL", {&z2, &z3});

  const Email& mSans = emailTo(mdlMails, "leads@sans-repli.example");
  EXPECT_EQ(keys(mSans.attachments),
            (std::vector<std::string>{"MDL_sans-repli_PV_2026-11-25.csv"}));
  expectCsv(mSans, "MDL_sans-repli_PV_2026-11-25.csv", "MDL", {&m1});

  // The lead stays ZR7's; its delivery says it crossed.
  Json z2Shown = ctlJson({"lead", "show", z2.id});
  EXPECT_EQ(textAt(z2Shown.root(), "entity"), "ZR7");
  EXPECT_EQ(textAt(z2Shown.root(), "statut"), "delivered");
  bool crossed = false;
  for (auto h : array(at(z2Shown.root(), "history"))) {
    std::string detail = textAt(h, "detail");
    if (textAt(h, "event") == "livraison" && detail.find(avec) != std::string::npos &&
        detail.find("fallback") != std::string::npos) {
      crossed = true;
    }
  }
  EXPECT_TRUE(crossed) << "no fallback delivery in z2's history";
  EXPECT_EQ(statut(z4), "new");
}

// ---- c. LB -----------------------------------------------------------------------------------

TEST_F(DeliveryE2e, LbLeadsOnlyWithinLbMaxPctOfTheWeeklyQuota) {
  auto zr7Smtp = startMailbox("ZR7");
  const std::string T1 = "2026-11-24T09:30:00+01:00";  // Tuesday
  const std::string T2 = "2026-11-25T09:30:00+01:00";  // Wednesday, same ISO week

  addClient("ZR7", "recycle", "Recycle", "leads@recycle.example");
  addClient("ZR7", "sans-lb", "Sans LB", "leads@sans-lb.example");
  addCommande("recycle", "PV", 10, {"--lb-max-pct", "30"});  // floor(10 × 30 %) = 3 LB a week
  addCommande("sans-lb", "PAC", 10);                         // lb_max_pct 0

  LeadSpec f1 = lead("f1", "PV", "33000", shifted(T1, -2 * DAY));
  LeadSpec f2 = lead("f2", "PV", "33000", shifted(T1, -1 * DAY));
  std::vector<LeadSpec> old;  // 9 … 14 days old: LB, newest first
  for (int i = 0; i < 6; ++i) {
    old.push_back(lead("o" + std::to_string(i + 1), "PV", "33000", shifted(T1, -(9 + i) * DAY)));
  }
  LeadSpec p1 = lead("p1", "PAC", "33000", shifted(T1, -1 * DAY));
  LeadSpec q1 = lead("q1", "PAC", "33000", shifted(T1, -9 * DAY));
  LeadSpec q2 = lead("q2", "PAC", "33000", shifted(T1, -10 * DAY));
  std::vector<LeadSpec*> all = {&f1, &f2, &p1, &q1, &q2};
  for (auto& o : old) all.push_back(&o);
  importLeads("ZR7", all);

  RunResult r = deliver({"--at", T1});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  Json shown = runShow("2026-11-24");
  EXPECT_EQ(numberAt(at(shown.root(), "run"), "aged"), 8);
  EXPECT_EQ(numberAt(at(shown.root(), "run"), "assigned"), 2 + 3 + 1);

  auto mails = emails(zr7Maildir());
  ASSERT_EQ(mails.size(), 2u);
  const Email& recycle = emailTo(mails, "leads@recycle.example");
  EXPECT_EQ(keys(recycle.attachments),
            (std::vector<std::string>{"ZR7_recycle_PV_2026-11-24.csv",
                                      "ZR7_recycle_PV_2026-11-24_LB.csv"}));
  EXPECT_EQ(recycle.subject, "[ZR7] Recycle — 2026-11-24 — 5 lead(s)");
  expectCsv(recycle, "ZR7_recycle_PV_2026-11-24.csv", "ZR7", {&f1, &f2});
  expectCsv(recycle, "ZR7_recycle_PV_2026-11-24_LB.csv", "ZR7", {&old[0], &old[1], &old[2]});

  const Email& sansLb = emailTo(mails, "leads@sans-lb.example");
  EXPECT_EQ(keys(sansLb.attachments), (std::vector<std::string>{"ZR7_sans-lb_PAC_2026-11-24.csv"}));
  expectCsv(sansLb, "ZR7_sans-lb_PAC_2026-11-24.csv", "ZR7", {&p1});

  for (int i = 0; i < 3; ++i) EXPECT_EQ(statut(old[i]), "delivered") << old[i].name;
  for (int i = 3; i < 6; ++i) EXPECT_EQ(statut(old[i]), "lb") << old[i].name;
  EXPECT_EQ(statut(q1), "lb");
  EXPECT_EQ(statut(q2), "lb");

  // Next day, same week, run by --date (T2 = 09:30 Paris): the week's LB share is used up; a
  // fresh lead received exactly at T2 still goes, one received a second after T2 does not.
  LeadSpec f3 = lead("f3", "PV", "33000", T2);
  LeadSpec late = lead("late", "PV", "33000", shifted(T2, 1s));
  importLeads("ZR7", {&f3, &late});
  r = deliver({"--date", "2026-11-25"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(textAt(at(runShow("2026-11-25").root(), "run"), "reference"), T2);
  EXPECT_EQ(statut(late), "new");
  mails = emails(zr7Maildir());
  ASSERT_EQ(mails.size(), 3u);
  const Email* day2 = nullptr;
  for (auto& e : mails) {
    if (e.attachments.count("ZR7_recycle_PV_2026-11-25.csv")) day2 = &e;
  }
  ASSERT_NE(day2, nullptr);
  EXPECT_EQ(keys(day2->attachments), (std::vector<std::string>{"ZR7_recycle_PV_2026-11-25.csv"}));
  EXPECT_EQ(day2->subject, "[ZR7] Recycle — 2026-11-25 — 1 lead(s)");
  expectCsv(*day2, "ZR7_recycle_PV_2026-11-25.csv", "ZR7", {&f3});
  for (int i = 3; i < 6; ++i) EXPECT_EQ(statut(old[i]), "lb") << old[i].name;
}

// SPEC §6: a client buying PV in two zones gets one file per commande and kind, and no two
// attachments of its email share a name (mail clients keep only one of two same-named files).
TEST_F(DeliveryE2e, TwoCommandesOfOneProduitHaveDistinctAttachmentNames) {
  auto zr7Smtp = startMailbox("ZR7");
  const std::string T = "2026-11-24T09:30:00+01:00";
  addClient("ZR7", "deux-zones", "Deux Zones", "achat@deux-zones.example");
  std::string gironde = addCommande("deux-zones", "PV", 10, {"--departements", "33",
                                                             "--lb-max-pct", "50"});
  std::string landes = addCommande("deux-zones", "PV", 10, {"--departements", "40",
                                                            "--lb-max-pct", "50"});
  std::string pac = addCommande("deux-zones", "PAC", 10);
  LeadSpec g1 = lead("g1", "PV", "33000", shifted(T, -1 * DAY));
  LeadSpec g2 = lead("g2", "PV", "33100", shifted(T, -2 * DAY));
  LeadSpec gLb = lead("gLb", "PV", "33000", shifted(T, -10 * DAY));
  LeadSpec l1 = lead("l1", "PV", "40000", shifted(T, -1 * DAY));
  LeadSpec lLb = lead("lLb", "PV", "40100", shifted(T, -11 * DAY));
  LeadSpec p1 = lead("p1", "PAC", "33000", shifted(T, -1 * DAY));
  importLeads("ZR7", {&g1, &g2, &gLb, &l1, &lLb, &p1});

  RunResult r = deliver({"--at", T});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  auto mails = emails(zr7Maildir());
  ASSERT_EQ(mails.size(), 1u);
  const Email& mail = mails[0];
  std::cout << "attachments of the email to " << mail.to << ":\n";
  for (auto& name : mail.attachmentOrder) std::cout << "  " << name << "\n";
  std::set<std::string> distinct(mail.attachmentOrder.begin(), mail.attachmentOrder.end());
  EXPECT_EQ(distinct.size(), mail.attachmentOrder.size()) << "two attachments share a name";
  EXPECT_EQ(distinct, (std::set<std::string>{"ZR7_deux-zones_PV_2026-11-24_" + gironde + ".csv",
                                             "ZR7_deux-zones_PV_2026-11-24_" + gironde + "_LB.csv",
                                             "ZR7_deux-zones_PV_2026-11-24_" + landes + ".csv",
                                             "ZR7_deux-zones_PV_2026-11-24_" + landes + "_LB.csv",
                                             "ZR7_deux-zones_PAC_2026-11-24.csv"}));
  expectCsv(mail, "ZR7_deux-zones_PV_2026-11-24_" + gironde + ".csv", "ZR7", {&g2, &g1});
  expectCsv(mail, "ZR7_deux-zones_PV_2026-11-24_" + gironde + "_LB.csv", "ZR7", {&gLb});
  expectCsv(mail, "ZR7_deux-zones_PV_2026-11-24_" + landes + ".csv", "ZR7", {&l1});
  expectCsv(mail, "ZR7_deux-zones_PV_2026-11-24_" + landes + "_LB.csv", "ZR7", {&lLb});
  expectCsv(mail, "ZR7_deux-zones_PAC_2026-11-24.csv", "ZR7", {&p1});
  (void)pac;
}

// ---- d. duplicate replacement ----------------------------------------------------------------

TEST_F(DeliveryE2e, ADuplicateIsReplacedForThatClientOnly) {
  auto zr7Smtp = startMailbox("ZR7");
  const std::string T1 = "2026-11-24T09:30:00+01:00";
  const std::string T2 = "2026-11-25T09:30:00+01:00";

  addClient("ZR7", "client-a", "Client A", "leads@client-a.example");
  addClient("ZR7", "client-b", "Client B", "leads@client-b.example");
  std::string ca = addCommande("client-a", "PV", 10, {"--priorite", "1", "--quota-jour", "1"});
  addCommande("client-b", "PV", 10, {"--priorite", "5"});

  LeadSpec x1 = lead("x1", "PV", "33000", shifted(T1, -1h));
  x1.telephone = "06 12 34 56 78";
  x1.national = "0612345678";
  importLeads("ZR7", {&x1});
  RunResult r = deliver({"--at", T1});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  auto day1 = emails(zr7Maildir());
  ASSERT_EQ(day1.size(), 1u);
  expectCsv(emailTo(day1, "leads@client-a.example"), "ZR7_client-a_PV_2026-11-24.csv", "ZR7",
            {&x1});

  // Day 2: the same person and produit again (another phone form, a day later: not a double
  // submission), older than y, so client A's commande meets it first.
  LeadSpec x2 = lead("x2", "PV", "33000", shifted(T2, -2h));
  x2.nom = x1.nom;
  x2.prenom = x1.prenom;
  x2.telephone = "+33 6 12 34 56 78";
  x2.national = "0612345678";
  LeadSpec y = lead("y", "PV", "33000", shifted(T2, -1h));
  importLeads("ZR7", {&x2, &y});
  r = deliver({"--at", T2});
  ASSERT_EQ(r.exitCode, 0) << describe(r);

  Json shown = runShow("2026-11-25");
  EXPECT_EQ(numberAt(at(shown.root(), "run"), "doublons_evites"), 1);
  EXPECT_EQ(numberAt(at(shown.root(), "run"), "assigned"), 2);

  auto mails = emails(zr7Maildir());
  ASSERT_EQ(mails.size(), 3u);
  const Email* a2 = nullptr;
  for (auto& e : mails) {
    if (e.attachments.count("ZR7_client-a_PV_2026-11-25.csv")) a2 = &e;
  }
  ASSERT_NE(a2, nullptr);
  expectCsv(*a2, "ZR7_client-a_PV_2026-11-25.csv", "ZR7", {&y});  // replaced: y, not x2
  const Email& b2 = emailTo(mails, "leads@client-b.example");
  expectCsv(b2, "ZR7_client-b_PV_2026-11-25.csv", "ZR7", {&x2});  // B may have the person

  Json x2Shown = ctlJson({"lead", "show", x2.id});
  EXPECT_EQ(textAt(x2Shown.root(), "statut"), "delivered");
  int skips = 0;
  for (auto h : array(at(x2Shown.root(), "history"))) {
    if (textAt(h, "event") == "doublon_evite") {
      ++skips;
      EXPECT_NE(textAt(h, "detail").find("client-a"), std::string::npos) << textAt(h, "detail");
      EXPECT_NE(textAt(h, "detail").find(ca), std::string::npos) << textAt(h, "detail");
    }
  }
  EXPECT_EQ(skips, 1);
  auto yShown = ctlJson({"lead", "show", y.id});  // outlives the loop's readers
  for (auto h : array(at(yShown.root(), "history"))) {
    EXPECT_NE(textAt(h, "event"), "doublon_evite");
  }
}

// ---- e. boundaries ---------------------------------------------------------------------------

TEST_F(DeliveryE2e, FreshWindowIsExactlyEightTimes24Hours) {
  auto zr7Smtp = startMailbox("ZR7");
  // Wednesday after the end of summer time (2026-10-25): T − 8 × 24 h is 10:30 summer time,
  // not 09:30.
  const std::string T = "2026-10-28T09:30:00+01:00";
  addClient("ZR7", "bornes", "Bornes", "leads@bornes.example");
  addCommande("bornes", "PV", 10, {"--lb-max-pct", "100"});

  LeadSpec exact = lead("exact", "PV", "33000", "2026-10-20T10:30:00+02:00");
  LeadSpec after = lead("plus-1s", "PV", "33000", "2026-10-20T10:30:01+02:00");
  LeadSpec before = lead("moins-1s", "PV", "33000", "2026-10-20T10:29:59+02:00");
  ASSERT_EQ(timeOf(exact.recuLe), timeOf(T) - 8 * DAY);
  importLeads("ZR7", {&exact, &after, &before});

  RunResult r = deliver({"--at", T});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(numberAt(at(runShow("2026-10-28").root(), "run"), "aged"), 2);
  auto mails = emails(zr7Maildir());
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(keys(mails[0].attachments),
            (std::vector<std::string>{"ZR7_bornes_PV_2026-10-28.csv",
                                      "ZR7_bornes_PV_2026-10-28_LB.csv"}));
  expectCsv(mails[0], "ZR7_bornes_PV_2026-10-28.csv", "ZR7", {&after});
  expectCsv(mails[0], "ZR7_bornes_PV_2026-10-28_LB.csv", "ZR7", {&exact, &before});
}

TEST_F(DeliveryE2e, DuplicateWindowIsExactly30Times24Hours) {
  auto zr7Smtp = startMailbox("ZR7");
  auto mdlSmtp = startMailbox("MDL");
  // Two one-entity runs on the same day, one second apart; 30 × 24 h later a full run.
  const std::string T1zr7 = "2026-06-03T09:30:00+02:00";
  const std::string T1mdl = "2026-06-03T09:30:01+02:00";
  const std::string T2 = "2026-07-03T09:30:00+02:00";
  ASSERT_EQ(timeOf(T2) - timeOf(T1zr7), 30 * DAY);

  addClient("ZR7", "zr7-a", "ZR7 A", "leads@zr7-a.example");
  addClient("MDL", "mdl-b", "MDL B", "leads@mdl-b.example");
  addCommande("zr7-a", "PAC", 10);
  addCommande("mdl-b", "PAC", 10);

  LeadSpec x = lead("x", "PAC", "33000", "2026-06-03T08:00:00+02:00");
  LeadSpec y = lead("y", "PAC", "69001", "2026-06-03T08:00:00+02:00");
  importLeads("ZR7", {&x});
  importLeads("MDL", {&y});
  RunResult r = deliver({"--at", T1zr7, "--entity", "ZR7"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  r = deliver({"--at", T1mdl, "--entity", "MDL"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(textAt(ctlJson({"lead", "show", x.id}).root(), "derniere_livraison"), T1zr7);
  EXPECT_EQ(textAt(ctlJson({"lead", "show", y.id}).root(), "derniere_livraison"), T1mdl);

  // The same people and produit again.
  LeadSpec x2 = lead("x2", "PAC", "33000", "2026-07-03T08:00:00+02:00");
  x2.telephone = x.national;
  x2.national = x.national;
  LeadSpec y2 = lead("y2", "PAC", "69001", "2026-07-03T08:00:00+02:00");
  y2.telephone = "+33" + y.national.substr(1);
  y2.national = y.national;
  importLeads("ZR7", {&x2});
  importLeads("MDL", {&y2});

  r = deliver({"--at", T2});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  auto shownRun = runShow("2026-07-03");  // outlives its readers
  auto run = at(shownRun.root(), "run");
  EXPECT_EQ(numberAt(run, "assigned"), 1);         // x2 only
  EXPECT_EQ(numberAt(run, "doublons_evites"), 1);  // y2 for mdl-b
  EXPECT_EQ(numberAt(run, "aged"), 1);             // x re-enters LB (exactly 30 days), y not

  // Exactly 30 × 24 h: not a duplicate any more.
  auto zr7Mails = emails(zr7Maildir());
  ASSERT_EQ(zr7Mails.size(), 2u);
  const Email* july = nullptr;
  for (auto& e : zr7Mails) {
    if (e.attachments.count("ZR7_zr7-a_PAC_2026-07-03.csv")) july = &e;
  }
  ASSERT_NE(july, nullptr);
  expectCsv(*july, "ZR7_zr7-a_PAC_2026-07-03.csv", "ZR7", {&x2});
  EXPECT_EQ(statut(x2), "delivered");
  EXPECT_EQ(statut(x), "lb");

  // 30 × 24 h − 1 s: still a duplicate, skipped and kept.
  EXPECT_EQ(emails(mdlMaildir()).size(), 1u);
  EXPECT_EQ(statut(y2), "new");
  EXPECT_EQ(statut(y), "delivered");
  bool skipped = false;
  auto y2Shown = ctlJson({"lead", "show", y2.id});  // outlives the loop's readers
  for (auto h : array(at(y2Shown.root(), "history"))) {
    if (textAt(h, "event") == "doublon_evite" &&
        textAt(h, "detail").find("mdl-b") != std::string::npos) {
      skipped = true;
    }
  }
  EXPECT_TRUE(skipped);
}

// SPEC §5.9: a one-entity run does not block the full run of the same date: the full run then
// runs the entity left, alone (no fallback), and a third call allocates nothing.
TEST_F(DeliveryE2e, AFullRunAfterAOneEntityRunRunsTheOtherEntity) {
  auto zr7Smtp = startMailbox("ZR7");
  auto mdlSmtp = startMailbox("MDL");
  const std::string T = "2026-11-24T09:30:00+01:00";
  addClient("ZR7", "zr7-a", "ZR7 A", "leads@zr7-a.example");
  addClient("MDL", "mdl-b", "MDL B", "leads@mdl-b.example");
  addCommande("zr7-a", "PAC", 10);
  addCommande("mdl-b", "PAC", 10, {"--fallback", "oui"});
  LeadSpec x = lead("x", "PAC", "33000", shifted(T, -1 * DAY));
  LeadSpec x2 = lead("x2", "PV", "33000", shifted(T, -1 * DAY));  // no ZR7 PV commande
  LeadSpec y = lead("y", "PAC", "69001", shifted(T, -1 * DAY));
  importLeads("ZR7", {&x, &x2});
  importLeads("MDL", {&y});

  RunResult r = deliver({"--at", T, "--entity", "ZR7"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(statut(x), "delivered");
  EXPECT_EQ(statut(y), "new");

  r = deliver({"--at", T});  // the morning's full run
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(statut(y), "delivered");
  EXPECT_EQ(statut(x2), "new") << "no fallback in a one-entity run";
  EXPECT_EQ(textAt(at(runShow("2026-11-24/mdl").root(), "run"), "id"), "2026-11-24/mdl");
  EXPECT_EQ(emails(mdlMaildir()).size(), 1u);

  r = deliver({"--at", T});  // nothing left to run
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(emails(zr7Maildir()).size(), 1u);
  EXPECT_EQ(emails(mdlMaildir()).size(), 1u);
  EXPECT_EQ(batches().size(), 2u);
}

// SPEC §5.9: a run dated after today is refused without --force (a year ahead used to move a lead
// delivered the day before back into LB); a dry run of a future date is allowed.
TEST_F(DeliveryE2e, ARunAfterTodayNeedsForce) {
  auto zr7Smtp = startMailbox("ZR7");
  addClient("ZR7", "zr7-a", "ZR7 A", "leads@zr7-a.example");
  addCommande("zr7-a", "PAC", 10, {"--jours", "lun,mar,mer,jeu,ven,sam,dim"});
  auto now = std::chrono::time_point_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now());
  std::string tomorrow = parisDate(now + DAY);
  std::string nextYear = parisDate(now + 365 * DAY);

  RunResult r = deliver({"--date", nextYear});
  EXPECT_EQ(r.exitCode, 1) << describe(r);
  EXPECT_TRUE(mentions(r, "--force")) << describe(r);
  EXPECT_EQ(ctlOk({"run", "list"}), "") << "nothing written";
  r = deliver({"--date", nextYear, "--dry-run"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  r = deliver({"--date", tomorrow, "--force", "--wait", "0"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
}

// ---- f. re-running a date --------------------------------------------------------------------

TEST_F(DeliveryE2e, ReRunningADateChangesNothing) {
  auto zr7Smtp = startMailbox("ZR7");
  auto mdlSmtp = startMailbox("MDL");
  const std::string T = "2026-11-24T09:30:00+01:00";
  addClient("ZR7", "client-f", "Client F", "leads@client-f.example");
  addClient("MDL", "client-m", "Client M", "leads@client-m.example");
  addCommande("client-f", "PV", 5);
  addCommande("client-m", "PAC", 5);
  LeadSpec z1 = lead("z1", "PV", "33000", shifted(T, -2h));
  LeadSpec z2 = lead("z2", "PV", "33000", shifted(T, -1h));
  LeadSpec m1 = lead("m1", "PAC", "69001", shifted(T, -1h));
  importLeads("ZR7", {&z1, &z2});
  importLeads("MDL", {&m1});

  RunResult first = deliver({"--at", T});
  ASSERT_EQ(first.exitCode, 0) << describe(first);
  EXPECT_FALSE(mentions(first, "already done")) << describe(first);
  ASSERT_EQ(test::maildirFiles(zr7Maildir()).size(), 1u);
  ASSERT_EQ(test::maildirFiles(mdlMaildir()).size(), 1u);

  auto snapshot = [&]() {
    std::string s = ctlOk({"--json", "batch", "list"}) + "\n" + ctlOk({"--json", "run", "list"});
    for (auto* l : {&z1, &z2, &m1}) s += "\n" + ctlOk({"--json", "lead", "show", l->id});
    return s;
  };
  std::string before = snapshot();

  // A lead received before T but imported after the run: a re-run must not allocate it.
  LeadSpec late = lead("late", "PV", "33000", shifted(T, -30min));
  importLeads("ZR7", {&late});

  for (Args args : {Args{"--at", T}, Args{"--date", "2026-11-24"}}) {
    RunResult again = deliver(args);
    EXPECT_EQ(again.exitCode, 0) << describe(again);
    EXPECT_TRUE(mentions(again, "already done")) << describe(again);
  }
  Json json = ctlJson({"deliver", "--at", T});
  EXPECT_TRUE(boolAt(json.root(), "already_done"));
  EXPECT_EQ(textAt(at(json.root(), "run"), "status"), "complete");

  std::this_thread::sleep_for(300ms);  // anything the Sender would do, it would do by now
  EXPECT_EQ(test::maildirFiles(zr7Maildir()).size(), 1u);
  EXPECT_EQ(test::maildirFiles(mdlMaildir()).size(), 1u);
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(statut(late), "new");
}

// ---- g. SMTP down, then up -------------------------------------------------------------------

TEST_F(DeliveryE2e, SmtpDownThenResendSendsOnceAndNothingIsReallocated) {
  // ZR7's SMTP port: nobody listens. MDL's works.
  auto mdlSmtp = startMailbox("MDL");
  const std::string T = "2026-11-24T09:30:00+01:00";
  addClient("ZR7", "client-g", "Client G", "leads@client-g.example");
  addClient("MDL", "client-gm", "Client GM", "leads@client-gm.example");
  addCommande("client-g", "PV", 5);
  addCommande("client-gm", "PAC", 5);
  LeadSpec z1 = lead("z1", "PV", "33000", shifted(T, -2h));
  LeadSpec z2 = lead("z2", "PV", "33000", shifted(T, -1h));
  LeadSpec m1 = lead("m1", "PAC", "69001", shifted(T, -1h));
  importLeads("ZR7", {&z1, &z2});
  importLeads("MDL", {&m1});

  auto beforeRun = std::chrono::system_clock::now();
  RunResult r = deliver({"--at", T});
  auto afterRun = std::chrono::system_clock::now();
  EXPECT_EQ(r.exitCode, 1) << describe(r);
  EXPECT_TRUE(mentions(r, "failed")) << describe(r);

  auto failed = batches("failed");
  ASSERT_EQ(failed.size(), 1u);
  Batch b = failed[0];
  EXPECT_EQ(b.client, "client-g");
  EXPECT_EQ(b.entity, "ZR7");
  EXPECT_EQ(b.attempts, 1u);
  EXPECT_EQ(b.deliveries, 2u);
  EXPECT_FALSE(b.lastError.empty());
  ASSERT_FALSE(b.nextAttempt.empty());
  // The first retry is 1 minute after the failed attempt.
  EXPECT_GE(timeOf(b.nextAttempt), beforeRun + 60s - 1s) << b.nextAttempt;
  EXPECT_LE(timeOf(b.nextAttempt), afterRun + 60s + 1s) << b.nextAttempt;
  EXPECT_EQ(batches("sent").size(), 1u);  // MDL's went
  EXPECT_EQ(textAt(at(runShow("2026-11-24").root(), "run"), "status"), "committed");
  // The leads stay assigned.
  for (auto* l : {&z1, &z2}) {
    Json shown = ctlJson({"lead", "show", l->id});
    EXPECT_EQ(textAt(shown.root(), "statut"), "delivered") << l->name;
    EXPECT_EQ(numberAt(shown.root(), "nb_livraisons"), 1) << l->name;
  }

  auto zr7Smtp = startMailbox("ZR7");
  EXPECT_TRUE(test::maildirFiles(zr7Maildir()).empty());
  ASSERT_EQ(ctl({"batch", "resend", b.id}).exitCode, 0);
  auto files = test::waitForMaildirFiles(zr7Maildir(), 1, 10s);
  ASSERT_EQ(files.size(), 1u) << zr7Smtp->log();
  ASSERT_TRUE(waitUntilNoBatchPending(10s));
  Batch sent = batchOf("client-g");
  EXPECT_EQ(sent.status, "sent");
  EXPECT_EQ(sent.attempts, 2u);
  EXPECT_EQ(sent.lastError, "");

  RunResult again = deliver({"--at", T});
  EXPECT_EQ(again.exitCode, 0) << describe(again);
  EXPECT_TRUE(mentions(again, "already done")) << describe(again);
  EXPECT_EQ(textAt(at(runShow("2026-11-24").root(), "run"), "status"), "complete");
  EXPECT_EQ(batches().size(), 2u);

  std::this_thread::sleep_for(300ms);
  auto zr7Mails = emails(zr7Maildir());
  auto mdlMails = emails(mdlMaildir());
  ASSERT_EQ(zr7Mails.size(), 1u);
  ASSERT_EQ(mdlMails.size(), 1u);
  expectEnvelope(zr7Mails[0], "ZR7", sent, {"leads@client-g.example"});
  expectCsv(zr7Mails[0], "ZR7_client-g_PV_2026-11-24.csv", "ZR7", {&z1, &z2});
  std::vector<Row> rows = allRows(zr7Mails);
  auto mdlRows = allRows(mdlMails);
  rows.insert(rows.end(), mdlRows.begin(), mdlRows.end());
  for (auto* l : {&z1, &z2, &m1}) EXPECT_EQ(rowsWithPhone(rows, *l), 1u) << l->name;
}

// ---- h. SMTP refuses -------------------------------------------------------------------------

TEST_F(DeliveryE2e, Smtp5xxLeavesTheBatchFailedAndTheLeadsAssigned) {
  auto zr7Smtp = test::PythonServer::handler(tmp_, zr7Port_, "RefuseData");
  ASSERT_TRUE(zr7Smtp->running());
  auto mdlSmtp = startMailbox("MDL");
  const std::string T = "2026-11-24T09:30:00+01:00";
  addClient("ZR7", "client-h", "Client H", "leads@client-h.example");
  addClient("MDL", "client-hm", "Client HM", "leads@client-hm.example");
  addCommande("client-h", "PV", 5);
  addCommande("client-hm", "PAC", 5);
  LeadSpec z1 = lead("z1", "PV", "33000", shifted(T, -2h));
  LeadSpec z2 = lead("z2", "PV", "33000", shifted(T, -1h));
  LeadSpec m1 = lead("m1", "PAC", "69001", shifted(T, -1h));
  importLeads("ZR7", {&z1, &z2});
  importLeads("MDL", {&m1});

  RunResult r = deliver({"--at", T});
  EXPECT_EQ(r.exitCode, 1) << describe(r);

  Batch b = batchOf("client-h");
  EXPECT_EQ(b.status, "failed");
  EXPECT_EQ(b.attempts, 1u);
  EXPECT_NE(b.lastError.find("554"), std::string::npos) << b.lastError;
  ASSERT_EQ(b.responses.size(), 1u);
  EXPECT_NE(b.responses[0].find("554"), std::string::npos) << b.responses[0];
  EXPECT_FALSE(b.nextAttempt.empty());  // retried on the schedule all the same (DECISIONS.md)
  EXPECT_EQ(batchOf("client-hm").status, "sent");
  EXPECT_EQ(test::maildirFiles(mdlMaildir()).size(), 1u);
  EXPECT_EQ(textAt(at(runShow("2026-11-24").root(), "run"), "status"), "committed");

  for (auto* l : {&z1, &z2}) {
    Json shown = ctlJson({"lead", "show", l->id});
    EXPECT_EQ(textAt(shown.root(), "statut"), "delivered") << l->name;
    EXPECT_EQ(numberAt(shown.root(), "nb_livraisons"), 1) << l->name;
  }
  // Not re-allocated: the date is done, and the next day's plan only has the next day's lead.
  RunResult again = deliver({"--at", T});
  EXPECT_TRUE(mentions(again, "already done")) << describe(again);
  EXPECT_EQ(batches().size(), 2u);
  LeadSpec z3 = lead("z3", "PV", "33000", shifted(T, 1h));
  importLeads("ZR7", {&z3});
  Json plan = ctlJson({"deliver", "--at", shifted(T, DAY), "--dry-run"});
  std::vector<std::string> planned;
  for (auto d : array(at(at(plan.root(), "run"), "plan"))) planned.push_back(textAt(d, "lead"));
  EXPECT_EQ(planned, std::vector<std::string>{z3.id});
}

// ---- i. kill -9 between commit and send ------------------------------------------------------

TEST_F(DeliveryE2e, KilledWhileSendingTheBatchGoesOutAfterRestartOnce) {
  auto stall = test::PythonServer::stalling(tmp_, zr7Port_);
  ASSERT_TRUE(stall->running());
  auto mdlSmtp = startMailbox("MDL");
  const std::string T = "2026-11-24T09:30:00+01:00";
  addClient("ZR7", "client-k", "Client K", "leads@client-k.example");
  addClient("MDL", "client-km", "Client KM", "leads@client-km.example");
  addCommande("client-k", "PV", 5);
  addCommande("client-km", "PAC", 5);
  LeadSpec z1 = lead("z1", "PV", "33000", shifted(T, -2h));
  LeadSpec z2 = lead("z2", "PV", "33000", shifted(T, -1h));
  LeadSpec m1 = lead("m1", "PAC", "69001", shifted(T, -1h));
  importLeads("ZR7", {&z1, &z2});
  importLeads("MDL", {&m1});

  RunResult r = deliver({"--at", T, "--wait", "0"});  // returns after the commit
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  // The Sender is inside SMTP with the server that never answers.
  ASSERT_TRUE(stall->waitForOpenConnections(1, 10s)) << stall->log();
  Batch pending = batchOf("client-k");
  EXPECT_EQ(pending.status, "pending");
  EXPECT_EQ(pending.attempts, 0u);
  // MDL's batch went out and its outcome is recorded before the kill (a kill between the 250 and
  // that write would send it once more after the restart: at-least-once, not what this tests).
  auto mdlDeadline = std::chrono::steady_clock::now() + 10s;
  while (batchOf("client-km").status != "sent" && std::chrono::steady_clock::now() < mdlDeadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(batchOf("client-km").status, "sent");

  daemon_->kill9();
  // The kernel closed the dead daemon's connection.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (stall->openConnections() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(stall->openConnections(), 0u) << stall->log();
  EXPECT_TRUE(test::maildirFiles(zr7Maildir()).empty());

  // Back with a working ZR7 SMTP server (on another port).
  int zr7Port = test::freePort();
  while (zr7Port == zr7Port_ || zr7Port == mdlPort_) zr7Port = test::freePort();
  auto zr7Smtp = test::PythonServer::mailbox(tmp_, zr7Port, zr7Maildir());
  ASSERT_TRUE(zr7Smtp->running());
  restartDaemon(zr7Port, mdlPort_);

  auto files = test::waitForMaildirFiles(zr7Maildir(), 1, 15s);
  ASSERT_EQ(files.size(), 1u) << daemon_->log();
  ASSERT_EQ(test::waitForMaildirFiles(mdlMaildir(), 1, 15s).size(), 1u) << daemon_->log();
  ASSERT_TRUE(waitUntilNoBatchPending(10s));
  Batch sent = batchOf("client-k");
  EXPECT_EQ(sent.id, pending.id);
  EXPECT_EQ(sent.status, "sent");
  EXPECT_EQ(batchOf("client-km").status, "sent");

  RunResult again = deliver({"--at", T});
  EXPECT_EQ(again.exitCode, 0) << describe(again);
  EXPECT_TRUE(mentions(again, "already done")) << describe(again);
  EXPECT_EQ(textAt(at(runShow("2026-11-24").root(), "run"), "status"), "complete");
  EXPECT_EQ(batches().size(), 2u);

  std::this_thread::sleep_for(300ms);
  auto zr7Mails = emails(zr7Maildir());
  auto mdlMails = emails(mdlMaildir());
  ASSERT_EQ(zr7Mails.size(), 1u);
  ASSERT_EQ(mdlMails.size(), 1u);
  expectEnvelope(zr7Mails[0], "ZR7", sent, {"leads@client-k.example"});
  expectCsv(zr7Mails[0], "ZR7_client-k_PV_2026-11-24.csv", "ZR7", {&z1, &z2});
  expectCsv(mdlMails[0], "MDL_client-km_PAC_2026-11-24.csv", "MDL", {&m1});
  std::vector<Row> rows = allRows(zr7Mails);
  auto mdlRows = allRows(mdlMails);
  rows.insert(rows.end(), mdlRows.begin(), mdlRows.end());
  for (auto* l : {&z1, &z2, &m1}) EXPECT_EQ(rowsWithPhone(rows, *l), 1u) << l->name;
  // The stalling server saw one connection besides its own probe: the Sender's, stuck.
  std::string stallLog = stall->log();
  size_t accepted = 0;
  for (size_t p = stallLog.find("accepted"); p != std::string::npos;
       p = stallLog.find("accepted", p + 1)) {
    ++accepted;
  }
  EXPECT_EQ(accepted, 2u) << stallLog;
}

// Strict separation holds in sending too: each entity has its own Sender, so a ZR7 SMTP server
// that never answers does not hold back MDL's batch. And `deliver` does not report success for
// a batch still unconfirmed when its wait ends.
TEST_F(DeliveryE2e, OneEntitysStuckSmtpServerDoesNotDelayTheOther) {
  auto stall = test::PythonServer::stalling(tmp_, zr7Port_);
  ASSERT_TRUE(stall->running());
  auto mdlSmtp = startMailbox("MDL");
  const std::string T = "2026-11-24T09:30:00+01:00";
  addClient("ZR7", "client-s", "Client S", "leads@client-s.example");
  addClient("MDL", "client-sm", "Client SM", "leads@client-sm.example");
  addCommande("client-s", "PV", 5);
  addCommande("client-sm", "PAC", 5);
  LeadSpec z1 = lead("z1", "PV", "33000", shifted(T, -2h));
  LeadSpec m1 = lead("m1", "PAC", "69001", shifted(T, -1h));
  importLeads("ZR7", {&z1});
  importLeads("MDL", {&m1});

  RunResult r = deliver({"--at", T, "--wait", "4"});
  EXPECT_EQ(r.exitCode, 1) << describe(r);  // ZR7's batch is still pending after the wait
  EXPECT_TRUE(stall->waitForOpenConnections(1, 5s)) << stall->log();
  EXPECT_EQ(batchOf("client-s").status, "pending");
  // MDL's email went out while ZR7's Sender was stuck.
  EXPECT_EQ(batchOf("client-sm").status, "sent");
  auto mdlMails = emails(mdlMaildir());
  ASSERT_EQ(mdlMails.size(), 1u);
  expectCsv(mdlMails[0], "MDL_client-sm_PAC_2026-11-24.csv", "MDL", {&m1});
  EXPECT_TRUE(test::maildirFiles(zr7Maildir()).empty());
}

}  // namespace
}  // namespace rdz::e2e
