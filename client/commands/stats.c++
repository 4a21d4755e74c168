// rdzctl stats (SPEC §7.3): the daily counters of a period and the commandes' week, as French
// tables or (--json) the report's JSON.
#include <fmt/format.h>

#include "client/command.h"
#include "daemon/domain/calendar.h"
#include "daemon/domain/commerce.h"

namespace rdz {
namespace {

// Columns: the first `leftColumns` (text) left-aligned, the others (numbers) right-aligned;
// widths in characters (UTF-8 aware).
class Table {
 public:
  Table(size_t leftColumns, std::vector<std::string> header) : left_(leftColumns) {
    rows_.push_back(kj::mv(header));
  }
  void add(std::vector<std::string> row) { rows_.push_back(kj::mv(row)); }

  void print(std::ostream& out) const {
    std::vector<size_t> widths;
    for (auto& row : rows_) {
      widths.resize(std::max(widths.size(), row.size()));
      for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], length(row[i]));
    }
    for (auto& row : rows_) {
      std::string line;
      for (size_t i = 0; i < row.size(); ++i) {
        std::string pad(widths[i] - length(row[i]), ' ');
        if (i > 0) line += "  ";
        line += i < left_ ? row[i] + pad : pad + row[i];
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out << line << "\n";
    }
  }

 private:
  static size_t length(const std::string& text) {
    size_t n = 0;
    for (unsigned char c : text) n += (c & 0xC0) != 0x80;
    return n;
  }
  size_t left_;
  std::vector<std::vector<std::string>> rows_;
};

std::string snapshot(int64_t value) { return value < 0 ? "-" : std::to_string(value); }

std::vector<std::string> counterCells(std::string first, schema::StatsDay::Reader d) {
  uint64_t invalides = 0;
  for (auto p : d.getInvalides()) invalides += p.getCount();
  return {kj::mv(first),
          std::to_string(d.getRecus()),
          std::to_string(invalides),
          std::to_string(d.getLivresFresh()),
          std::to_string(d.getLivresLb()),
          std::to_string(d.getFallbackEntrants()),
          std::to_string(d.getFallbackSortants()),
          std::to_string(d.getDoublonsEvites()),
          std::to_string(d.getRejetes()),
          std::to_string(d.getEffaces()),
          snapshot(d.getStockLb()),
          snapshot(d.getFreshInvendus())};
}

// The report as French tables, one per entity.
void printStatsReport(std::ostream& out, schema::StatsReport::Reader report,
                      const std::string& produit, const std::string& client) {
  std::string period =
      report.getFrom() == report.getTo()
          ? fmt::format("le {}", report.getFrom().cStr())
          : fmt::format("du {} au {}", report.getFrom().cStr(), report.getTo().cStr());
  std::string filter;
  if (!produit.empty()) filter += "produit " + produit;
  if (!client.empty()) filter += (filter.empty() ? "" : ", ") + std::string("client ") + client;
  bool first = true;
  for (auto entity : report.getEntities()) {
    if (!first) out << "\n";
    first = false;
    out << "Statistiques " << entityName(static_cast<Entity>(entity.getEntity())) << " " << period
        << " (jours de Paris)\n";
    if (!filter.empty()) {
      out << "Filtre " << filter
          << " : livraisons, fallback, doublons et rejets ; reçus, invalides, effacés et stocks "
             "restent ceux de toute l'entité.\n";
    }
    Table days(1, {"date", "reçus", "invalides", "livrés fresh", "livrés LB", "fallback entrants",
                   "fallback sortants", "doublons évités", "rejetés", "effacés", "stock LB",
                   "fresh invendus"});
    for (auto d : entity.getDays()) days.add(counterCells(d.getDate().cStr(), d));
    days.add(counterCells("total", entity.getTotal()));
    days.print(out);
    out << "(stock LB et fresh invendus : après le run du jour, « - » sans run ; au total, ceux "
           "du dernier run)\n";

    auto invalides = entity.getTotal().getInvalides();
    if (invalides.size() > 0) {
      std::string list;
      for (auto p : invalides) {
        list += fmt::format("{}{} {}", list.empty() ? "" : ", ", p.getCode().cStr(), p.getCount());
      }
      out << "Invalides par problème : " << list << "\n";
    }

    auto commandes = entity.getCommandes();
    std::string week = isoWeekOf(report.getTo().cStr());
    if (commandes.size() == 0) {
      out << "Aucune commande" << (filter.empty() ? "" : " pour ce filtre") << ".\n";
      continue;
    }
    out << "Commandes, semaine " << week << " :\n";
    Table table(3, {"commande", "client", "produit", "quota", "livrés", "dont LB",
                    "remplacements dus", "complétion", "manque"});
    for (auto c : commandes) {
      table.add({c.getId().cStr(), c.getClient().cStr(), c.getProduit().cStr(),
                 std::to_string(c.getQuotaSemaine()), std::to_string(c.getLivresSemaine()),
                 std::to_string(c.getLbSemaine()), std::to_string(c.getRemplacementsDus()),
                 std::to_string(c.getCompletionPct()) + " %", std::to_string(c.getManque())});
    }
    table.print(out);
  }
}

int statsCommand(Command& cmd) {
  for (const char* flag : {"from", "to"}) {
    if (cmd.has(flag) && !isIsoDate(cmd.get(flag))) {
      throw UsageError(fmt::format("--{} must be a date AAAA-MM-JJ", flag));
    }
  }
  auto req = cmd.connection().viewer().statsRequest();
  if (cmd.has("entity")) {
    req.initEntity().setOne(entityArg(cmd.get("entity")));
  } else {
    req.initEntity().setAll();
  }
  req.setFrom(cmd.get("from"));
  req.setTo(cmd.get("to"));
  req.setProduit(cmd.get("produit"));
  req.setClient(cmd.get("client"));
  auto resp = req.send().wait(cmd.wait());
  cmd.print(resp.getReport(), [&](std::ostream& out) {
    printStatsReport(out, resp.getReport(), cmd.get("produit"), cmd.get("client"));
  });
  return EXIT_OK;
}

}  // namespace

namespace commands {

CommandGroup stats() {
  return {{.noun = "stats",
           .usage = "stats [--entity E] [--from D] [--to D] [--produit P] [--client ID]",
           .about = "daily counters per entity and Paris day (default: today): received,\n"
                    "invalid by problem, delivered fresh / LB, fallback in / out,\n"
                    "duplicates avoided, rejected, erased, LB stock and unsold fresh after\n"
                    "the day's run; and each commande's week (of --to). --produit /\n"
                    "--client filter the delivery-side counters and the commandes",
           .options =
               [](po::options_description& o) {
                 o.add_options()("entity", po::value<std::string>(), "ZR7 or MDL")(
                     "from", po::value<std::string>(), "first day AAAA-MM-JJ (default: --to)")(
                     "to", po::value<std::string>(), "last day AAAA-MM-JJ (default: today, Paris)")(
                     "produit", po::value<std::string>(),
                     "only this produit's deliveries and commandes")(
                     "client", po::value<std::string>(),
                     "only this client's deliveries and commandes");
               },
           .run = statsCommand}};
}

}  // namespace commands
}  // namespace rdz
