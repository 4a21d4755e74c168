#include "daemon/domain/time.h"

#include <date/date.h>
#include <date/tz.h>

#include <cstdio>

namespace rdz {

namespace {

using std::chrono::microseconds;
using std::chrono::seconds;

// Looked up once: the zone database is read from /usr/share/zoneinfo (USE_OS_TZDB) and the
// pointer stays valid for the life of the process. Function-local static: thread-safe init.
const date::time_zone* paris() {
  static const date::time_zone* zone = date::locate_zone("Europe/Paris");
  return zone;
}

// A small cursor over the text; every reader returns false without consuming on mismatch
// of the whole token, so the caller can simply fail.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool atEnd() const { return pos_ == text_.size(); }
  char peek() const { return atEnd() ? '\0' : text_[pos_]; }
  void skip() { ++pos_; }

  bool eat(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }

  // Exactly `count` ASCII digits.
  bool digits(size_t count, int& out) {
    if (text_.size() - pos_ < count) return false;
    int value = 0;
    for (size_t i = 0; i < count; ++i) {
      char c = text_[pos_ + i];
      if (c < '0' || c > '9') return false;
      value = value * 10 + (c - '0');
    }
    pos_ += count;
    out = value;
    return true;
  }

  static bool isDigit(char c) { return c >= '0' && c <= '9'; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

std::string_view trimAscii(std::string_view text) {
  auto isSpace = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && isSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && isSpace(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string formatIso(Timestamp t) {
  auto info = paris()->get_info(std::chrono::floor<seconds>(t));
  // Local wall time = UTC + the offset in force at that instant.
  auto local = date::local_time<microseconds>(t.time_since_epoch() + info.offset);
  auto day = std::chrono::floor<date::days>(local);
  date::year_month_day ymd(day);
  date::hh_mm_ss<microseconds> hms(local - day);

  char buffer[64];
  int n = std::snprintf(buffer, sizeof(buffer), "%04d-%02u-%02uT%02d:%02d:%02d",
                        static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                        static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                        static_cast<int>(hms.minutes().count()),
                        static_cast<int>(hms.seconds().count()));
  std::string result(buffer, static_cast<size_t>(n));

  auto fraction = hms.subseconds().count();
  if (fraction != 0) {
    n = std::snprintf(buffer, sizeof(buffer), ".%06lld", static_cast<long long>(fraction));
    result.append(buffer, static_cast<size_t>(n));
  }

  auto offsetMinutes = std::chrono::duration_cast<std::chrono::minutes>(info.offset).count();
  char sign = offsetMinutes < 0 ? '-' : '+';
  if (offsetMinutes < 0) offsetMinutes = -offsetMinutes;
  n = std::snprintf(buffer, sizeof(buffer), "%c%02lld:%02lld", sign,
                    static_cast<long long>(offsetMinutes / 60),
                    static_cast<long long>(offsetMinutes % 60));
  result.append(buffer, static_cast<size_t>(n));
  return result;
}

std::optional<Timestamp> parseIso(std::string_view text) {
  Cursor in(trimAscii(text));

  int year, month, day;
  if (!in.digits(4, year) || !in.eat('-') || !in.digits(2, month) || !in.eat('-') ||
      !in.digits(2, day)) {
    return std::nullopt;
  }
  date::year_month_day ymd{date::year(year), date::month(static_cast<unsigned>(month)),
                           date::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;

  int hour = 0, minute = 0, second = 0;
  microseconds fraction{0};
  bool hasOffset = false;
  std::chrono::minutes offset{0};

  if (!in.atEnd()) {
    // A bare date is local midnight; anything after it must be a full time of day.
    if (!(in.eat('T') || in.eat('t') || in.eat(' '))) return std::nullopt;
    if (!in.digits(2, hour) || !in.eat(':') || !in.digits(2, minute)) return std::nullopt;
    if (in.eat(':')) {
      if (!in.digits(2, second)) return std::nullopt;
      if (in.eat('.') || in.eat(',')) {
        if (!Cursor::isDigit(in.peek())) return std::nullopt;
        // Digits beyond the microsecond are accepted and dropped (truncation, never rounding
        // into the next second).
        int64_t us = 0;
        int used = 0;
        while (Cursor::isDigit(in.peek())) {
          if (used < 6) {
            us = us * 10 + (in.peek() - '0');
            ++used;
          }
          in.skip();
        }
        for (; used < 6; ++used) us *= 10;
        fraction = microseconds(us);
      }
    }
    if (hour > 23 || minute > 59 || second > 59) return std::nullopt;

    if (in.eat('Z') || in.eat('z')) {
      hasOffset = true;
    } else if (in.peek() == '+' || in.peek() == '-') {
      bool negative = in.peek() == '-';
      in.skip();
      int offsetHours, offsetMinutes;
      if (!in.digits(2, offsetHours)) return std::nullopt;
      in.eat(':');  // "+02:00" and "+0200" are both ISO 8601.
      if (!in.digits(2, offsetMinutes)) return std::nullopt;
      if (offsetHours > 23 || offsetMinutes > 59) return std::nullopt;
      offset = std::chrono::hours(offsetHours) + std::chrono::minutes(offsetMinutes);
      if (negative) offset = -offset;
      hasOffset = true;
    }
    if (!in.atEnd()) return std::nullopt;
  }

  auto timeOfDay =
      std::chrono::hours(hour) + std::chrono::minutes(minute) + seconds(second) + fraction;
  if (hasOffset) {
    return Timestamp(date::sys_days(ymd).time_since_epoch() + timeOfDay - offset);
  }
  // Local Paris time. In the autumn hour that happens twice the earlier instant is chosen; in
  // the spring gap (a time that never existed) date/tz gives the instant of the change.
  auto local = date::local_days(ymd) + timeOfDay;
  return Timestamp(paris()->to_sys(local, date::choose::earliest));
}

}  // namespace rdz
