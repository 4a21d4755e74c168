// Calendar rules of the daily run (SPEC §4–5), in Europe/Paris with DST. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "daemon/domain/types.h"

namespace rdz {

// Run date -> reference time T: `date` ("AAAA-MM-JJ") at `hhmm` ("09:30") Europe/Paris local
// time, DST-correct (a local time that does not exist that day maps to the instant of the
// change; an ambiguous one to the earlier instant). nullopt on a malformed date or time.
std::optional<Timestamp> referenceTime(std::string_view date, std::string_view hhmm);

// The calendar date ("AAAA-MM-JJ") in Europe/Paris of a time.
std::string parisDate(Timestamp t);

// ISO week of a calendar date, "2026-W48" (ISO 8601 week-numbering year). "" if malformed.
std::string isoWeekOf(std::string_view date);

// The calendar date `days` days after `date` (before it when negative). "" if malformed.
std::string addDays(std::string_view date, int days);

// Weekday of a calendar date as the commande `jours` word: lun mar mer jeu ven sam dim.
// "" if malformed.
std::string weekdayOf(std::string_view date);

}  // namespace rdz
