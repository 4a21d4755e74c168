// The Tableau de bord (SPEC §8.4): per entity, today's §7.3 counters and the last 30 days' (from
// Viewer.stats, the numbers `rdzctl stats` prints), a chart of the days, and the current week's
// commandes with completion bars and shortfall; plus the batches in failure.
#include <capnp/compat/json.h>
#include <capnp/message.h>

#include "client/json.h"
#include "daemon/domain/calendar.h"
#include "tools/console/page-kit.h"

namespace rdz::console {

namespace {

void counter(Html& h, const std::string& id, std::string_view name, std::string_view value) {
  h.raw("<div class=\"compteur\" id=\"").text(id).raw("\"><span class=\"valeur\">").text(value)
      .raw("</span><span class=\"nom\">").text(name).raw("</span></div>");
}

// The counters of one day (or a period's total) that the dashboard shows, by JSON name.
constexpr std::pair<const char*, const char*> SHOWN[] = {
    {"recus", "Reçus"},
    {"livres_fresh", "Livrés fresh"},
    {"livres_lb", "Livrés LB"},
    {"fallback_entrants", "Fallback entrants"},
    {"fallback_sortants", "Fallback sortants"},
    {"doublons_evites", "Doublons évités"},
    {"rejetes", "Rejetés"},
    {"effaces", "Effacés"},
    {"stock_lb", "Stock LB"},
    {"fresh_invendus", "Fresh invendus"},
};

uint32_t invalidCount(schema::StatsDay::Reader day) {
  uint32_t n = 0;
  for (auto p : day.getInvalides()) n += p.getCount();
  return n;
}

void counters(Html& h, const std::string& prefix, schema::StatsDay::Reader day) {
  Cells cells = cellsOf(day);
  h.raw("<div class=\"compteurs\">");
  for (auto [name, title] : SHOWN) {
    const Cell& cell = cellAt(cells, name);
    counter(h, prefix + "-" + name, title,
            cell.kind == Cell::Kind::NONE ? "—" : frenchValue(cell));
  }
  counter(h, prefix + "-invalides", "Invalides", frenchNumber(invalidCount(day)));
  h.raw("</div>");
}

// The chart's data: per day, the shown entities' sums. JSON through the codec, in an attribute.
std::string chartData(schema::StatsReport::Reader report) {
  auto entities = report.getEntities();
  size_t days = entities.size() == 0 ? 0 : entities[0].getDays().size();
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<capnp::JsonValue>().initObject(2);
  root[0].setName("labels");
  auto labels = root[0].initValue().initArray(days);
  for (size_t i = 0; i < days; ++i) {
    labels[i].setString(frenchDate(entities[0].getDays()[i].getDate().cStr()).substr(0, 5));
  }
  root[1].setName("series");
  auto series = root[1].initValue().initArray(4);
  const char* names[] = {"Reçus", "Livrés", "dont LB", "Rejetés"};
  for (size_t k = 0; k < 4; ++k) {
    auto obj = series[k].initObject(2);
    obj[0].setName("label");
    obj[0].initValue().setString(names[k]);
    obj[1].setName("values");
    auto values = obj[1].initValue().initArray(days);
    for (size_t i = 0; i < days; ++i) {
      uint32_t sum = 0;
      for (auto e : entities) {
        auto d = e.getDays()[i];
        sum += k == 0   ? d.getRecus()
               : k == 1 ? d.getLivresFresh() + d.getLivresLb()
               : k == 2 ? d.getLivresLb()
                        : d.getRejetes();
      }
      values[i].setNumber(sum);
    }
  }
  auto json = rdzJson().encodeRaw(message.getRoot<capnp::JsonValue>().asReader());
  return json.cStr();
}

void weekCommandes(Html& h, const std::string& prefix,
                   capnp::List<schema::StatsCommande>::Reader commandes) {
  if (commandes.size() == 0) {
    h.raw("<p class=\"vide\">Aucune commande.</p>");
    return;
  }
  h.raw("<div class=\"tableau\"><table id=\"").text(prefix + "-commandes")
      .raw("\"><thead><tr>");
  for (auto c : {"id", "client", "produit"}) h.raw("<th>").text(label(c)).raw("</th>");
  for (auto c : {"quota_semaine", "livres_semaine", "lb_semaine", "remplacements_dus"}) {
    h.raw("<th class=\"nombre\">").text(label(c)).raw("</th>");
  }
  h.raw("<th>").text(label("completion_pct")).raw("</th><th class=\"nombre\">")
      .text(label("manque")).raw("</th>");
  h.raw("</tr></thead><tbody>");
  for (auto c : commandes) {
    Cells cells = cellsOf(c);
    h.raw("<tr><td class=\"court\"><a href=\"")
        .text(link("/commandes/", c.getId().cStr()))
        .raw("\">")
        .text(c.getId().cStr())
        .raw("</a></td>");
    for (auto name : {"client", "produit", "quota_semaine", "livres_semaine", "lb_semaine",
                      "remplacements_dus"}) {
      cellTd(h, cellAt(cells, name));
    }
    std::string pct = std::to_string(c.getCompletionPct());
    h.raw("<td class=\"completion\"><meter min=\"0\" max=\"100\" value=\"")
        .text(std::to_string(std::min<uint32_t>(c.getCompletionPct(), 100)))
        .raw("\"></meter> <span class=\"pct\">").text(pct).raw(" %</span></td>");
    cellTd(h, cellAt(cells, "manque"));
    h.raw("</tr>");
  }
  h.raw("</tbody></table></div>");
}

}  // namespace

kj::Promise<Reply> dashboard(Session& s) {
  Timestamp now = std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  auto stats = s.viewer.statsRequest();
  setFilter(stats.initEntity(), s.shown());
  stats.setFrom(parisDate(now - std::chrono::hours(24 * 29)));
  stats.setTo(parisDate(now));
  auto failed = s.viewer.listBatchesRequest();
  failed.setStatus("failed");
  return stats.send().then([&s, failed = kj::mv(failed)](auto report) mutable {
    return failed.send().then([&s, report = kj::mv(report)](auto failedResp) mutable {
      auto r = report.getReport();
      Html h;
      h.raw("<h1>Tableau de bord</h1>");
      flash(h, s);
      size_t failedCount = 0;
      for (auto b : failedResp.getBatches()) {
        if (!s.shown() || static_cast<Entity>(b.getEntity()) == *s.shown()) ++failedCount;
      }
      if (failedCount > 0) {
        h.raw("<p class=\"erreur\" id=\"lots-en-echec\"><a href=\"/livraisons\">")
            .text(frenchNumber(failedCount))
            .raw(" lot(s) en échec</a> : rdzd réessaie ; voir Livraisons.</p>");
      }
      h.raw("<h2>Les 30 derniers jours</h2><div class=\"graphique\"><canvas id=\"graphique\" "
            "data-series=\"")
          .text(chartData(r))
          .raw("\" aria-label=\"Reçus, livrés, LB et rejetés par jour\"></canvas></div>");
      for (auto e : r.getEntities()) {
        std::string name(entityName(static_cast<Entity>(e.getEntity())));
        std::string slug(entitySlug(static_cast<Entity>(e.getEntity())));
        auto days = e.getDays();
        if (days.size() > 0) {
          auto today = days[days.size() - 1];
          h.raw("<h2>").text(name).raw(" — aujourd'hui (").text(frenchDate(today.getDate().cStr()))
              .raw(")</h2>");
          counters(h, slug + "-jour", today);
        }
        h.raw("<h2>").text(name).raw(" — 30 jours (").text(frenchDate(r.getFrom().cStr()))
            .raw(" – ").text(frenchDate(r.getTo().cStr())).raw(")</h2>");
        counters(h, slug + "-periode", e.getTotal());
        h.raw("<h2>").text(name).raw(" — commandes de la semaine</h2>");
        weekCommandes(h, slug, e.getCommandes());
      }
      return page(s, "Tableau de bord", h, "tableau", true);
    });
  });
}

}  // namespace rdz::console
