// What the console's pages share: the page frame, forms, tables of records (client/present.h
// cells, in French), and the small parsers of form fields. Pages only (pages-*.c++).
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/present.h"
#include "tools/console/internal.h"

namespace rdz::console {

using Reply = Console::Reply;
using Request = Console::Request;
using Session = Console::Session;

// A page in the frame of layout().
Reply page(Session& s, std::string_view title, const Html& body, std::string_view current,
           bool chart = false);
// Takes the flash message (shown once).
void flash(Html& h, Session& s);
// The hidden CSRF field of a POST form.
void csrf(Html& h, const Session& s);
void setFilter(schema::EntityFilter::Builder out, std::optional<Entity> e);
// `prefix` + the id, percent-encoded: "/clients/solaire-sud".
std::string link(std::string_view prefix, std::string_view id);
// One <td> of a cell, in French (numbers right-aligned, statuses coloured, ids and dates kept on
// one line).
void cellTd(Html& h, const Cell& cell);
// A labelled input or select of a form, named by the field's JSON name; a select's options are
// the codes, shown by their French label (daemon/domain/labels.h).
void input(Html& h, const char* name, std::string_view value, const char* type = "text");
void select(Html& h, const char* name, const std::vector<std::string>& options,
            std::string_view chosen);
// Form field parsers: "a, b" lists, whole numbers ("" keeps `fallback`), oui/non. Refusals name
// the field (a kj exception, shown next to the form).
std::vector<std::string> splitList(const std::string& text);
std::string joinList(capnp::List<capnp::Text>::Reader list);
uint32_t number(const Request& req, const char* name, uint32_t fallback, uint32_t max);
bool ouiNon(const Request& req, const char* name, bool fallback);
std::string entityValue(std::optional<Entity> e);  // "ZR7", "MDL" or ""
// Whether a run or record of entity filter `e` belongs to what the session shows.
bool inView(const Session& s, schema::EntityFilter::Reader e);
// The resend button of a batch (admins only).
void batchActions(Html& h, const Session& s, const Cells& cells);
// Up to `pages` pages of runs (1000 each), in date order.
kj::Promise<kj::Array<capnp::Response<schema::Viewer::ListRunsResults>>> allRuns(
    Session& s, std::string after, kj::Vector<capnp::Response<schema::Viewer::ListRunsResults>> got,
    int pages = 10);

template <typename List>
void setList(List out, const std::vector<std::string>& values) {
  for (size_t i = 0; i < values.size(); ++i) out.set(i, values[i]);
}

// A table of records, one column per JSON name; the first column links to `linkPrefix` + id.
// `action`, when set, adds a last cell per row. Numeric columns are right-aligned, header
// included; an empty list is said in words, without an empty table.
template <typename List>
void table(Html& h, List list, std::initializer_list<const char*> columns,
           const char* linkPrefix = nullptr,
           std::function<void(Html&, const Cells&)> action = nullptr) {
  if (list.size() == 0) {
    h.raw("<p class=\"vide\">Aucun élément.</p>");
    return;
  }
  std::vector<Cells> rows;
  for (auto item : list) rows.push_back(cellsOf(item));
  h.raw("<div class=\"tableau\"><table><thead><tr>");
  for (auto c : columns) {
    bool numeric = cellAt(rows.front(), c).kind == Cell::Kind::NUMBER;
    if (numeric) {
      h.raw("<th class=\"nombre\">");
    } else {
      h.raw("<th>");
    }
    h.text(label(c)).raw("</th>");
  }
  if (action != nullptr) h.raw("<th></th>");
  h.raw("</tr></thead><tbody>");
  for (auto& cells : rows) {
    h.raw("<tr>");
    bool first = true;
    for (auto c : columns) {
      const Cell& cell = cellAt(cells, c);
      if (first && linkPrefix != nullptr) {
        h.raw("<td class=\"court\"><a href=\"").text(link(linkPrefix, cell.text)).raw("\">")
            .text(cell.text)
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
}

// Every field of a record as a definition list, but those named in `skip` (lists of records,
// shown as tables of their own).
template <typename Reader>
void record(Html& h, Reader reader, std::initializer_list<std::string_view> skip = {}) {
  h.raw("<dl class=\"fiche\">");
  for (auto& cell : cellsOf(reader)) {
    if (std::find(skip.begin(), skip.end(), cell.name) != skip.end()) continue;
    h.raw("<dt>").text(label(cell.name)).raw("</dt><dd>").text(frenchValue(cell)).raw("</dd>");
  }
  h.raw("</dl>");
}

// ---- the pages (pages-*.c++) ------------------------------------------------------------------

kj::Promise<Reply> dashboard(Session& s);
kj::Promise<Reply> commandes(Session& s);
kj::Promise<Reply> commandeNew(Session& s, const Request& req, std::string error);
kj::Promise<Reply> commandeCreate(Session& s, const Request& req);
kj::Promise<Reply> commandeShow(Session& s, const Request& req, const std::string& id,
                                std::string error);
kj::Promise<Reply> commandeUpdate(Session& s, const Request& req, const std::string& id,
                                  bool actifOnly);
kj::Promise<Reply> clients(Session& s);
Reply clientNew(Session& s, const Request& req, const std::string& error);
kj::Promise<Reply> clientCreate(Session& s, const Request& req);
kj::Promise<Reply> clientShow(Session& s, const Request& req, const std::string& id,
                              std::string error);
kj::Promise<Reply> clientUpdate(Session& s, const Request& req, const std::string& id,
                                bool actifOnly);
kj::Promise<Reply> leads(Session& s, const Request& req);
kj::Promise<Reply> leadShow(Session& s, const std::string& id, std::string error);
kj::Promise<Reply> leadReject(Session& s, const Request& req, const std::string& id);
kj::Promise<Reply> leadExplain(Session& s, const Request& req, const std::string& id);
kj::Promise<Reply> erasure(Session& s, const Request& req);
kj::Promise<Reply> livraisons(Session& s);
kj::Promise<Reply> runShow(Session& s, const std::string& id);
kj::Promise<Reply> batchShow(Session& s, const std::string& id);
kj::Promise<Reply> resend(Session& s, const std::string& id);
kj::Promise<Reply> dryRun(Session& s, const Request& req);

}  // namespace rdz::console
