#include "daemon/service/mailer.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <kj/debug.h>
#include <kj/encoding.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <string_view>

#include "daemon/domain/validation.h"
#include "daemon/service/curl.h"

namespace rdz {

namespace {

// The TCP connect alone; the whole send is bounded by SmtpConfig::timeoutMs.
constexpr long CONNECT_TIMEOUT_MS = 10000;

// Thrown (and caught in sendMail) for a mail that cannot be sent as given: no retry will help.
struct InvalidMail {
  std::string why;
};

bool isAscii(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// A header value must not break the header block: CR and LF become spaces, other controls go.
std::string headerSafe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\r' || c == '\n' || c == '\t') {
      out.push_back(' ');
    } else if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) {
      out.push_back(c);
    }
  }
  return out;
}

// An address as it goes on the envelope and in the headers: a bare addr-spec, no display name.
void checkAddress(const std::string& address) {
  bool ok = !address.empty() && address.find('@') != std::string::npos;
  for (char c : address) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',') {
      ok = false;
    }
  }
  if (!ok) throw InvalidMail{fmt::format("invalid email address \"{}\"", headerSafe(address))};
}

std::string base64(std::string_view data) {
  auto text = kj::encodeBase64(kj::arrayPtr(reinterpret_cast<const kj::byte*>(data.data()),
                                            data.size()));
  return std::string(text.cStr(), text.size());
}

// RFC 2047 "B" encoded words of UTF-8 text, each at most 75 characters, split between (never
// inside) UTF-8 sequences and folded onto continuation lines.
std::string encodedWords(std::string_view text) {
  constexpr size_t MAX_BYTES = 45;  // 60 base64 characters + "=?UTF-8?B?" + "?=" = 72
  std::string out;
  while (!text.empty()) {
    size_t n = std::min(text.size(), MAX_BYTES);
    // Back up to the start of a UTF-8 sequence (not a 10xxxxxx continuation byte).
    while (n < text.size() && n > 0 && (uint8_t(text[n]) & 0xC0) == 0x80) --n;
    if (n == 0) n = std::min(text.size(), MAX_BYTES);  // not UTF-8: split anywhere
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(text.substr(0, n)) + "?=";
    text.remove_prefix(n);
  }
  return out;
}

// Unstructured header text (Subject): as is when plain ASCII, else encoded words. ASCII text that
// happens to contain "=?" is encoded too, or a reader would try to decode it.
std::string unstructured(std::string_view text) {
  std::string safe = headerSafe(text);
  if (isAscii(safe) && safe.find("=?") == std::string::npos) return safe;
  return encodedWords(safe);
}

// "Name <address>": a quoted string for an ASCII name, encoded words otherwise (they cannot sit
// inside quotes).
std::string mailbox(std::string_view name, const std::string& address) {
  std::string safeName = headerSafe(name);
  if (safeName.empty()) return address;
  if (!isAscii(safeName) || safeName.find("=?") != std::string::npos) {
    return encodedWords(safeName) + " <" + address + ">";
  }
  std::string quoted = "\"";
  for (char c : safeName) {
    if (c == '"' || c == '\\') quoted.push_back('\\');
    quoted.push_back(c);
  }
  return quoted + "\" <" + address + ">";
}

// "To: a, b, c" folded before a line would pass 78 characters.
std::string addressList(std::string_view field, const std::vector<std::string>& addresses) {
  std::string out(field);
  out += ": ";
  size_t lineLength = out.size();
  for (size_t i = 0; i < addresses.size(); ++i) {
    const std::string& a = addresses[i];
    if (i > 0) {
      out += ',';
      ++lineLength;
      if (lineLength + 1 + a.size() > 78) {
        out += "\r\n";
        lineLength = 0;
      }
      out += ' ';
      ++lineLength;
    }
    out += a;
    lineLength += a.size();
  }
  return out;
}

// RFC 5322 date in UTC, with English names whatever the process locale.
std::string rfc5322Date(std::chrono::system_clock::time_point now) {
  static constexpr const char* DAYS[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* MONTHS[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t t = std::chrono::system_clock::to_time_t(now);
  struct tm tm;
  KJ_ASSERT(gmtime_r(&t, &tm) != nullptr);
  return fmt::format("{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} +0000", DAYS[tm.tm_wday],
                     tm.tm_mday, MONTHS[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
}

// Mail text lines end in CRLF; a lone LF would be quoted-printable encoded as "=0A".
std::string crlfLines(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// RFC 2231 parameter value: UTF-8, percent-encoded outside of attr-char.
std::string rfc2231(std::string_view text) {
  std::string out = "UTF-8''";
  for (char c : text) {
    uint8_t b = uint8_t(c);
    bool plain = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
                 std::string_view("!#$&+-.^_`|~").find(c) != std::string_view::npos;
    if (plain) {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", b);
    }
  }
  return out;
}

std::string ehloName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  for (char* p = name; *p != '\0'; ++p) {
    bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.';
    if (!ok) return "localhost";
  }
  return name;
}

std::string smtpUrl(const SmtpConfig& smtp) {
  std::string scheme;
  if (smtp.security == "ssl") {
    scheme = "smtps";
  } else if (smtp.security == "starttls" || smtp.security == "none") {
    scheme = "smtp";
  } else {
    throw InvalidMail{fmt::format("unknown smtp security \"{}\"", headerSafe(smtp.security))};
  }
  if (smtp.host.empty() || smtp.port <= 0 || smtp.port > 65535) {
    throw InvalidMail{"smtp host or port not configured"};
  }
  // An IPv6 literal needs brackets in a URL. The path names the client in EHLO.
  std::string host = smtp.host.find(':') != std::string::npos && smtp.host.front() != '['
                         ? "[" + smtp.host + "]"
                         : smtp.host;
  return fmt::format("{}://{}:{}/{}", scheme, host, smtp.port, ehloName());
}

// Adds each address once (case-insensitively: mail servers treat them so), keeping order.
void addRecipients(std::vector<std::string>& all, const std::vector<std::string>& addresses) {
  for (const std::string& a : addresses) {
    if (a.empty()) continue;
    checkAddress(a);
    bool seen = false;
    for (const std::string& b : all) seen = seen || asciiLower(a) == asciiLower(b);
    if (!seen) all.push_back(a);
  }
}

void scrub(std::string& text, const std::string& secret) {
  if (secret.empty()) return;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
    text.replace(at, secret.size(), "***");
  }
}

}  // namespace

SendResult sendMail(const SmtpConfig& smtp, const std::string& password, const Mail& mail) {
  initCurlOnce();
  SendResult result;
  try {
    std::string url = smtpUrl(smtp);
    // The mail's own sender wins; the entity's account is the default.
    const std::string& from = mail.fromAddress.empty() ? smtp.from : mail.fromAddress;
    const std::string& fromName = mail.fromName.empty() ? smtp.fromName : mail.fromName;
    checkAddress(from);
    if (mail.to.empty()) throw InvalidMail{"no recipient"};

    // Envelope: to, cc, bcc, and the entity's archive address (SPEC §6), each once.
    std::vector<std::string> recipients;
    addRecipients(recipients, mail.to);
    addRecipients(recipients, mail.cc);
    addRecipients(recipients, mail.bcc);
    if (!smtp.bcc.empty()) addRecipients(recipients, {smtp.bcc});

    std::string messageId = headerSafe(mail.messageId);
    if (!messageId.empty() && messageId.front() != '<') messageId = "<" + messageId + ">";

    std::string body = crlfLines(mail.body);

    // Declared before the easy handle, so destroyed after it: curl may touch them until cleanup.
    SlistPtr headers;
    SlistPtr rcpt;
    MimePtr mime;
    CurlPtr curl(curl_easy_init());
    KJ_ASSERT(curl != nullptr, "curl_easy_init failed");
    CURL* c = curl.get();

    append(headers, "Date: " + rfc5322Date(std::chrono::system_clock::now()));
    append(headers, "From: " + mailbox(fromName, from));
    std::vector<std::string> to;
    addRecipients(to, mail.to);
    append(headers, addressList("To", to));
    if (!mail.cc.empty()) {
      std::vector<std::string> cc;
      addRecipients(cc, mail.cc);
      if (!cc.empty()) append(headers, addressList("Cc", cc));
    }
    // Bcc recipients are on the envelope only: no Bcc header, so nobody sees the archive.
    if (!messageId.empty()) append(headers, "Message-ID: " + messageId);
    append(headers, "Subject: " + unstructured(mail.subject));
    append(headers, "MIME-Version: 1.0");
    for (const std::string& r : recipients) append(rcpt, "<" + r + ">");

    mime.reset(curl_mime_init(c));
    KJ_ASSERT(mime != nullptr, "curl_mime_init failed");
    {
      curl_mimepart* text = curl_mime_addpart(mime.get());
      KJ_ASSERT(text != nullptr);
      checkCurl(curl_mime_data(text, body.data(), body.size()), "text data");
      checkCurl(curl_mime_type(text, "text/plain; charset=utf-8"), "text type");
      checkCurl(curl_mime_encoder(text, "quoted-printable"), "text encoder");
    }
    for (const MailAttachment& attachment : mail.attachments) {
      curl_mimepart* part = curl_mime_addpart(mime.get());
      KJ_ASSERT(part != nullptr);
      checkCurl(curl_mime_data(part, attachment.content.data(), attachment.content.size()),
            "attachment data");
      std::string filename = headerSafe(attachment.filename);
      if (isAscii(filename)) {
        checkCurl(curl_mime_filename(part, filename.c_str()), "attachment filename");
      } else {
        // curl would send the raw UTF-8 bytes; RFC 2231 is what mail readers decode.
        SlistPtr partHeaders;
        append(partHeaders, "Content-Disposition: attachment; filename*=" + rfc2231(filename));
        checkCurl(curl_mime_headers(part, partHeaders.release(), 1), "attachment headers");
      }
      checkCurl(curl_mime_type(part, headerSafe(attachment.contentType).c_str()), "attachment type");
      checkCurl(curl_mime_encoder(part, "base64"), "attachment encoder");
    }

    char error[CURL_ERROR_SIZE] = {};
    checkCurl(curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error), "ERRORBUFFER");
    checkCurl(curl_easy_setopt(c, CURLOPT_URL, url.c_str()), "URL");
    if (smtp.security == "starttls") {
      // STARTTLS or nothing: a server that does not offer it (or a man in the middle removing
      // it) fails the send; AUTH and the message never go out in clear.
      checkCurl(curl_easy_setopt(c, CURLOPT_USE_SSL, long(CURLUSESSL_ALL)), "USE_SSL");
    }
    // libcurl's defaults, stated: the certificate must chain to a trusted CA and name the host.
    checkCurl(curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L), "SSL_VERIFYPEER");
    checkCurl(curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L), "SSL_VERIFYHOST");
    if (!smtp.caFile.empty()) {
      // Only this file: no CA directory next to it, so the system's CAs are not trusted too.
      checkCurl(curl_easy_setopt(c, CURLOPT_CAINFO, smtp.caFile.c_str()), "CAINFO");
      checkCurl(curl_easy_setopt(c, CURLOPT_CAPATH, nullptr), "CAPATH");
    }
    if (!smtp.user.empty()) {
      checkCurl(curl_easy_setopt(c, CURLOPT_USERNAME, smtp.user.c_str()), "USERNAME");
      checkCurl(curl_easy_setopt(c, CURLOPT_PASSWORD, password.c_str()), "PASSWORD");
    }
    checkCurl(curl_easy_setopt(c, CURLOPT_MAIL_FROM, ("<" + from + ">").c_str()), "MAIL_FROM");
    checkCurl(curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get()), "MAIL_RCPT");
    checkCurl(curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get()), "HTTPHEADER");
    checkCurl(curl_easy_setopt(c, CURLOPT_MIMEPOST, mime.get()), "MIMEPOST");
    long timeoutMs = std::max(smtp.timeoutMs, 1);
    checkCurl(curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                               std::min(CONNECT_TIMEOUT_MS, timeoutMs)),
              "CONNECTTIMEOUT_MS");
    checkCurl(curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeoutMs), "TIMEOUT_MS");
    // CURLOPT_TIMEOUT does not cover closing the connection. After a timeout at the end of DATA
    // libcurl (7.88) keeps the connection, and curl_easy_cleanup then sends QUIT and waits for
    // its answer up to the server response timeout, 120 s: a server that stalled on DATA held
    // the Sender two minutes past timeout_ms. So the connection is closed at the end of the
    // transfer, on this handle, where the progress callback runs while libcurl waits for the
    // QUIT's answer (about once a second) and ends that wait at the deadline.
    checkCurl(curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L), "FORBID_REUSE");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    curl_xferinfo_callback pastDeadline = [](void* deadline, curl_off_t, curl_off_t, curl_off_t,
                                             curl_off_t) -> int {
      return std::chrono::steady_clock::now() >
             *static_cast<std::chrono::steady_clock::time_point*>(deadline);
    };
    checkCurl(curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, pastDeadline), "XFERINFOFUNCTION");
    checkCurl(curl_easy_setopt(c, CURLOPT_XFERINFODATA, &deadline), "XFERINFODATA");
    checkCurl(curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L), "NOPROGRESS");
    // Worker threads: no SIGALRM-based DNS timeouts.
    checkCurl(curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L), "NOSIGNAL");

    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK) code = 0;
    result.code = code;
    if (rc == CURLE_OK) {
      result.ok = true;
      result.detail = fmt::format("smtp {}: accepted for {} recipient(s)", code, recipients.size());
    } else {
      result.permanent = code >= 500 && code <= 599;
      std::string why = error[0] != '\0' ? std::string(error) : curl_easy_strerror(rc);
      if (rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_ABORTED_BY_CALLBACK) {
        why = fmt::format("gave up after {} ms (timeout_ms): {}", timeoutMs, why);
      }
      result.detail =
          fmt::format("smtp {}: {} ({})", code, headerSafe(why), curl_easy_strerror(rc));
    }
  } catch (const InvalidMail& invalid) {
    // Nothing was sent; the same mail would fail the same way next time.
    result.ok = false;
    result.permanent = true;
    result.code = 0;
    result.detail = "not sent: " + invalid.why;
  }
  scrub(result.detail, password);
  return result;
}

}  // namespace rdz
