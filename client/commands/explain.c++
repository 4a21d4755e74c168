// rdzctl lead explain (SPEC §7.4): why the lead went where it went, or nowhere, in one run. With
// --json the Explanation as it is ({"lead","date","resultat","commande","raisons":[…]});
// otherwise a short French sentence, then one aligned line per reason.
#include <algorithm>
#include <array>
#include <vector>

#include "client/command.h"
#include "client/explain-text.h"

namespace rdz {
namespace {

// The sentence, then one aligned line per reason: passe, commande, client, raison, detail.
void printExplanation(std::ostream& out, schema::Explanation::Reader x, bool dryRun) {
  out << explanationSentence(x, dryRun) << "\n";
  std::vector<std::array<std::string, 5>> rows = {{"passe", "commande", "client", "raison",
                                                   "detail"}};
  for (auto r : x.getRaisons()) {
    rows.push_back({r.getPasse().cStr(), r.getCommande().cStr(), r.getClient().cStr(),
                    reasonCodeName(r.getRaison()), r.getDetail().cStr()});
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
