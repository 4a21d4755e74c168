// The Prometheus text renderer shared by rdzd and rdz-gateway (daemon/domain/metrics-text.h):
// exact output, escapes, number forms, histogram buckets, and the names it refuses.
#include "daemon/domain/metrics-text.h"

#include <gtest/gtest.h>
#include <kj/exception.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace rdz {
namespace {

TEST(MetricsText, CountersAndGaugesExactText) {
  MetricsText out;
  out.family("rdz_things_total", MetricType::COUNTER, "Things, by kind.");
  out.sample({{"kind", "a"}, {"entity", "ZR7"}}, uint64_t{3});
  out.sample({{"kind", "b"}, {"entity", "ZR7"}}, 0);
  out.family("rdz_depth", MetricType::GAUGE, "Jobs waiting.");
  out.sample({}, int64_t{-2});
  out.family("rdz_start_time_seconds", MetricType::GAUGE, "Start.");
  out.sample({}, 1716000000.25);
  EXPECT_EQ(out.take(),
            "# HELP rdz_things_total Things, by kind.\n"
            "# TYPE rdz_things_total counter\n"
            "rdz_things_total{kind=\"a\",entity=\"ZR7\"} 3\n"
            "rdz_things_total{kind=\"b\",entity=\"ZR7\"} 0\n"
            "# HELP rdz_depth Jobs waiting.\n"
            "# TYPE rdz_depth gauge\n"
            "rdz_depth -2\n"
            "# HELP rdz_start_time_seconds Start.\n"
            "# TYPE rdz_start_time_seconds gauge\n"
            "rdz_start_time_seconds 1716000000.25\n");
}

TEST(MetricsText, EscapesHelpAndLabelValues) {
  MetricsText out;
  out.family("rdz_x", MetricType::GAUGE, "Back\\slash, \"quotes\" and a\nnew line.");
  out.sample({{"v", "a\\b \"c\"\nd é"}}, 1);
  // HELP escapes backslash and newline only; a label value the double quote too. UTF-8 as is.
  EXPECT_EQ(out.text(),
            "# HELP rdz_x Back\\\\slash, \"quotes\" and a\\nnew line.\n"
            "# TYPE rdz_x gauge\n"
            "rdz_x{v=\"a\\\\b \\\"c\\\"\\nd é\"} 1\n");
}

TEST(MetricsText, NumberForms) {
  EXPECT_EQ(metricValue(0), "0");
  EXPECT_EQ(metricValue(1), "1");
  EXPECT_EQ(metricValue(2.5), "2.5");
  EXPECT_EQ(metricValue(0.0005), "0.0005");
  EXPECT_EQ(metricValue(-0.1), "-0.1");
  EXPECT_EQ(metricValue(0.00001), "1e-05");
  EXPECT_EQ(metricValue(1e20), "1e+20");
  EXPECT_EQ(metricValue(123456789012345.0), "123456789012345");
  EXPECT_EQ(metricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(metricValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(metricValue(std::nan("")), "NaN");
  // The shortest text that reads back to the same double.
  for (double v : {0.1, 1.0 / 3, 2.0 / 3 * 1e-3, 98765.4321, 1e-4, 9.999e14}) {
    EXPECT_EQ(std::stod(metricValue(v)), v) << metricValue(v);
  }
}

TEST(MetricsText, HistogramCumulativeBucketsSumAndCount) {
  Histogram h({0.5, 1, 2.5});
  h.observe(0.5);  // on a bound: counted in it (bounds are inclusive)
  h.observe(0.75);
  h.observe(3);  // above every bound: +Inf only
  EXPECT_EQ(h.counts(), (std::vector<uint64_t>{1, 1, 0, 1}));
  MetricsText out;
  out.family("rdz_wait_seconds", MetricType::HISTOGRAM, "Waits.");
  out.histogram({{"entity", "MDL"}}, h);
  out.histogram({}, Histogram({1}));
  EXPECT_EQ(out.take(),
            "# HELP rdz_wait_seconds Waits.\n"
            "# TYPE rdz_wait_seconds histogram\n"
            "rdz_wait_seconds_bucket{entity=\"MDL\",le=\"0.5\"} 1\n"
            "rdz_wait_seconds_bucket{entity=\"MDL\",le=\"1\"} 2\n"
            "rdz_wait_seconds_bucket{entity=\"MDL\",le=\"2.5\"} 2\n"
            "rdz_wait_seconds_bucket{entity=\"MDL\",le=\"+Inf\"} 3\n"
            "rdz_wait_seconds_sum{entity=\"MDL\"} 4.25\n"
            "rdz_wait_seconds_count{entity=\"MDL\"} 3\n"
            "rdz_wait_seconds_bucket{le=\"1\"} 0\n"
            "rdz_wait_seconds_bucket{le=\"+Inf\"} 0\n"
            "rdz_wait_seconds_sum 0\n"
            "rdz_wait_seconds_count 0\n");
}

TEST(MetricsText, HistogramCountsEveryObservationFromManyThreads) {
  Histogram h({1, 10});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h]() {
      for (int i = 0; i < 10000; ++i) h.observe(i % 3 == 0 ? 0.5 : i % 3 == 1 ? 5 : 50);
    });
  }
  for (auto& t : threads) t.join();
  // 10000 = 3334 (i % 3 == 0) + 3333 + 3333, per thread.
  EXPECT_EQ(h.counts(), (std::vector<uint64_t>{4 * 3334, 4 * 3333, 4 * 3333}));
  EXPECT_DOUBLE_EQ(h.sum(), 4 * (3334 * 0.5 + 3333 * 5.0 + 3333 * 50.0));
}

TEST(MetricsText, RefusesBadNamesAndMisplacedSamples) {
  MetricsText out;
  EXPECT_THROW(out.sample({}, 1), kj::Exception);  // no family yet
  EXPECT_THROW(out.family("1abc", MetricType::GAUGE, ""), kj::Exception);
  EXPECT_THROW(out.family("rdz-x", MetricType::GAUGE, ""), kj::Exception);
  EXPECT_THROW(out.family("", MetricType::GAUGE, ""), kj::Exception);
  out.family("rdz_ok", MetricType::GAUGE, "");
  EXPECT_THROW(out.sample({{"bad-label", "x"}}, 1), kj::Exception);
  EXPECT_THROW(out.sample({{"__reserved", "x"}}, 1), kj::Exception);
  EXPECT_THROW(out.histogram({}, Histogram({1})), kj::Exception);  // a gauge family
  out.family("rdz_h", MetricType::HISTOGRAM, "");
  EXPECT_THROW(out.sample({}, 1), kj::Exception);  // a histogram family
  EXPECT_THROW(Histogram({2, 1}), kj::Exception);  // bounds must increase
  EXPECT_THROW(Histogram({1, std::numeric_limits<double>::infinity()}), kj::Exception);
}

}  // namespace
}  // namespace rdz
