// Time formatting and parsing (ISO 8601), on Howard Hinnant's date/tz.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "daemon/domain/types.h"

namespace rdz {

// "2026-03-29T09:30:00+02:00": the time in Europe/Paris with its offset, whole seconds unless
// the time has a fraction (then microseconds).
std::string formatIso(Timestamp t);

// Accepts ISO 8601 with an offset ("…Z", "…+02:00", "…+0200"), with optional fractional
// seconds, 'T' or ' ' between date and time. A time without an offset is read as Europe/Paris
// local time. nullopt when it is not such a time.
std::optional<Timestamp> parseIso(std::string_view text);

}  // namespace rdz
