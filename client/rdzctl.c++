#include "client/rdzctl.h"

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <kj/debug.h>

#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>
#include <unordered_set>

#include "client/commands/user.h"
#include "client/connection.h"
#include "client/import-rows.h"
#include "client/json.h"
#include "client/present.h"
#include "daemon/domain/commerce.h"
#include "daemon/domain/csv.h"
#include "daemon/domain/time.h"
#include "daemon/domain/validation.h"

namespace rdz {

namespace po = boost::program_options;

namespace {

constexpr char HELP[] = R"(rdzctl — administer RDZ (talks to rdzd over its Unix socket, or TCP)

Usage: rdzctl [global options] COMMAND [options]

Global options:
  --socket PATH       rdzd's socket (env RDZ_SOCKET; default ./rdz-data/rdzd.sock)
  --connect HOST:PORT rdzd's TCP listener instead of the socket (env RDZ_CONNECT); TLS,
                      except plain TCP to a loopback host (127.0.0.0/8, ::1, localhost)
                      when no --ca-file is given
  --ca-file PEM       trust only this CA for rdzd's TLS certificate (env RDZ_CA_FILE;
                      default: the system's trusted CAs)
  --token-file F      file holding the token (env RDZ_TOKEN_FILE, or the token itself in
                      env RDZ_TOKEN; default ./rdz-data/admin.token)
  --wait-rdzd SECONDS keep trying to connect that long while rdzd is not answering yet
                      (starting after a boot or a restart); default 0: one try
  --json              print one JSON document on stdout
  -h, --help          this help; `rdzctl COMMAND --help` for a command's options

Commands:
  client add --entity E --nom N --email A[,B] [--id ID] [--cc A] [--methode email|api]
             [--api-url URL] [--api-header 'K: V']
  client list [--entity E] [--limit N] [--after ID] | client show ID
  client set ID [same flags] [--actif oui|non]
  commande add --client ID --produit P --quota-semaine N [--quota-jour N]
               [--departements 33,40|*] [--priorite 1-9] [--lb-max-pct 0-100]
               [--fallback oui|non] [--jours lun,mar,mer,jeu,ven,sam,dim]
               [--debut DATE] [--fin DATE]
  commande list [--entity E] [--client ID] [--limit N] [--after ID]
  commande show ID | commande set ID [flags]
  produit list --entity E | produit add --entity E CODE [LIBELLE]
  lead submit --entity E [--idempotency-key K] champ=valeur ...
  lead import --entity E FILE.jsonl|FILE.csv   (admin; recu_le allowed; per-row results)
  lead show ID | lead find --phone P [--entity E]
  lead reject ID --reason R [--at T]
                      a client's rejection of the lead's latest delivery, within 7 x 24 h
                      of it; R: faux_numero injoignable hors_zone doublon hors_cible autre.
                      The lead is rejected for good; its commande is credited (this week's
                      counter, or a replacement owed served by the next runs)
  lead erase --phone P [--entity E]
                      RGPD erasure of a person: the personal fields of every lead of that
                      number are wiped (both entities unless --entity or an entity-bound
                      token), unsent batches drop them, the number joins the opposition
                      list; the wiped values are gone from rdzd's files when it returns
  opposition add --entity E PHONE... | opposition import --entity E FILE
  opposition remove --entity E PHONE | opposition check PHONE | opposition count [--entity E]
                      the opposition list (keyed hashes, never numbers): a lead on its
                      entity's list is stored invalid (telephone.oppose) and never delivered.
                      import: one number per line (any French form); unparsed lines are
                      reported with their number (exit 1), the others added; idempotent
  deliver [--date D | --at T] [--entity E] [--dry-run] [--force] [--wait SECONDS]
                      run the daily allocation (default: today 09:30 Paris), commit it, and
                      wait for the batches' first sending attempt (exit 1 if one failed or
                      is still unconfirmed when the wait ends; --wait 0: do not wait).
                      A date after today is refused without --force. After a one-entity
                      run, a full run of the same date runs the other entity alone.
  run list [--limit N] [--after ID] | run show DATE
  batch list [--status pending|sent|failed] [--limit N] [--after ID] | batch resend ID
                      listings come in pages of at most 1000 (--limit, default 1000); when
                      there is more, stderr says the --after of the next page (--json: "next")
  backup DIR          online copy of the database into DIR (a path on rdzd's machine)
  user add NAME --role admin|viewer [--entity E] | user list
  user set NAME [--password] [--actif oui|non] [--role admin|viewer] [--entity E|*]
                      the people who log in to the web console (rdz-console); add and
                      --password print a generated password once (rdzd keeps its scrypt
                      hash only). Needs an admin token bound to no entity

Not available yet in this version (they answer with exit code 1):
  stats, audit, lead explain

Exit codes: 0 ok, 1 refused or failed, 2 usage, 3 cannot connect or not authenticated.
)";

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Globals {
  std::string socket;
  std::string connect;
  std::string caFile;
  std::string tokenFile;
  uint32_t waitRdzd = 0;
  bool json = false;
};

// One invocation: globals, the command's words and flags, where to print, the connection.
class Command {
 public:
  Command(Globals globals, std::vector<std::string> args, std::ostream& out, std::ostream& err)
      : globals_(kj::mv(globals)), args_(kj::mv(args)), out_(out), err_(err) {}

  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  bool json() const { return globals_.json; }

  // Parses this command's flags; `positional` names the positional arguments in order ("-1"
  // count for the last one means "any number"). Returns false after printing --help.
  bool parse(po::options_description& options, const std::vector<std::string>& positional = {},
             bool lastRepeats = false) {
    options.add_options()("help,h", "this help");
    po::positional_options_description pos;
    for (size_t i = 0; i < positional.size(); ++i) {
      pos.add(positional[i].c_str(), lastRepeats && i + 1 == positional.size() ? -1 : 1);
    }
    po::store(po::command_line_parser(args_).options(options).positional(pos).run(), vm_);
    if (vm_.count("help")) {
      out_ << options << "\n";
      return false;
    }
    po::notify(vm_);
    return true;
  }

  bool has(const char* name) const { return vm_.count(name) > 0; }
  std::string get(const char* name) const {
    return has(name) ? vm_[name].as<std::string>() : std::string();
  }
  std::vector<std::string> getAll(const char* name) const {
    return has(name) ? vm_[name].as<std::vector<std::string>>() : std::vector<std::string>();
  }

  Connection& connection() {
    if (connection_ == nullptr) {
      Endpoint endpoint = resolveEndpoint(globals_.socket, globals_.tokenFile, "admin.token",
                                          globals_.connect, globals_.caFile);
      endpoint.waitForRdzd = std::chrono::seconds(globals_.waitRdzd);
      connection_ = std::make_unique<Connection>(endpoint);
    }
    return *connection_;
  }
  kj::WaitScope& wait() { return connection().waitScope(); }

 private:
  Globals globals_;
  std::vector<std::string> args_;
  std::ostream& out_;
  std::ostream& err_;
  po::variables_map vm_;
  std::unique_ptr<Connection> connection_;
};

// ---- small parsers --------------------------------------------------------------------------

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

// Listings come in pages (SPEC §10): --limit N (at most 1000) and --after ID, the last id of the
// previous page. Without --json, the next page's --after is said on stderr.
void addPaging(po::options_description& o) {
  o.add_options()("limit", po::value<std::string>(), "at most N items (default and max 1000)")(
      "after", po::value<std::string>(), "start after this id (the previous page's last)");
}
template <typename Request>
void setPaging(Command& cmd, Request& req) {
  if (cmd.has("limit")) req.setLimit(numberArg("limit", cmd.get("limit"), 1000));
  req.setAfter(cmd.get("after"));
}
void sayNextPage(Command& cmd, capnp::Text::Reader next) {
  if (!cmd.json() && next.size() > 0) {
    cmd.err() << "rdzctl: more on the next page: --after " << next.cStr() << "\n";
  }
}

template <typename List>
void setList(List list, const std::vector<std::string>& values) {
  for (size_t i = 0; i < values.size(); ++i) list.set(i, values[i]);
}

// ---- printing ---------------------------------------------------------------------------------

// One line of chosen fields per record (client/present.h, shared with the console).
template <typename Reader>
void printLine(std::ostream& out, Reader reader, std::initializer_list<const char*> fields) {
  out << textLine(reader, fields) << "\n";
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
  if (cmd.json()) {
    cmd.out() << "{\"id\":" << jsonString(id.cStr()) << "}\n";
  } else {
    cmd.out() << id.cStr() << "\n";
  }
}

// ---- client -----------------------------------------------------------------------------------

void clientFlags(po::options_description& o) {
  o.add_options()("entity", po::value<std::string>(), "ZR7 or MDL")(
      "nom", po::value<std::string>(), "client name")(
      "email", po::value<std::string>(), "delivery addresses, comma-separated")(
      "cc", po::value<std::string>(), "copy addresses, comma-separated")(
      "methode", po::value<std::string>(), "email (default) or api")(
      "api-url", po::value<std::string>(), "URL for methode api")(
      "api-header", po::value<std::string>(), "'Name: value' header for methode api");
}

void applyClientFlags(Command& cmd, schema::Client::Builder c) {
  if (cmd.has("nom")) c.setNom(cmd.get("nom"));
  if (cmd.has("email")) setList(c.initEmails(splitList(cmd.get("email")).size()),
                                splitList(cmd.get("email")));
  if (cmd.has("cc")) setList(c.initCc(splitList(cmd.get("cc")).size()), splitList(cmd.get("cc")));
  if (cmd.has("methode")) {
    std::string m = cmd.get("methode");
    if (m != "email" && m != "api") throw UsageError("--methode must be email or api");
    c.setMethode(m == "api" ? schema::Methode::API : schema::Methode::EMAIL);
  }
  if (cmd.has("api-url")) c.setApiUrl(cmd.get("api-url"));
  if (cmd.has("api-header")) c.setApiHeader(cmd.get("api-header"));
  if (cmd.has("actif")) c.setActif(ouiNon("actif", cmd.get("actif")));
}

int clientAdd(Command& cmd) {
  po::options_description o("rdzctl client add");
  clientFlags(o);
  o.add_options()("id", po::value<std::string>(), "id (slug); generated from --nom if absent");
  if (!cmd.parse(o)) return EXIT_OK;
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
  po::options_description o("rdzctl client list");
  o.add_options()("entity", po::value<std::string>(), "ZR7 or MDL");
  addPaging(o);
  if (!cmd.parse(o)) return EXIT_OK;
  auto req = cmd.connection().viewer().listClientsRequest();
  if (cmd.has("entity")) req.initEntity().setOne(entityArg(cmd.get("entity")));
  setPaging(cmd, req);
  auto resp = req.send().wait(cmd.wait());
  sayNextPage(cmd, resp.getNext());
  if (cmd.json()) {
    cmd.out() << toJson(resp) << "\n";
  } else {
    for (auto c : resp.getClients()) printLine(cmd.out(), c, {"id", "entity", "nom", "methode",
                                                               "actif", "emails"});
  }
  return EXIT_OK;
}

capnp::Response<schema::Viewer::GetClientResults> fetchClient(Command& cmd, const std::string& id) {
  auto req = cmd.connection().viewer().getClientRequest();
  req.setId(id);
  return req.send().wait(cmd.wait());
}

int clientShow(Command& cmd) {
  po::options_description o("rdzctl client show ID");
  o.add_options()("id", po::value<std::string>()->required(), "client id");
  if (!cmd.parse(o, {"id"})) return EXIT_OK;
  auto resp = fetchClient(cmd, cmd.get("id"));
  if (cmd.json()) {
    cmd.out() << toJson(resp.getClient()) << "\n";
  } else {
    printRecord(cmd.out(), resp.getClient());
  }
  return EXIT_OK;
}

int clientSet(Command& cmd) {
  po::options_description o("rdzctl client set ID");
  clientFlags(o);
  o.add_options()("id", po::value<std::string>()->required(), "client id")(
      "actif", po::value<std::string>(), "oui or non");
  if (!cmd.parse(o, {"id"})) return EXIT_OK;
  if (cmd.has("entity")) throw UsageError("a client's entity never changes");
  auto current = fetchClient(cmd, cmd.get("id"));
  auto req = cmd.connection().admin().setClientRequest();
  req.setClient(current.getClient());
  applyClientFlags(cmd, req.getClient());
  req.send().wait(cmd.wait());
  if (cmd.json()) cmd.out() << toJson(req.asReader().getClient()) << "\n";
  return EXIT_OK;
}

// ---- commande ---------------------------------------------------------------------------------

void commandeFlags(po::options_description& o) {
  o.add_options()("produit", po::value<std::string>(), "produit code")(
      "quota-semaine", po::value<std::string>(), "weekly quota, 1..100000")(
      "quota-jour", po::value<std::string>(), "daily cap (0: none)")(
      "departements", po::value<std::string>(), "33,40 or * (default *)")(
      "priorite", po::value<std::string>(), "1..9, 1 served first (default 5)")(
      "lb-max-pct", po::value<std::string>(), "share of the weekly quota LB may fill (0..100)")(
      "fallback", po::value<std::string>(), "oui|non: accept the other entity's leftovers")(
      "jours", po::value<std::string>(), "delivery days (default lun,mar,mer,jeu,ven)")(
      "debut", po::value<std::string>(), "first day AAAA-MM-JJ")(
      "fin", po::value<std::string>(), "last day AAAA-MM-JJ");
}

void applyCommandeFlags(Command& cmd, schema::Commande::Builder c) {
  if (cmd.has("produit")) c.setProduit(cmd.get("produit"));
  if (cmd.has("quota-semaine")) {
    c.setQuotaSemaine(numberArg("quota-semaine", cmd.get("quota-semaine"), 1000000));
  }
  if (cmd.has("quota-jour")) c.setQuotaJour(numberArg("quota-jour", cmd.get("quota-jour"), 1000000));
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
  po::options_description o("rdzctl commande add");
  o.add_options()("client", po::value<std::string>(), "client id");
  commandeFlags(o);
  if (!cmd.parse(o)) return EXIT_OK;
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
  po::options_description o("rdzctl commande list");
  o.add_options()("entity", po::value<std::string>(), "ZR7 or MDL")(
      "client", po::value<std::string>(), "only this client's commandes");
  addPaging(o);
  if (!cmd.parse(o)) return EXIT_OK;
  auto req = cmd.connection().viewer().listCommandesRequest();
  if (cmd.has("entity")) req.initEntity().setOne(entityArg(cmd.get("entity")));
  req.setClient(cmd.get("client"));
  setPaging(cmd, req);
  auto resp = req.send().wait(cmd.wait());
  sayNextPage(cmd, resp.getNext());
  if (cmd.json()) {
    cmd.out() << toJson(resp) << "\n";
  } else {
    for (auto c : resp.getCommandes()) {
      printLine(cmd.out(), c, {"id", "entity", "client", "produit", "quota_semaine", "priorite",
                               "departements", "actif"});
    }
  }
  return EXIT_OK;
}

capnp::Response<schema::Viewer::GetCommandeResults> fetchCommande(Command& cmd,
                                                                 const std::string& id) {
  auto req = cmd.connection().viewer().getCommandeRequest();
  req.setId(id);
  return req.send().wait(cmd.wait());
}

int commandeShow(Command& cmd) {
  po::options_description o("rdzctl commande show ID");
  o.add_options()("id", po::value<std::string>()->required(), "commande id");
  if (!cmd.parse(o, {"id"})) return EXIT_OK;
  auto resp = fetchCommande(cmd, cmd.get("id"));
  if (cmd.json()) {
    cmd.out() << toJson(resp.getCommande()) << "\n";
  } else {
    printRecord(cmd.out(), resp.getCommande());
  }
  return EXIT_OK;
}

int commandeSet(Command& cmd) {
  po::options_description o("rdzctl commande set ID");
  commandeFlags(o);
  o.add_options()("id", po::value<std::string>()->required(), "commande id")(
      "actif", po::value<std::string>(), "oui or non");
  if (!cmd.parse(o, {"id"})) return EXIT_OK;
  auto current = fetchCommande(cmd, cmd.get("id"));
  auto req = cmd.connection().admin().setCommandeRequest();
  req.setCommande(current.getCommande());
  applyCommandeFlags(cmd, req.getCommande());
  req.send().wait(cmd.wait());
  if (cmd.json()) cmd.out() << toJson(req.asReader().getCommande()) << "\n";
  return EXIT_OK;
}

// ---- produit ----------------------------------------------------------------------------------

int produitList(Command& cmd) {
  po::options_description o("rdzctl produit list");
  o.add_options()("entity", po::value<std::string>(), "ZR7 or MDL");
  if (!cmd.parse(o)) return EXIT_OK;
  if (!cmd.has("entity")) throw UsageError("produit list needs --entity");
  auto req = cmd.connection().viewer().listProduitsRequest();
  req.setEntity(entityArg(cmd.get("entity")));
  auto resp = req.send().wait(cmd.wait());
  if (cmd.json()) {
    cmd.out() << toJson(resp) << "\n";
  } else {
    for (auto p : resp.getProduits()) printLine(cmd.out(), p, {"code", "libelle"});
  }
  return EXIT_OK;
}

int produitAdd(Command& cmd) {
  po::options_description o("rdzctl produit add --entity E CODE [LIBELLE]");
  o.add_options()("entity", po::value<std::string>(), "ZR7 or MDL")(
      "code", po::value<std::string>(), "produit code")(
      "libelle", po::value<std::string>(), "label");
  if (!cmd.parse(o, {"code", "libelle"})) return EXIT_OK;
  if (!cmd.has("entity") || !cmd.has("code")) throw UsageError("produit add needs --entity CODE");
  auto req = cmd.connection().admin().addProduitRequest();
  auto p = req.initProduit();
  p.setEntity(entityArg(cmd.get("entity")));
  p.setCode(cmd.get("code"));
  p.setLibelle(cmd.get("libelle"));
  req.send().wait(cmd.wait());
  if (cmd.json()) cmd.out() << toJson(req.asReader().getProduit()) << "\n";
  return EXIT_OK;
}

// ---- lead -------------------------------------------------------------------------------------

int leadSubmit(Command& cmd) {
  po::options_description o("rdzctl lead submit --entity E [--idempotency-key K] champ=valeur ...");
  o.add_options()("entity", po::value<std::string>(), "ZR7 or MDL")(
      "idempotency-key", po::value<std::string>(), "same key + same body = same answer")(
      "field", po::value<std::vector<std::string>>(), "champ=valeur");
  if (!cmd.parse(o, {"field"}, true)) return EXIT_OK;
  if (!cmd.has("entity")) throw UsageError("lead submit needs --entity");
  Submission fields;
  for (auto& f : cmd.getAll("field")) {
    size_t eq = f.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("expected champ=valeur, got '" + f + "'");
    fields.push_back({f.substr(0, eq), f.substr(eq + 1)});
  }
  auto entity = entityArg(cmd.get("entity"));
  auto& conn = cmd.connection();
  auto fill = [&](auto list) {
    for (size_t i = 0; i < fields.size(); ++i) {
      list[i].setName(fields[i].name);
      list[i].setValue(fields[i].value);
    }
  };
  auto show = [&](schema::SubmitOutcome::Reader outcome) {
    if (outcome.isRefused()) {
      throw std::runtime_error("submission refused: " + std::string(outcome.getRefused().cStr()));
    }
    auto r = outcome.getStored();
    cmd.out() << (cmd.json() ? toJson(r) : answerLine(r)) << "\n";
  };
  if (conn.role() == schema::Role::INGEST) {
    if (conn.entity() != static_cast<Entity>(entity)) {
      KJ_FAIL_REQUIRE("this token is bound to another entity");
    }
    auto req = conn.ingest().submitRequest();
    fill(req.initFields(fields.size()));
    req.setIdempotencyKey(cmd.get("idempotency-key"));
    show(req.send().wait(cmd.wait()));
  } else {
    auto req = conn.admin().submitLeadRequest();
    req.setEntity(entity);
    fill(req.initFields(fields.size()));
    req.setIdempotencyKey(cmd.get("idempotency-key"));
    show(req.send().wait(cmd.wait()));
  }
  return EXIT_OK;
}

std::string readWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("cannot read " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<ImportInput> readImportFile(const std::string& path) {
  auto endsWith = [&](const char* suffix) {
    std::string s(suffix);
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  if (endsWith(".csv")) return parseImportRows(readWholeFile(path), ImportFormat::CSV);
  if (endsWith(".jsonl") || endsWith(".ndjson") || endsWith(".json")) {
    return parseImportRows(readWholeFile(path), ImportFormat::JSON_LINES);
  }
  throw UsageError("lead import reads FILE.jsonl or FILE.csv");
}

int leadImport(Command& cmd) {
  po::options_description o("rdzctl lead import --entity E FILE.jsonl|FILE.csv");
  o.add_options()("entity", po::value<std::string>(), "ZR7 or MDL")(
      "file", po::value<std::string>(), "JSON Lines, or CSV (';', UTF-8, header = field names)");
  if (!cmd.parse(o, {"file"})) return EXIT_OK;
  if (!cmd.has("entity") || !cmd.has("file")) throw UsageError("lead import needs --entity FILE");
  auto entity = entityArg(cmd.get("entity"));
  auto rows = readImportFile(cmd.get("file"));
  auto admin = cmd.connection().admin();

  // Results by row, filled chunk by chunk (each chunk one RPC).
  capnp::MallocMessageBuilder message;
  auto results = message.initRoot<capnp::JsonValue>().initArray(rows.size());
  size_t stored = 0, invalid = 0, refused = 0;
  constexpr size_t CHUNK = 500;
  std::vector<size_t> sent;
  for (size_t start = 0; start < rows.size(); start += CHUNK) {
    size_t end = std::min(rows.size(), start + CHUNK);
    sent.clear();
    for (size_t i = start; i < end; ++i) {
      if (rows[i].error.empty()) sent.push_back(i);
    }
    auto req = admin.importLeadsRequest();
    req.setEntity(entity);
    auto list = req.initRows(sent.size());
    for (size_t k = 0; k < sent.size(); ++k) {
      auto& f = rows[sent[k]].fields;
      auto fields = list.init(k, f.size());
      for (size_t j = 0; j < f.size(); ++j) {
        fields[j].setName(f[j].name);
        fields[j].setValue(f[j].value);
      }
    }
    auto resp = req.send().wait(cmd.wait());
    std::map<size_t, schema::ImportRow::Reader> byIndex;
    for (size_t k = 0; k < sent.size(); ++k) byIndex.emplace(sent[k], resp.getRows()[k]);
    for (size_t i = start; i < end; ++i) {
      auto obj = results[i].initObject(rows[i].error.empty() ? 4 : 2);
      obj[0].setName("row");
      obj[0].initValue().setNumber(rows[i].row);
      std::string line = "row " + std::to_string(rows[i].row) + ": ";
      auto it = byIndex.find(i);
      if (it == byIndex.end() || it->second.isRefused()) {
        std::string reason = it == byIndex.end() ? rows[i].error
                                                 : std::string(it->second.getRefused().cStr());
        obj = results[i].initObject(2);
        obj[0].setName("row");
        obj[0].initValue().setNumber(rows[i].row);
        obj[1].setName("refused");
        obj[1].initValue().setString(reason);
        line += "refused: " + reason;
        ++refused;
      } else {
        auto r = it->second.getStored();
        obj[1].setName("id");
        obj[1].initValue().setString(r.getId());
        obj[2].setName("statut");
        obj[2].initValue().setString(statutText(r.getStatut()));
        obj[3].setName("problemes");
        auto problems = obj[3].initValue().initArray(r.getProblemes().size());
        for (size_t j = 0; j < problems.size(); ++j) problems[j].setString(r.getProblemes()[j]);
        line += "stored " + answerLine(r);
        ++(r.getStatut() == schema::Statut::INVALID ? invalid : stored);
      }
      if (!cmd.json()) cmd.out() << line << "\n";
    }
  }
  if (cmd.json()) {
    auto text = rdzJson().encodeRaw(message.getRoot<capnp::JsonValue>().asReader());
    cmd.out() << "{\"stored\":" << stored << ",\"invalid\":" << invalid << ",\"refused\":"
              << refused << ",\"rows\":" << text.cStr() << "}\n";
  } else {
    cmd.out() << stored << " stored, " << invalid << " stored as invalid, " << refused
              << " refused\n";
  }
  return refused == 0 ? EXIT_OK : EXIT_FAILED;
}

int leadShow(Command& cmd) {
  po::options_description o("rdzctl lead show ID");
  o.add_options()("id", po::value<std::string>()->required(), "lead id");
  if (!cmd.parse(o, {"id"})) return EXIT_OK;
  auto req = cmd.connection().viewer().getLeadRequest();
  req.setId(cmd.get("id"));
  auto resp = req.send().wait(cmd.wait());
  if (cmd.json()) {
    // The lead's own fields at top level, its history beside them.
    std::string lead = toJson(resp.getLead());
    capnp::MallocMessageBuilder m;
    auto history = m.initRoot<capnp::JsonValue>();
    rdzJson().encode(resp.getHistory(), history);
    auto historyText = rdzJson().encodeRaw(history.asReader());
    lead.pop_back();  // the closing brace
    cmd.out() << lead << ",\"history\":" << historyText.cStr() << "}\n";
  } else {
    printRecord(cmd.out(), resp.getLead());
    cmd.out() << "history:\n";
    for (auto h : resp.getHistory()) printLine(cmd.out(), h, {"at", "event", "detail"});
  }
  return EXIT_OK;
}

int leadFind(Command& cmd) {
  po::options_description o("rdzctl lead find --phone P [--entity E]");
  o.add_options()("phone", po::value<std::string>(), "phone number, any French form")(
      "entity", po::value<std::string>(), "ZR7 or MDL");
  if (!cmd.parse(o)) return EXIT_OK;
  if (!cmd.has("phone")) throw UsageError("lead find needs --phone");
  auto req = cmd.connection().viewer().findLeadsRequest();
  req.setTelephone(cmd.get("phone"));
  if (cmd.has("entity")) req.initEntity().setOne(entityArg(cmd.get("entity")));
  auto resp = req.send().wait(cmd.wait());
  if (cmd.json()) {
    cmd.out() << toJson(resp) << "\n";
  } else {
    for (auto l : resp.getLeads()) {
      printLine(cmd.out(), l, {"id", "entity", "produit", "statut", "recu_le", "problemes"});
    }
  }
  return EXIT_OK;
}

int backup(Command& cmd) {
  po::options_description o("rdzctl backup DIR");
  o.add_options()("dir", po::value<std::string>(), "new directory for the copy, on rdzd's machine");
  if (!cmd.parse(o, {"dir"})) return EXIT_OK;
  if (!cmd.has("dir")) throw UsageError("backup needs DIR");
  auto req = cmd.connection().admin().backupRequest();
  req.setDir(cmd.get("dir"));
  req.send().wait(cmd.wait());
  if (cmd.json()) {
    cmd.out() << "{\"backup\":" << jsonString(cmd.get("dir")) << "}\n";
  } else {
    cmd.out() << "backup written to " << cmd.get("dir") << "\n";
  }
  return EXIT_OK;
}

// ---- runs and batches -------------------------------------------------------------------------

std::string batchLine(schema::Batch::Reader b) {
  static const char* STATUS[] = {"pending", "sent", "failed"};
  std::string line = fmt::format("  batch {} {} {} leads: {}", b.getId().cStr(),
                                 b.getClient().cStr(), b.getDeliveries().size(),
                                 STATUS[static_cast<int>(b.getStatus())]);
  if (b.getStatus() != schema::BatchStatus::SENT && b.getLastError().size() > 0) {
    line += std::string(" (") + b.getLastError().cStr() + ")";
  }
  return line;
}

std::string runLine(schema::RunSummary::Reader r) {
  return fmt::format("run {}: {} — {} leads assigned, {} aged to LB, {} duplicates avoided, {} "
                     "batches",
                     r.getId().cStr(), r.getStatus().cStr(), r.getAssigned(), r.getAged(),
                     r.getDoublonsEvites(), r.getBatches().size());
}

bool anyPending(capnp::List<schema::Batch>::Reader batches) {
  for (auto b : batches) {
    if (b.getStatus() == schema::BatchStatus::PENDING) return true;
  }
  return false;
}

bool anyFailed(capnp::List<schema::Batch>::Reader batches) {
  for (auto b : batches) {
    if (b.getStatus() == schema::BatchStatus::FAILED) return true;
  }
  return false;
}

int deliver(Command& cmd) {
  po::options_description o(
      "rdzctl deliver [--date D | --at T] [--entity E] [--dry-run] [--force]");
  o.add_options()("date", po::value<std::string>(), "run date AAAA-MM-JJ (default: today, Paris)")(
      "at", po::value<std::string>(), "reference time, ISO 8601 with offset (its Paris date runs)")(
      "entity", po::value<std::string>(), "run one entity only (no fallback crossing)")(
      "dry-run", "compute and print the plan; write nothing")(
      "force", "run a date after today (Europe/Paris)")(
      "wait", po::value<std::string>()->default_value("60"),
      "seconds to wait for the batches' first sending attempt (0: do not wait)");
  if (!cmd.parse(o)) return EXIT_OK;
  auto req = cmd.connection().admin().deliverRequest();
  req.setDate(cmd.get("date"));
  if (cmd.has("date") && !isIsoDate(cmd.get("date"))) throw UsageError("--date must be AAAA-MM-JJ");
  if (cmd.has("at")) {
    auto at = parseIso(cmd.get("at"));
    if (!at) throw UsageError("--at must be an ISO 8601 time, e.g. 2026-11-25T09:30:00+01:00");
    req.setAt(at->time_since_epoch().count());
  }
  if (cmd.has("entity")) {
    req.initEntity().setOne(entityArg(cmd.get("entity")));
  } else {
    req.initEntity().setAll();
  }
  req.setDryRun(cmd.has("dry-run"));
  req.setForce(cmd.has("force"));
  uint32_t waitSeconds = numberArg("wait", cmd.get("wait"), 3600);
  auto resp = req.send().wait(cmd.wait());
  auto run = resp.getRun();
  if (run.getDryRun()) {
    if (cmd.json()) {
      cmd.out() << toJson(resp) << "\n";
    } else {
      cmd.out() << runLine(run) << "\n";
      for (auto d : run.getPlan()) {
        printLine(cmd.out(), d, {"lead", "lead_entity", "commande", "client", "entity", "pass"});
      }
    }
    return EXIT_OK;
  }

  // Wait for the first attempt of every batch, so that the operator sees what went out.
  std::string id = run.getId().cStr();
  auto getRun = [&]() {
    auto r = cmd.connection().viewer().getRunRequest();
    r.setId(id);
    return r.send().wait(cmd.wait());
  };
  auto current = getRun();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(waitSeconds);
  while (anyPending(current.getBatches()) && std::chrono::steady_clock::now() < deadline) {
    kj::Duration step = 200 * kj::MILLISECONDS;
    cmd.connection().timer().afterDelay(step).wait(cmd.wait());
    current = getRun();
  }
  if (cmd.json()) {
    cmd.out() << "{\"already_done\":" << (run.getAlreadyDone() ? "true" : "false")
              << ",\"run\":" << toJson(current.getRun()) << ",\"batches\":"
              << toJson(current.getBatches())
              << "}\n";
  } else {
    if (run.getAlreadyDone()) cmd.out() << "already done: nothing allocated again\n";
    cmd.out() << runLine(current.getRun()) << "\n";
    for (auto b : current.getBatches()) cmd.out() << batchLine(b) << "\n";
  }
  // Failed, or still unconfirmed when the wait ended: the morning's unit must not look fine.
  // rdzd keeps trying either way.
  bool unconfirmed = waitSeconds > 0 && anyPending(current.getBatches());
  return anyFailed(current.getBatches()) || unconfirmed ? EXIT_FAILED : EXIT_OK;
}

int runList(Command& cmd) {
  po::options_description o("rdzctl run list");
  addPaging(o);
  if (!cmd.parse(o)) return EXIT_OK;
  auto req = cmd.connection().viewer().listRunsRequest();
  setPaging(cmd, req);
  auto resp = req.send().wait(cmd.wait());
  sayNextPage(cmd, resp.getNext());
  if (cmd.json()) {
    cmd.out() << toJson(resp) << "\n";
  } else {
    for (auto r : resp.getRuns()) cmd.out() << runLine(r) << "\n";
  }
  return EXIT_OK;
}

int runShow(Command& cmd) {
  po::options_description o("rdzctl run show DATE");
  o.add_options()("id", po::value<std::string>()->required(), "run date (or DATE/zr7 …)");
  if (!cmd.parse(o, {"id"})) return EXIT_OK;
  auto req = cmd.connection().viewer().getRunRequest();
  req.setId(cmd.get("id"));
  auto resp = req.send().wait(cmd.wait());
  if (cmd.json()) {
    cmd.out() << toJson(resp) << "\n";
  } else {
    cmd.out() << runLine(resp.getRun()) << "\n";
    for (auto b : resp.getBatches()) cmd.out() << batchLine(b) << "\n";
  }
  return EXIT_OK;
}

int batchList(Command& cmd) {
  po::options_description o("rdzctl batch list [--status pending|sent|failed]");
  o.add_options()("status", po::value<std::string>(), "pending, sent or failed");
  addPaging(o);
  if (!cmd.parse(o)) return EXIT_OK;
  auto req = cmd.connection().viewer().listBatchesRequest();
  req.setStatus(cmd.get("status"));
  setPaging(cmd, req);
  auto resp = req.send().wait(cmd.wait());
  sayNextPage(cmd, resp.getNext());
  if (cmd.json()) {
    cmd.out() << toJson(resp) << "\n";
  } else {
    for (auto b : resp.getBatches()) {
      printLine(cmd.out(), b, {"id", "entity", "client", "run", "status", "attempts", "last_error"});
    }
  }
  return EXIT_OK;
}

int batchResend(Command& cmd) {
  po::options_description o("rdzctl batch resend ID");
  o.add_options()("id", po::value<std::string>()->required(), "batch id");
  if (!cmd.parse(o, {"id"})) return EXIT_OK;
  auto req = cmd.connection().admin().resendBatchRequest();
  req.setId(cmd.get("id"));
  req.send().wait(cmd.wait());
  if (cmd.json()) {
    cmd.out() << "{\"resend\":" << jsonString(cmd.get("id")) << "}\n";
  } else {
    cmd.out() << "batch " << cmd.get("id") << " will be sent again now\n";
  }
  return EXIT_OK;
}

// ---- after delivery (SPEC §7.1–7.2) -----------------------------------------------------------

int leadReject(Command& cmd) {
  po::options_description o("rdzctl lead reject ID --reason R [--at T]");
  o.add_options()("id", po::value<std::string>(), "lead id")(
      "reason", po::value<std::string>(),
      "faux_numero, injoignable, hors_zone, doublon, hors_cible or autre")(
      "at", po::value<std::string>(), "time of the rejection, ISO 8601 with offset (default: now)");
  if (!cmd.parse(o, {"id"})) return EXIT_OK;
  if (!cmd.has("id") || !cmd.has("reason")) throw UsageError("lead reject needs ID --reason R");
  auto req = cmd.connection().admin().rejectLeadRequest();
  req.setId(cmd.get("id"));
  req.setReason(cmd.get("reason"));
  if (cmd.has("at")) {
    auto at = parseIso(cmd.get("at"));
    if (!at) throw UsageError("--at must be an ISO 8601 time, e.g. 2026-11-25T09:30:00+01:00");
    req.setAt(at->time_since_epoch().count());
  }
  auto resp = req.send().wait(cmd.wait());
  auto r = resp.getRejection();
  if (cmd.json()) {
    cmd.out() << toJson(r) << "\n";
  } else {
    cmd.out() << fmt::format("lead {} rejected (commande {}, client {}): {}\n", r.getId().cStr(),
                             r.getCommande().cStr(), r.getClient().cStr(),
                             std::string_view(r.getCredit().cStr()) == "semaine"
                                 ? "this week's counter goes down"
                                 : "one replacement owed");
  }
  return EXIT_OK;
}

int leadErase(Command& cmd) {
  po::options_description o("rdzctl lead erase --phone P [--entity E]");
  o.add_options()("phone", po::value<std::string>(), "the person's phone, any French form")(
      "entity", po::value<std::string>(), "ZR7 or MDL (default: every entity the token may touch)");
  if (!cmd.parse(o)) return EXIT_OK;
  if (!cmd.has("phone")) throw UsageError("lead erase needs --phone");
  if (!normalizePhone(cmd.get("phone"))) throw std::runtime_error("not a valid French phone number");
  auto req = cmd.connection().admin().eraseLeadsRequest();
  req.setTelephone(cmd.get("phone"));
  if (cmd.has("entity")) {
    req.initEntity().setOne(entityArg(cmd.get("entity")));
  } else {
    req.initEntity().setAll();
  }
  auto resp = req.send().wait(cmd.wait());
  if (cmd.json()) {
    cmd.out() << "{\"leads\":" << resp.getCount() << "}\n";
  } else {
    cmd.out() << resp.getCount() << " lead(s) erased; the number is on the opposition list\n";
  }
  return EXIT_OK;
}

// Sends `phones` to the list in chunks (one write each); returns {added, already}.
std::pair<uint64_t, uint64_t> addToOpposition(Command& cmd, schema::Entity entity,
                                              const std::vector<std::string>& phones) {
  constexpr size_t CHUNK = 50000;  // ~1 MB per message, well under Cap'n Proto's limits
  uint64_t added = 0, already = 0;
  for (size_t start = 0; start < phones.size(); start += CHUNK) {
    size_t n = std::min(CHUNK, phones.size() - start);
    auto req = cmd.connection().admin().addOppositionRequest();
    req.setEntity(entity);
    auto list = req.initTelephones(n);
    for (size_t i = 0; i < n; ++i) list.set(i, phones[start + i]);
    auto resp = req.send().wait(cmd.wait());
    added += resp.getAdded();
    already += resp.getAlready();
  }
  return {added, already};
}

int oppositionAdd(Command& cmd) {
  po::options_description o("rdzctl opposition add --entity E PHONE...");
  o.add_options()("entity", po::value<std::string>(), "ZR7 or MDL")(
      "phone", po::value<std::vector<std::string>>(), "phone numbers, any French form");
  if (!cmd.parse(o, {"phone"}, true)) return EXIT_OK;
  if (!cmd.has("entity") || !cmd.has("phone")) throw UsageError("opposition add needs --entity E PHONE...");
  auto phones = cmd.getAll("phone");
  for (size_t i = 0; i < phones.size(); ++i) {
    if (!normalizePhone(phones[i])) {
      throw std::runtime_error("not a valid French phone number: '" + phones[i] +
                               "' (nothing was added)");
    }
  }
  auto [added, already] = addToOpposition(cmd, entityArg(cmd.get("entity")), phones);
  if (cmd.json()) {
    cmd.out() << "{\"added\":" << added << ",\"already\":" << already << "}\n";
  } else {
    cmd.out() << added << " added, " << already << " already on the list\n";
  }
  return EXIT_OK;
}

int oppositionImport(Command& cmd) {
  po::options_description o("rdzctl opposition import --entity E FILE");
  o.add_options()("entity", po::value<std::string>(), "ZR7 or MDL")(
      "file", po::value<std::string>(), "one phone number per line, any French form");
  if (!cmd.parse(o, {"file"})) return EXIT_OK;
  if (!cmd.has("entity") || !cmd.has("file")) throw UsageError("opposition import needs --entity E FILE");
  auto entity = entityArg(cmd.get("entity"));
  std::string text = readWholeFile(cmd.get("file"));
  // Parsed here (libphonenumber, the same rule as rdzd's), so that bad lines are reported by
  // their number and only E.164 numbers travel; the same number twice is sent once.
  std::vector<std::string> lines;  // as read, trimmed; "" for blank lines
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = trim(std::string_view(text).substr(start, end - start));
    while (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(kj::mv(line));
    start = end + 1;
  }
  // libphonenumber takes ~20 µs a number: parsed on every core.
  std::vector<std::optional<std::string>> parsed(lines.size());
  size_t workers = std::max<size_t>(1, std::min<size_t>(8, std::thread::hardware_concurrency()));
  {
    std::vector<std::thread> threads;
    for (size_t w = 0; w < workers; ++w) {
      threads.emplace_back([&, w]() {
        for (size_t i = w; i < lines.size(); i += workers) {
          if (!lines[i].empty()) parsed[i] = normalizePhone(lines[i]);
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  std::vector<std::string> phones;
  std::vector<std::pair<size_t, std::string>> bad;
  std::unordered_set<std::string> seen;
  size_t count = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    ++count;
    if (!parsed[i]) {
      bad.emplace_back(i + 1, lines[i]);
    } else if (seen.insert(*parsed[i]).second) {
      phones.push_back(kj::mv(*parsed[i]));
    }
  }
  auto [added, already] = addToOpposition(cmd, entity, phones);
  if (cmd.json()) {
    std::string invalid;
    for (auto& [n, line] : bad) {
      invalid += (invalid.empty() ? "" : ",") + fmt::format("{{\"line\":{},\"text\":{}}}", n,
                                                            jsonString(line));
    }
    cmd.out() << "{\"lines\":" << count << ",\"added\":" << added << ",\"already\":" << already
              << ",\"invalid\":[" << invalid << "]}\n";
  } else {
    for (auto& [n, line] : bad) {
      cmd.out() << "line " << n << ": not a valid French phone number: " << line << "\n";
    }
    cmd.out() << count << " numbers read: " << added << " added, " << already
              << " already on the list, " << bad.size() << " not parsed\n";
  }
  return bad.empty() ? EXIT_OK : EXIT_FAILED;
}

int oppositionRemove(Command& cmd) {
  po::options_description o("rdzctl opposition remove --entity E PHONE");
  o.add_options()("entity", po::value<std::string>(), "ZR7 or MDL")(
      "phone", po::value<std::string>(), "phone number, any French form");
  if (!cmd.parse(o, {"phone"})) return EXIT_OK;
  if (!cmd.has("entity") || !cmd.has("phone")) throw UsageError("opposition remove needs --entity E PHONE");
  if (!normalizePhone(cmd.get("phone"))) throw std::runtime_error("not a valid French phone number");
  auto req = cmd.connection().admin().removeOppositionRequest();
  req.setEntity(entityArg(cmd.get("entity")));
  req.setTelephone(cmd.get("phone"));
  bool removed = req.send().wait(cmd.wait()).getRemoved();
  if (cmd.json()) {
    cmd.out() << "{\"removed\":" << (removed ? "true" : "false") << "}\n";
  } else {
    cmd.out() << (removed ? "removed from the list\n" : "was not on the list\n");
  }
  return EXIT_OK;
}

int oppositionCheck(Command& cmd) {
  po::options_description o("rdzctl opposition check PHONE");
  o.add_options()("phone", po::value<std::string>(), "phone number, any French form");
  if (!cmd.parse(o, {"phone"})) return EXIT_OK;
  if (!cmd.has("phone")) throw UsageError("opposition check needs PHONE");
  if (!normalizePhone(cmd.get("phone"))) throw std::runtime_error("not a valid French phone number");
  auto req = cmd.connection().admin().checkOppositionRequest();
  req.setTelephone(cmd.get("phone"));
  auto resp = req.send().wait(cmd.wait());
  if (cmd.json()) {
    cmd.out() << toJson(resp) << "\n";
  } else {
    std::string on;
    for (auto e : resp.getEntities()) {
      on += (on.empty() ? "" : ", ") + std::string(entityName(static_cast<Entity>(e)));
    }
    cmd.out() << (on.empty() ? "on no opposition list" : "on the opposition list of " + on) << "\n";
  }
  return EXIT_OK;
}

int oppositionCount(Command& cmd) {
  po::options_description o("rdzctl opposition count [--entity E]");
  o.add_options()("entity", po::value<std::string>(), "ZR7 or MDL");
  if (!cmd.parse(o)) return EXIT_OK;
  auto req = cmd.connection().admin().countOppositionRequest();
  if (cmd.has("entity")) {
    req.initEntity().setOne(entityArg(cmd.get("entity")));
  } else {
    req.initEntity().setAll();
  }
  auto resp = req.send().wait(cmd.wait());
  if (cmd.json()) {
    cmd.out() << toJson(resp) << "\n";
  } else {
    for (auto c : resp.getCounts()) {
      cmd.out() << entityName(static_cast<Entity>(c.getEntity())) << " " << c.getCount() << "\n";
    }
  }
  return EXIT_OK;
}

using Handler = std::function<int(Command&)>;

const std::map<std::string, Handler>& commands() {
  static const std::map<std::string, Handler> table = {
      {"client add", clientAdd},       {"client list", clientList},
      {"client show", clientShow},     {"client set", clientSet},
      {"commande add", commandeAdd},   {"commande list", commandeList},
      {"commande show", commandeShow}, {"commande set", commandeSet},
      {"produit list", produitList},   {"produit add", produitAdd},
      {"lead submit", leadSubmit},     {"lead import", leadImport},
      {"lead show", leadShow},         {"lead find", leadFind},
      {"backup", backup},               {"deliver", deliver},
      {"run list", runList},           {"run show", runShow},
      {"batch list", batchList},       {"batch resend", batchResend},
      {"lead reject", leadReject},     {"lead erase", leadErase},
      {"opposition add", oppositionAdd}, {"opposition import", oppositionImport},
      {"opposition remove", oppositionRemove}, {"opposition check", oppositionCheck},
      {"opposition count", oppositionCount},
  };
  return table;
}

bool notYet(const std::string& noun, const std::string& verb) {
  static const std::vector<std::string> later = {"stats", "audit"};
  if (std::find(later.begin(), later.end(), noun) != later.end()) return true;
  return noun == "lead" && verb == "explain";
}

}  // namespace


int runRdzctl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Globals globals;
  std::vector<std::string> words;  // the command's own words and flags, in order
  bool help = false;
  try {
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& a = args[i];
      auto value = [&](const std::string& flag) -> std::string {
        if (a.size() > flag.size() && a.compare(0, flag.size() + 1, flag + "=") == 0) {
          return a.substr(flag.size() + 1);
        }
        if (i + 1 >= args.size()) throw UsageError(flag + " needs a value");
        return args[++i];
      };
      if (a == "--socket" || a.rfind("--socket=", 0) == 0) {
        globals.socket = value("--socket");
      } else if (a == "--connect" || a.rfind("--connect=", 0) == 0) {
        globals.connect = value("--connect");
      } else if (a == "--ca-file" || a.rfind("--ca-file=", 0) == 0) {
        globals.caFile = value("--ca-file");
      } else if (a == "--token-file" || a.rfind("--token-file=", 0) == 0) {
        globals.tokenFile = value("--token-file");
      } else if (a == "--wait-rdzd" || a.rfind("--wait-rdzd=", 0) == 0) {
        globals.waitRdzd = numberArg("wait-rdzd", value("--wait-rdzd"), 3600);
      } else if (a == "--json") {
        globals.json = true;
      } else if ((a == "--help" || a == "-h") && words.empty()) {
        help = true;
      } else {
        words.push_back(a);
      }
    }
    if (!globals.socket.empty() && !globals.connect.empty()) {
      throw UsageError("--socket and --connect exclude each other");
    }
    if (words.empty() || words[0] == "help") {
      (help || !words.empty() ? out : err) << HELP;
      return help || !words.empty() ? EXIT_OK : EXIT_USAGE;
    }
    std::string noun = words[0];
    std::string verb = words.size() > 1 ? words[1] : "";
    if (notYet(noun, verb)) {
      err << "rdzctl: '" << noun << (noun == "lead" ? " " + verb : "")
          << "' is not available yet in this version\n";
      return EXIT_FAILED;
    }
    if (noun == "user") {
      Command cmd(globals, {}, out, err);
      return userCommand(verb, std::vector<std::string>(words.begin() + std::min<size_t>(2, words.size()), words.end()),
                         globals.json, [&cmd]() -> Connection& { return cmd.connection(); }, out);
    }
    auto& table = commands();
    auto it = table.find(noun + " " + verb);
    size_t consumed = 2;
    if (it == table.end()) {
      it = table.find(noun);
      consumed = 1;
    }
    if (it == table.end()) throw UsageError("unknown command '" + noun + " " + verb + "'");
    Command cmd(globals, std::vector<std::string>(words.begin() + consumed, words.end()), out,
                err);
    return it->second(cmd);
  } catch (const UsageError& e) {
    err << "rdzctl: " << e.what() << " (see rdzctl --help)\n";
    return EXIT_USAGE;
  } catch (const po::error& e) {
    err << "rdzctl: " << e.what() << " (see rdzctl --help)\n";
    return EXIT_USAGE;
  } catch (const ConnectError& e) {
    err << "rdzctl: " << e.what() << "\n";
    return EXIT_CONNECT;
  } catch (const kj::Exception& e) {
    // Refusals from rdzd (and local failures such as an unterminated CSV quote).
    err << "rdzctl: " << cleanError(e.getDescription().cStr()) << "\n";
    return EXIT_FAILED;
  } catch (const std::exception& e) {
    err << "rdzctl: " << e.what() << "\n";
    return EXIT_FAILED;
  }
}

}  // namespace rdz
