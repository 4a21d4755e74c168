// The Tableau de bord (SPEC §8.4).
#include <capnp/compat/json.h>
#include <capnp/message.h>

#include "client/json.h"
#include "daemon/domain/calendar.h"
#include "tools/console/page-kit.h"

namespace rdz::console {

void counter(Html& h, const char* id, std::string_view name, std::string_view value) {
  h.raw("<div class=\"compteur\" id=\"").text(id).raw("\"><span class=\"valeur\">").text(value)
      .raw("</span><span class=\"nom\">").text(name).raw("</span></div>");
}

kj::Promise<Reply> dashboard(Session& s) {
  return allRuns(s, "", {}).then([&s](auto runPages) {
    auto commandesReq = s.viewer.listCommandesRequest();
    setFilter(commandesReq.initEntity(), s.shown());
    auto failed = s.viewer.listBatchesRequest();
    failed.setStatus("failed");
    return commandesReq.send().then([&s, failed = kj::mv(failed),
                                     runPages = kj::mv(runPages)](auto commandes) mutable {
      return failed.send().then([&s, runPages = kj::mv(runPages),
                                 commandes = kj::mv(commandes)](auto failedResp) mutable {
        std::vector<schema::RunSummary::Reader> runs;
        for (auto& p : runPages) {
          for (auto r : p.getRuns()) {
            if (inView(s, r.getEntity())) runs.push_back(r);
          }
        }
        Html h;
        h.raw("<h1>Tableau de bord</h1>");
        flash(h, s);
        size_t actives = 0;
        for (auto c : commandes.getCommandes()) actives += c.getActif() ? 1 : 0;
        size_t failedCount = 0;
        for (auto b : failedResp.getBatches()) {
          if (!s.shown() || static_cast<Entity>(b.getEntity()) == *s.shown()) ++failedCount;
        }
        h.raw("<div class=\"compteurs\">");
        counter(h, "commandes-actives", "Commandes actives", frenchNumber(actives));
        counter(h, "lots-en-echec", "Lots en échec", frenchNumber(failedCount));
        if (!runs.empty()) {
          auto last = runs.back();
          counter(h, "dernier-run", "Dernier run", frenchDate(last.getDate().cStr()));
          counter(h, "dernier-run-attribues", "Attribués (dernier run)",
                  frenchNumber(last.getAssigned()));
          counter(h, "dernier-run-lb", "Passés en LB (dernier run)", frenchNumber(last.getAged()));
          counter(h, "dernier-run-doublons", "Doublons évités (dernier run)",
                  frenchNumber(last.getDoublonsEvites()));
        }
        h.raw("</div>");
        // The chart: the runs of the last 30 days.
        std::string today =
            parisDate(std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now()));
        std::string since = parisDate(std::chrono::time_point_cast<Duration>(
            std::chrono::system_clock::now() - std::chrono::hours(24 * 30)));
        capnp::MallocMessageBuilder message;
        auto root = message.initRoot<capnp::JsonValue>().initObject(2);
        std::vector<schema::RunSummary::Reader> recent;
        for (auto r : runs) {
          std::string date = r.getDate();
          if (date >= since && date <= today) recent.push_back(r);
        }
        root[0].setName("labels");
        auto labels = root[0].initValue().initArray(recent.size());
        for (size_t i = 0; i < recent.size(); ++i) {
          labels[i].setString(frenchDate(recent[i].getDate().cStr()));
        }
        root[1].setName("series");
        auto series = root[1].initValue().initArray(3);
        const char* names[] = {"Attribués", "Passés en LB", "Doublons évités"};
        for (size_t k = 0; k < 3; ++k) {
          auto obj = series[k].initObject(2);
          obj[0].setName("label");
          obj[0].initValue().setString(names[k]);
          obj[1].setName("values");
          auto values = obj[1].initValue().initArray(recent.size());
          for (size_t i = 0; i < recent.size(); ++i) {
            uint32_t v = k == 0   ? recent[i].getAssigned()
                         : k == 1 ? recent[i].getAged()
                                  : recent[i].getDoublonsEvites();
            values[i].setNumber(v);
          }
        }
        auto json = rdzJson().encodeRaw(message.getRoot<capnp::JsonValue>().asReader());
        h.raw("<h2>Les 30 derniers jours (runs)</h2><div class=\"graphique\">"
              "<canvas id=\"graphique\" data-series=\"")
            .text(json.cStr())
            .raw("\" aria-label=\"Graphique des runs des 30 derniers jours\"></canvas></div>");
        h.raw("<p class=\"info\">Les compteurs quotidiens (reçus, livrés, LB, rejetés : "
              "rdzctl stats) et le remplissage de la semaine par commande ne sont pas encore "
              "fournis par rdzd ; ils s'afficheront ici.</p>");
        h.raw("<h2>Commandes de la semaine</h2>");
        table(h, commandes.getCommandes(),
              {"id", "client", "produit", "quota_semaine", "remplacements_dus", "actif"},
              "/commandes/");
        return page(s, "Tableau de bord", h, "tableau", true);
      });
    });
  });
}

}  // namespace rdz::console
