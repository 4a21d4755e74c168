// What console.c++ (HTTP, sessions, security) and pages.c++ (the pages) share.
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/refcount.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/domain/types.h"
#include "schema/rdz.capnp.h"
#include "tools/console/console.h"
#include "tools/console/html.h"

namespace rdz::console {

// One logged-in browser: the RPC connection its login opened and the session rdzd gave. Held by
// the console's table and by each request in flight on it (a logout or the idle sweep while a
// page is being made does not pull it from under that page).
struct Console::Session : public kj::Refcounted {
  std::string id;    // the cookie's value (64 hex digits)
  std::string csrf;  // the forms' token (64 hex digits)
  std::string user;
  schema::Role role = schema::Role::VIEWER;
  std::optional<Entity> bound;  // the user's entity, if bound to one
  std::optional<Entity> view;   // the entity chosen with ?entite= (unbound users)
  kj::TimePoint lastSeen = kj::origin<kj::TimePoint>();
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<capnp::TwoPartyClient> rpc;
  schema::Viewer::Client viewer = nullptr;
  kj::Maybe<schema::Admin::Client> admin;  // null for a viewer
  std::string flash;  // said once on the next page ("Commande créée")

  bool isAdmin() const { return admin != nullptr; }
  // The entity the pages show: the binding, else the choice, else nullopt (both).
  std::optional<Entity> shown() const { return bound ? bound : view; }
  schema::Admin::Client adminCap();  // throws 403 for a viewer
};

struct Console::Request {
  kj::HttpMethod method = kj::HttpMethod::GET;
  std::string path;                    // decoded, without the query
  std::vector<std::string> segments;   // path split on '/', decoded
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> form;  // POST body fields (last one wins)
  std::map<std::string, std::string> cookies;
  std::string browser;  // the browser's address (peer, or X-Forwarded-For of a trusted proxy)
  bool post() const { return method == kj::HttpMethod::POST; }
  const std::string& field(const std::string& name) const;
  const std::string& param(const std::string& name) const;
};

struct Console::Reply {
  unsigned status = 200;
  std::string contentType = "text/html; charset=utf-8";
  std::string body;
  std::string location;                 // for 303
  std::vector<std::string> setCookies;  // Set-Cookie values
  bool cacheable = false;               // static files; pages are never cached

  static Reply redirect(std::string to) {
    Reply r;
    r.status = 303;
    r.location = kj::mv(to);
    return r;
  }
};

// The page around `body`: head (CSS, optional chart scripts), navigation, entity switch, the
// user and logout, the flash message. `session` null: the login page.
std::string layout(Console::Session* session, std::string_view title, const Html& body,
                   std::string_view current, bool chart = false);

// Serves every page behind the login (pages.c++). `req.form` is already checked for CSRF.
kj::Promise<Console::Reply> servePage(Console::Session& s, Console::Request& req);

// French message for an RPC failure (KJ prefixes removed, as rdzctl shows it).
std::string rdzdMessage(const kj::Exception& e);

}  // namespace rdz::console
