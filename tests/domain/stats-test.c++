// Which counters a change moves (SPEC §7.3), and on which Paris day.
#include "daemon/domain/stats.h"

#include <gtest/gtest.h>

#include "daemon/domain/after-delivery.h"
#include "daemon/domain/calendar.h"
#include "daemon/domain/time.h"

namespace rdz {
namespace {

Timestamp at(const char* iso) { return *parseIso(iso); }

Lead leadAt(const char* recuLe, std::vector<std::string> problemes = {}) {
  Lead lead;
  lead.id = "L";
  lead.entity = Entity::MDL;
  lead.recuLe = at(recuLe);
  lead.problemes = std::move(problemes);
  return lead;
}

Delivery delivery(Entity lead, Entity receiving, PassKind pass, std::string run) {
  Delivery d;
  d.id = "D";
  d.leadEntity = lead;
  d.entity = receiving;
  d.lead = "L";
  d.commande = "C000001";
  d.client = "acme";
  d.run = std::move(run);
  d.pass = pass;
  return d;
}

TEST(StatsRules, AReceptionCountsOnItsParisDay) {
  // Summer (UTC+2): 23:30 UTC is 01:30 the next day; 21:59 UTC still the same day.
  auto late = statsOfReception(leadAt("2026-07-14T23:30:00Z"));
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].entity, Entity::MDL);
  EXPECT_EQ(late[0].date, "2026-07-15");
  EXPECT_EQ(late[0].delta.recus, 1);
  EXPECT_TRUE(late[0].produit.empty() && late[0].client.empty());
  EXPECT_EQ(statsOfReception(leadAt("2026-07-14T21:59:00Z"))[0].date, "2026-07-14");
  EXPECT_EQ(statsOfReception(leadAt("2026-07-14T22:00:00Z"))[0].date, "2026-07-15");
  // Winter (UTC+1): 22:59 UTC is the same day, 23:00 the next.
  EXPECT_EQ(statsOfReception(leadAt("2026-01-14T22:59:00Z"))[0].date, "2026-01-14");
  EXPECT_EQ(statsOfReception(leadAt("2026-01-14T23:00:00Z"))[0].date, "2026-01-15");
  // Autumn change (25 October 2026, 01:00 UTC): 22:30 UTC on the 25th is 23:30 Paris.
  EXPECT_EQ(statsOfReception(leadAt("2026-10-25T22:30:00Z"))[0].date, "2026-10-25");
}

TEST(StatsRules, InvalidesCountBlockingProblemsOnly) {
  auto change = statsOfReception(leadAt(
      "2026-07-14T10:00:00Z",
      {"telephone.invalid", "email.invalid", "code_postal.missing", "telephone.invalid"}))[0];
  EXPECT_EQ(change.delta.recus, 1);
  EXPECT_EQ(change.delta.invalides,
            (std::map<std::string, int64_t>{{"code_postal.missing", 1}, {"telephone.invalid", 1}}));
  EXPECT_TRUE(statsOfReception(leadAt("2026-07-14T10:00:00Z", {"email.invalid"}))[0]
                  .delta.invalides.empty());
  EXPECT_EQ(statsOfReception(leadAt("2026-07-14T10:00:00Z", {"doublon.soumission"}))[0]
                .delta.invalides.at("doublon.soumission"),
            1);
}

TEST(StatsRules, ADeliveryCountsForTheReceivingEntityOnTheRunDate) {
  auto own =
      statsOfDelivery(delivery(Entity::ZR7, Entity::ZR7, PassKind::FRESH, "2026-07-15"), "PV");
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[0].entity, Entity::ZR7);
  EXPECT_EQ(own[0].date, "2026-07-15");
  EXPECT_EQ(own[0].produit, "PV");
  EXPECT_EQ(own[0].client, "acme");
  DayCounters fresh;
  fresh.livresFresh = 1;
  EXPECT_EQ(own[0].delta, fresh);

  // A one-entity run's id carries the entity: the date is its first 10 characters.
  auto lb =
      statsOfDelivery(delivery(Entity::MDL, Entity::MDL, PassKind::LB, "2026-07-15/mdl"), "PAC");
  EXPECT_EQ(lb[0].date, "2026-07-15");
  EXPECT_EQ(lb[0].delta.livresLb, 1);
  EXPECT_EQ(lb[0].delta.livresFresh, 0);

  // Fallback: delivered and entrant for the receiver, sortant for the lead's owner.
  auto crossed = statsOfDelivery(
      delivery(Entity::MDL, Entity::ZR7, PassKind::LB_FALLBACK, "2026-07-15"), "PV", -1);
  ASSERT_EQ(crossed.size(), 2u);
  EXPECT_EQ(crossed[0].entity, Entity::ZR7);
  EXPECT_EQ(crossed[0].delta.livresLb, -1);
  EXPECT_EQ(crossed[0].delta.fallbackEntrants, -1);
  EXPECT_EQ(crossed[1].entity, Entity::MDL);
  EXPECT_EQ(crossed[1].client, "acme");
  DayCounters out;
  out.fallbackSortants = -1;
  EXPECT_EQ(crossed[1].delta, out);
}

TEST(StatsRules, RejectionsAndErasuresCountOnTheirOwnDay) {
  Delivery d = delivery(Entity::MDL, Entity::ZR7, PassKind::FRESH_FALLBACK, "2026-07-15");
  d.rejet = "faux_numero";
  d.rejeteLe = at("2026-07-16T22:30:00Z");  // 00:30 on the 17th in Paris
  EXPECT_TRUE(isClientRejection(d));
  StatsChange rejected = statsOfRejection(d, "PV");
  EXPECT_EQ(rejected.entity, Entity::ZR7);  // the client's
  EXPECT_EQ(rejected.date, "2026-07-17");
  EXPECT_EQ(rejected.delta.rejetes, 1);
  EXPECT_EQ(rejected.client, "acme");

  d.rejet = std::string(REJET_EFFACE);
  EXPECT_FALSE(isClientRejection(d));
  d.rejet = "";
  EXPECT_FALSE(isClientRejection(d));

  StatsChange erased = statsOfErasure(Entity::MDL, at("2026-01-31T23:30:00Z"));
  EXPECT_EQ(erased.date, "2026-02-01");
  EXPECT_EQ(erased.delta.effaces, 1);
  EXPECT_TRUE(erased.produit.empty());
}

TEST(StatsRules, CountersAddAndSnapshotsReplace) {
  DayCounters a;
  a.recus = 2;
  a.invalides = {{"telephone.invalid", 1}};
  a.stockLb = 10;
  DayCounters b;
  b.recus = 1;
  b.invalides = {{"telephone.invalid", -1}, {"nom.missing", 1}};
  b.livresFresh = 3;
  addCounters(a, b);
  EXPECT_EQ(a.recus, 3);
  EXPECT_EQ(a.invalides, (std::map<std::string, int64_t>{{"nom.missing", 1}}));
  EXPECT_EQ(a.stockLb, 10);  // b has no snapshot
  EXPECT_FALSE(a.freshInvendus.has_value());
  DayCounters snap;
  snap.stockLb = 0;
  snap.freshInvendus = 4;
  addCounters(a, snap);
  EXPECT_EQ(a.stockLb, 0);
  EXPECT_EQ(a.freshInvendus, 4);
  EXPECT_FALSE(isZero(snap));  // a run that left nothing is not a day without a run
  EXPECT_FALSE(hasNegative(a));
  DayCounters minus;
  minus.rejetes = -1;
  EXPECT_TRUE(hasNegative(minus));

  EXPECT_EQ(deliverySide(a).recus, 0);
  EXPECT_EQ(deliverySide(a).livresFresh, 3);
  EXPECT_FALSE(deliverySide(a).stockLb.has_value());
  EXPECT_EQ(entityWide(a).livresFresh, 0);
  EXPECT_EQ(entityWide(a).recus, 3);
  EXPECT_EQ(entityWide(a).stockLb, 0);
}

TEST(StatsRules, ATotalKeepsTheLastRunsPools) {
  DayCounters monday, tuesday, wednesday;
  monday.recus = 5;
  monday.stockLb = 100;
  monday.freshInvendus = 7;
  tuesday.recus = 2;
  tuesday.stockLb = 90;
  tuesday.freshInvendus = 3;
  wednesday.recus = 1;  // no run
  DayCounters total = totalOf({monday, tuesday, wednesday});
  EXPECT_EQ(total.recus, 8);
  EXPECT_EQ(total.stockLb, 90);
  EXPECT_EQ(total.freshInvendus, 3);
  EXPECT_FALSE(totalOf({wednesday}).stockLb.has_value());
}

TEST(StatsRules, CommandeWeekFigures) {
  EXPECT_EQ(commandeWeekFigures(30, 0), (CommandeWeekFigures{0, 30}));
  EXPECT_EQ(commandeWeekFigures(30, 10), (CommandeWeekFigures{33, 20}));  // floor(33.3)
  EXPECT_EQ(commandeWeekFigures(3, 2), (CommandeWeekFigures{66, 1}));
  EXPECT_EQ(commandeWeekFigures(30, 30), (CommandeWeekFigures{100, 0}));
  EXPECT_EQ(commandeWeekFigures(30, 32), (CommandeWeekFigures{106, 0}));  // replacements served
}

TEST(Calendar, AddDays) {
  EXPECT_EQ(addDays("2026-03-28", 1), "2026-03-29");
  EXPECT_EQ(addDays("2026-03-29", 1), "2026-03-30");  // a DST day is a day
  EXPECT_EQ(addDays("2024-02-28", 1), "2024-02-29");
  EXPECT_EQ(addDays("2026-01-01", -1), "2025-12-31");
  EXPECT_EQ(addDays("2026-01-01", 365), "2027-01-01");
  EXPECT_EQ(addDays("2026-02-30", 1), "");
}

}  // namespace
}  // namespace rdz
