// Sending a batch by email through libcurl's SMTP (SPEC §6): the entity's own account, TLS
// (implicit "ssl" or "starttls") or none, AUTH when a user is configured, MIME multipart with one
// CSV attachment per part. Blocking: call it off the event loop; returns within smtp.timeoutMs.
// TLS always verifies the server's certificate (against smtp.caFile when set) and its name;
// "starttls" never falls back to plain text.
#pragma once

#include <string>
#include <vector>

#include "daemon/service/config.h"

namespace rdz {

struct MailAttachment {
  std::string filename;
  std::string content;  // bytes as they are (the CSV, BOM included)
  std::string contentType = "text/csv; charset=utf-8";
};

struct Mail {
  std::string fromAddress;
  std::string fromName;
  std::vector<std::string> to;
  std::vector<std::string> cc;
  std::vector<std::string> bcc;  // envelope recipients only, never in the headers
  std::string subject;           // UTF-8 (encoded as RFC 2047 when not ASCII)
  std::string body;              // UTF-8 plain text
  std::string messageId;         // "<batch-id@host>"
  std::vector<MailAttachment> attachments;
};

struct SendResult {
  bool ok = false;         // the server accepted the message (250)
  bool permanent = false;  // a 5xx answer: retrying the same message will not help
  long code = 0;           // last SMTP response code, 0 if none (connection failure)
  std::string detail;      // for the batch's history; never holds the password
};

// `password` is the content of smtp.passwordFile (read by the caller), "" for none.
SendResult sendMail(const SmtpConfig& smtp, const std::string& password, const Mail& mail);

}  // namespace rdz
