// ISO 8601 in Europe/Paris (time.h), including both daylight-saving changes of 2026:
// spring forward on Sunday 29 March (02:00 -> 03:00), fall back on Sunday 25 October
// (03:00 -> 02:00).
#include "daemon/domain/time.h"

#include <date/date.h>
#include <gtest/gtest.h>

namespace rdz {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::minutes;
using std::chrono::seconds;

Timestamp utc(int y, unsigned m, unsigned d, int h = 0, int mi = 0, int s = 0, int64_t us = 0) {
  return Timestamp(
      date::sys_days(date::year(y) / date::month(m) / date::day(d)).time_since_epoch() + hours(h) +
      minutes(mi) + seconds(s) + microseconds(us));
}

TEST(FormatIso, WinterAndSummerOffsets) {
  EXPECT_EQ(formatIso(utc(2026, 1, 15, 8, 30)), "2026-01-15T09:30:00+01:00");
  EXPECT_EQ(formatIso(utc(2026, 7, 1, 7, 30)), "2026-07-01T09:30:00+02:00");
  EXPECT_EQ(formatIso(utc(1970, 1, 1)), "1970-01-01T01:00:00+01:00");
}

TEST(FormatIso, DateChangesWithTheOffset) {
  EXPECT_EQ(formatIso(utc(2026, 12, 31, 23, 30)), "2027-01-01T00:30:00+01:00");
  EXPECT_EQ(formatIso(utc(2026, 6, 30, 22, 0)), "2026-07-01T00:00:00+02:00");
  EXPECT_EQ(formatIso(utc(2028, 2, 28, 23, 0)), "2028-02-29T00:00:00+01:00");  // leap day
}

TEST(FormatIso, SpringForward) {
  EXPECT_EQ(formatIso(utc(2026, 3, 29, 0, 59, 59)), "2026-03-29T01:59:59+01:00");
  EXPECT_EQ(formatIso(utc(2026, 3, 29, 1, 0, 0)), "2026-03-29T03:00:00+02:00");
  // The daily run of that day is 09:30 local, which is 07:30 UTC (not 08:30).
  EXPECT_EQ(formatIso(utc(2026, 3, 29, 7, 30)), "2026-03-29T09:30:00+02:00");
  EXPECT_EQ(formatIso(utc(2026, 3, 28, 8, 30)), "2026-03-28T09:30:00+01:00");
}

TEST(FormatIso, FallBack) {
  // 02:30 happens twice on 25 October 2026; the offset tells them apart.
  EXPECT_EQ(formatIso(utc(2026, 10, 25, 0, 30)), "2026-10-25T02:30:00+02:00");
  EXPECT_EQ(formatIso(utc(2026, 10, 25, 1, 30)), "2026-10-25T02:30:00+01:00");
  EXPECT_EQ(formatIso(utc(2026, 10, 25, 8, 30)), "2026-10-25T09:30:00+01:00");
  EXPECT_EQ(formatIso(utc(2026, 10, 24, 7, 30)), "2026-10-24T09:30:00+02:00");
}

TEST(FormatIso, FractionOnlyWhenPresent) {
  EXPECT_EQ(formatIso(utc(2026, 1, 15, 8, 30, 0, 123)), "2026-01-15T09:30:00.000123+01:00");
  EXPECT_EQ(formatIso(utc(2026, 1, 15, 8, 30, 5, 500000)), "2026-01-15T09:30:05.500000+01:00");
  EXPECT_EQ(formatIso(utc(2026, 1, 15, 8, 30, 5, 999999)), "2026-01-15T09:30:05.999999+01:00");
  EXPECT_EQ(formatIso(utc(2026, 1, 15, 8, 30, 5, 0)), "2026-01-15T09:30:05+01:00");
}

TEST(FormatIso, BeforeTheEpoch) {
  EXPECT_EQ(formatIso(utc(1969, 12, 31, 22, 59, 59, 250000)), "1969-12-31T23:59:59.250000+01:00");
}

TEST(ParseIso, Offsets) {
  Timestamp expected = utc(2026, 3, 29, 7, 30);
  EXPECT_EQ(parseIso("2026-03-29T09:30:00+02:00"), expected);
  EXPECT_EQ(parseIso("2026-03-29T09:30:00+0200"), expected);
  EXPECT_EQ(parseIso("2026-03-29T07:30:00Z"), expected);
  EXPECT_EQ(parseIso("2026-03-29T07:30:00z"), expected);
  EXPECT_EQ(parseIso("2026-03-29T07:30:00+00:00"), expected);
  EXPECT_EQ(parseIso("2026-03-29T02:30:00-05:00"), expected);
  EXPECT_EQ(parseIso("2026-03-29T02:30:00-0500"), expected);
  EXPECT_EQ(parseIso("2026-03-29T13:00:00+05:30"), expected);
  EXPECT_EQ(parseIso("2026-03-29 09:30:00+02:00"), expected);
  EXPECT_EQ(parseIso("2026-03-29t07:30:00Z"), expected);
  EXPECT_EQ(parseIso("2026-03-29T09:30+02:00"), expected);  // seconds are optional
  EXPECT_EQ(parseIso("  2026-03-29T07:30:00Z \n"), expected);
}

TEST(ParseIso, Fractions) {
  EXPECT_EQ(parseIso("2026-01-15T08:30:00.5Z"), utc(2026, 1, 15, 8, 30, 0, 500000));
  EXPECT_EQ(parseIso("2026-01-15T08:30:00.000123Z"), utc(2026, 1, 15, 8, 30, 0, 123));
  EXPECT_EQ(parseIso("2026-01-15T08:30:00,25Z"), utc(2026, 1, 15, 8, 30, 0, 250000));
  // Beyond the microsecond: truncated, never rounded up into the next second.
  EXPECT_EQ(parseIso("2026-01-15T08:30:00.9999999Z"), utc(2026, 1, 15, 8, 30, 0, 999999));
  EXPECT_EQ(parseIso("2026-01-15T09:30:00.123456+01:00"), utc(2026, 1, 15, 8, 30, 0, 123456));
}

TEST(ParseIso, LocalTimeIsParis) {
  EXPECT_EQ(parseIso("2026-01-15T09:30:00"), utc(2026, 1, 15, 8, 30));
  EXPECT_EQ(parseIso("2026-07-01T09:30:00"), utc(2026, 7, 1, 7, 30));
  EXPECT_EQ(parseIso("2026-03-28T09:30:00"), utc(2026, 3, 28, 8, 30));
  EXPECT_EQ(parseIso("2026-03-29T09:30:00"), utc(2026, 3, 29, 7, 30));
  EXPECT_EQ(parseIso("2026-10-24 09:30"), utc(2026, 10, 24, 7, 30));
  EXPECT_EQ(parseIso("2026-10-25 09:30"), utc(2026, 10, 25, 8, 30));
}

TEST(ParseIso, AmbiguousLocalTimeIsTheEarlierInstant) {
  EXPECT_EQ(parseIso("2026-10-25T02:30:00"), utc(2026, 10, 25, 0, 30));
  // With an offset there is no ambiguity.
  EXPECT_EQ(parseIso("2026-10-25T02:30:00+01:00"), utc(2026, 10, 25, 1, 30));
}

TEST(ParseIso, NonexistentLocalTimeIsTheChange) {
  // 02:30 never happened on 29 March 2026: the clocks went from 02:00 (+01:00) to 03:00.
  EXPECT_EQ(parseIso("2026-03-29T02:30:00"), utc(2026, 3, 29, 1, 0));
  EXPECT_EQ(parseIso("2026-03-29T01:59:59"), utc(2026, 3, 29, 0, 59, 59));
  EXPECT_EQ(parseIso("2026-03-29T03:00:00"), utc(2026, 3, 29, 1, 0));
}

TEST(ParseIso, BareDateIsLocalMidnight) {
  EXPECT_EQ(parseIso("2026-03-29"), utc(2026, 3, 28, 23, 0));
  EXPECT_EQ(parseIso("2026-03-30"), utc(2026, 3, 29, 22, 0));
  EXPECT_EQ(parseIso("2026-07-01"), utc(2026, 6, 30, 22, 0));
  EXPECT_EQ(parseIso("2028-02-29"), utc(2028, 2, 28, 23, 0));
}

TEST(ParseIso, Garbage) {
  for (const char* text : {"",
                           " ",
                           "hello",
                           "2026",
                           "2026-03",
                           "2026-3-29",
                           "26-03-29",
                           "29/03/2026",
                           "2026-13-01",
                           "2026-00-10",
                           "2026-02-30",
                           "2027-02-29",
                           "2026-03-32",
                           "2026-03-29T",
                           "2026-03-29T9:30",
                           "2026-03-29T09",
                           "2026-03-29T09:3",
                           "2026-03-29T24:00:00",
                           "2026-03-29T09:60:00",
                           "2026-03-29T09:30:60",
                           "2026-03-29T09:30:00.",
                           "2026-03-29T09:30:00.Z",
                           "2026-03-29T09:30:00+2",
                           "2026-03-29T09:30:00+02:",
                           "2026-03-29T09:30:00+02:0",
                           "2026-03-29T09:30:00+24:00",
                           "2026-03-29T09:30:00+02:60",
                           "2026-03-29T09:30:00 Z",
                           "2026-03-29T09:30:00Zjunk",
                           "2026-03-29X09:30:00",
                           "2026-03-29T09:30:00+02:00:00",
                           "+2026-03-29",
                           "2026-03-29Z",
                           "２０２６-03-29"}) {
    EXPECT_EQ(parseIso(text), std::nullopt) << text;
  }
}

TEST(Iso, RoundTrip) {
  for (Timestamp t :
       {utc(2026, 3, 29, 0, 59, 59, 999999), utc(2026, 3, 29, 1, 0), utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 1, 30, 0, 1), utc(2026, 1, 1), utc(2000, 2, 29, 12),
        utc(2099, 12, 31, 23, 59, 59), utc(1969, 7, 20, 20, 17, 40)}) {
    std::string text = formatIso(t);
    EXPECT_EQ(parseIso(text), t) << text;
  }
}

}  // namespace
}  // namespace rdz
