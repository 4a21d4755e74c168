#include "tools/bench-smtp-sink.h"

#include <arpa/inet.h>
#include <kj/debug.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace rdz {

namespace {

bool sendAll(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    text.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The id inside "Message-ID: <id@host>" in the header block of `message`, or "".
std::string messageIdOf(std::string_view message) {
  std::string_view headers = message.substr(0, message.find("\r\n\r\n"));
  std::string lowered = lower(headers);
  size_t at = lowered.find("\nmessage-id:");
  if (at == std::string::npos) return "";
  size_t open = headers.find('<', at);
  size_t sign = headers.find('@', open);
  if (open == std::string_view::npos || sign == std::string_view::npos) return "";
  return std::string(headers.substr(open + 1, sign - open - 1));
}

}  // namespace

class SmtpSink::Impl {
 public:
  Impl() {
    listenFd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    KJ_SYSCALL(listenFd_);
    int one = 1;
    KJ_SYSCALL(::setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    KJ_SYSCALL(::bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)));
    KJ_SYSCALL(::listen(listenFd_, 64));
    socklen_t len = sizeof(addr);
    KJ_SYSCALL(::getsockname(listenFd_, reinterpret_cast<sockaddr*>(&addr), &len));
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }

  ~Impl() {
    stopping_ = true;
    acceptor_.join();
    ::close(listenFd_);
    std::vector<std::thread> connections;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      connections.swap(connections_);
    }
    for (auto& t : connections) t.join();
  }

  int port() const { return port_; }
  uint64_t messages() const { return messages_; }

  size_t waitFor(const std::vector<std::string>& batches,
                 std::chrono::steady_clock::time_point deadline) {
    auto arrived = [&] {
      return static_cast<size_t>(std::count_if(batches.begin(), batches.end(),
                                               [&](auto& id) { return ids_.count(id) > 0; }));
    };
    std::unique_lock<std::mutex> lock(mutex_);
    size_t n = arrived();
    while (n < batches.size() && changed_.wait_until(lock, deadline) != std::cv_status::timeout) {
      n = arrived();
    }
    return arrived();
  }

 private:
  void acceptLoop() {
    while (!stopping_) {
      pollfd p{listenFd_, POLLIN, 0};
      int ready = ::poll(&p, 1, 200);
      if (ready <= 0) continue;  // a timeout (check stopping_) or EINTR
      int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;  // the client went away before it was accepted
      timeval timeout{60, 0};  // a client silent this long is dropped
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
      std::lock_guard<std::mutex> lock(mutex_);
      connections_.emplace_back([this, fd] {
        serve(fd);
        ::close(fd);
      });
    }
  }

  // One SMTP session: every command is accepted; DATA is read up to <CRLF>.<CRLF>.
  void serve(int fd) {
    if (!sendAll(fd, "220 rdz-bench sink ESMTP\r\n")) return;
    std::string in;
    char buffer[65536];
    bool inData = false;
    for (;;) {
      if (inData) {
        size_t end = in.find("\r\n.\r\n");
        if (end != std::string::npos) {
          std::string id = messageIdOf(std::string_view(in).substr(0, end));
          in.erase(0, end + 5);
          inData = false;
          {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!id.empty()) ids_.insert(id);
            ++messages_;
          }
          changed_.notify_all();
          if (!sendAll(fd, "250 2.0.0 accepted\r\n")) return;
          continue;
        }
      } else {
        size_t eol = in.find("\r\n");
        if (eol != std::string::npos) {
          std::string verb = lower(std::string_view(in).substr(0, std::min<size_t>(eol, 4)));
          in.erase(0, eol + 2);
          std::string_view answer = "250 2.0.0 ok\r\n";
          if (verb == "ehlo") answer = "250-rdz-bench\r\n250 8BITMIME\r\n";
          if (verb == "data") answer = "354 end with <CRLF>.<CRLF>\r\n";
          if (verb == "quit") answer = "221 2.0.0 bye\r\n";
          if (!sendAll(fd, answer) || verb == "quit") return;
          inData = verb == "data";
          continue;
        }
      }
      ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) return;  // closed, reset or silent too long
      in.append(buffer, static_cast<size_t>(n));
    }
  }

  int listenFd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::thread> connections_;
  std::set<std::string> ids_;
  std::atomic<uint64_t> messages_{0};
};

SmtpSink::SmtpSink() : impl_(std::make_unique<Impl>()) {}
SmtpSink::~SmtpSink() = default;
int SmtpSink::port() const { return impl_->port(); }
uint64_t SmtpSink::messages() const { return impl_->messages(); }
size_t SmtpSink::waitFor(const std::vector<std::string>& batches,
                         std::chrono::steady_clock::time_point deadline) {
  return impl_->waitFor(batches, deadline);
}

}  // namespace rdz
