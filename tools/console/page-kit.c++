#include "tools/console/page-kit.h"

#include "daemon/domain/labels.h"
#include "daemon/domain/refusal.h"
#include "daemon/domain/validation.h"

namespace rdz::console {

Reply page(Session& s, std::string_view title, const Html& body, std::string_view current,
           bool chart) {
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
  std::string shown = frenchValue(cell);
  if (cell.kind == Cell::Kind::NUMBER) {
    h.raw("<td class=\"nombre\">");
  } else if (cell.name == "statut" || cell.name == "status") {
    h.raw("<td class=\"court statut-").text(cell.text).raw("\">");
  } else if (cell.kind == Cell::Kind::TIME ||
             (shown.size() <= 32 && shown.find(' ') == std::string::npos)) {
    h.raw("<td class=\"court\">");  // ids, dates, codes: on one line
  } else {
    h.raw("<td>");
  }
  h.text(shown).raw("</td>");
}





void input(Html& h, const char* name, std::string_view value, const char* type) {
  h.raw("<label>").text(label(name)).raw(" <input type=\"").text(type).raw("\" name=\"")
      .text(name).raw("\" value=\"").text(value).raw("\"></label>");
}

void select(Html& h, const char* name, const std::vector<std::string>& options,
            std::string_view chosen) {
  h.raw("<label>").text(label(name)).raw(" <select name=\"").text(name).raw("\">");
  for (auto& o : options) {
    h.raw("<option value=\"").text(o).raw("\"");
    if (o == chosen) h.raw(" selected");
    h.raw(">").text(labelOrCode(name, o)).raw("</option>");
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
  refuse(std::string(name) + " doit être un nombre entier (au plus " + std::to_string(max) + ")");
}

bool ouiNon(const Request& req, const char* name, bool fallback) {
  if (req.field(name).empty()) return fallback;
  auto b = parseBool(req.field(name));
  if (!b) refuse(std::string(name) + " doit être oui ou non");
  return *b;
}

std::string entityValue(std::optional<Entity> e) {
  return e ? std::string(entityName(*e)) : "";
}

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
    int pages) {
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

}  // namespace rdz::console
