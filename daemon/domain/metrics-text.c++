#include "daemon/domain/metrics-text.h"

#include <kj/debug.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace rdz {

namespace {

bool isNameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

// [a-zA-Z_:][a-zA-Z0-9_:]* (label names may not hold ':', which ours never do either).
bool isMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!isNameChar(name[i], i == 0)) return false;
  }
  return true;
}

bool isLabelName(std::string_view name) {
  return isMetricName(name) && name.find(':') == std::string_view::npos && !name.starts_with("__");
}

// HELP text escapes backslash and newline; a label value also escapes the double quote.
void appendEscaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

kj::String kjText(std::string_view text) { return kj::heapString(text.data(), text.size()); }

std::string_view typeName(MetricType type) {
  switch (type) {
    case MetricType::COUNTER:
      return "counter";
    case MetricType::GAUGE:
      return "gauge";
    case MetricType::HISTOGRAM:
      return "histogram";
  }
  KJ_UNREACHABLE;
}

}  // namespace

std::string metricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Plain decimals where they stay short (bucket bounds such as 0.0005 read as written),
  // exponents beyond; either way the shortest text that reads back to `value`.
  double magnitude = std::fabs(value);
  bool plain = magnitude == 0 || (magnitude >= 1e-4 && magnitude < 1e15);
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value,
                              plain ? std::chars_format::fixed : std::chars_format::scientific);
  KJ_ASSERT(result.ec == std::errc());
  return std::string(buffer, result.ptr);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    KJ_REQUIRE(std::isfinite(bounds_[i]), "a histogram bound must be finite");
    KJ_REQUIRE(i == 0 || bounds_[i - 1] < bounds_[i], "histogram bounds must increase");
  }
}

void Histogram::observe(double value) {
  size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::counts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  for (size_t i = 0; i < out.size(); ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
  return out;
}

void MetricsText::family(std::string_view name, MetricType type, std::string_view help) {
  KJ_REQUIRE(isMetricName(name), "not a metric name", kjText(name));
  family_ = name;
  type_ = type;
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  appendEscaped(out_, help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += typeName(type);
  out_ += '\n';
}

void MetricsText::series(std::string_view suffix, Labels labels, const Label* extra,
                         std::string_view value) {
  out_ += family_;
  out_ += suffix;
  if (labels.size() > 0 || extra != nullptr) {
    out_ += '{';
    bool first = true;
    auto add = [&](const Label& label) {
      KJ_REQUIRE(isLabelName(label.name), "not a label name", kjText(label.name));
      if (!first) out_ += ',';
      first = false;
      out_ += label.name;
      out_ += "=\"";
      appendEscaped(out_, label.value, true);
      out_ += '"';
    };
    for (const Label& label : labels) add(label);
    if (extra != nullptr) add(*extra);
    out_ += '}';
  }
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

void MetricsText::sampleText(Labels labels, std::string_view value) {
  KJ_REQUIRE(!family_.empty(), "a sample before its family");
  KJ_REQUIRE(type_ != MetricType::HISTOGRAM, "a histogram family takes histogram()",
             family_.c_str());
  series("", labels, nullptr, value);
}

void MetricsText::sample(Labels labels, double value) { sampleText(labels, metricValue(value)); }

void MetricsText::histogram(Labels labels, const Histogram& histogram) {
  KJ_REQUIRE(type_ == MetricType::HISTOGRAM && !family_.empty(),
             "histogram() outside a histogram family", family_.c_str());
  std::vector<uint64_t> counts = histogram.counts();
  const std::vector<double>& bounds = histogram.bounds();
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += counts[i];
    std::string le = metricValue(bounds[i]);
    Label bound{"le", le};
    series("_bucket", labels, &bound, std::to_string(cumulative));
  }
  cumulative += counts.back();
  Label inf{"le", "+Inf"};
  std::string total = std::to_string(cumulative);
  series("_bucket", labels, &inf, total);
  series("_sum", labels, nullptr, metricValue(histogram.sum()));
  series("_count", labels, nullptr, total);
}

}  // namespace rdz
