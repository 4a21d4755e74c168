// How the console writes HTML: every piece of data goes through escape() (the one HTML escaper
// of the console), markup only as string literals of the source. Plus the French presentation of
// values: labels, numbers with French separators, dates and times in Europe/Paris.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "client/present.h"

namespace rdz::console {

// & < > " ' as entities: safe in element content and in quoted attribute values.
std::string escape(std::string_view text);
// A path segment or query value, percent-encoded (unreserved characters kept).
std::string urlEncode(std::string_view text);

// An HTML document under construction. Markup comes only from string literals (raw() refuses
// anything else at compile time); data comes through text(), which escapes it.
class Html {
 public:
  template <size_t N>
  Html& raw(const char (&markup)[N]) {
    out_.append(markup, N - 1);
    return *this;
  }
  Html& text(std::string_view data) {
    out_ += escape(data);
    return *this;
  }
  // An already escaped fragment built by another Html.
  Html& add(const Html& other) {
    out_ += other.out_;
    return *this;
  }
  const std::string& str() const { return out_; }
  bool empty() const { return out_.empty(); }

 private:
  std::string out_;
};

// French label of a field's JSON name ("quota_semaine" -> "Quota semaine").
std::string label(std::string_view jsonName);
// 1234567 -> "1 234 567" (narrow no-break spaces), 12.5 -> "12,5".
std::string frenchNumber(double value);
// µs since the epoch -> "25/11/2026 09:30" in Europe/Paris; "" for 0.
std::string frenchDateTime(int64_t micros);
// "2026-11-25" -> "25/11/2026" (other text unchanged).
std::string frenchDate(std::string_view isoDate);
// A cell of client/present.h as the console shows it (numbers, oui/non, Paris times, lists, and
// coded values by their French label: daemon/domain/labels.h).
std::string frenchValue(const Cell& cell);

}  // namespace rdz::console
