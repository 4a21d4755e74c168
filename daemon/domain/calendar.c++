#include "daemon/domain/calendar.h"

#include <date/date.h>
#include <date/iso_week.h>
#include <date/tz.h>

#include <cstdio>

#include "daemon/domain/commerce.h"

namespace rdz {

namespace {

using std::chrono::microseconds;
using std::chrono::seconds;

// Looked up once (function-local static: thread-safe init); the zone stays valid for the life
// of the process.
const date::time_zone* paris() {
  static const date::time_zone* zone = date::locate_zone("Europe/Paris");
  return zone;
}

bool digitsAt(std::string_view text, size_t pos, size_t count, unsigned& out) {
  if (pos + count > text.size()) return false;
  unsigned value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    char c = text[i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  out = value;
  return true;
}

// Strict "AAAA-MM-JJ" naming a real calendar day (no 2026-02-30).
std::optional<date::year_month_day> parseDate(std::string_view text) {
  unsigned y, m, d;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !digitsAt(text, 0, 4, y) ||
      !digitsAt(text, 5, 2, m) || !digitsAt(text, 8, 2, d)) {
    return std::nullopt;
  }
  date::year_month_day ymd{date::year(static_cast<int>(y)), date::month(m), date::day(d)};
  if (!ymd.ok()) return std::nullopt;
  return ymd;
}

// Paris wall time -> instant. date/tz's choose::earliest gives the earlier instant of an
// ambiguous (autumn) time and the instant of the change for a nonexistent (spring) one.
Timestamp fromParis(date::local_time<microseconds> local) {
  return Timestamp(paris()->to_sys(local, date::choose::earliest));
}

}  // namespace

std::optional<Timestamp> referenceTime(std::string_view date, std::string_view hhmm) {
  auto ymd = parseDate(date);
  if (!ymd) return std::nullopt;
  unsigned hour, minute;
  if (hhmm.size() != 5 || hhmm[2] != ':' || !digitsAt(hhmm, 0, 2, hour) ||
      !digitsAt(hhmm, 3, 2, minute) || hour > 23 || minute > 59) {
    return std::nullopt;
  }
  auto local = date::local_days(*ymd) + std::chrono::hours(hour) + std::chrono::minutes(minute);
  return fromParis(date::local_time<microseconds>(local));
}

std::string parisDate(Timestamp t) {
  auto info = paris()->get_info(std::chrono::floor<seconds>(t));
  auto local = date::local_time<microseconds>(t.time_since_epoch() + info.offset);
  date::year_month_day ymd(std::chrono::floor<date::days>(local));
  char buffer[16];
  int n = std::snprintf(buffer, sizeof(buffer), "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return std::string(buffer, static_cast<size_t>(n));
}

std::string isoWeekOf(std::string_view date) {
  auto ymd = parseDate(date);
  if (!ymd) return "";
  iso_week::year_weeknum_weekday week{date::sys_days(*ymd)};
  char buffer[16];
  int n = std::snprintf(buffer, sizeof(buffer), "%04d-W%02u", static_cast<int>(week.year()),
                        static_cast<unsigned>(week.weeknum()));
  return std::string(buffer, static_cast<size_t>(n));
}

std::string addDays(std::string_view date, int days) {
  auto ymd = parseDate(date);
  if (!ymd) return "";
  date::year_month_day next{date::sys_days(*ymd) + date::days(days)};
  char buffer[16];
  int n = std::snprintf(buffer, sizeof(buffer), "%04d-%02u-%02u", static_cast<int>(next.year()),
                        static_cast<unsigned>(next.month()), static_cast<unsigned>(next.day()));
  return std::string(buffer, static_cast<size_t>(n));
}

std::string weekdayOf(std::string_view date) {
  auto ymd = parseDate(date);
  if (!ymd) return "";
  // ISO encoding: Monday = 1 … Sunday = 7, the order of JOURS.
  unsigned iso = date::weekday(date::sys_days(*ymd)).iso_encoding();
  return std::string(JOURS[iso - 1]);
}

}  // namespace rdz
