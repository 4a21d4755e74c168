// rdzctl lead explain (SPEC §7.4): why the lead went where it went, or nowhere, in one run. With
// --json the Explanation as it is ({"lead","date","resultat","commande","raisons":[…]});
// otherwise a short French sentence, then one aligned line per reason.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>

#include "client/command.h"

namespace rdz {
namespace {

using Code = schema::Explanation::Raison::Code;

// The reason code as JSON names it (quota_atteint, …).
std::string codeName(Code code) {
  auto enumerant = capnp::Schema::from<Code>().getEnumerants()[static_cast<uint>(code)];
  for (auto annotation : enumerant.getProto().getAnnotations()) {
    if (annotation.getId() == 0xfa5b1fd61c2e7c3dull) {  // $Json.name
      return annotation.getValue().getText().cStr();
    }
  }
  return enumerant.getProto().getName().cStr();
}

// How the sentence counts a reason.
const char* phrase(Code code) {
  switch (code) {
    case Code::ATTRIBUE: return "attribuée";
    case Code::DEPARTEMENT: return "hors de son département";
    case Code::INACTIF: return "inactive";
    case Code::JOUR: return "ne livre pas ce jour-là";
    case Code::PERIODE: return "hors de sa période";
    case Code::QUOTA_ATTEINT: return "quota de la semaine atteint";
    case Code::QUOTA_JOUR_ATTEINT: return "quota du jour atteint";
    case Code::LB_MAX_ATTEINT: return "part de LB atteinte";
    case Code::PAS_DE_FALLBACK: return "sans repli";
    case Code::DOUBLON_CLIENT: return "client l'ayant déjà reçu";
    case Code::OPPOSITION: return "opposition";
    case Code::DEVANCE: return "prise par une autre commande";
    case Code::HORS_RUN: return "hors du run";
  }
  return "?";
}

// The French sentence that opens the text form. `dryRun`: the run has not happened.
std::string explanationSentence(schema::Explanation::Reader x, bool dryRun) {
  std::string lead = x.getLead().cStr();
  std::string run = fmt::format("au run du {}{}", x.getDate().cStr(),
                                dryRun ? " (simulation: ce run n'a pas encore eu lieu)" : "");
  auto raisons = x.getRaisons();
  if (x.getResultat() == schema::Explanation::Resultat::LIVRE) {
    std::string client;
    for (auto r : raisons) {
      if (r.getCommande() == x.getCommande()) client = r.getClient().cStr();
    }
    return fmt::format("Le lead {} {} à la commande {}{} {}.", lead,
                       dryRun ? "serait livré" : "a été livré", x.getCommande().cStr(),
                       client.empty() ? "" : " (client " + client + ")", run);
  }
  if (raisons.size() == 1 && raisons[0].getRaison() == Code::HORS_RUN &&
      raisons[0].getCommande().size() == 0) {
    std::string in = fmt::format("dans le run du {}{}", x.getDate().cStr(),
                                 dryRun ? " (simulation: ce run n'a pas encore eu lieu)" : "");
    return fmt::format("Le lead {} {} pas {}: {}.", lead, dryRun ? "ne serait" : "n'était", in,
                       raisons[0].getDetail().cStr());
  }
  if (raisons.size() == 0) {
    return fmt::format("Le lead {} {} livré {}: aucune commande de son produit.", lead,
                       dryRun ? "ne serait pas" : "n'a pas été", run);
  }
  // Counts by reason, in the order of the codes.
  std::array<uint32_t, 13> counts{};
  for (auto r : raisons) {
    auto i = static_cast<size_t>(r.getRaison());
    if (i < counts.size()) ++counts[i];
  }
  std::string why;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    why += fmt::format("{}{} ({})", why.empty() ? "" : ", ", phrase(static_cast<Code>(i)),
                       counts[i]);
  }
  return fmt::format("Le lead {} {} à aucune de ses {} commandes {}: {}.", lead,
                     dryRun ? "ne serait livré" : "n'a été livré", raisons.size(), run, why);
}

// The sentence, then one aligned line per reason: passe, commande, client, raison, detail.
void printExplanation(std::ostream& out, schema::Explanation::Reader x, bool dryRun) {
  out << explanationSentence(x, dryRun) << "\n";
  std::vector<std::array<std::string, 5>> rows = {{"passe", "commande", "client", "raison",
                                                   "detail"}};
  for (auto r : x.getRaisons()) {
    rows.push_back({r.getPasse().cStr(), r.getCommande().cStr(), r.getClient().cStr(),
                    codeName(r.getRaison()), r.getDetail().cStr()});
  }
  std::array<size_t, 5> width{};
  for (auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
}

int leadExplain(Command& cmd) {
  auto req = cmd.connection().viewer().explainLeadRequest();
  req.setId(cmd.get("id"));
  req.setDate(cmd.get("date"));
  auto resp = req.send().wait(cmd.wait());
  cmd.print(resp.getExplanation(), [&](std::ostream& out) {
    printExplanation(out, resp.getExplanation(), resp.getDryRun());
  });
  return EXIT_OK;
}

}  // namespace

namespace commands {

CommandGroup explain() {
  return {{.noun = "lead",
           .verb = "explain",
           .usage = "lead explain ID [--date D]",
           .about = "why the lead went where it went, or nowhere, in the run of date D\n"
                    "(default: the run of its latest delivery, else the next run, computed\n"
                    "as a dry run): a French sentence, then per commande of its produit the\n"
                    "passe, commande, client, raison and detail. A run that happened is\n"
                    "explained from what it recorded (kept 35 days), not today's settings",
           .options =
               [](po::options_description& o) {
                 o.add_options()("id", po::value<std::string>()->required(), "lead id")(
                     "date", po::value<std::string>(), "the run's date, AAAA-MM-JJ");
               },
           .positional = {"id"},
           .run = leadExplain}};
}

}  // namespace commands
}  // namespace rdz
