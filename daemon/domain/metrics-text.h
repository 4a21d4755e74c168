// Prometheus's text exposition format, version 0.0.4: the one renderer of rdzd's and
// rdz-gateway's `GET /metrics`, and the histogram both of them count into. Pure: no I/O.
//
//   MetricsText out;
//   out.family("rdz_leads_received_total", MetricType::COUNTER, "Leads stored, by …");
//   out.sample({{"entity", "ZR7"}, {"statut", "new"}}, 12);
//   out.family("rdz_commit_sync_seconds", MetricType::HISTOGRAM, "…");
//   out.histogram({}, syncSeconds);
//   std::string body = out.take();
#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rdz {

// The Content-Type of the text format.
constexpr std::string_view METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

enum class MetricType { COUNTER, GAUGE, HISTOGRAM };

struct Label {
  std::string_view name;
  std::string_view value;  // any UTF-8; escaped by the renderer
};
using Labels = std::initializer_list<Label>;

// Observations counted into fixed buckets. Thread-safe (relaxed atomics): any thread observes,
// any thread reads; a reader may see an observation in its bucket before it is in the sum.
class Histogram {
 public:
  // `bounds`: the buckets' upper bounds (inclusive), strictly increasing; the bucket above the
  // last bound (+Inf) is implied.
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);

  const std::vector<double>& bounds() const { return bounds_; }
  // Observations per bucket, not cumulative: bounds().size() + 1 values, the last one counting
  // those above every bound.
  std::vector<uint64_t> counts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

// Builds one exposition. Families are written in the order they are started; every sample
// belongs to the family started last. Names (of metrics and labels) are checked (KJ_REQUIRE):
// a bad one is a bug of the caller, not data.
class MetricsText {
 public:
  // The family's `# HELP` and `# TYPE` lines. `name` is also its samples' name (a counter's
  // ends in `_total` by convention; that is the caller's choice).
  void family(std::string_view name, MetricType type, std::string_view help);

  // One sample of the current counter or gauge family.
  template <std::integral T>
  void sample(Labels labels, T value) {
    sampleText(labels, std::to_string(value));
  }
  void sample(Labels labels, double value);

  // One histogram of the current histogram family: `_bucket` lines with `le` (cumulative, the
  // last `+Inf`), then `_sum` and `_count`. `+Inf` and `_count` are the same total.
  void histogram(Labels labels, const Histogram& histogram);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void sampleText(Labels labels, std::string_view value);
  void series(std::string_view suffix, Labels labels, const Label* extra, std::string_view value);

  std::string out_;
  std::string family_;
  MetricType type_ = MetricType::GAUGE;
};

// A sample value as the format writes it: the shortest text that reads back to the same double,
// `+Inf`, `-Inf`, `NaN`.
std::string metricValue(double value);

}  // namespace rdz
