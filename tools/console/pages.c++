// The console's routes to its pages (servePage) and the frame around every page (layout).
#include "tools/console/page-kit.h"

namespace rdz::console {

namespace {

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
    if (seg.size() == 3 && seg[2] == "explication" && !post) return leadExplain(s, req, seg[1]);
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
