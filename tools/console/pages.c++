// The console's pages (SPEC §8.4). Each reads and changes through the session's capabilities
// only, so rdzd decides what the user may see (entity binding) and do (role). Records are shown
// through client/present.h's cells (the names and values of rdzctl --json), in French.
#include <capnp/compat/json.h>
#include <capnp/message.h>
#include <kj/debug.h>

#include <algorithm>
#include <functional>
#include <set>

#include "client/json.h"
#include "client/present.h"
#include "daemon/domain/calendar.h"
#include "daemon/domain/commerce.h"
#include "daemon/domain/validation.h"
#include "tools/console/internal.h"

namespace rdz::console {

namespace {

using Reply = Console::Reply;
using Request = Console::Request;
using Session = Console::Session;

constexpr const char* REASONS[] = {"faux_numero", "injoignable", "hors_zone",
                                   "doublon",     "hors_cible",  "autre"};

Reply page(Session& s, std::string_view title, const Html& body, std::string_view current,
           bool chart = false) {
  Reply r;
  r.body = layout(&s, title, body, current, chart);
  return r;
}

// Takes the flash message (shown once).
void flash(Html& h, Session& s) {
  if (s.flash.empty()) return;
  h.raw("<p class=\"info\" id=\"message\">").text(s.flash).raw("</p>");
  s.flash.clear();
}

void csrf(Html& h, const Session& s) {
  h.raw("<input type=\"hidden\" name=\"csrf\" value=\"").text(s.csrf).raw("\">");
}

void setFilter(schema::EntityFilter::Builder out, std::optional<Entity> e) {
  if (e) {
    out.setOne(static_cast<schema::Entity>(*e));
  } else {
    out.setAll();
  }
}

// "/clients/" + the id, percent-encoded.
std::string link(std::string_view prefix, std::string_view id) {
  return std::string(prefix) + urlEncode(id);
}

void cellTd(Html& h, const Cell& cell) {
  if (cell.kind == Cell::Kind::NUMBER) {
    h.raw("<td class=\"nombre\">");
  } else if (cell.name == "statut" || cell.name == "status") {
    h.raw("<td class=\"statut-").text(cell.text).raw("\">");
  } else {
    h.raw("<td>");
  }
  h.text(frenchValue(cell)).raw("</td>");
}

// A table of records, one column per JSON name; the first column links to `linkPrefix` + id.
// `action`, when set, adds a last cell per row.
template <typename List>
void table(Html& h, List list, std::initializer_list<const char*> columns,
           const char* linkPrefix = nullptr,
           std::function<void(Html&, const Cells&)> action = nullptr) {
  h.raw("<div class=\"tableau\"><table><thead><tr>");
  for (auto c : columns) h.raw("<th>").text(label(c)).raw("</th>");
  if (action != nullptr) h.raw("<th></th>");
  h.raw("</tr></thead><tbody>");
  for (auto item : list) {
    Cells cells = cellsOf(item);
    h.raw("<tr>");
    bool first = true;
    for (auto c : columns) {
      const Cell& cell = cellAt(cells, c);
      if (first && linkPrefix != nullptr) {
        h.raw("<td><a href=\"").text(link(linkPrefix, cell.text)).raw("\">").text(cell.text)
            .raw("</a></td>");
      } else {
        cellTd(h, cell);
      }
      first = false;
    }
    if (action != nullptr) {
      h.raw("<td>");
      action(h, cells);
      h.raw("</td>");
    }
    h.raw("</tr>");
  }
  h.raw("</tbody></table></div>");
  if (list.size() == 0) h.raw("<p>Aucun élément.</p>");
}

// Every field of a record as a definition list.
template <typename Reader>
void record(Html& h, Reader reader) {
  h.raw("<dl class=\"fiche\">");
  for (auto& cell : cellsOf(reader)) {
    h.raw("<dt>").text(label(cell.name)).raw("</dt><dd>").text(frenchValue(cell)).raw("</dd>");
  }
  h.raw("</dl>");
}

void input(Html& h, const char* name, std::string_view value, const char* type = "text") {
  h.raw("<label>").text(label(name)).raw(" <input type=\"").text(type).raw("\" name=\"")
      .text(name).raw("\" value=\"").text(value).raw("\"></label>");
}

void select(Html& h, const char* name, const std::vector<std::string>& options,
            std::string_view chosen) {
  h.raw("<label>").text(label(name)).raw(" <select name=\"").text(name).raw("\">");
  for (auto& o : options) {
    h.raw("<option value=\"").text(o).raw("\"");
    if (o == chosen) h.raw(" selected");
    h.raw(">").text(o).raw("</option>");
  }
  h.raw("</select></label>");
}

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = trim(std::string_view(text).substr(start, comma - start));
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

std::string joinList(capnp::List<capnp::Text>::Reader list) {
  std::string out;
  for (auto t : list) out += (out.empty() ? "" : ",") + std::string(t.cStr());
  return out;
}

template <typename List>
void setList(List out, const std::vector<std::string>& values) {
  for (size_t i = 0; i < values.size(); ++i) out.set(i, values[i]);
}

// A whole number of a form field; "" keeps `fallback`. The refusal names the field.
uint32_t number(const Request& req, const char* name, uint32_t fallback, uint32_t max) {
  const std::string& text = req.field(name);
  if (trim(text).empty()) return fallback;
  try {
    size_t used = 0;
    unsigned long v = std::stoul(trim(text), &used);
    if (used == trim(text).size() && v <= max) return static_cast<uint32_t>(v);
  } catch (const std::exception&) {
    // reported below
  }
  KJ_FAIL_REQUIRE(kj::str(name, " doit être un nombre entier (au plus ", max, ")"));
}

bool ouiNon(const Request& req, const char* name, bool fallback) {
  if (req.field(name).empty()) return fallback;
  auto b = parseBool(req.field(name));
  KJ_REQUIRE(b.has_value(), kj::str(name, " doit être oui ou non"));
  return *b;
}

std::string entityValue(std::optional<Entity> e) {
  return e ? std::string(entityName(*e)) : "";
}

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
  KJ_REQUIRE(m.empty() || m == "email" || m == "api", "methode doit être email ou api");
  c.setMethode(m == "api" ? schema::Methode::API : schema::Methode::EMAIL);
  c.setApiUrl(trim(req.field("api_url")));
  c.setApiHeader(trim(req.field("api_header")));
}

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
           KJ_REQUIRE(e.has_value(), "entité : ZR7 ou MDL");
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
          .text(cellAt(cells, "event").text)
          .raw("</strong> ")
          .text(cellAt(cells, "detail").text)
          .raw("</li>");
    }
    h.raw("</ol>");
    h.raw("<h2>Explication</h2><p>L'explication d'allocation (rdzctl lead explain) n'est pas "
          "encore fournie par rdzd.</p>");
    if (s.isAdmin() && lead.getStatut() == schema::Statut::DELIVERED) {
      h.raw("<h2>Rejet par le client</h2><form class=\"ligne\" id=\"form-rejet\" "
            "method=\"post\" action=\"")
          .text(link("/leads/", id) + "/rejet")
          .raw("\">");
      csrf(h, s);
      h.raw("<label>Raison <select name=\"raison\">");
      for (auto r : REASONS) {
        h.raw("<option value=\"").text(r).raw("\">").text(r).raw("</option>");
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

// ---- livraisons -------------------------------------------------------------------------------

void batchActions(Html& h, const Session& s, const Cells& cells) {
  if (!s.isAdmin()) return;
  h.raw("<form class=\"ligne\" method=\"post\" action=\"")
      .text(link("/lots/", cellAt(cells, "id").text) + "/renvoi")
      .raw("\">");
  csrf(h, s);
  h.raw("<button type=\"submit\">Renvoyer</button></form>");
}

bool inView(const Session& s, schema::EntityFilter::Reader e) {
  return !s.shown() || e.isAll() || static_cast<Entity>(e.getOne()) == *s.shown();
}

// Up to `pages` pages of runs, in date order.
kj::Promise<kj::Array<capnp::Response<schema::Viewer::ListRunsResults>>> allRuns(
    Session& s, std::string after, kj::Vector<capnp::Response<schema::Viewer::ListRunsResults>> got,
    int pages = 10) {
  auto req = s.viewer.listRunsRequest();
  req.setAfter(after);
  return req.send().then([&s, got = kj::mv(got), pages](auto resp) mutable
                         -> kj::Promise<kj::Array<
                             capnp::Response<schema::Viewer::ListRunsResults>>> {
    std::string next = resp.getNext();
    got.add(kj::mv(resp));
    if (next.empty() || pages <= 1) return got.releaseAsArray();
    return allRuns(s, next, kj::mv(got), pages - 1);
  });
}

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
        capnp::MallocMessageBuilder message;
        std::vector<schema::RunSummary::Reader> runs;
        for (auto& p : runPages) {
          for (auto r : p.getRuns()) {
            if (inView(s, r.getEntity())) runs.push_back(r);
          }
        }
        std::reverse(runs.begin(), runs.end());
        if (runs.size() > 60) runs.resize(60);
        auto list = message.initRoot<schema::RunSummary>().initPlan(0);  // unused anchor
        (void)list;
        h.raw("<div class=\"tableau\"><table><thead><tr>");
        for (auto c : {"id", "status", "assigned", "aged", "doublons_evites", "batches"}) {
          h.raw("<th>").text(label(c)).raw("</th>");
        }
        h.raw("</tr></thead><tbody>");
        for (auto r : runs) {
          Cells cells = cellsOf(r);
          h.raw("<tr><td><a href=\"/livraisons/")
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
        if (runs.empty()) h.raw("<p>Aucun run.</p>");
        return page(s, "Livraisons", h, "livraisons");
      });
    });
  });
}

void batchDetails(Html& h, const Session& s, capnp::List<schema::Batch>::Reader batches) {
  for (auto b : batches) {
    Cells cells = cellsOf(b);
    h.raw("<h3 id=\"lot-").text(b.getId().cStr()).raw("\">Lot ").text(b.getId().cStr())
        .raw(" — ").text(b.getClient().cStr()).raw(" — <span class=\"statut-")
        .text(cellAt(cells, "status").text).raw("\">").text(cellAt(cells, "status").text)
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

kj::Promise<Reply> runShow(Session& s, const std::string& id) {
  auto get = s.viewer.getRunRequest();
  get.setId(id);
  return get.send().then([&s, id](auto resp) {
    Html h;
    h.raw("<h1>Run ").text(id).raw("</h1>");
    flash(h, s);
    record(h, resp.getRun());
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
    KJ_FAIL_REQUIRE("no such batch", id);
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
  KJ_REQUIRE(date.empty() || isIsoDate(date), "la date doit être AAAA-MM-JJ");
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
    record(h, run);
    h.raw("<h2>Plan</h2>");
    table(h, run.getPlan(), {"lead", "lead_entity", "commande", "client", "entity", "pass"},
          "/leads/");
    if (run.getAlreadyDone()) batchDetails(h, s, resp.getBatches());
    return page(s, "Essai", h, "livraisons");
  });
}

// ---- tableau de bord --------------------------------------------------------------------------

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

// The path's segments after the first, joined with '/' (run ids hold one: "2026-11-25/zr7").
std::string rest(const Request& req, size_t from) {
  std::string out;
  for (size_t i = from; i < req.segments.size(); ++i) {
    out += (out.empty() ? "" : "/") + req.segments[i];
  }
  return out;
}

Reply readOnly(Session& s) {
  Html h;
  h.raw("<h1>Lecture seule</h1><p>Votre compte (lecteur) ne crée ni ne modifie rien.</p>");
  Reply r = page(s, "Lecture seule", h, "");
  r.status = 403;
  return r;
}

Reply notFound(Session& s) {
  Html h;
  h.raw("<h1>Page introuvable</h1><p><a href=\"/\">Tableau de bord</a></p>");
  Reply r = page(s, "Introuvable", h, "");
  r.status = 404;
  return r;
}

}  // namespace

kj::Promise<Reply> servePage(Session& s, Request& req) {
  const auto& seg = req.segments;
  const std::string first = seg.empty() ? "" : seg[0];
  bool post = req.post();
  if (seg.empty() && !post) return dashboard(s);
  if (first == "commandes") {
    if (seg.size() == 1) return post ? commandeCreate(s, req) : commandes(s);
    if (seg.size() == 2 && seg[1] == "nouvelle" && !post) {
      return s.isAdmin() ? commandeNew(s, req, "") : readOnly(s);
    }
    if (seg.size() == 2) {
      return post ? commandeUpdate(s, req, seg[1], false) : commandeShow(s, req, seg[1], "");
    }
    if (seg.size() == 3 && seg[2] == "actif" && post) return commandeUpdate(s, req, seg[1], true);
  }
  if (first == "clients") {
    if (seg.size() == 1) return post ? clientCreate(s, req) : clients(s);
    if (seg.size() == 2 && seg[1] == "nouveau" && !post) {
      return s.isAdmin() ? clientNew(s, req, "") : readOnly(s);
    }
    if (seg.size() == 2) {
      return post ? clientUpdate(s, req, seg[1], false) : clientShow(s, req, seg[1], "");
    }
    if (seg.size() == 3 && seg[2] == "actif" && post) return clientUpdate(s, req, seg[1], true);
  }
  if (first == "leads") {
    if (seg.size() == 1 && !post) return leads(s, req);
    if (seg.size() == 2 && !post) return leadShow(s, seg[1], "");
    if (seg.size() == 3 && seg[2] == "rejet" && post) return leadReject(s, req, seg[1]);
  }
  if (first == "effacement" && seg.size() == 1) {
    if (!s.isAdmin()) return notFound(s);
    return erasure(s, req);
  }
  if (first == "livraisons" && !post) {
    if (seg.size() == 1) return livraisons(s);
    if (seg.size() == 2 && seg[1] == "essai") return dryRun(s, req);
    return runShow(s, rest(req, 1));
  }
  if (first == "lots" && seg.size() == 2 && !post) return batchShow(s, seg[1]);
  if (first == "lots" && seg.size() == 3 && seg[2] == "renvoi" && post) return resend(s, seg[1]);
  return notFound(s);
}

std::string layout(Session* s, std::string_view title, const Html& body, std::string_view current,
                   bool chart) {
  Html h;
  h.raw("<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>")
      .text(title)
      .raw(" — RDZ</title><link rel=\"stylesheet\" href=\"/static/console.css\">");
  if (chart) {
    h.raw("<script src=\"/static/chart.min.js\" defer></script>"
          "<script src=\"/static/console.js\" defer></script>");
  }
  h.raw("</head><body><header><a class=\"marque\" href=\"/\">RDZ</a>");
  if (s != nullptr) {
    h.raw("<nav>");
    struct Item {
      const char* key;
      const char* href;
      const char* name;
    };
    for (auto item : {Item{"tableau", "/", "Tableau de bord"},
                      Item{"commandes", "/commandes", "Commandes"},
                      Item{"clients", "/clients", "Clients"}, Item{"leads", "/leads", "Leads"},
                      Item{"livraisons", "/livraisons", "Livraisons"}}) {
      h.raw("<a href=\"").text(item.href).raw("\"");
      if (current == item.key) h.raw(" class=\"actif\"");
      h.raw(">").text(item.name).raw("</a> ");
    }
    h.raw("</nav><span class=\"entites\" id=\"entites\">");
    if (s->bound) {
      h.raw("<strong>").text(entityName(*s->bound)).raw("</strong>");
    } else {
      for (auto [value, name] : {std::pair{"tout", "Toutes"}, std::pair{"ZR7", "ZR7"},
                                 std::pair{"MDL", "MDL"}}) {
        bool active = value == std::string_view("tout") ? !s->view
                                                        : s->view == parseEntity(value);
        h.raw("<a href=\"?entite=").text(value).raw("\"");
        if (active) h.raw(" class=\"actif\"");
        h.raw(">").text(name).raw("</a>");
      }
    }
    h.raw("</span><span class=\"utilisateur\">").text(s->user)
        .text(s->isAdmin() ? " (admin)" : " (lecture seule)")
        .raw("<form method=\"post\" action=\"/deconnexion\">");
    csrf(h, *s);
    h.raw("<button type=\"submit\" id=\"deconnexion\">Déconnexion</button></form></span>");
  }
  h.raw("</header><main>").add(body).raw("</main></body></html>");
  return h.str();
}

}  // namespace rdz::console
