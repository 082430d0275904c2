// The arithmetic of `pare bench`, header-only so that tests can check it by hand: latency
// statistics over timed iterations, and the comma-separated lists of --batch and --threads.
//
//   pare::cli::LatencyStats stats = pare::cli::summarise_latencies({5, 1, 4, 2, 3});
//   // stats.min == 1, stats.median == 3, stats.p90 == 4.6
//   std::vector<int64_t> batches = pare::cli::parse_positive_list("batch", "1,32", 1 << 20);
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>
#include <vector>

#include "cli_args.h"
#include "pare/error.h"

namespace pare::cli {

struct LatencyStats {
  double min = 0.0;
  double median = 0.0;
  double p90 = 0.0;
};

// The value below which a fraction `q` (0..1) of `sorted` lies, interpolating linearly between
// neighbouring samples (numpy.percentile's default): rank q * (n - 1).
inline double quantile_of_sorted(const std::vector<double>& sorted, double q) {
  PARE_CHECK(!sorted.empty(), "quantile of no samples");
  const double rank = q * static_cast<double>(sorted.size() - 1);
  const size_t below = static_cast<size_t>(rank);
  if (below + 1 >= sorted.size()) return sorted.back();
  const double fraction = rank - static_cast<double>(below);
  return sorted[below] + fraction * (sorted[below + 1] - sorted[below]);
}

inline LatencyStats summarise_latencies(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  return {quantile_of_sorted(samples, 0.0), quantile_of_sorted(samples, 0.5),
          quantile_of_sorted(samples, 0.9)};
}

// "1,32" -> {1, 32}: integers in 1..max, each once, in the order given. Anything else is a
// UsageError naming the option.
inline std::vector<int64_t> parse_positive_list(const std::string& option, const std::string& text,
                                                int64_t max) {
  const std::string problem = "--" + option +
                              " expects a comma-separated list of integers from 1 to " +
                              std::to_string(max) + ", got '" + text + "'";
  std::vector<int64_t> values;
  size_t start = 0;
  while (true) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const char* first = text.data() + start;
    const char* last = text.data() + comma;
    int64_t value = 0;
    auto [end, error] = std::from_chars(first, last, value);
    if (first == last || error != std::errc() || end != last || value < 1 || value > max)
      throw UsageError(problem);
    if (std::find(values.begin(), values.end(), value) != values.end())
      throw UsageError("--" + option + " lists " + std::to_string(value) + " twice");
    values.push_back(value);
    if (comma == text.size()) break;
    start = comma + 1;
  }
  return values;
}

}  // namespace pare::cli
