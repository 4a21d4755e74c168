// The Leads pages (SPEC §8.4): search by phone or id, the full record and its history as a
// timeline, its explanation (lead explain), rejection with a reason, RGPD erasure after a
// confirmation.
#include <kj/debug.h>

#include <algorithm>

#include "client/explain-text.h"
#include "client/present.h"
#include "daemon/domain/calendar.h"
#include "daemon/domain/after-delivery.h"
#include "daemon/domain/commerce.h"
#include "daemon/domain/labels.h"
#include "daemon/domain/refusal.h"
#include "daemon/domain/validation.h"
#include "tools/console/page-kit.h"

namespace rdz::console {

namespace {

// ---- leads ------------------------------------------------------------------------------------

void searchForm(Html& h, const std::string& q) {
  h.raw("<form class=\"ligne\" method=\"get\" action=\"/leads\" role=\"search\">"
        "<label>Téléphone ou identifiant <input name=\"q\" value=\"")
      .text(q)
      .raw("\"></label><button type=\"submit\">Chercher</button></form>");
}

bool looksLikeLeadId(const std::string& q) {
  return q.size() == 13 && std::all_of(q.begin(), q.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
         });
}

}  // namespace

kj::Promise<Reply> leads(Session& s, const Request& req) {
  std::string q = trim(req.param("q"));
  if (looksLikeLeadId(q)) return Reply::redirect(link("/leads/", q));
  Html h;
  h.raw("<h1>Leads</h1>");
  flash(h, s);
  searchForm(h, q);
  if (s.isAdmin()) h.raw("<p><a href=\"/effacement\">Effacement RGPD d'une personne</a></p>");
  if (q.empty()) return page(s, "Leads", h, "leads");
  auto find = s.viewer.findLeadsRequest();
  find.setTelephone(q);
  setFilter(find.initEntity(), s.shown());
  return find.send().then([&s, h = kj::mv(h)](auto resp) mutable {
    h.raw("<h2>Résultats</h2>");
    table(h, resp.getLeads(),
          {"id", "entity", "produit", "nom", "prenom", "statut", "recu_le", "problemes"},
          "/leads/");
    return page(s, "Leads", h, "leads");
  });
}

kj::Promise<Reply> leadShow(Session& s, const std::string& id, std::string error) {
  auto get = s.viewer.getLeadRequest();
  get.setId(id);
  return get.send().then([&s, id, error](auto resp) {
    auto lead = resp.getLead();
    Html h;
    h.raw("<h1>Lead ").text(id).raw("</h1>");
    flash(h, s);
    if (!error.empty()) h.raw("<p class=\"erreur\" id=\"erreur\">").text(error).raw("</p>");
    record(h, lead);
    h.raw("<h2>Historique</h2><ol class=\"chronologie\" id=\"historique\">");
    for (auto event : resp.getHistory()) {
      Cells cells = cellsOf(event);
      h.raw("<li><time>")
          .text(frenchValue(cellAt(cells, "at")))
          .raw("</time><strong>")
          .text(frenchValue(cellAt(cells, "event")))
          .raw("</strong> ")
          .text(cellAt(cells, "detail").text)
          .raw("</li>");
    }
    h.raw("</ol>");
    h.raw("<h2>Explication</h2><p><a id=\"lien-explication\" href=\"")
        .text(link("/leads/", id) + "/explication")
        .raw("\">Pourquoi ce lead est allé où il est allé</a> (le run de sa dernière livraison, "
             "sinon le prochain run, simulé).</p>");
    if (s.isAdmin() && lead.getStatut() == schema::Statut::DELIVERED) {
      h.raw("<h2>Rejet par le client</h2><form class=\"ligne\" id=\"form-rejet\" "
            "method=\"post\" action=\"")
          .text(link("/leads/", id) + "/rejet")
          .raw("\">");
      csrf(h, s);
      h.raw("<label>Raison <select name=\"raison\">");
      for (auto r : rejectionReasons()) {
        h.raw("<option value=\"").text(r).raw("\">").text(rejectionReasonLabel(r))
            .raw("</option>");
      }
      h.raw("</select></label><button type=\"submit\" class=\"danger\">Rejeter</button></form>");
    }
    if (s.isAdmin() && !lead.getEfface() && lead.getTelephoneE164().size() > 0) {
      h.raw("<h2>Effacement RGPD</h2><form class=\"ligne\" method=\"post\" "
            "action=\"/effacement\">");
      csrf(h, s);
      h.raw("<input type=\"hidden\" name=\"telephone\" value=\"")
          .text(lead.getTelephoneE164().cStr())
          .raw("\"><button type=\"submit\" class=\"danger\">Effacer cette personne…</button>"
               "</form>");
    }
    Reply r = page(s, "Lead " + id, h, "leads");
    if (!error.empty()) r.status = 422;
    return r;
  });
}

// SPEC §7.4: a run that happened is explained from what it recorded; a date not run yet is
// simulated by rdzd (which may take seconds on a large pool: hence a page of its own).
kj::Promise<Reply> leadExplain(Session& s, const Request& req, const std::string& id) {
  std::string date = trim(req.param("date"));
  if (!date.empty() && !isIsoDate(date)) refuse("la date doit être AAAA-MM-JJ");
  auto call = s.viewer.explainLeadRequest();
  call.setId(id);
  call.setDate(date);
  return call.send().then([&s, id](auto resp) {
    auto x = resp.getExplanation();
    Html h;
    h.raw("<h1>Explication du lead <a href=\"")
        .text(link("/leads/", id))
        .raw("\">")
        .text(id)
        .raw("</a></h1>");
    h.raw("<p id=\"phrase\">").text(explanationSentence(x, resp.getDryRun())).raw("</p>");
    table(h, x.getRaisons(), {"passe", "commande", "client", "raison", "detail"});
    h.raw("<form class=\"ligne\" method=\"get\" action=\"")
        .text(link("/leads/", id) + "/explication")
        .raw("\"><label>Run du <input name=\"date\" placeholder=\"AAAA-MM-JJ\"></label>"
             "<button type=\"submit\">Expliquer</button></form>");
    return page(s, "Explication " + id, h, "leads");
  });
}

kj::Promise<Reply> leadReject(Session& s, const Request& req, const std::string& id) {
  return kj::evalNow([&]() {
           auto call = s.adminCap().rejectLeadRequest();
           call.setId(id);
           call.setReason(req.field("raison"));
           return call.send().then([&s, id](auto resp) {
             auto r = resp.getRejection();
             s.flash = std::string("Lead rejeté (commande ") + r.getCommande().cStr() + ", " +
                       (std::string_view(r.getCredit().cStr()) == "semaine"
                            ? "compteur de la semaine crédité)."
                            : "un remplacement dû).");
             return Reply::redirect(link("/leads/", id));
           });
         })
      .catch_([&s, id](kj::Exception&& e) { return leadShow(s, id, rdzdMessage(e)); });
}

kj::Promise<Reply> erasure(Session& s, const Request& req) {
  Html h;
  h.raw("<h1>Effacement RGPD</h1>");
  std::string phone = trim(req.field("telephone"));
  std::optional<Entity> entity = s.bound ? s.bound : parseEntity(req.field("entite"));
  if (!req.post() || phone.empty()) {
    h.raw("<p>Efface les données personnelles de chaque lead de ce numéro et l'ajoute à la "
          "liste d'opposition. Irréversible.</p><form class=\"fiche\" method=\"post\" "
          "action=\"/effacement\">");
    csrf(h, s);
    h.raw("<label>Téléphone <input name=\"telephone\" required></label>");
    if (!s.bound) {
      h.raw("<label>Entité <select name=\"entite\"><option value=\"\">Toutes</option>"
            "<option>ZR7</option><option>MDL</option></select></label>");
    }
    h.raw("<div class=\"actions\"><button type=\"submit\">Continuer</button></div></form>");
    return page(s, "Effacement", h, "leads");
  }
  if (req.field("confirmer") != "oui") {
    auto find = s.viewer.findLeadsRequest();
    find.setTelephone(phone);
    setFilter(find.initEntity(), entity);
    return find.send().then([&s, phone, entity, h = kj::mv(h)](auto resp) mutable {
      h.raw("<p id=\"confirmation\">")
          .text(std::to_string(resp.getLeads().size()))
          .raw(" lead(s) de ce numéro (")
          .text(entity ? entityName(*entity) : "toutes les entités")
          .raw(") seront effacés définitivement, et le numéro ajouté à la liste "
               "d'opposition.</p>");
      table(h, resp.getLeads(), {"id", "entity", "produit", "statut", "recu_le"}, "/leads/");
      h.raw("<form class=\"ligne\" method=\"post\" action=\"/effacement\">");
      csrf(h, s);
      h.raw("<input type=\"hidden\" name=\"telephone\" value=\"").text(phone).raw("\">");
      h.raw("<input type=\"hidden\" name=\"entite\" value=\"").text(entityValue(entity))
          .raw("\">");
      h.raw("<input type=\"hidden\" name=\"confirmer\" value=\"oui\">"
            "<button type=\"submit\" class=\"danger\" id=\"confirmer\">Effacer "
            "définitivement</button></form>");
      return page(s, "Effacement", h, "leads");
    });
  }
  auto call = s.adminCap().eraseLeadsRequest();
  call.setTelephone(phone);
  setFilter(call.initEntity(), entity);
  return call.send().then([&s](auto resp) {
    s.flash = std::to_string(resp.getCount()) +
              " lead(s) effacé(s) ; le numéro est sur la liste d'opposition.";
    return Reply::redirect("/leads");
  });
}

}  // namespace rdz::console
