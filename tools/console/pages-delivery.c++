// The Livraisons pages (SPEC §8.4): runs, batches with their SMTP / HTTP answers, resend, the
// dry run of a date with its plan.
#include <kj/debug.h>

#include <algorithm>

#include "client/present.h"
#include "daemon/domain/calendar.h"
#include "daemon/domain/commerce.h"
#include "daemon/domain/refusal.h"
#include "daemon/domain/validation.h"
#include "tools/console/page-kit.h"

namespace rdz::console {

kj::Promise<Reply> livraisons(Session& s) {
  return allRuns(s, "", {}).then([&s](auto runPages) {
    auto failed = s.viewer.listBatchesRequest();
    failed.setStatus("failed");
    auto pending = s.viewer.listBatchesRequest();
    pending.setStatus("pending");
    return failed.send().then([&s, pending = kj::mv(pending),
                               runPages = kj::mv(runPages)](auto failedResp) mutable {
      return pending.send().then([&s, runPages = kj::mv(runPages),
                                  failedResp = kj::mv(failedResp)](auto pendingResp) mutable {
        Html h;
        h.raw("<h1>Livraisons</h1>");
        flash(h, s);
        if (s.isAdmin()) {
          h.raw("<h2>Essai d'un run (rien n'est écrit)</h2><form class=\"ligne\" method=\"get\" "
                "action=\"/livraisons/essai\"><label>Date <input type=\"date\" name=\"date\" "
                "value=\"")
              .text(parisDate(std::chrono::time_point_cast<Duration>(
                  std::chrono::system_clock::now())))
              .raw("\"></label><button type=\"submit\">Voir le plan</button></form>");
        }
        h.raw("<h2>Lots en échec</h2>");
        table(h, failedResp.getBatches(),
              {"id", "entity", "client", "run", "status", "attempts", "last_error",
               "next_attempt"},
              "/lots/", [&s](Html& h, const Cells& c) { batchActions(h, s, c); });
        h.raw("<h2>Lots en attente</h2>");
        table(h, pendingResp.getBatches(),
              {"id", "entity", "client", "run", "status", "attempts", "next_attempt"}, "/lots/",
              [&s](Html& h, const Cells& c) { batchActions(h, s, c); });
        h.raw("<h2>Runs</h2>");
        // The latest 60 runs, newest first.
        std::vector<schema::RunSummary::Reader> runs;
        for (auto& p : runPages) {
          for (auto r : p.getRuns()) {
            if (inView(s, r.getEntity())) runs.push_back(r);
          }
        }
        std::reverse(runs.begin(), runs.end());
        if (runs.size() > 60) runs.resize(60);
        if (runs.empty()) {
          h.raw("<p class=\"vide\">Aucun run.</p>");
          return page(s, "Livraisons", h, "livraisons");
        }
        h.raw("<div class=\"tableau\"><table><thead><tr>");
        for (auto c : {"id", "status"}) h.raw("<th>").text(label(c)).raw("</th>");
        for (auto c : {"assigned", "aged", "doublons_evites", "batches"}) {
          h.raw("<th class=\"nombre\">").text(label(c)).raw("</th>");
        }
        h.raw("</tr></thead><tbody>");
        for (auto r : runs) {
          Cells cells = cellsOf(r);
          h.raw("<tr><td class=\"court\"><a href=\"/livraisons/")
              .text(r.getId().cStr())
              .raw("\">")
              .text(r.getId().cStr())
              .raw("</a></td>");
          for (auto c : {"status", "assigned", "aged", "doublons_evites"}) {
            cellTd(h, cellAt(cells, c));
          }
          h.raw("<td class=\"nombre\">")
              .text(frenchNumber(r.getBatches().size()))
              .raw("</td></tr>");
        }
        h.raw("</tbody></table></div>");
        return page(s, "Livraisons", h, "livraisons");
      });
    });
  });
}

namespace {

void batchDetails(Html& h, const Session& s, capnp::List<schema::Batch>::Reader batches) {
  for (auto b : batches) {
    Cells cells = cellsOf(b);
    h.raw("<h3 id=\"lot-").text(b.getId().cStr()).raw("\">Lot ").text(b.getId().cStr())
        .raw(" — ").text(b.getClient().cStr()).raw(" — <span class=\"statut-")
        .text(cellAt(cells, "status").text).raw("\">").text(frenchValue(cellAt(cells, "status")))
        .raw("</span></h3>");
    h.raw("<p>").text(std::to_string(b.getDeliveries().size())).raw(" lead(s), ")
        .text(std::to_string(b.getAttempts())).raw(" tentative(s)");
    if (b.getSentAt() != 0) h.raw(", envoyé le ").text(frenchDateTime(b.getSentAt()));
    h.raw(".</p>");
    if (b.getLastError().size() > 0) {
      h.raw("<p class=\"erreur\">").text(b.getLastError().cStr()).raw("</p>");
    }
    h.raw("<ul class=\"reponses\">");
    for (auto line : b.getResponses()) h.raw("<li><code>").text(line.cStr()).raw("</code></li>");
    h.raw("</ul>");
    batchActions(h, s, cells);
  }
}

}  // namespace

kj::Promise<Reply> runShow(Session& s, const std::string& id) {
  auto get = s.viewer.getRunRequest();
  get.setId(id);
  return get.send().then([&s, id](auto resp) {
    Html h;
    h.raw("<h1>Run ").text(id).raw("</h1>");
    flash(h, s);
    auto run = resp.getRun();
    record(h, run, {"par_entite", "plan"});
    if (run.getByEntity().size() > 0) {
      h.raw("<h2>Par entité</h2>");
      table(h, run.getByEntity(), {"entity", "assigned", "aged", "doublons_evites"});
    }
    h.raw("<h2>Lots</h2>");
    batchDetails(h, s, resp.getBatches());
    return page(s, "Run " + id, h, "livraisons");
  });
}

kj::Promise<Reply> batchShow(Session& s, const std::string& id) {
  // A batch is shown within its run: find it among the listed ones.
  auto list = s.viewer.listBatchesRequest();
  return list.send().then([&s, id](auto resp) -> kj::Promise<Reply> {
    for (auto b : resp.getBatches()) {
      if (b.getId() == id) return runShow(s, b.getRun().cStr());
    }
    refuse("lot inconnu : " + id);
  });
}

kj::Promise<Reply> resend(Session& s, const std::string& id) {
  auto call = s.adminCap().resendBatchRequest();
  call.setId(id);
  return call.send().then([&s, id](auto) {
    s.flash = "Lot " + id + " renvoyé : rdzd l'envoie maintenant.";
    return Reply::redirect("/livraisons");
  });
}

kj::Promise<Reply> dryRun(Session& s, const Request& req) {
  std::string date = trim(req.param("date"));
  if (!date.empty() && !isIsoDate(date)) refuse("la date doit être AAAA-MM-JJ");
  auto call = s.adminCap().deliverRequest();
  call.setDate(date);
  setFilter(call.initEntity(), s.bound);
  call.setDryRun(true);
  return call.send().then([&s, date](auto resp) {
    auto run = resp.getRun();
    Html h;
    h.raw("<h1>Essai du run ").text(frenchDate(run.getDate().cStr())).raw("</h1>");
    if (run.getAlreadyDone()) {
      h.raw("<p class=\"info\">Ce run est déjà fait : voici ce qu'il a livré.</p>");
    } else {
      h.raw("<p class=\"info\">Rien n'est écrit ni envoyé : voici ce que le run "
            "attribuerait maintenant.</p>");
    }
    record(h, run, {"par_entite", "plan", "batches"});
    h.raw("<h2>Plan</h2>");
    table(h, run.getPlan(), {"lead", "lead_entity", "commande", "client", "entity", "pass"},
          "/leads/");
    if (run.getAlreadyDone()) batchDetails(h, s, resp.getBatches());
    return page(s, "Essai", h, "livraisons");
  });
}

}  // namespace rdz::console
