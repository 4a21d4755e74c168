// rdzctl lead submit|import|show|find|reject|erase (SPEC §3, §7.1, §7.2, §8.2).
#include <fmt/format.h>
#include <kj/debug.h>

#include <map>

#include "client/command.h"
#include "client/import-rows.h"
#include "daemon/domain/time.h"
#include "daemon/domain/validation.h"

namespace rdz {
namespace {

int leadSubmit(Command& cmd) {
  if (!cmd.has("entity")) throw UsageError("lead submit needs --entity");
  Submission fields;
  for (auto& f : cmd.getAll("field")) {
    size_t eq = f.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UsageError("expected champ=valeur, got '" + f + "'");
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
    cmd.print(r, [&](std::ostream& out) { out << answerLine(r) << "\n"; });
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
  if (!cmd.has("entity") || !cmd.has("file")) throw UsageError("lead import needs --entity FILE");
  auto entity = entityArg(cmd.get("entity"));
  auto rows = readImportFile(cmd.get("file"));
  auto admin = cmd.connection().admin();

  // Results by row, filled chunk by chunk (each chunk one RPC); without --json each row's line
  // is printed as its chunk comes back.
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
      std::string line = "row " + std::to_string(rows[i].row) + ": ";
      auto it = byIndex.find(i);
      if (it == byIndex.end() || it->second.isRefused()) {
        std::string reason =
            it == byIndex.end() ? rows[i].error : std::string(it->second.getRefused().cStr());
        auto obj = results[i].initObject(2);
        obj[0].setName("row");
        obj[0].initValue().setNumber(rows[i].row);
        obj[1].setName("refused");
        obj[1].initValue().setString(reason);
        line += "refused: " + reason;
        ++refused;
      } else {
        auto r = it->second.getStored();
        auto obj = results[i].initObject(4);
        obj[0].setName("row");
        obj[0].initValue().setNumber(rows[i].row);
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
  JsonObject summary;
  summary.addNumber("stored", stored).addNumber("invalid", invalid).addNumber("refused", refused);
  summary.addValue("rows", message.getRoot<capnp::JsonValue>().asReader());
  cmd.print(summary, [&](std::ostream& out) {
    out << stored << " stored, " << invalid << " stored as invalid, " << refused << " refused\n";
  });
  return refused == 0 ? EXIT_OK : EXIT_FAILED;
}

int leadShow(Command& cmd) {
  auto req = cmd.connection().viewer().getLeadRequest();
  req.setId(cmd.get("id"));
  auto resp = req.send().wait(cmd.wait());
  // The lead's own fields at top level, its history beside them.
  JsonObject lead;
  lead.addMembersOf(resp.getLead()).addRecord("history", resp.getHistory());
  cmd.print(lead, [&](std::ostream& out) {
    printRecord(out, resp.getLead());
    out << "history:\n";
    for (auto h : resp.getHistory()) printLine(out, h, {"at", "event", "detail"});
  });
  return EXIT_OK;
}

int leadFind(Command& cmd) {
  if (!cmd.has("phone")) throw UsageError("lead find needs --phone");
  auto req = cmd.connection().viewer().findLeadsRequest();
  req.setTelephone(cmd.get("phone"));
  if (cmd.has("entity")) req.initEntity().setOne(entityArg(cmd.get("entity")));
  auto resp = req.send().wait(cmd.wait());
  cmd.print(resp, [&](std::ostream& out) {
    for (auto l : resp.getLeads()) {
      printLine(out, l, {"id", "entity", "produit", "statut", "recu_le", "problemes"});
    }
  });
  return EXIT_OK;
}

int leadReject(Command& cmd) {
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
  cmd.print(r, [&](std::ostream& out) {
    out << fmt::format("lead {} rejected (commande {}, client {}): {}\n", r.getId().cStr(),
                       r.getCommande().cStr(), r.getClient().cStr(),
                       std::string_view(r.getCredit().cStr()) == "semaine"
                           ? "this week's counter goes down"
                           : "one replacement owed");
  });
  return EXIT_OK;
}

int leadErase(Command& cmd) {
  if (!cmd.has("phone")) throw UsageError("lead erase needs --phone");
  if (!normalizePhone(cmd.get("phone")))
    throw std::runtime_error("not a valid French phone number");
  auto req = cmd.connection().admin().eraseLeadsRequest();
  req.setTelephone(cmd.get("phone"));
  if (cmd.has("entity")) {
    req.initEntity().setOne(entityArg(cmd.get("entity")));
  } else {
    req.initEntity().setAll();
  }
  auto resp = req.send().wait(cmd.wait());
  JsonObject erased;
  erased.addNumber("leads", resp.getCount());
  cmd.print(erased, [&](std::ostream& out) {
    out << resp.getCount() << " lead(s) erased; the number is on the opposition list\n";
  });
  return EXIT_OK;
}

void entityOption(po::options_description& o) {
  o.add_options()("entity", po::value<std::string>(), "ZR7 or MDL");
}

}  // namespace

namespace commands {

CommandGroup leads() {
  return {
      {.noun = "lead",
       .verb = "submit",
       .usage = "lead submit --entity E [--idempotency-key K] champ=valeur ...",
       .options =
           [](po::options_description& o) {
             entityOption(o);
             o.add_options()("idempotency-key", po::value<std::string>(),
                             "same key + same body = same answer")(
                 "field", po::value<std::vector<std::string>>(), "champ=valeur");
           },
       .positional = {"field"},
       .lastRepeats = true,
       .run = leadSubmit},
      {.noun = "lead",
       .verb = "import",
       .usage = "lead import --entity E FILE.jsonl|FILE.csv",
       .about = "(admin) recu_le allowed; one result per row; exit 1 if a row is refused",
       .options =
           [](po::options_description& o) {
             entityOption(o);
             o.add_options()("file", po::value<std::string>(),
                             "JSON Lines, or CSV (';', UTF-8, header = field names)");
           },
       .positional = {"file"},
       .run = leadImport},
      {.noun = "lead",
       .verb = "show",
       .usage = "lead show ID",
       .options =
           [](po::options_description& o) {
             o.add_options()("id", po::value<std::string>()->required(), "lead id");
           },
       .positional = {"id"},
       .run = leadShow},
      {.noun = "lead",
       .verb = "find",
       .usage = "lead find --phone P [--entity E]",
       .options =
           [](po::options_description& o) {
             o.add_options()("phone", po::value<std::string>(), "phone number, any French form");
             entityOption(o);
           },
       .run = leadFind},
      {.noun = "lead",
       .verb = "reject",
       .usage = "lead reject ID --reason R [--at T]",
       .about = "a client's rejection of the lead's latest delivery, within 7 x 24 h\n"
                "of it; R: faux_numero injoignable hors_zone doublon hors_cible autre.\n"
                "The lead is rejected for good; its commande is credited (this week's\n"
                "counter, or a replacement owed served by the next runs)",
       .options =
           [](po::options_description& o) {
             o.add_options()("id", po::value<std::string>(), "lead id")(
                 "reason", po::value<std::string>(),
                 "faux_numero, injoignable, hors_zone, doublon, hors_cible or autre")(
                 "at", po::value<std::string>(),
                 "time of the rejection, ISO 8601 with offset (default: now)");
           },
       .positional = {"id"},
       .run = leadReject},
      {.noun = "lead",
       .verb = "erase",
       .usage = "lead erase --phone P [--entity E]",
       .about = "RGPD erasure of a person: the personal fields of every lead of that\n"
                "number are wiped (both entities unless --entity or an entity-bound\n"
                "token), unsent batches drop them, the number joins the opposition\n"
                "list; the wiped values are gone from rdzd's files when it returns",
       .options =
           [](po::options_description& o) {
             o.add_options()("phone", po::value<std::string>(),
                             "the person's phone, any French form")(
                 "entity", po::value<std::string>(),
                 "ZR7 or MDL (default: every entity the token may touch)");
           },
       .run = leadErase},
  };
}

}  // namespace commands
}  // namespace rdz
