// The Commandes and Clients pages (SPEC §8.4): lists, create and edit forms with rdzd's own
// validation messages, activate / deactivate.
#include <kj/debug.h>

#include <algorithm>

#include "client/present.h"
#include "daemon/domain/calendar.h"
#include "daemon/domain/commerce.h"
#include "daemon/domain/refusal.h"
#include "daemon/domain/validation.h"
#include "tools/console/page-kit.h"

namespace rdz::console {

namespace {

// ---- commandes --------------------------------------------------------------------------------

// The form's values: what was typed (after a refusal) or the commande's current ones.
struct CommandeValues {
  std::string client, produit, quotaSemaine, quotaJour, departements = "*", priorite = "5",
                                                        lbMaxPct = "0", fallback = "non",
                                                        jours = "lun,mar,mer,jeu,ven", debut, fin;
  static CommandeValues of(const Request& req) {
    CommandeValues v;
    v.client = req.field("client");
    v.produit = req.field("produit");
    v.quotaSemaine = req.field("quota_semaine");
    v.quotaJour = req.field("quota_jour");
    v.departements = req.field("departements");
    v.priorite = req.field("priorite");
    v.lbMaxPct = req.field("lb_max_pct");
    v.fallback = req.field("fallback");
    v.jours = req.field("jours");
    v.debut = req.field("debut");
    v.fin = req.field("fin");
    return v;
  }
  static CommandeValues of(schema::Commande::Reader c) {
    CommandeValues v;
    v.client = c.getClient();
    v.produit = c.getProduit();
    v.quotaSemaine = std::to_string(c.getQuotaSemaine());
    v.quotaJour = c.getQuotaJour() == 0 ? "" : std::to_string(c.getQuotaJour());
    v.departements = joinList(c.getDepartements());
    v.priorite = std::to_string(c.getPriorite());
    v.lbMaxPct = std::to_string(c.getLbMaxPct());
    v.fallback = c.getFallback() ? "oui" : "non";
    v.jours = joinList(c.getJours());
    v.debut = c.getDebut();
    v.fin = c.getFin();
    return v;
  }
};

void commandeForm(Html& h, const Session& s, const std::string& action,
                  const CommandeValues& v, const std::vector<std::string>& clients,
                  const std::vector<std::string>& produits, const std::string& error,
                  bool creating) {
  h.raw("<form class=\"fiche\" id=\"form-commande\" method=\"post\" action=\"").text(action)
      .raw("\">");
  csrf(h, s);
  if (!error.empty()) h.raw("<p class=\"erreur\" id=\"erreur\">").text(error).raw("</p>");
  if (creating) {
    select(h, "client", clients, v.client);
  }
  select(h, "produit", produits, v.produit);
  input(h, "quota_semaine", v.quotaSemaine, "number");
  input(h, "quota_jour", v.quotaJour, "number");
  input(h, "departements", v.departements);
  input(h, "priorite", v.priorite, "number");
  input(h, "lb_max_pct", v.lbMaxPct, "number");
  select(h, "fallback", {"non", "oui"}, v.fallback);
  input(h, "jours", v.jours);
  input(h, "debut", v.debut, "date");
  input(h, "fin", v.fin, "date");
  h.raw("<div class=\"actions\"><button type=\"submit\">")
      .text(creating ? "Créer la commande" : "Enregistrer")
      .raw("</button></div></form>");
}

void applyCommande(const Request& req, schema::Commande::Builder c) {
  c.setProduit(trim(req.field("produit")));
  c.setQuotaSemaine(number(req, "quota_semaine", 0, 1000000));
  c.setQuotaJour(number(req, "quota_jour", 0, 1000000));
  auto d = splitList(req.field("departements").empty() ? "*" : req.field("departements"));
  setList(c.initDepartements(d.size()), d);
  c.setPriorite(number(req, "priorite", 5, 255));
  c.setLbMaxPct(number(req, "lb_max_pct", 0, 255));
  c.setFallback(ouiNon(req, "fallback", false));
  auto j = splitList(req.field("jours").empty() ? "lun,mar,mer,jeu,ven" : req.field("jours"));
  setList(c.initJours(j.size()), j);
  c.setDebut(trim(req.field("debut")));
  c.setFin(trim(req.field("fin")));
}

// The client ids and produit codes the form offers (what this session may see).
struct Choices {
  std::vector<std::string> clients;
  std::vector<std::string> produits;
};

kj::Promise<Choices> choices(Session& s) {
  auto clientsReq = s.viewer.listClientsRequest();
  setFilter(clientsReq.initEntity(), s.shown());
  return clientsReq.send().then([&s](auto clients) {
    auto choice = kj::heap<Choices>();
    for (auto c : clients.getClients()) choice->clients.push_back(c.getId());
    std::vector<Entity> entities;
    if (s.shown()) {
      entities.push_back(*s.shown());
    } else {
      entities = {Entity::ZR7, Entity::MDL};
    }
    auto requests = kj::heapArrayBuilder<kj::Promise<void>>(entities.size());
    Choices* out = choice.get();
    for (Entity e : entities) {
      auto req = s.viewer.listProduitsRequest();
      req.setEntity(static_cast<schema::Entity>(e));
      requests.add(req.send().then([out](auto produits) {
        for (auto p : produits.getProduits()) {
          std::string code = p.getCode();
          if (std::find(out->produits.begin(), out->produits.end(), code) == out->produits.end()) {
            out->produits.push_back(code);
          }
        }
      }));
    }
    return kj::joinPromises(requests.finish()).then([choice = kj::mv(choice)]() mutable {
      return kj::mv(*choice);
    });
  });
}

}  // namespace

kj::Promise<Reply> commandes(Session& s) {
  auto req = s.viewer.listCommandesRequest();
  setFilter(req.initEntity(), s.shown());
  return req.send().then([&s](auto resp) {
    Html h;
    h.raw("<h1>Commandes</h1>");
    flash(h, s);
    if (s.isAdmin()) h.raw("<p><a href=\"/commandes/nouvelle\">Nouvelle commande</a></p>");
    table(h, resp.getCommandes(),
          {"id", "entity", "client", "produit", "quota_semaine", "quota_jour", "priorite",
           "departements", "jours", "remplacements_dus", "actif"},
          "/commandes/");
    return page(s, "Commandes", h, "commandes");
  });
}

kj::Promise<Reply> commandeNew(Session& s, const Request& req, std::string error) {
  return choices(s).then([&s, &req, error](Choices c) {
    Html h;
    h.raw("<h1>Nouvelle commande</h1>");
    CommandeValues values = req.post() ? CommandeValues::of(req) : CommandeValues();
    commandeForm(h, s, "/commandes", values, c.clients, c.produits, error, true);
    Reply r = page(s, "Nouvelle commande", h, "commandes");
    if (!error.empty()) r.status = 422;
    return r;
  });
}

kj::Promise<Reply> commandeCreate(Session& s, const Request& req) {
  return kj::evalNow([&]() {
           auto call = s.adminCap().addCommandeRequest();
           auto c = call.initCommande();
           c.setClient(trim(req.field("client")));
           applyCommande(req, c);
           return call.send().then([&s](auto resp) {
             std::string id = resp.getId();
             s.flash = "Commande " + id + " créée.";
             return Reply::redirect(link("/commandes/", id));
           });
         })
      .catch_([&s, &req](kj::Exception&& e) { return commandeNew(s, req, rdzdMessage(e)); });
}

kj::Promise<Reply> commandeShow(Session& s, const Request& req, const std::string& id,
                                std::string error) {
  auto get = s.viewer.getCommandeRequest();
  get.setId(id);
  return get.send().then([&s, &req, id, error](auto resp) {
    return choices(s).then([&s, &req, id, error, resp = kj::mv(resp)](Choices c) mutable {
      auto commande = resp.getCommande();
      Html h;
      h.raw("<h1>Commande ").text(id).raw("</h1>");
      flash(h, s);
      record(h, commande);
      if (s.isAdmin()) {
        h.raw("<h2>Modifier</h2>");
        CommandeValues values =
            req.post() ? CommandeValues::of(req) : CommandeValues::of(commande);
        commandeForm(h, s, link("/commandes/", id), values, c.clients, c.produits, error, false);
        h.raw("<h2>Activation</h2><form class=\"ligne\" method=\"post\" action=\"")
            .text(link("/commandes/", id) + "/actif")
            .raw("\">");
        csrf(h, s);
        h.raw("<input type=\"hidden\" name=\"actif\" value=\"")
            .text(commande.getActif() ? "non" : "oui")
            .raw("\"><button type=\"submit\" id=\"basculer-actif\">")
            .text(commande.getActif() ? "Désactiver" : "Activer")
            .raw("</button></form>");
      }
      Reply r = page(s, "Commande " + id, h, "commandes");
      if (!error.empty()) r.status = 422;
      return r;
    });
  });
}

kj::Promise<Reply> commandeUpdate(Session& s, const Request& req, const std::string& id,
                                  bool actifOnly) {
  auto get = s.viewer.getCommandeRequest();
  get.setId(id);
  return get.send()
      .then([&s, &req, actifOnly](auto current) {
        auto call = s.adminCap().setCommandeRequest();
        call.setCommande(current.getCommande());
        if (actifOnly) {
          call.getCommande().setActif(ouiNon(req, "actif", true));
        } else {
          applyCommande(req, call.getCommande());
        }
        return call.send().ignoreResult();
      })
      .then([&s, id]() {
        s.flash = "Commande " + id + " enregistrée.";
        return Reply::redirect(link("/commandes/", id));
      })
      .catch_([&s, &req, id](kj::Exception&& e) {
        return commandeShow(s, req, id, rdzdMessage(e));
      });
}

namespace {

// ---- clients ----------------------------------------------------------------------------------

struct ClientValues {
  std::string entity, id, nom, emails, cc, methode = "email", apiUrl, apiHeader;
  static ClientValues of(const Request& req) {
    return {req.field("entity"), req.field("id"),  req.field("nom"),
            req.field("emails"), req.field("cc"),  req.field("methode"),
            req.field("api_url"), req.field("api_header")};
  }
  static ClientValues of(schema::Client::Reader c) {
    return {entityName(static_cast<Entity>(c.getEntity())).data(),
            c.getId(),
            c.getNom(),
            joinList(c.getEmails()),
            joinList(c.getCc()),
            c.getMethode() == schema::Methode::API ? "api" : "email",
            c.getApiUrl(),
            c.getApiHeader()};
  }
};

void clientForm(Html& h, const Session& s, const std::string& action, const ClientValues& v,
                const std::string& error, bool creating) {
  h.raw("<form class=\"fiche\" id=\"form-client\" method=\"post\" action=\"").text(action)
      .raw("\">");
  csrf(h, s);
  if (!error.empty()) h.raw("<p class=\"erreur\" id=\"erreur\">").text(error).raw("</p>");
  if (creating) {
    if (s.bound) {
      h.raw("<input type=\"hidden\" name=\"entity\" value=\"")
          .text(entityName(*s.bound))
          .raw("\">");
    } else {
      select(h, "entity", {"ZR7", "MDL"},
             v.entity.empty() ? entityValue(s.shown()) : v.entity);
    }
    input(h, "id", v.id);
  }
  input(h, "nom", v.nom);
  input(h, "emails", v.emails);
  input(h, "cc", v.cc);
  select(h, "methode", {"email", "api"}, v.methode);
  input(h, "api_url", v.apiUrl);
  input(h, "api_header", v.apiHeader);
  h.raw("<div class=\"actions\"><button type=\"submit\">")
      .text(creating ? "Créer le client" : "Enregistrer")
      .raw("</button></div></form>");
}

void applyClient(const Request& req, schema::Client::Builder c) {
  c.setNom(req.field("nom"));
  auto emails = splitList(req.field("emails"));
  setList(c.initEmails(emails.size()), emails);
  auto cc = splitList(req.field("cc"));
  setList(c.initCc(cc.size()), cc);
  const std::string& m = req.field("methode");
  if (!m.empty() && m != "email" && m != "api") refuse("client : methode doit être email ou api");
  c.setMethode(m == "api" ? schema::Methode::API : schema::Methode::EMAIL);
  c.setApiUrl(trim(req.field("api_url")));
  c.setApiHeader(trim(req.field("api_header")));
}

}  // namespace

kj::Promise<Reply> clients(Session& s) {
  auto req = s.viewer.listClientsRequest();
  setFilter(req.initEntity(), s.shown());
  return req.send().then([&s](auto resp) {
    Html h;
    h.raw("<h1>Clients</h1>");
    flash(h, s);
    if (s.isAdmin()) h.raw("<p><a href=\"/clients/nouveau\">Nouveau client</a></p>");
    table(h, resp.getClients(), {"id", "entity", "nom", "methode", "emails", "actif", "cree_le"},
          "/clients/");
    return page(s, "Clients", h, "clients");
  });
}

Reply clientNew(Session& s, const Request& req, const std::string& error) {
  Html h;
  h.raw("<h1>Nouveau client</h1>");
  clientForm(h, s, "/clients", req.post() ? ClientValues::of(req) : ClientValues(), error, true);
  Reply r = page(s, "Nouveau client", h, "clients");
  if (!error.empty()) r.status = 422;
  return r;
}

kj::Promise<Reply> clientCreate(Session& s, const Request& req) {
  return kj::evalNow([&]() {
           auto call = s.adminCap().addClientRequest();
           auto c = call.initClient();
           auto e = parseEntity(req.field("entity"));
           if (!e) refuse("client : l'entité doit être ZR7 ou MDL");
           c.setEntity(static_cast<schema::Entity>(*e));
           c.setId(trim(req.field("id")));
           applyClient(req, c);
           return call.send().then([&s](auto resp) {
             std::string id = resp.getId();
             s.flash = "Client " + id + " créé.";
             return Reply::redirect(link("/clients/", id));
           });
         })
      .catch_([&s, &req](kj::Exception&& e) { return clientNew(s, req, rdzdMessage(e)); });
}

kj::Promise<Reply> clientShow(Session& s, const Request& req, const std::string& id,
                              std::string error) {
  auto get = s.viewer.getClientRequest();
  get.setId(id);
  return get.send().then([&s, &req, id, error](auto resp) {
    auto client = resp.getClient();
    Html h;
    h.raw("<h1>Client ").text(id).raw("</h1>");
    flash(h, s);
    record(h, client);
    h.raw("<p><a href=\"/commandes?client=").text(urlEncode(id)).raw("\">Ses commandes</a></p>");
    if (s.isAdmin()) {
      h.raw("<h2>Modifier</h2>");
      clientForm(h, s, link("/clients/", id),
                 req.post() ? ClientValues::of(req) : ClientValues::of(client), error, false);
      h.raw("<h2>Activation</h2><form class=\"ligne\" method=\"post\" action=\"")
          .text(link("/clients/", id) + "/actif")
          .raw("\">");
      csrf(h, s);
      h.raw("<input type=\"hidden\" name=\"actif\" value=\"")
          .text(client.getActif() ? "non" : "oui")
          .raw("\"><button type=\"submit\" id=\"basculer-actif\">")
          .text(client.getActif() ? "Désactiver" : "Activer")
          .raw("</button></form>");
    }
    Reply r = page(s, "Client " + id, h, "clients");
    if (!error.empty()) r.status = 422;
    return r;
  });
}

kj::Promise<Reply> clientUpdate(Session& s, const Request& req, const std::string& id,
                                bool actifOnly) {
  auto get = s.viewer.getClientRequest();
  get.setId(id);
  return get.send()
      .then([&s, &req, actifOnly](auto current) {
        auto call = s.adminCap().setClientRequest();
        call.setClient(current.getClient());
        if (actifOnly) {
          call.getClient().setActif(ouiNon(req, "actif", true));
        } else {
          applyClient(req, call.getClient());
        }
        return call.send().ignoreResult();
      })
      .then([&s, id]() {
        s.flash = "Client " + id + " enregistré.";
        return Reply::redirect(link("/clients/", id));
      })
      .catch_([&s, &req, id](kj::Exception&& e) { return clientShow(s, req, id, rdzdMessage(e)); });
}

}  // namespace rdz::console
