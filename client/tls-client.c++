#include "client/tls-client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <kj/debug.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <memory>

namespace rdz {

namespace {

// OpenSSL's queued errors as one line ("" when none).
std::string opensslErrors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    out += (out.empty() ? "" : "; ") + std::string(text);
  }
  return out;
}

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

bool isIpLiteral(const std::string& host) {
  in6_addr v6;
  in_addr v4;
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 || inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

// A TLS client connection over a non-blocking socket it owns, driven by the event loop: each
// OpenSSL call that would block waits for the socket to become readable or writable, then is
// retried with the same arguments (as OpenSSL requires).
class TlsStream final : public kj::AsyncIoStream {
 public:
  // `ctx` is configured for the server to reach; the stream holds its own reference to it.
  TlsStream(kj::UnixEventPort& port, kj::AutoCloseFd fd, SSL_CTX* ctx)
      : fd_(kj::mv(fd)),
        ssl_(SSL_new(ctx)),
        observer_(port, fd_.get(), kj::UnixEventPort::FdObserver::OBSERVE_READ_WRITE) {
    KJ_REQUIRE(ssl_ != nullptr, "OpenSSL", opensslErrors());
    KJ_REQUIRE(SSL_set_fd(ssl_, fd_.get()) == 1, "OpenSSL", opensslErrors());
  }
  ~TlsStream() noexcept(false) { SSL_free(ssl_); }

  SSL* ssl() { return ssl_; }
  kj::Maybe<int> getFd() const override { return fd_.get(); }

  kj::Promise<void> handshake(std::string host) {
    return call([this]() { return SSL_connect(ssl_); }, "TLS handshake with rdzd")
        .then([](size_t) -> kj::Promise<void> { return kj::READY_NOW; },
              [this, host](kj::Exception&& e) -> kj::Promise<void> {
                long verify = SSL_get_verify_result(ssl_);
                if (verify != X509_V_OK) {
                  return KJ_EXCEPTION(
                      DISCONNECTED,
                      kj::str("rdzd's TLS certificate is not trusted for ", host.c_str(), ": ",
                              X509_verify_cert_error_string(verify)));
                }
                return kj::mv(e);
              });
  }

  kj::Promise<size_t> tryRead(void* buffer, size_t minBytes, size_t maxBytes) override {
    return readAtLeast(static_cast<kj::byte*>(buffer), minBytes, maxBytes, 0);
  }

  kj::Promise<void> write(const void* buffer, size_t size) override {
    if (size == 0) return kj::READY_NOW;
    int chunk = static_cast<int>(kj::min(size, size_t(INT_MAX)));
    return call([this, buffer, chunk]() { return SSL_write(ssl_, buffer, chunk); }, "TLS write")
        .then([this, buffer, size](size_t n) -> kj::Promise<void> {
          KJ_REQUIRE(n > 0, "rdzd closed the TLS connection");
          if (n < size) return write(static_cast<const kj::byte*>(buffer) + n, size - n);
          return kj::READY_NOW;
        });
  }

  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    // One TLS record for a Cap'n Proto message's segment table and segments, not one each.
    size_t total = 0;
    for (auto& piece : pieces) total += piece.size();
    auto joined = kj::heapArray<kj::byte>(total);
    size_t at = 0;
    for (auto& piece : pieces) {
      if (piece.size() > 0) memcpy(joined.begin() + at, piece.begin(), piece.size());
      at += piece.size();
    }
    auto promise = write(joined.begin(), joined.size());
    return promise.attach(kj::mv(joined));
  }

  kj::Promise<void> whenWriteDisconnected() override { return kj::NEVER_DONE; }

  void shutdownWrite() override {
    // close_notify, best effort (non-blocking: one try), then the TCP half-close.
    ERR_clear_error();
    (void)SSL_shutdown(ssl_);  // intentionally ignored: the peer may be gone already
    ERR_clear_error();
    ::shutdown(fd_.get(), SHUT_WR);
  }

  void abortRead() override { ::shutdown(fd_.get(), SHUT_RD); }

  void getsockopt(int level, int option, void* value, kj::uint* length) override {
    socklen_t len = *length;
    KJ_SYSCALL(::getsockopt(fd_.get(), level, option, value, &len));
    *length = len;
  }
  void setsockopt(int level, int option, const void* value, kj::uint length) override {
    KJ_SYSCALL(::setsockopt(fd_.get(), level, option, value, length));
  }
  void getsockname(struct sockaddr* addr, kj::uint* length) override {
    socklen_t len = *length;
    KJ_SYSCALL(::getsockname(fd_.get(), addr, &len));
    *length = len;
  }
  void getpeername(struct sockaddr* addr, kj::uint* length) override {
    socklen_t len = *length;
    KJ_SYSCALL(::getpeername(fd_.get(), addr, &len));
    *length = len;
  }

 private:
  // Waiting for readiness. A read and a write may both wait for the same direction (OpenSSL may
  // need to read to write); the observer takes one waiter per direction, so waiters share it.
  struct Waiters {
    kj::Maybe<kj::ForkedPromise<void>> fork;
    uint64_t generation = 0;
  };

  kj::Promise<void> wait(bool readable) {
    Waiters& w = readable ? readWaiters_ : writeWaiters_;
    if (w.fork == nullptr) {
      ++w.generation;
      w.fork =
          (readable ? observer_.whenBecomesReadable() : observer_.whenBecomesWritable()).fork();
    }
    uint64_t generation = w.generation;
    KJ_IF_MAYBE (fork, w.fork) {
      return fork->addBranch().then([&w, generation]() {
        if (w.generation == generation) w.fork = nullptr;  // the next wait needs a new edge
      });
    }
    KJ_UNREACHABLE;
  }

  // Runs `op` (an SSL_* call returning > 0 on success) until it succeeds: the bytes it reports,
  // or 0 for a clean end of the connection.
  template <typename Op>
  kj::Promise<size_t> call(Op op, const char* what) {
    ERR_clear_error();
    errno = 0;
    int n = op();
    if (n > 0) return static_cast<size_t>(n);
    int error = SSL_get_error(ssl_, n);
    switch (error) {
      case SSL_ERROR_WANT_READ:
        return wait(true).then([this, op, what]() mutable { return call(op, what); });
      case SSL_ERROR_WANT_WRITE:
        return wait(false).then([this, op, what]() mutable { return call(op, what); });
      case SSL_ERROR_ZERO_RETURN:
        return size_t(0);
      case SSL_ERROR_SYSCALL: {
        int saved = errno;
        std::string queued = opensslErrors();
        if (saved == 0 && queued.empty()) return size_t(0);  // the peer closed without notify
        return KJ_EXCEPTION(DISCONNECTED, what,
                            queued.empty() ? std::string(strerror(saved)) : queued);
      }
      default:
        return KJ_EXCEPTION(DISCONNECTED, what, opensslErrors());
    }
  }

  kj::Promise<size_t> readAtLeast(kj::byte* buffer, size_t minBytes, size_t maxBytes, size_t done) {
    int chunk = static_cast<int>(kj::min(maxBytes, size_t(INT_MAX)));
    return call([this, buffer, chunk]() { return SSL_read(ssl_, buffer, chunk); }, "TLS read")
        .then([this, buffer, minBytes, maxBytes, done](size_t n) -> kj::Promise<size_t> {
          if (n == 0 || n >= minBytes) return done + n;
          return readAtLeast(buffer + n, minBytes - n, maxBytes - n, done + n);
        });
  }

  kj::AutoCloseFd fd_;
  SSL* ssl_;
  kj::UnixEventPort::FdObserver observer_;
  Waiters readWaiters_;
  Waiters writeWaiters_;
};

}  // namespace

kj::Promise<kj::Own<kj::AsyncIoStream>> connectTls(kj::UnixEventPort& port,
                                                   kj::Own<kj::AsyncIoStream> tcp,
                                                   const std::string& host,
                                                   const std::string& caFile) {
  int original = -1;
  KJ_IF_MAYBE (fd, tcp->getFd()) {
    original = *fd;
  }
  KJ_REQUIRE(original >= 0, "TLS needs a socket");
  // A duplicate, watched by our own observer: kj's stream keeps its registration until dropped.
  int copy;
  KJ_SYSCALL(copy = ::fcntl(original, F_DUPFD_CLOEXEC, 0));
  kj::AutoCloseFd fd(copy);
  tcp = nullptr;  // the socket stays open through `fd` (non-blocking, as kj made it)

  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  KJ_REQUIRE(ctx != nullptr, "OpenSSL", opensslErrors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
  SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
  if (caFile.empty()) {
    KJ_REQUIRE(SSL_CTX_set_default_verify_paths(ctx.get()) == 1,
               "cannot load the system's trusted certificates", opensslErrors());
  } else if (SSL_CTX_load_verify_locations(ctx.get(), caFile.c_str(), nullptr) != 1) {
    std::string why = opensslErrors();
    kj::throwFatalException(KJ_EXCEPTION(
        FAILED, kj::str("cannot use the CA file ", caFile.c_str(), " (", why.c_str(), ")")));
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);  // abort the handshake if untrusted

  auto stream = kj::heap<TlsStream>(port, kj::mv(fd), ctx.get());
  SSL* ssl = stream->ssl();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (isIpLiteral(host)) {
    KJ_REQUIRE(X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1, "bad IP", host);
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    KJ_REQUIRE(X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1, "bad host",
               host);
    KJ_REQUIRE(SSL_set_tlsext_host_name(ssl, host.c_str()) == 1, "OpenSSL", opensslErrors());
  }
  auto handshake = stream->handshake(host);
  // The continuation owns the stream; kj drops the handshake before it, so `this` stays valid.
  return handshake.then(
      [stream = kj::mv(stream)]() mutable -> kj::Own<kj::AsyncIoStream> { return kj::mv(stream); });
}

}  // namespace rdz
