// A minimal SMTP server for rdz-bench run, in process: it accepts every message (250) on
// 127.0.0.1, keeps nothing but each message's Message-ID, and lets the bench wait until given
// batches have arrived (rdzd's Message-ID is <batch-id@host>). Not a test fixture: the tests use
// python3-aiosmtpd (tests/support/smtp.h), which also checks what the messages hold.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rdz {

class SmtpSink {
 public:
  // Listens on 127.0.0.1, on a port the kernel picks; serves each connection on its own thread.
  SmtpSink();
  // Stops listening and waits for the connections to end.
  ~SmtpSink();
  SmtpSink(const SmtpSink&) = delete;
  SmtpSink& operator=(const SmtpSink&) = delete;

  int port() const;
  // Messages accepted so far.
  uint64_t messages() const;
  // Waits until a message with Message-ID <ID@…> was accepted for every ID of `batches`, or until
  // `deadline`; returns how many of them were.
  size_t waitFor(const std::vector<std::string>& batches,
                 std::chrono::steady_clock::time_point deadline);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rdz
