#include "tools/gateway/gateway.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <kj/async-unix.h>
#include <kj/debug.h>
#include <kj/encoding.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>

#include "client/connection.h"
#include "client/json.h"
#include "daemon/domain/digest.h"
#include "daemon/domain/fault-point.h"
#include "daemon/domain/metrics-text.h"
#include "daemon/domain/validation.h"
#include "daemon/service/log.h"
#include "tools/gateway/thanks.h"

namespace rdz::gateway {

namespace {

constexpr size_t REPLAY_BATCH = 64;
constexpr kj::Duration HEALTH_PROBE_TIMEOUT = 1 * kj::SECONDS;
constexpr kj::Duration DRAIN_TIMEOUT = 10 * kj::SECONDS;
constexpr size_t MAX_RATE_LIMITED_CLIENTS = 100000;

std::string maybeText(kj::Maybe<kj::StringPtr> value) {
  KJ_IF_MAYBE(v, value) {
    return std::string(v->cStr(), v->size());
  }
  return "";
}

kj::StringPtr statusText(unsigned code) {
  switch (code) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 303:
      return "See Other";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
  }
  return "Unknown";
}

// "gw-" + 128 random bits in hex: the idempotency key of a lead whose client gave none.
std::string generatedKey() {
  unsigned char bytes[16];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    KJ_SYSCALL(n);
    got += static_cast<size_t>(n);
  }
  static constexpr char HEX[] = "0123456789abcdef";
  std::string key = "gw-";
  for (unsigned char b : bytes) {
    key += HEX[b >> 4];
    key += HEX[b & 0xf];
  }
  return key;
}

std::string htmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string htmlPage(const std::string& title, const std::string& message) {
  return "<!doctype html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>" +
         htmlEscape(title) + "</title></head>\n<body><p>" + htmlEscape(message) +
         "</p></body></html>\n";
}

// The "Merci" page of a browser's post, with a link back to the page the form was on (its
// Referer) when that is a plain http(s) URL.
std::string thanksPage(const std::string& message, const std::string& referer) {
  std::string back;
  if (parseWebAddress(referer)) {
    back = "\n<p><a href=\"" + htmlEscape(referer) + "\">Retour au site</a></p>";
  }
  return "<!doctype html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Merci</title>"
         "</head>\n<body><p>" +
         htmlEscape(message) + "</p>" + back + "</body></html>\n";
}

// A request header's value as proof text: the bytes that are not UTF-8 (a header may hold
// Latin-1) and control characters become '?', cut at `maxBytes` on a character boundary.
std::string headerProof(const std::string& value, size_t maxBytes) {
  std::string out;
  bool utf8 = isValidUtf8(value);
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f || (!utf8 && u >= 0x80) ? '?' : c);
  }
  if (out.size() > maxBytes) {
    size_t cut = maxBytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

// True when a string of the JSON text holds a \u0000 escape (or the text a raw NUL): the decoder
// keeps strings NUL-terminated, so the field would reach rdzd cut short at the NUL. SPEC §3.2 lets
// us refuse what is not text.
bool jsonHasNul(std::string_view json) {
  if (json.find('\0') != std::string_view::npos) return true;
  bool inString = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (!inString) {
      inString = c == '"';
    } else if (c == '"') {
      inString = false;
    } else if (c == '\\') {
      if (json.compare(i + 1, 5, "u0000") == 0) return true;
      ++i;  // the escaped character, which may be a quote
    }
  }
  return false;
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::string peerAddress(kj::AsyncIoStream& connection) {
  struct sockaddr_storage addr;
  memset(&addr, 0, sizeof addr);
  uint length = sizeof addr;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
                 connection.getpeername(reinterpret_cast<struct sockaddr*>(&addr), &length);
               })) {
    return "unknown";
  }
  char text[INET6_ADDRSTRLEN] = {0};
  if (addr.ss_family == AF_INET) {
    auto* in = reinterpret_cast<struct sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
  } else if (addr.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<struct sockaddr_in6*>(&addr);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {  // a dual-stack socket's IPv4 client
      inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], text, sizeof text);
    } else {
      inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    }
  } else {
    return "local";
  }
  return text;
}

std::string sourceKey(std::string_view client, std::string_view key) {
  // Length-prefixed, so that no (client, key) pair encodes like another.
  std::string input = std::to_string(client.size()) + ":" + std::string(client) + std::string(key);
  return "gs-" + sha256Hex(input);
}

// ---- RateLimiter -------------------------------------------------------------------------------

RateLimiter::RateLimiter(double rate, unsigned burst) : rate_(rate), burst_(burst) {}

std::string RateLimiter::clientKey(const std::string& ip) {
  struct in6_addr a6;
  if (ip.find(':') != std::string::npos && inet_pton(AF_INET6, ip.c_str(), &a6) == 1) {
    std::string key;
    for (int i = 0; i < 8; i += 2) {
      key += fmt::format("{:x}:", (a6.s6_addr[i] << 8) | a6.s6_addr[i + 1]);
    }
    return key + ":/64";
  }
  return ip;
}

bool RateLimiter::allow(const std::string& client, kj::TimePoint now, kj::Duration* retryAfter) {
  if (rate_ <= 0) return true;
  if (buckets_.size() >= MAX_RATE_LIMITED_CLIENTS && buckets_.count(client) == 0) {
    prune(now);
    if (buckets_.size() >= MAX_RATE_LIMITED_CLIENTS) {
      // A flood from more distinct addresses than the table holds: letting new ones through
      // unlimited would turn the limit off exactly when it matters. They are refused (429, a
      // real form's client retries) until buckets refill and are pruned, at most 1/rate later.
      // TODO(perf): prune() is a full scan, once per refused post while the table stays full.
      if (retryAfter != nullptr) {
        *retryAfter = static_cast<int64_t>(std::ceil(1e9 / rate_)) * kj::NANOSECONDS;
      }
      return false;
    }
  }
  auto [it, inserted] = buckets_.try_emplace(client, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!inserted) {
    double elapsed = static_cast<double>((now - b.last) / kj::NANOSECONDS) / 1e9;
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.last = now;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return true;
  }
  if (retryAfter != nullptr) {
    double wait = (1 - b.tokens) / rate_;
    *retryAfter = static_cast<int64_t>(std::ceil(wait * 1e9)) * kj::NANOSECONDS;
  }
  return false;
}

void RateLimiter::prune(kj::TimePoint now) {
  if (rate_ <= 0) return;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    double elapsed = static_cast<double>((now - it->second.last) / kj::NANOSECONDS) / 1e9;
    if (it->second.tokens + elapsed * rate_ >= burst_) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

std::string clientAddress(const std::string& peer, kj::Maybe<kj::StringPtr> forwardedFor,
                          const std::vector<std::string>& trustedProxies) {
  auto trusted = [&](const std::string& ip) {
    return std::find(trustedProxies.begin(), trustedProxies.end(), ip) != trustedProxies.end();
  };
  if (!trusted(peer)) return peer;
  std::string header = maybeText(forwardedFor);
  // Rightmost first: each proxy appends the address it received the request from; only the part
  // written by proxies we trust can be believed.
  size_t end = header.size();
  while (end > 0) {
    size_t comma = header.rfind(',', end - 1);
    size_t start = comma == std::string::npos ? 0 : comma + 1;
    std::string ip = trim(std::string_view(header).substr(start, end - start));
    if (!ip.empty() && !trusted(ip)) return ip;
    if (comma == std::string::npos) break;
    end = comma;
  }
  return peer;
}

Submission submissionFromForm(std::string_view body) {
  Submission fields;
  size_t start = 0;
  while (start <= body.size()) {
    size_t amp = body.find('&', start);
    if (amp == std::string_view::npos) amp = body.size();
    std::string_view pair = body.substr(start, amp - start);
    start = amp + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view rawName = pair.substr(0, eq);
    std::string_view rawValue = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    auto decode = [](std::string_view raw) {
      auto bytes = kj::decodeBinaryUriComponent(kj::arrayPtr(raw.data(), raw.size()),
                                                kj::DecodeUriOptions(false, true));
      KJ_REQUIRE(!bytes.hadErrors, "malformed form encoding (bad %-escape)");
      std::string text(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
      KJ_REQUIRE(isValidUtf8(text), "the form is not UTF-8");
      return text;
    };
    fields.push_back({decode(rawName), decode(rawValue)});
  }
  return fields;
}

// ---- Gateway internals -------------------------------------------------------------------------

struct Gateway::Headers {
  kj::HttpHeaderId accept, origin, idempotencyKey, forwardedFor, requestMethod, allowOrigin,
      allowMethods, allowHeaders, maxAge, vary, retryAfter, allow, cacheControl, userAgent, referer;
  explicit Headers(kj::HttpHeaderTable::Builder& b)
      : accept(b.add("Accept")),
        origin(b.add("Origin")),
        idempotencyKey(b.add("Idempotency-Key")),
        forwardedFor(b.add("X-Forwarded-For")),
        requestMethod(b.add("Access-Control-Request-Method")),
        allowOrigin(b.add("Access-Control-Allow-Origin")),
        allowMethods(b.add("Access-Control-Allow-Methods")),
        allowHeaders(b.add("Access-Control-Allow-Headers")),
        maxAge(b.add("Access-Control-Max-Age")),
        vary(b.add("Vary")),
        retryAfter(b.add("Retry-After")),
        allow(b.add("Allow")),
        cacheControl(b.add("Cache-Control")),
        userAgent(b.add("User-Agent")),
        referer(b.add("Referer")) {}
};

// What a handler needs of the request once the body is being read (kj invalidates the url and
// headers at the first read).
struct Gateway::Request {
  std::string client;  // IP (after trusted proxies)
  std::string origin;
  std::string contentType;  // lower case, parameters dropped
  std::string idempotencyKey;
  std::string userAgent;  // the consent proof of the request (SPEC §3.1), as sent
  std::string referer;
  bool html = false;   // a browser's form post: answer with a page, not JSON
  std::string method;  // for the debug log
  std::string path;
};

struct Gateway::Reply {
  unsigned code = 200;
  std::string contentType = "application/json; charset=utf-8";
  std::string body;
  std::vector<std::pair<kj::HttpHeaderId, std::string>> headers;
};

struct Gateway::Metrics {
  std::map<unsigned, uint64_t> requests;  // by status code
  Histogram forward{{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}};
  uint64_t spooled = 0;
  uint64_t replayed = 0;
  uint64_t refused = 0;  // dead letters: spooled leads rdzd refused on replay
  uint64_t refusedPerIp = 0;  // connections closed at once: over max_connections_per_ip
  uint64_t refusedTotal = 0;  // … over max_connections
};

class Gateway::Service final : public kj::HttpService {
 public:
  Service(Gateway& gateway, std::string peer) : gateway_(gateway), peer_(std::move(peer)) {}
  kj::Promise<void> request(kj::HttpMethod method, kj::StringPtr url,
                            const kj::HttpHeaders& headers, kj::AsyncInputStream& body,
                            Response& response) override {
    return gateway_.request(peer_, method, url, headers, body, response);
  }

 private:
  Gateway& gateway_;
  std::string peer_;
};

class Gateway::ServerErrors final : public kj::HttpServerErrorHandler {
 public:
  explicit ServerErrors(Gateway& gateway) : gateway_(gateway) {}
  kj::Promise<void> handleApplicationError(
      kj::Exception exception, kj::Maybe<kj::HttpService::Response&> response) override {
    if (exception.getType() == kj::Exception::Type::DISCONNECTED) {
      return kj::READY_NOW;  // the client went away
    }
    logInfo("internal error: {}", exception.getDescription().cStr());
    KJ_IF_MAYBE(r, response) {
      ++gateway_.metrics_->requests[500];
      kj::HttpHeaders headers(*gateway_.table_);
      headers.set(kj::HttpHeaderId::CONTENT_TYPE, "application/json; charset=utf-8");
      kj::StringPtr body = "{\"error\":\"internal error\"}";
      auto stream = r->send(500, statusText(500), headers, body.size());
      auto promise = stream->write(body.begin(), body.size());
      return promise.attach(kj::mv(stream));
    }
    return kj::READY_NOW;
  }

 private:
  Gateway& gateway_;
};

void Gateway::TaskErrors::taskFailed(kj::Exception&& exception) {
  logInfo("background task failed: {}", exception.getDescription().cStr());
}

Gateway::Gateway(const Config& config, kj::Timer& timer, kj::Network& network,
                 kj::UnixEventPort& port, SpoolQueue& spool)
    : config_(config),
      timer_(timer),
      spool_(spool),
      limiter_(config.rate, config.burst),
      metrics_(std::make_unique<Metrics>()),
      tasks_(taskErrors_) {
  kj::HttpHeaderTable::Builder builder;
  ids_ = std::make_unique<Headers>(builder);
  table_ = builder.build();
  Endpoint rdzd;
  rdzd.socket = config.socket;
  rdzd.connect = config.connect;
  rdzd.caFile = config.caFile;
  for (Entity e : ALL_ENTITIES) {
    links_[static_cast<int>(e)] =
        kj::heap<IngestLink>(network, port, timer, rdzd, config.tokenFileOf(e), e);
  }
  serverErrors_ = kj::heap<ServerErrors>(*this);
  for (Entity e : ALL_ENTITIES) thanks_[static_cast<int>(e)] = ThanksPages(config.merciUrlsOf(e));
}

Gateway::~Gateway() noexcept(false) = default;

kj::Own<kj::HttpService> Gateway::newService(kj::AsyncIoStream& connection) {
  return kj::heap<Service>(*this, peerAddress(connection));
}

kj::HttpServerSettings Gateway::serverSettings() {
  kj::HttpServerSettings settings;
  settings.errorHandler = *serverErrors_;
  // A request's headers (the first, or the next on a kept-alive connection) must arrive in time;
  // the body has its own deadline (postLead).
  settings.headerTimeout = config_.headerTimeoutMs * kj::MILLISECONDS;
  return settings;
}

kj::Promise<void> Gateway::serve(kj::ConnectionReceiver& listener, kj::HttpServer& server,
                                 kj::TaskSet& connections) {
  return listener.accept().then([this, &listener, &server,
                                 &connections](kj::Own<kj::AsyncIoStream> connection) {
    std::string peer = peerAddress(*connection);
    bool proxy = std::find(config_.trustedProxies.begin(), config_.trustedProxies.end(), peer) !=
                 config_.trustedProxies.end();
    auto found = connectionsByIp_.find(peer);
    size_t fromPeer = found == connectionsByIp_.end() ? 0 : found->second;
    if (openConnections_ >= config_.maxConnections) {
      ++metrics_->refusedTotal;  // closed by dropping it: a client that floods learns nothing
    } else if (!proxy && fromPeer >= config_.maxConnectionsPerIp) {
      ++metrics_->refusedPerIp;
    } else {
      ++openConnections_;
      ++connectionsByIp_[peer];
      auto release = kj::defer([this, peer]() {
        --openConnections_;
        auto it = connectionsByIp_.find(peer);
        if (--it->second == 0) connectionsByIp_.erase(it);
      });
      connections.add(server.listenHttp(kj::mv(connection)).attach(kj::mv(release)));
    }
    return serve(listener, server, connections);
  });
}

bool Gateway::originAllowed(const std::string& origin) const {
  if (origin.empty()) return false;
  for (const std::string& allowed : config_.corsOrigins) {
    if (allowed == "*" || allowed == origin) return true;
  }
  return false;
}

Gateway::Reply Gateway::error(const Request& req, unsigned code, const std::string& message) const {
  Reply r;
  r.code = code;
  if (req.html) {
    r.contentType = "text/html; charset=utf-8";
    r.body = htmlPage("Erreur", "Votre demande n'a pas pu être enregistrée : " + message);
  } else {
    r.body = "{\"error\":" + jsonString(message) + "}";
  }
  return r;
}

kj::Promise<void> Gateway::send(kj::HttpService::Response& response, const Request& req,
                                Reply reply) {
  kj::HttpHeaders headers(*table_);
  if (!reply.contentType.empty()) headers.set(kj::HttpHeaderId::CONTENT_TYPE, reply.contentType);
  headers.set(ids_->cacheControl, "no-store");
  if (originAllowed(req.origin)) {
    headers.set(ids_->allowOrigin, kj::str(req.origin.c_str()));
    headers.set(ids_->vary, "Origin");
  }
  for (auto& [id, value] : reply.headers) headers.set(id, kj::str(value.c_str()));
  ++metrics_->requests[reply.code];
  logDebugLine("{} {} {}", req.method, req.path, reply.code);
  auto body = kj::heap<std::string>(kj::mv(reply.body));
  auto stream = response.send(reply.code, statusText(reply.code), headers, body->size());
  if (body->empty()) return kj::READY_NOW;
  auto promise = stream->write(body->data(), body->size());
  return promise.attach(kj::mv(stream), kj::mv(body));
}

kj::Promise<void> Gateway::request(const std::string& peer, kj::HttpMethod method,
                                   kj::StringPtr url, const kj::HttpHeaders& headers,
                                   kj::AsyncInputStream& body,
                                   kj::HttpService::Response& response) {
  // Copied now: kj invalidates `url` and `headers` at the first read of the body.
  auto req = kj::heap<Request>();
  req->client = clientAddress(peer, headers.get(ids_->forwardedFor), config_.trustedProxies);
  req->origin = maybeText(headers.get(ids_->origin));
  req->userAgent = maybeText(headers.get(ids_->userAgent));
  req->referer = maybeText(headers.get(ids_->referer));
  std::string contentType = asciiLower(maybeText(headers.get(kj::HttpHeaderId::CONTENT_TYPE)));
  req->contentType = trim(contentType.substr(0, contentType.find(';')));
  req->html = req->contentType == "application/x-www-form-urlencoded" &&
              asciiLower(maybeText(headers.get(ids_->accept))).find("text/html") != std::string::npos;
  std::string path(url.cStr(), url.size());
  path = path.substr(0, path.find('?'));
  req->method = kj::str(method).cStr();
  req->path = path;

  if (path == "/healthz" || path == "/metrics") {
    if (method != kj::HttpMethod::GET) {
      Reply r = error(*req, 405, "use GET");
      r.headers.push_back({ids_->allow, "GET"});
      return send(response, *req, kj::mv(r)).attach(kj::mv(req));
    }
    if (path == "/healthz") return healthz(kj::mv(req), response);
    Reply r;
    r.contentType = METRICS_CONTENT_TYPE;
    r.body = metricsText();
    return send(response, *req, kj::mv(r)).attach(kj::mv(req));
  }

  constexpr std::string_view LEADS = "/v1/leads/";
  std::optional<Entity> entity;
  if (path.compare(0, LEADS.size(), LEADS) == 0) {
    std::string slug = path.substr(LEADS.size());
    if (slug.find('/') == std::string::npos) entity = parseEntity(slug);
  }
  if (!entity) {
    Reply r = error(*req, 404, "no such endpoint; leads go to POST /v1/leads/zr7 or /v1/leads/mdl");
    return send(response, *req, kj::mv(r)).attach(kj::mv(req));
  }

  if (method == kj::HttpMethod::OPTIONS) {
    Reply r;
    r.contentType = "";
    if (req->origin.empty()) {  // not a CORS preflight
      r.code = 204;
      r.headers.push_back({ids_->allow, "POST, OPTIONS"});
    } else if (originAllowed(req->origin)) {
      r.code = 204;
      r.headers.push_back({ids_->allowMethods, "POST, OPTIONS"});
      r.headers.push_back({ids_->allowHeaders, "Content-Type, Idempotency-Key"});
      r.headers.push_back({ids_->maxAge, "600"});
    } else {
      r = error(*req, 403, "origin not allowed");
    }
    return send(response, *req, kj::mv(r)).attach(kj::mv(req));
  }
  if (method != kj::HttpMethod::POST) {
    Reply r = error(*req, 405, "use POST");
    r.headers.push_back({ids_->allow, "POST, OPTIONS"});
    return send(response, *req, kj::mv(r)).attach(kj::mv(req));
  }

  kj::Duration retry;
  if (!limiter_.allow(RateLimiter::clientKey(req->client), timer_.now(), &retry)) {
    Reply r = error(*req, 429, "too many requests; retry later");
    int64_t seconds =
        std::max<int64_t>(1, (retry + kj::SECONDS - 1 * kj::NANOSECONDS) / kj::SECONDS);
    r.headers.push_back({ids_->retryAfter, std::to_string(seconds)});
    return send(response, *req, kj::mv(r)).attach(kj::mv(req));
  }
  KJ_IF_MAYBE(length, headers.get(kj::HttpHeaderId::CONTENT_LENGTH)) {
    if (length->size() > 9 || std::strtoull(length->cStr(), nullptr, 10) > MAX_BODY_BYTES) {
      return send(response, *req, error(*req, 413, "body over 16 KiB")).attach(kj::mv(req));
    }
  }
  if (req->contentType != "application/json" &&
      req->contentType != "application/x-www-form-urlencoded") {
    return send(response, *req,
                error(*req, 415, "send application/json or application/x-www-form-urlencoded"))
        .attach(kj::mv(req));
  }
  req->idempotencyKey = trim(maybeText(headers.get(ids_->idempotencyKey)));
  if (req->idempotencyKey.size() > MAX_IDEMPOTENCY_KEY_BYTES || !isValidUtf8(req->idempotencyKey)) {
    return send(response, *req,
                error(*req, 400, "Idempotency-Key must be UTF-8, at most 128 bytes"))
        .attach(kj::mv(req));
  }
  Request& ref = *req;
  return postLead(ref, *entity, body, response).attach(kj::mv(req));
}

kj::Promise<void> Gateway::postLead(Request& req, Entity entity, kj::AsyncInputStream& body,
                                    kj::HttpService::Response& response) {
  struct Reader {
    std::string data;
    char buffer[4096];
  };
  auto reader = kj::heap<Reader>();
  // Reads until EOF or one byte past the limit (a chunked body has no Content-Length to check).
  struct Loop {
    static kj::Promise<bool> read(kj::AsyncInputStream& in, Reader& r) {
      return in.tryRead(r.buffer, 1, sizeof r.buffer)
          .then([&in, &r](size_t n) -> kj::Promise<bool> {
            if (n == 0) return true;
            r.data.append(r.buffer, n);
            if (r.data.size() > MAX_BODY_BYTES) return false;
            return read(in, r);
          });
    }
  };
  auto& ref = *reader;
  // The whole body within body_timeout_ms, however it trickles in: a slow client holds a
  // connection (a file descriptor) for as long as it likes otherwise. On a timeout the body is
  // left unread, so kj closes the connection after the 408.
  enum class Read { COMPLETE, TOO_LARGE, TOO_SLOW };
  auto reading = Loop::read(body, ref).then(
      [](bool complete) { return complete ? Read::COMPLETE : Read::TOO_LARGE; });
  auto deadline = timer_.afterDelay(config_.bodyTimeoutMs * kj::MILLISECONDS).then([]() {
    return Read::TOO_SLOW;
  });
  return reading.exclusiveJoin(kj::mv(deadline))
      .then([this, &req, entity, &response, reader = kj::mv(reader)](Read read) mutable {
        if (read == Read::TOO_SLOW) {
          return send(response, req, error(req, 408, "the body did not arrive in time"));
        }
        if (read == Read::TOO_LARGE)
          return send(response, req, error(req, 413, "body over 16 KiB"));
        // `req` lives as long as this promise (attached by request()); submitLead wants its own.
        auto copy = kj::heap<Request>(req);
        return submitLead(kj::mv(copy), entity, kj::mv(reader->data), response);
      });
}

kj::Promise<void> Gateway::submitLead(kj::Own<Request> req, Entity entity, std::string body,
                                      kj::HttpService::Response& response) {
  Submission fields;
  std::string problem;
  if (req->contentType == "application/json") {
    if (!isValidUtf8(body)) {
      problem = "the body is not UTF-8";
    } else if (jsonHasNul(body)) {
      problem = "a field contains a NUL character (\\u0000)";
    } else {
      KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { fields = submissionFromJson(body); })) {
        problem = "malformed JSON: " + cleanError(e->getDescription().cStr());
      }
    }
  } else {
    KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { fields = submissionFromForm(body); })) {
      problem = cleanError(e->getDescription().cStr());
    }
  }
  if (problem.empty()) {
    // What escapes decode to is checked too, whatever the decoder does with odd ones.
    for (const Field& f : fields) {
      if (!isValidUtf8(f.name) || !isValidUtf8(f.value)) problem = "a field is not UTF-8";
      // A form's %00: rdzd's text fields end at a NUL; refused rather than stored cut short.
      if (f.name.find('\0') != std::string::npos || f.value.find('\0') != std::string::npos) {
        problem = "a field contains a NUL character";
      }
    }
  }
  if (!problem.empty()) {
    auto promise = send(response, *req, error(*req, 400, problem));
    return promise.attach(kj::mv(req));
  }

  // Fields for the gateway, not for the lead: the thank-you page and the honeypot.
  std::string merciUrl;
  bool honeypot = false;
  std::erase_if(fields, [&](const Field& f) {
    std::string name = trim(f.name);
    if (name == MERCI_FIELD) {
      merciUrl = trim(f.value);
      return true;
    }
    if (!config_.honeypotField.empty() && name == config_.honeypotField) {
      honeypot = honeypot || !trim(f.value).empty();
      return true;
    }
    return false;
  });
  // The proof of the request, bounded like the lead fields it may fill (ip 64, user_agent 1000,
  // page_url 2000 bytes). The Origin "null" of sandboxed pages names no page.
  HttpRequestProof proof;
  proof.ip = headerProof(req->client, 64);
  proof.userAgent = headerProof(req->userAgent, 1000);
  std::string page = !req->referer.empty()   ? req->referer
                     : req->origin != "null" ? req->origin
                                             : std::string();
  proof.pageUrl = headerProof(page, 2000);
  proof.honeypot = honeypot;
  // Only a page of the entity's allow-list: anything else is ignored (no open redirect).
  std::string redirect =
      req->html && thanks_[static_cast<int>(entity)].allows(merciUrl) ? merciUrl : "";

  std::string key = req->idempotencyKey.empty() ? generatedKey()
                                                : sourceKey(req->client, req->idempotencyKey);
  SpoolEntry entry{entity, key,
                   std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count(),
                   fields, proof};
  auto forwarded =
      forward(entity, kj::mv(fields), kj::mv(key), {proof, entry.receivedAtMicros, false});
  return forwarded.then([this, req = kj::mv(req), entry = kj::mv(entry), redirect, honeypot,
                         &response](Forwarded f) mutable -> kj::Promise<void> {
    Request& r = *req;
    switch (f.outcome) {
      case Forwarded::Outcome::STORED: {
        if (spool_.depth() > 0) kickReplay();  // rdzd is back: the spool goes next
        Reply reply = accepted(r, 201, redirect);
        if (reply.body.empty() && redirect.empty()) {
          // Answered as if accepted: a robot must not learn that its post was caught.
          reply.body = honeypot ? acceptedJson(f.id) : kj::mv(f.json);
        }
        return send(response, r, kj::mv(reply)).attach(kj::mv(req));
      }
      case Forwarded::Outcome::REFUSED:
        return send(response, r, error(r, 422, f.error)).attach(kj::mv(req));
      case Forwarded::Outcome::UNAVAILABLE:
        break;
    }
    // rdzd is away. What rdzd would refuse outright is refused now, not after a 202.
    if (auto reason = refusalOf(entry.fields)) {
      return send(response, r, error(r, 422, "submission refused: " + *reason))
          .attach(kj::mv(req));
    }
    std::string why = kj::mv(f.error);
    Entity entity = entry.entity;
    return spool_.append(kj::mv(entry))
        .then(
            [this, &r, &response, entity, why, redirect](std::string id) {
              faultPoint("spool.after_sync");  // durable, 202 not yet answered
              ++metrics_->spooled;
              logInfo("spooled {} lead {}: {}", entityName(entity), id, why);
              Reply reply = accepted(r, 202, redirect);
              if (reply.body.empty() && redirect.empty()) {
                reply.body = "{\"spool_id\":" + jsonString(id) + "}";
              }
              return send(response, r, kj::mv(reply));
            },
            [this, &r, &response](kj::Exception&& e) {
              logInfo("cannot spool a lead: {}", e.getDescription().cStr());
              Reply reply = error(r, 503, "rdzd is unavailable and the spool failed; retry later");
              return send(response, r, kj::mv(reply));
            })
        .attach(kj::mv(req));
  });
}

Gateway::Reply Gateway::accepted(const Request& req, unsigned code,
                                 const std::string& redirect) const {
  Reply reply;
  if (!redirect.empty()) {
    // 303: the browser follows with a GET, whatever the post's answer was (201 or 202).
    reply.code = 303;
    reply.contentType = "";
    reply.headers.push_back({kj::HttpHeaderId::LOCATION, redirect});
    return reply;
  }
  reply.code = code;
  if (req.html) {
    reply.contentType = "text/html; charset=utf-8";
    reply.body = thanksPage(code == 201 ? "Merci ! Votre demande a bien été enregistrée."
                                        : "Merci ! Votre demande a bien été reçue.",
                            req.referer);
  }
  return reply;
}

std::string Gateway::acceptedJson(const std::string& id) {
  capnp::MallocMessageBuilder message;
  auto result = message.initRoot<schema::SubmitResult>();
  result.setId(id);
  result.setStatut(schema::Statut::NEW);
  result.initProblemes(0);
  return toJson(result.asReader());
}

kj::Promise<Forwarded> Gateway::forward(Entity entity, Submission fields, std::string key,
                                        PostContext post) {
  auto start = std::chrono::steady_clock::now();
  return links_[static_cast<int>(entity)]
      ->submit(kj::mv(fields), kj::mv(key), kj::mv(post),
               config_.forwardTimeoutMs * kj::MILLISECONDS)
      .then([this, start](Forwarded f) {
        // rdzd's answers only (stored or refused): time spent waiting for an absent rdzd is not
        // forwarding latency.
        if (f.outcome != Forwarded::Outcome::UNAVAILABLE) {
          metrics_->forward.observe(secondsSince(start));
        }
        return f;
      });
}

kj::Promise<void> Gateway::healthz(kj::Own<Request> req, kj::HttpService::Response& response) {
  auto probes = kj::heapArrayBuilder<kj::Promise<bool>>(2);
  for (auto& link : links_) probes.add(link->probe(HEALTH_PROBE_TIMEOUT));
  return kj::joinPromises(probes.finish())
      .then([this, req = kj::mv(req), &response](kj::Array<bool> up) mutable {
        // Public: status and depth only. Why a link is down (token file paths, rdzd's address,
        // error text) is in the log, for the operator, not here for anyone who asks.
        std::string down;
        for (size_t i = 0; i < up.size(); ++i) {
          if (up[i]) continue;
          if (!down.empty()) down += ", ";
          down += entityName(links_[i]->entity());
        }
        Reply reply;
        reply.contentType = "text/plain; charset=utf-8";
        reply.body = fmt::format("ok\nrdzd: {}\nspool: {}\nspool_depth: {}\n",
                                 down.empty() ? "reachable" : "unreachable (" + down + ")",
                                 spool_.healthy() ? "ok" : "unhealthy", spool_.depth());
        Request& r = *req;
        return send(response, r, kj::mv(reply)).attach(kj::mv(req));
      });
}

std::string Gateway::metricsText() const {
  const Metrics& m = *metrics_;
  MetricsText out;
  using enum MetricType;
  out.family("rdz_gateway_requests_total", COUNTER, "HTTP requests answered, by status code.");
  for (auto& [code, count] : m.requests) out.sample({{"code", std::to_string(code)}}, count);
  out.family("rdz_gateway_spool_depth", GAUGE, "Leads in the spool not yet acknowledged by rdzd.");
  out.sample({}, spool_.depth());
  out.family("rdz_gateway_spool_bytes", GAUGE,
             "Bytes of the spool's segments not wholly replayed.");
  out.sample({}, spool_.bytes());
  out.family("rdz_gateway_spool_healthy", GAUGE,
             "0 after a failed spool write that could not be cut off (leads that must be spooled "
             "get 503).");
  out.sample({}, spool_.healthy() ? 1 : 0);
  out.family("rdz_gateway_spooled_total", COUNTER, "Leads spooled (answered 202).");
  out.sample({}, m.spooled);
  out.family("rdz_gateway_replayed_total", COUNTER,
             "Spooled leads acknowledged by rdzd on replay.");
  out.sample({}, m.replayed);
  out.family("rdz_gateway_spool_refused_total", COUNTER,
             "Spooled leads rdzd refused on replay (kept in refused.seg).");
  out.sample({}, m.refused);
  out.family("rdz_gateway_spool_quarantined_bytes_total", COUNTER,
             "Unreadable spool bytes copied to quarantine/ (damage or a torn write).");
  out.sample({}, spool_.quarantinedBytes());
  out.family("rdz_gateway_spool_quarantined_ranges_total", COUNTER,
             "Unreadable spool ranges copied to quarantine/ (one file each).");
  out.sample({}, spool_.quarantinedRanges());
  out.family("rdz_gateway_connections_open", GAUGE, "HTTP connections open.");
  out.sample({}, openConnections_);
  out.family("rdz_gateway_connections_refused_total", COUNTER,
             "Connections closed at once, by the cap they were over.");
  out.sample({{"reason", "per_ip"}}, m.refusedPerIp);
  out.sample({{"reason", "total"}}, m.refusedTotal);
  out.family("rdz_gateway_rdzd_up", GAUGE,
             "1 when the gateway holds an authenticated session with rdzd.");
  for (auto& link : links_) {
    out.sample({{"entity", entityName(link->entity())}}, link->up() ? 1 : 0);
  }
  out.family("rdz_gateway_forward_seconds", HISTOGRAM,
             "Time from sending a lead to rdzd to its answer.");
  out.histogram({}, m.forward);
  return out.take();
}

// ---- spool replay ------------------------------------------------------------------------------

kj::Promise<void> Gateway::run() {
  kickReplay();  // what a previous run left
  return timer_.afterDelay(config_.replayIntervalMs * kj::MILLISECONDS).then([this]() {
    limiter_.prune(timer_.now());
    if (!spool_.healthy()) {
      // The health re-check of an unhealthy spool (a failed write it could not cut off).
      tasks_.add(spool_.recheck().ignoreResult());
    }
    return run();
  });
}

void Gateway::kickReplay() {
  if (replaying_ || spool_.depth() == 0) return;
  replaying_ = true;
  tasks_.add(replayBatch().then(
      [this](bool more) {
        replaying_ = false;
        if (more) kickReplay();
      },
      [this](kj::Exception&& e) {
        replaying_ = false;
        logInfo("spool replay failed: {}", e.getDescription().cStr());
      }));
}

kj::Promise<bool> Gateway::replayBatch() {
  return spool_.readPending(REPLAY_BATCH).then([this](std::vector<SpooledEntry> batch) {
    auto owned = kj::heap<std::vector<SpooledEntry>>(kj::mv(batch));
    auto& ref = *owned;
    return replayFrom(ref, 0, 0).attach(kj::mv(owned));
  });
}

// In order, one at a time: the spool's order is the order leads were accepted in. Resolves true
// when the whole batch went through (there may be more), false when rdzd is away again.
//
// `done` advances once per batch (and before a refused entry is set aside), not per entry: each
// advance costs two fsyncs. A crash before it makes the next run send the entries acknowledged
// since the last advance again, each with its idempotency key, so rdzd answers them with their
// first answer and stores nothing twice; `stored` counts them.
kj::Promise<bool> Gateway::replayFrom(std::vector<SpooledEntry>& batch, size_t i, uint64_t stored) {
  // Marks entries [i - stored, i) done.
  auto markStored = [this, &batch, i, stored]() -> kj::Promise<void> {
    if (stored == 0) return kj::READY_NOW;
    faultPoint("replay.after_ack");  // rdzd stored them; done not advanced
    return spool_.markDone(batch[i - 1].next, stored);
  };
  if (i == batch.size()) return markStored().then([&batch]() { return !batch.empty(); });
  const SpooledEntry& e = batch[i];
  return forward(e.entry.entity, e.entry.fields, e.entry.idempotencyKey,
                 {e.entry.request, e.entry.receivedAtMicros, true})
      .then([this, &batch, i, stored, markStored](Forwarded f) mutable -> kj::Promise<bool> {
        const SpooledEntry& e = batch[i];
        switch (f.outcome) {
          case Forwarded::Outcome::STORED:
            ++metrics_->replayed;
            logInfo("replayed {} lead {}: {} {}", entityName(e.entry.entity), e.id, f.id, f.statut);
            return replayFrom(batch, i + 1, stored + 1);
          case Forwarded::Outcome::REFUSED:
            // Cannot be stored, ever: kept aside for an admin rather than blocking the spool. Done
            // at once (with the stored ones before it), so a restart does not set it aside twice.
            ++metrics_->refused;
            logInfo("rdzd refused spooled {} lead {} (kept in refused.seg): {}",
                    entityName(e.entry.entity), e.id, f.error);
            return spool_.refuse(e)
                .then([this, &batch, i, stored]() {
                  return spool_.markDone(batch[i].next, stored + 1);
                })
                .then([this, &batch, i]() { return replayFrom(batch, i + 1, 0); });
          case Forwarded::Outcome::UNAVAILABLE:
            break;
        }
        return markStored().then([]() { return false; });
      });
}

// ---- main loop ---------------------------------------------------------------------------------

int runGateway(const Config& config) {
  // Before any thread exists (the spool's): a thread that does not block SIGTERM would take it
  // with the default action and kill the process without draining.
  kj::UnixEventPort::captureSignal(SIGTERM);
  kj::UnixEventPort::captureSignal(SIGINT);
  logProgram = "rdz-gateway";
  logDebug = config.logLevel == "debug";
  ::umask(0077);  // the spool holds personal data

  SpoolOptions options;
  options.maxBytes = config.spoolMaxBytes;
  Spool spool(config.spoolDir, options);
  logInfo("spool {}: {} leads waiting for rdzd", config.spoolDir, spool.depth());

  auto io = kj::setupAsyncIo();
  auto& timer = io.provider->getTimer();
  auto& network = io.provider->getNetwork();
  int exitCode = 0;
  {
    SpoolQueue queue(spool);
    Gateway gateway(config, timer, network, io.unixEventPort, queue);
    auto listener = network.parseAddress(config.listen).wait(io.waitScope)->listen();
    std::string host = config.listen.substr(0, config.listen.rfind(':'));
    logInfo("listening on http://{}:{} (rdzd at {})", host, listener->getPort(),
            config.connect.empty() ? "unix:" + config.socket : config.connect);

    kj::HttpServer server(
        timer, gateway.headerTable(),
        [&gateway](kj::AsyncIoStream& connection) { return gateway.newService(connection); },
        gateway.serverSettings());
    // After `server`: destroyed first, with the connections still open after the drain.
    struct ConnectionErrors final : public kj::TaskSet::ErrorHandler {
      void taskFailed(kj::Exception&& e) override {
        if (e.getType() == kj::Exception::Type::DISCONNECTED) return;  // the client went away
        logInfo("connection failed: {}", e.getDescription().cStr());
      }
    } connectionErrors;
    kj::TaskSet connections(connectionErrors);

    auto stop = io.unixEventPort.onSignal(SIGTERM)
                    .exclusiveJoin(io.unixEventPort.onSignal(SIGINT))
                    .then([](siginfo_t info) { return info.si_signo; });
    auto serving = gateway.serve(*listener, server, connections)
                       .then([]() { return -1; },
                             [](kj::Exception&& e) {
                               logInfo("listener failed: {}", e.getDescription().cStr());
                               return -1;
                             });
    auto background = gateway.run().then([]() { return -1; });
    int signal =
        stop.exclusiveJoin(kj::mv(serving)).exclusiveJoin(kj::mv(background)).wait(io.waitScope);
    if (signal < 0) {
      exitCode = 1;
    } else {
      logInfo("signal {}: stopping", signal);
    }
    // No new connections; the requests in flight get their answer (a 202 is only sent once the
    // spool is synced, and the queue finishes its jobs before the thread stops).
    KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
                   timer.timeoutAfter(DRAIN_TIMEOUT, server.drain()).wait(io.waitScope);
                 })) {
      logInfo("requests still in flight after {} s: {}", DRAIN_TIMEOUT / kj::SECONDS,
              e->getDescription().cStr());
    }
  }
  logInfo("stopped; {} leads in the spool", spool.depth());
  return exitCode;
}

}  // namespace rdz::gateway
