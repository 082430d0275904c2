// LatencyProfile's lookups (the lead's stand-in until the profile's own implementation lands).
#include "pare/passes/latency/latency_profile.h"

#include <algorithm>

#include "pare/error.h"

namespace pare::latency {

double LayerLatency::time_ms(int64_t in_width, int64_t out_width, int64_t threads) const {
  auto in = std::find(in_widths.begin(), in_widths.end(), in_width);
  auto out = std::find(out_widths.begin(), out_widths.end(), out_width);
  PARE_CHECK(in != in_widths.end() && out != out_widths.end() && threads >= 1 &&
                 threads <= static_cast<int64_t>(ms.size()),
             "latency profile: layer '", layer, "' has no time at ", in_width, " -> ", out_width,
             " with ", threads, " thread(s)");
  return ms[static_cast<size_t>(threads - 1)]
           [static_cast<size_t>(in - in_widths.begin()) * out_widths.size() +
            static_cast<size_t>(out - out_widths.begin())];
}

const GroupWidths* LatencyProfile::group(const std::string& key) const {
  for (const GroupWidths& widths : groups)
    if (widths.key == key) return &widths;
  return nullptr;
}

std::map<std::string, int64_t> LatencyProfile::dense_widths() const {
  std::map<std::string, int64_t> widths;
  for (const GroupWidths& group : groups) widths[group.key] = group.size;
  return widths;
}

double LatencyProfile::predict_ms(const std::map<std::string, int64_t>& widths,
                                  int64_t threads) const {
  for (const auto& [key, width] : widths)
    PARE_CHECK(group(key) != nullptr, "latency profile: no group '", key, "'");
  const auto width_of = [&](const std::string& key, const std::vector<int64_t>& measured) {
    if (key.empty()) return measured.back();
    auto found = widths.find(key);
    return found != widths.end() ? found->second : group(key)->size;
  };
  double total = rest_ms.at(static_cast<size_t>(threads - 1));
  for (const LayerLatency& layer : layers)
    total += layer.time_ms(width_of(layer.in_group, layer.in_widths),
                           width_of(layer.out_group, layer.out_widths), threads);
  return total;
}

}  // namespace pare::latency
