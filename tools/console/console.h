// rdz-console (SPEC §8.4): the web console, in French, on its own KJ event loop, speaking RPC to
// rdzd. It holds no token of its own: a person logs in with the name and password of a user kept
// by rdzd (Bootstrap.login, over a connection of its own), and the session capability rdzd returns
// is kept for that browser session only — so what a page shows or changes is exactly what that
// user may see or change (role, entity binding), enforced by rdzd.
//
// Browser sessions: a random id (256 bits) in the cookie `rdz_session` (HttpOnly, SameSite=Strict,
// Secure under TLS, Path=/), ended by logout, by `idle_minutes` without a request, or when rdzd
// ends the RPC session (restart, user deactivated). Every POST form carries the session's CSRF
// token (the login form a double-submit cookie's); a POST without the right one is answered 403.
// Every answer has `Content-Security-Policy: default-src 'self'`, `X-Frame-Options: DENY`,
// `X-Content-Type-Options: nosniff`; pages hold no inline script or style.
//
//   GET  /connexion, POST /connexion, POST /deconnexion
//   GET  /                      tableau de bord
//   GET  /commandes, /commandes/nouvelle, /commandes/ID; POST /commandes, /commandes/ID,
//        /commandes/ID/actif
//   GET  /clients, /clients/nouveau, /clients/ID; POST /clients, /clients/ID, /clients/ID/actif
//   GET  /leads?q=PHONE|ID, /leads/ID; POST /leads/ID/rejet
//   GET  /effacement; POST /effacement (a confirmation page first, then the erasure)
//   GET  /livraisons, /livraisons/essai?date=D, /livraisons/RUN; POST /lots/ID/renvoi
//   GET  /static/console.css, /static/console.js, /static/chart.min.js
// Any page takes ?entite=ZR7|MDL|tout: the entity shown (a user bound to one entity always sees
// only its own).
#pragma once

#include <kj/async-io.h>
#include <kj/compat/http.h>
#include <kj/timer.h>

#include <map>
#include <memory>
#include <string>

#include "client/connection.h"
#include "tools/console/config.h"

namespace rdz::console {

class Console {
 public:
  Console(const Config& config, kj::Timer& timer, kj::Network& network, kj::UnixEventPort& port);
  ~Console() noexcept(false);
  KJ_DISALLOW_COPY(Console);

  const kj::HttpHeaderTable& headerTable() const { return *table_; }
  // The service for one accepted connection (it knows the browser's address).
  kj::Own<kj::HttpService> newService(kj::AsyncIoStream& connection);
  kj::HttpServerSettings serverSettings();
  // Ends idle sessions every minute. Never resolves.
  kj::Promise<void> run();

  size_t sessions() const { return sessions_.size(); }

  // Implementation types (console.c++, pages.c++).
  struct Session;
  struct Request;
  struct Reply;

 private:
  class Service;
  class ServerErrors;

  kj::Promise<void> request(const std::string& peer, kj::HttpMethod method, kj::StringPtr url,
                            const kj::HttpHeaders& headers, kj::AsyncInputStream& body,
                            kj::HttpService::Response& response);
  kj::Promise<Reply> route(Request& req);
  kj::Promise<Reply> routeSession(Session& s, Request& req);
  kj::Promise<Reply> loginPage(Request& req, const std::string& error);
  kj::Promise<Reply> login(Request& req);
  kj::Promise<Reply> staticFile(const std::string& path);
  kj::Promise<void> send(kj::HttpService::Response& response, const Request& req, Reply reply);
  Reply failure(Session& s, const Request& req, kj::Exception&& e);
  void endSession(const std::string& id);
  kj::Maybe<Session&> sessionOf(const Request& req);

  const Config& config_;
  kj::Timer& timer_;
  kj::Network& network_;
  kj::UnixEventPort& port_;
  Endpoint rdzd_;
  kj::Own<kj::HttpHeaderTable> table_;
  struct HeaderIds;
  std::unique_ptr<HeaderIds> ids_;
  kj::Own<ServerErrors> serverErrors_;
  std::map<std::string, kj::Own<Session>> sessions_;
};

// rdz-console's main loop: listens (HTTPS when configured), serves until SIGTERM or SIGINT.
// Returns the process exit code.
int runConsole(const Config& config);

}  // namespace rdz::console
