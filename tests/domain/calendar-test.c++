// Calendar rules of the daily run (calendar.h) in Europe/Paris, around both daylight-saving
// changes of 2026: spring forward on Sunday 29 March (02:00 -> 03:00), fall back on Sunday
// 25 October (03:00 -> 02:00).
#include "daemon/domain/calendar.h"

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

TEST(ReferenceTime, WinterAndSummer) {
  EXPECT_EQ(referenceTime("2026-01-15", "09:30"), utc(2026, 1, 15, 8, 30));
  EXPECT_EQ(referenceTime("2026-07-01", "09:30"), utc(2026, 7, 1, 7, 30));
  EXPECT_EQ(referenceTime("2026-11-25", "00:00"), utc(2026, 11, 24, 23, 0));
  EXPECT_EQ(referenceTime("2026-11-25", "23:59"), utc(2026, 11, 25, 22, 59));
}

TEST(ReferenceTime, AroundSpringForward) {
  EXPECT_EQ(referenceTime("2026-03-28", "09:30"), utc(2026, 3, 28, 8, 30));
  // The day of the change is already summer time at 09:30.
  EXPECT_EQ(referenceTime("2026-03-29", "09:30"), utc(2026, 3, 29, 7, 30));
  EXPECT_EQ(referenceTime("2026-03-29", "01:59"), utc(2026, 3, 29, 0, 59));
  // 02:30 never happened that day: the instant of the change.
  EXPECT_EQ(referenceTime("2026-03-29", "02:30"), utc(2026, 3, 29, 1, 0));
  EXPECT_EQ(referenceTime("2026-03-29", "02:00"), utc(2026, 3, 29, 1, 0));
  EXPECT_EQ(referenceTime("2026-03-29", "03:00"), utc(2026, 3, 29, 1, 0));
}

TEST(ReferenceTime, AroundFallBack) {
  EXPECT_EQ(referenceTime("2026-10-24", "09:30"), utc(2026, 10, 24, 7, 30));
  EXPECT_EQ(referenceTime("2026-10-25", "09:30"), utc(2026, 10, 25, 8, 30));
  // 02:30 happened twice that day: the earlier one (still summer time).
  EXPECT_EQ(referenceTime("2026-10-25", "02:30"), utc(2026, 10, 25, 0, 30));
  EXPECT_EQ(referenceTime("2026-10-25", "03:00"), utc(2026, 10, 25, 2, 0));
}

TEST(ReferenceTime, Malformed) {
  EXPECT_EQ(referenceTime("2026-02-30", "09:30"), std::nullopt);
  EXPECT_EQ(referenceTime("2026-13-01", "09:30"), std::nullopt);
  EXPECT_EQ(referenceTime("2026-3-01", "09:30"), std::nullopt);
  EXPECT_EQ(referenceTime("26-03-01", "09:30"), std::nullopt);
  EXPECT_EQ(referenceTime("2026-03-01x", "09:30"), std::nullopt);
  EXPECT_EQ(referenceTime("", "09:30"), std::nullopt);
  EXPECT_EQ(referenceTime("2026-03-01", "9:30"), std::nullopt);
  EXPECT_EQ(referenceTime("2026-03-01", "24:00"), std::nullopt);
  EXPECT_EQ(referenceTime("2026-03-01", "09:60"), std::nullopt);
  EXPECT_EQ(referenceTime("2026-03-01", "09h30"), std::nullopt);
  EXPECT_EQ(referenceTime("2026-03-01", ""), std::nullopt);
  EXPECT_NE(referenceTime("2028-02-29", "09:30"), std::nullopt);  // leap day
  EXPECT_EQ(referenceTime("2027-02-29", "09:30"), std::nullopt);
}

TEST(ParisDate, DateChangesAtParisMidnight) {
  EXPECT_EQ(parisDate(utc(2026, 3, 28, 22, 59, 59, 999999)), "2026-03-28");
  EXPECT_EQ(parisDate(utc(2026, 3, 28, 23, 0)), "2026-03-29");
  EXPECT_EQ(parisDate(utc(2026, 3, 28, 23, 30)), "2026-03-29");
  EXPECT_EQ(parisDate(utc(2026, 7, 1, 21, 59, 59)), "2026-07-01");
  EXPECT_EQ(parisDate(utc(2026, 7, 1, 22, 0)), "2026-07-02");
  EXPECT_EQ(parisDate(utc(2026, 12, 31, 23, 0)), "2027-01-01");
  EXPECT_EQ(parisDate(utc(2026, 10, 25, 22, 59)), "2026-10-25");
  EXPECT_EQ(parisDate(utc(2026, 10, 25, 23, 0)), "2026-10-26");
}

TEST(ParisDate, RoundTripsWithReferenceTime) {
  for (const char* d : {"2026-03-28", "2026-03-29", "2026-10-25", "2026-12-31", "2028-02-29"}) {
    for (const char* hm : {"00:00", "09:30", "23:59"}) {
      auto t = referenceTime(d, hm);
      ASSERT_TRUE(t) << d << " " << hm;
      EXPECT_EQ(parisDate(*t), d) << hm;
    }
  }
}

TEST(IsoWeekOf, Examples) {
  EXPECT_EQ(isoWeekOf("2026-11-25"), "2026-W48");
  EXPECT_EQ(isoWeekOf("2027-01-01"), "2026-W53");
  EXPECT_EQ(isoWeekOf("2027-01-03"), "2026-W53");
  EXPECT_EQ(isoWeekOf("2027-01-04"), "2027-W01");
  EXPECT_EQ(isoWeekOf("2024-12-30"), "2025-W01");
  EXPECT_EQ(isoWeekOf("2024-12-29"), "2024-W52");
  EXPECT_EQ(isoWeekOf("2026-01-05"), "2026-W02");
}

TEST(IsoWeekOf, DstWeeks) {
  // The week of the spring change runs Monday 23 to Sunday 29 March.
  EXPECT_EQ(isoWeekOf("2026-03-23"), "2026-W13");
  EXPECT_EQ(isoWeekOf("2026-03-29"), "2026-W13");
  EXPECT_EQ(isoWeekOf("2026-03-30"), "2026-W14");
  EXPECT_EQ(isoWeekOf("2026-10-25"), "2026-W43");
  EXPECT_EQ(isoWeekOf("2026-10-26"), "2026-W44");
}

TEST(IsoWeekOf, Malformed) {
  EXPECT_EQ(isoWeekOf("2026-11-31"), "");
  EXPECT_EQ(isoWeekOf("2026/11/25"), "");
  EXPECT_EQ(isoWeekOf(""), "");
}

TEST(WeekdayOf, EveryDay) {
  EXPECT_EQ(weekdayOf("2026-11-23"), "lun");
  EXPECT_EQ(weekdayOf("2026-11-24"), "mar");
  EXPECT_EQ(weekdayOf("2026-11-25"), "mer");
  EXPECT_EQ(weekdayOf("2026-11-26"), "jeu");
  EXPECT_EQ(weekdayOf("2026-11-27"), "ven");
  EXPECT_EQ(weekdayOf("2026-11-28"), "sam");
  EXPECT_EQ(weekdayOf("2026-11-29"), "dim");
  EXPECT_EQ(weekdayOf("2028-02-29"), "mar");
  EXPECT_EQ(weekdayOf("2026-02-29"), "");
  EXPECT_EQ(weekdayOf("lundi"), "");
}

}  // namespace
}  // namespace rdz
