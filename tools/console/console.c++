#include "tools/console/console.h"

#include <kj/async-unix.h>
#include <kj/compat/tls.h>
#include <kj/debug.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "daemon/domain/digest.h"
#include "daemon/domain/refusal.h"
#include "daemon/domain/users.h"
#include "daemon/service/log.h"
#include "tools/console/assets.h"
#include "tools/console/internal.h"
#include "tools/gateway/gateway.h"

namespace rdz::console {

namespace {

constexpr size_t MAX_BODY = 64 * 1024;
constexpr kj::Duration RDZD_TIMEOUT = 10 * kj::SECONDS;
constexpr char SESSION_COOKIE[] = "rdz_session";
constexpr char LOGIN_COOKIE[] = "rdz_login";  // the login form's double-submit CSRF token

std::string randomHex() {
  unsigned char bytes[32];
  KJ_ASSERT(RAND_bytes(bytes, sizeof(bytes)) == 1, "no randomness");
  return toHex(bytes, sizeof(bytes));
}

bool sameSecret(const std::string& a, const std::string& b) {
  return !a.empty() && a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hexDigit(text[i + 1]) >= 0 &&
        hexDigit(text[i + 2]) >= 0) {
      out += static_cast<char>(hexDigit(text[i + 1]) * 16 + hexDigit(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::optional<std::string> readWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string readRequired(const std::string& path, const char* what) {
  auto text = readWholeFile(path);
  KJ_REQUIRE(text.has_value(), "cannot read", what, path);
  return *text;
}

std::map<std::string, std::string> fieldsOf(const Submission& fields) {
  std::map<std::string, std::string> out;
  for (auto& f : fields) out[f.name] = f.value;
  return out;
}

std::map<std::string, std::string> parseCookies(kj::Maybe<kj::StringPtr> header) {
  std::map<std::string, std::string> out;
  KJ_IF_MAYBE(h, header) {
    std::string text(h->cStr());
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find(';', start);
      if (end == std::string::npos) end = text.size();
      std::string pair = text.substr(start, end - start);
      size_t b = pair.find_first_not_of(' ');
      size_t eq = pair.find('=');
      if (b != std::string::npos && eq != std::string::npos && eq > b) {
        out[pair.substr(b, eq - b)] = pair.substr(eq + 1);
      }
      start = end + 1;
    }
  }
  return out;
}

const char* statusText(unsigned status) {
  switch (status) {
    case 200: return "OK";
    case 303: return "See Other";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
  }
  return "Status";
}

Console::Reply errorPage(Console::Session* s, unsigned status, std::string_view title,
                         std::string_view message) {
  Console::Reply r;
  r.status = status;
  Html body;
  body.raw("<h1>").text(title).raw("</h1><p class=\"erreur\">").text(message).raw("</p>");
  r.body = layout(s, title, body, "");
  return r;
}

}  // namespace

const std::string& Console::Request::field(const std::string& name) const {
  static const std::string EMPTY;
  auto it = form.find(name);
  return it == form.end() ? EMPTY : it->second;
}

const std::string& Console::Request::param(const std::string& name) const {
  static const std::string EMPTY;
  auto it = query.find(name);
  return it == query.end() ? EMPTY : it->second;
}

schema::Admin::Client Console::Session::adminCap() {
  KJ_IF_MAYBE(a, admin) { return *a; }
  refuse("ce compte (lecteur) ne modifie rien");
}

std::string rdzdMessage(const kj::Exception& e) { return cleanError(e.getDescription().cStr()); }

struct Console::HeaderIds {
  kj::HttpHeaderId cookie, forwardedFor, csp, frameOptions, contentTypeOptions, referrerPolicy,
      cacheControl, location;
  explicit HeaderIds(kj::HttpHeaderTable::Builder& b)
      : cookie(b.add("Cookie")),
        forwardedFor(b.add("X-Forwarded-For")),
        csp(b.add("Content-Security-Policy")),
        frameOptions(b.add("X-Frame-Options")),
        contentTypeOptions(b.add("X-Content-Type-Options")),
        referrerPolicy(b.add("Referrer-Policy")),
        cacheControl(b.add("Cache-Control")),
        location(b.add("Location")) {}
};

class Console::Service final : public kj::HttpService {
 public:
  Service(Console& console, std::string peer) : console_(console), peer_(kj::mv(peer)) {}
  kj::Promise<void> request(kj::HttpMethod method, kj::StringPtr url,
                            const kj::HttpHeaders& headers, kj::AsyncInputStream& body,
                            Response& response) override {
    return console_.request(peer_, method, url, headers, body, response);
  }

 private:
  Console& console_;
  std::string peer_;
};

class Console::ServerErrors final : public kj::HttpServerErrorHandler {
 public:
  kj::Promise<void> handleApplicationError(
      kj::Exception exception, kj::Maybe<kj::HttpService::Response&> response) override {
    if (exception.getType() == kj::Exception::Type::DISCONNECTED) return kj::READY_NOW;
    logInfo("internal error: {}", exception.getDescription().cStr());
    return kj::HttpServerErrorHandler::handleApplicationError(kj::mv(exception), response);
  }
};

Console::Console(const Config& config, kj::Timer& timer, kj::Network& network,
                 kj::UnixEventPort& port)
    : config_(config), timer_(timer), network_(network), port_(port) {
  rdzd_.socket = config.socket;
  rdzd_.connect = config.connect;
  rdzd_.caFile = config.caFile;
  kj::HttpHeaderTable::Builder builder;
  ids_ = std::make_unique<HeaderIds>(builder);
  table_ = builder.build();
  serverErrors_ = kj::heap<ServerErrors>();
}

Console::~Console() noexcept(false) = default;

kj::Own<kj::HttpService> Console::newService(kj::AsyncIoStream& connection) {
  return kj::heap<Service>(*this, gateway::peerAddress(connection));
}

kj::HttpServerSettings Console::serverSettings() {
  kj::HttpServerSettings settings;
  settings.errorHandler = *serverErrors_;
  settings.headerTimeout = 10 * kj::SECONDS;
  return settings;
}

kj::Promise<void> Console::run() {
  return timer_.afterDelay(60 * kj::SECONDS).then([this]() {
    kj::TimePoint now = timer_.now();
    std::vector<std::string> idle;
    for (auto& [id, s] : sessions_) {
      if (now - s->lastSeen > config_.idleMinutes * kj::MINUTES) idle.push_back(id);
    }
    for (auto& id : idle) endSession(id);
    return run();
  });
}

void Console::endSession(const std::string& id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  logDebugLine("session of {} ended", it->second->user);
  sessions_.erase(it);  // closes its RPC connection: rdzd drops the capabilities
}

kj::Maybe<Console::Session&> Console::sessionOf(const Request& req) {
  auto cookie = req.cookies.find(SESSION_COOKIE);
  if (cookie == req.cookies.end()) return nullptr;
  auto it = sessions_.find(cookie->second);
  if (it == sessions_.end()) return nullptr;
  if (timer_.now() - it->second->lastSeen > config_.idleMinutes * kj::MINUTES) {
    endSession(cookie->second);
    return nullptr;
  }
  return *it->second;
}

kj::Promise<void> Console::request(const std::string& peer, kj::HttpMethod method,
                                   kj::StringPtr url, const kj::HttpHeaders& headers,
                                   kj::AsyncInputStream& body,
                                   kj::HttpService::Response& response) {
  auto req = kj::heap<Request>();
  req->method = method;
  std::string target(url.cStr());
  size_t q = target.find('?');
  std::string rawPath = target.substr(0, q);
  req->path = percentDecode(rawPath);
  if (q != std::string::npos) {
    KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
                  req->query = fieldsOf(gateway::submissionFromForm(target.substr(q + 1)));
                })) {
      (void)e;  // a malformed query is ignored, as if absent
    }
  }
  size_t start = 1;
  while (start <= rawPath.size()) {
    size_t slash = rawPath.find('/', start);
    if (slash == std::string::npos) slash = rawPath.size();
    if (slash > start) req->segments.push_back(percentDecode(rawPath.substr(start, slash - start)));
    start = slash + 1;
  }
  req->cookies = parseCookies(headers.get(ids_->cookie));
  req->browser = gateway::clientAddress(peer, headers.get(ids_->forwardedFor),
                                        config_.trustedProxies);
  Request& r = *req;
  kj::Promise<void> bodyRead = kj::READY_NOW;
  if (method == kj::HttpMethod::POST) {
    bodyRead = body.readAllText(MAX_BODY).then([&r](kj::String text) {
      r.form = fieldsOf(gateway::submissionFromForm(std::string_view(text.cStr(), text.size())));
    });
  }
  return bodyRead
      .then([this, &r]() { return route(r); },
            [this](kj::Exception&& e) -> kj::Promise<Reply> {
              return errorPage(nullptr, 400, "Requête refusée", rdzdMessage(e));
            })
      .then([this, &response, &r](Reply reply) {
        logDebugLine("{} {} {}", r.post() ? "POST" : "GET", r.path, reply.status);
        return send(response, r, kj::mv(reply));
      })
      .attach(kj::mv(req));
}

kj::Promise<Console::Reply> Console::route(Request& req) {
  if (req.path == "/favicon.ico") return errorPage(nullptr, 404, "Introuvable", "Pas d'icône.");
  if (req.path.rfind("/static/", 0) == 0) {
    if (req.method != kj::HttpMethod::GET) return errorPage(nullptr, 405, "Méthode", "GET");
    return staticFile(req.path.substr(8));
  }
  if (req.method != kj::HttpMethod::GET && req.method != kj::HttpMethod::POST) {
    return errorPage(nullptr, 405, "Méthode non permise", "GET ou POST seulement.");
  }
  if (req.path == "/connexion") {
    if (!req.post()) {
      return loginPage(req, req.param("fin") == "1" ? "Session terminée : reconnectez-vous." : "");
    }
    auto cookie = req.cookies.find(LOGIN_COOKIE);
    if (cookie == req.cookies.end() || !sameSecret(req.field("csrf"), cookie->second)) {
      return errorPage(nullptr, 403, "Refusé", "Jeton de formulaire absent ou invalide.");
    }
    return login(req);
  }
  KJ_IF_MAYBE(s, sessionOf(req)) {
    s->lastSeen = timer_.now();
    if (req.post() && !sameSecret(req.field("csrf"), s->csrf)) {
      return errorPage(s, 403, "Refusé", "Jeton de formulaire absent ou invalide.");
    }
    return routeSession(*s, req);
  }
  if (req.post()) return errorPage(nullptr, 403, "Refusé", "Pas de session : connectez-vous.");
  return Reply::redirect("/connexion");
}

kj::Promise<Console::Reply> Console::routeSession(Session& s, Request& req) {
  if (req.path == "/deconnexion") {
    if (!req.post()) return errorPage(&s, 405, "Méthode non permise", "Déconnexion : POST.");
    Reply r = Reply::redirect("/connexion");
    r.setCookies.push_back(std::string(SESSION_COOKIE) + "=; Path=/; Max-Age=0; HttpOnly; "
                           "SameSite=Strict" + (config_.tls() ? "; Secure" : ""));
    endSession(s.id);
    return r;
  }
  if (req.post() && !s.isAdmin()) {
    return errorPage(&s, 403, "Refusé", "Un lecteur (viewer) ne modifie rien.");
  }
  std::string entite = req.param("entite");
  if (!entite.empty() && !s.bound) {
    s.view = parseEntity(entite);  // "tout" (or anything else): both entities
  }
  std::string id = s.id;
  auto held = kj::addRef(s);
  return servePage(s, req).attach(kj::mv(held)).catch_([this, id, &req](kj::Exception&& e) -> Reply {
    auto it = sessions_.find(id);
    std::string message = rdzdMessage(e);
    bool ended = e.getType() == kj::Exception::Type::DISCONNECTED ||
                 message.rfind("not authenticated", 0) == 0;
    if (ended || it == sessions_.end()) {
      endSession(id);
      return Reply::redirect("/connexion?fin=1");
    }
    return errorPage(it->second.get(), req.post() ? 422 : 404, "Refusé par rdzd", message);
  });
}

kj::Promise<Console::Reply> Console::loginPage(Request& req, const std::string& error) {
  // The browser's token is kept while it has one: two login pages open (or a page and the
  // browser's own requests) must not invalidate each other's forms.
  auto existing = req.cookies.find(LOGIN_COOKIE);
  bool reuse = existing != req.cookies.end() && existing->second.size() == 64 &&
               std::all_of(existing->second.begin(), existing->second.end(),
                           [](char c) { return hexDigit(c) >= 0; });
  std::string token = reuse ? existing->second : randomHex();
  Html body;
  body.raw("<section class=\"connexion\"><h1>Connexion</h1>");
  if (!error.empty()) body.raw("<p class=\"erreur\" id=\"erreur\">").text(error).raw("</p>");
  body.raw("<form method=\"post\" action=\"/connexion\">"
           "<input type=\"hidden\" name=\"csrf\" value=\"")
      .text(token)
      .raw("\"><label>Nom <input name=\"nom\" autocomplete=\"username\" required value=\"")
      .text(req.field("nom"))
      .raw("\"></label><label>Mot de passe <input type=\"password\" name=\"mot_de_passe\" "
           "autocomplete=\"current-password\" required></label>"
           "<button type=\"submit\">Se connecter</button></form></section>");
  Reply r;
  r.status = error.empty() || error.rfind("Session", 0) == 0 ? 200 : 401;
  r.body = layout(nullptr, "Connexion", body, "");
  r.setCookies.push_back(std::string(LOGIN_COOKIE) + "=" + token +
                         "; Path=/connexion; HttpOnly; SameSite=Strict" +
                         (config_.tls() ? "; Secure" : ""));
  return r;
}

kj::Promise<Console::Reply> Console::login(Request& req) {
  std::string name = req.field("nom");
  std::string password = req.field("mot_de_passe");
  std::string address = "ip:" + req.browser;
  return timer_.timeoutAfter(RDZD_TIMEOUT, openStream(network_, port_, rdzd_))
      .then([this, name, password, address](kj::Own<kj::AsyncIoStream> stream) {
        auto session = kj::refcounted<Session>();
        session->stream = kj::mv(stream);
        session->rpc = kj::heap<capnp::TwoPartyClient>(*session->stream);
        auto call = session->rpc->bootstrap().castAs<schema::Bootstrap>().loginRequest();
        call.setName(name);
        call.setPassword(password);
        call.setAddress(address);
        auto sent = timer_.timeoutAfter(RDZD_TIMEOUT, call.send());
        return sent.then([session = kj::mv(session)](
                             capnp::Response<schema::Bootstrap::LoginResults> answer) mutable {
          auto granted = answer.getSession();
          session->role = granted.getRole();
          if (granted.getEntity().isOne()) {
            session->bound = static_cast<Entity>(granted.getEntity().getOne());
          }
          session->viewer = granted.getViewer();
          if (granted.getRole() == schema::Role::ADMIN) session->admin = granted.getAdmin();
          return kj::mv(session);
        });
      })
      .then(
          [this, name](kj::Own<Session> session) -> kj::Promise<Reply> {
            session->id = randomHex();
            session->csrf = randomHex();
            session->user = normalizeUserName(name).value_or(name);
            session->lastSeen = timer_.now();
            std::string cookie = std::string(SESSION_COOKIE) + "=" + session->id +
                                 "; Path=/; HttpOnly; SameSite=Strict" +
                                 (config_.tls() ? "; Secure" : "");
            logInfo("login: {} ({})", session->user,
                    session->isAdmin() ? "admin" : "viewer");
            sessions_[session->id] = kj::mv(session);
            Reply r = Reply::redirect("/");
            r.setCookies.push_back(cookie);
            r.setCookies.push_back(std::string(LOGIN_COOKIE) +
                                   "=; Path=/connexion; Max-Age=0; HttpOnly; SameSite=Strict");
            return r;
          },
          [this, &req](kj::Exception&& e) -> kj::Promise<Reply> {
            std::string message = rdzdMessage(e);
            std::string shown;
            size_t wait = message.find("try again in ");
            if (message.rfind("not authenticated", 0) == 0 && wait != std::string::npos) {
              shown = "Trop de tentatives échouées : réessayez dans " +
                      message.substr(wait + 13) + ".";
            } else if (message.rfind("not authenticated", 0) == 0) {
              shown = "Nom ou mot de passe incorrect.";
            } else if (e.getType() == kj::Exception::Type::OVERLOADED) {
              shown = "Trop de connexions en même temps : réessayez.";
            } else {
              logInfo("login: rdzd unreachable: {}", message);
              shown = "rdzd ne répond pas : réessayez dans un instant.";
            }
            return loginPage(req, shown);
          });
}

kj::Promise<Console::Reply> Console::staticFile(const std::string& name) {
  Reply r;
  r.cacheable = true;
  if (name == "console.css") {
    r.contentType = "text/css; charset=utf-8";
    r.body = CONSOLE_CSS;
  } else if (name == "console.js") {
    r.contentType = "text/javascript; charset=utf-8";
    r.body = CONSOLE_JS;
  } else if (name == "chart.min.js") {
    auto text = readWholeFile(config_.chartJs);
    if (!text) return errorPage(nullptr, 404, "Introuvable", "Chart.js n'est pas installé.");
    r.contentType = "text/javascript; charset=utf-8";
    r.body = kj::mv(*text);
  } else {
    return errorPage(nullptr, 404, "Introuvable", "Fichier inconnu.");
  }
  return r;
}

kj::Promise<void> Console::send(kj::HttpService::Response& response, const Request&,
                                Reply reply) {
  kj::HttpHeaders headers(*table_);
  headers.set(kj::HttpHeaderId::CONTENT_TYPE, kj::str(reply.contentType.c_str()));
  headers.set(ids_->csp, "default-src 'self'; frame-ancestors 'none'; form-action 'self'");
  headers.set(ids_->frameOptions, "DENY");
  headers.set(ids_->contentTypeOptions, "nosniff");
  headers.set(ids_->referrerPolicy, "same-origin");
  headers.set(ids_->cacheControl, reply.cacheable ? "max-age=3600" : "no-store");
  if (!reply.location.empty()) headers.set(ids_->location, kj::str(reply.location.c_str()));
  for (auto& cookie : reply.setCookies) headers.add("Set-Cookie", kj::str(cookie.c_str()));
  auto body = kj::heap<std::string>(kj::mv(reply.body));
  auto stream = response.send(reply.status, statusText(reply.status), headers, body->size());
  auto written = stream->write(body->data(), body->size());
  return written.attach(kj::mv(stream), kj::mv(body));
}

int runConsole(const Config& config) {
  kj::UnixEventPort::captureSignal(SIGTERM);
  kj::UnixEventPort::captureSignal(SIGINT);
  logProgram = "rdz-console";
  logDebug = config.logLevel == "debug";
  auto io = kj::setupAsyncIo();
  auto& timer = io.provider->getTimer();
  auto& network = io.provider->getNetwork();
  int exitCode = 0;
  {
    Console console(config, timer, network, io.unixEventPort);
    kj::Own<kj::ConnectionReceiver> listener =
        network.parseAddress(config.listen).wait(io.waitScope)->listen();
    uint port = listener->getPort();
    kj::Maybe<kj::Own<kj::TlsContext>> tls;
    kj::Maybe<kj::Own<kj::TlsKeypair>> keypair;
    if (config.tls()) {
      std::string cert = readRequired(config.tlsCert, "the TLS file tls_cert");
      std::string key = readRequired(config.tlsKey, "the TLS file tls_key");
      auto pair = kj::heap<kj::TlsKeypair>(
          kj::TlsKeypair{kj::TlsPrivateKey(kj::StringPtr(key.c_str())),
                         kj::TlsCertificate(kj::StringPtr(cert.c_str()))});
      kj::TlsContext::Options options;
      options.useSystemTrustStore = false;
      options.minVersion = kj::TlsVersion::TLS_1_2;
      options.defaultKeypair = *pair;
      auto context = kj::heap<kj::TlsContext>(kj::mv(options));
      listener = context->wrapPort(kj::mv(listener));
      tls = kj::mv(context);
      keypair = kj::mv(pair);
    }
    std::string host = config.listen.substr(0, config.listen.rfind(':'));
    logInfo("listening on {}://{}:{} (rdzd at {})", config.tls() ? "https" : "http", host, port,
            config.connect.empty() ? "unix:" + config.socket : config.connect);

    kj::HttpServer server(
        timer, console.headerTable(),
        [&console](kj::AsyncIoStream& connection) { return console.newService(connection); },
        console.serverSettings());
    auto stop = io.unixEventPort.onSignal(SIGTERM)
                    .exclusiveJoin(io.unixEventPort.onSignal(SIGINT))
                    .then([](siginfo_t info) { return info.si_signo; });
    auto serving = server.listenHttp(*listener).then([]() { return -1; },
                                                     [](kj::Exception&& e) {
                                                       logInfo("listener failed: {}",
                                                               e.getDescription().cStr());
                                                       return -1;
                                                     });
    auto background = console.run().then([]() { return -1; });
    int signal =
        stop.exclusiveJoin(kj::mv(serving)).exclusiveJoin(kj::mv(background)).wait(io.waitScope);
    if (signal < 0) {
      exitCode = 1;
    } else {
      logInfo("signal {}: stopping", signal);
    }
  }
  return exitCode;
}

}  // namespace rdz::console
