// calibrate_prediction: uniform prunes of a copy of the model, measured whole, and the fit.
#include "pare/passes/latency/calibrate_prediction.h"

#include <omp.h>

#include <cmath>
#include <limits>

#include "layer_timer.h"
#include "pare/error.h"
#include "pare/ir/pare_file.h"
#include "pare/passes/pruning/group_pruner.h"

namespace pare::latency {

LatencyProfile::Linear fit_prediction(const std::vector<std::pair<double, double>>& points) {
  double n = 0.0, sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0;
  for (const auto& [x, y] : points) {
    n += 1.0;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  PARE_CHECK(n > 0.0 && sxx > 0.0, "latency profile: no measured point to fit the prediction to");
  const double spread = n * sxx - sx * sx;
  if (spread > 1e-12 * sxx * n) {
    const double scale = (n * sxy - sx * sy) / spread;
    const double constant = (sy - scale * sx) / n;
    if (scale > 0.0 && constant >= 0.0 && std::isfinite(scale) && std::isfinite(constant))
      return {constant, scale};
  }
  return {0.0, sxy / sxx};
}

namespace {

// Each group at the candidate nearest `share` of its width.
std::map<std::string, int64_t> uniform_widths(const LatencyProfile& profile, double share) {
  std::map<std::string, int64_t> widths;
  for (const GroupWidths& group : profile.groups) {
    const double target = share * static_cast<double>(group.size);
    int64_t best = group.candidates.back();
    for (int64_t width : group.candidates)
      if (std::abs(static_cast<double>(width) - target) <
          std::abs(static_cast<double>(best) - target))
        best = width;
    widths[group.key] = best;
  }
  return widths;
}

// A copy of `graph_module` with every group pruned to `widths` (its roots' kept counts).
ir::GraphModule pruned_copy(const ir::GraphModule& graph_module,
                            const std::map<std::string, int64_t>& widths,
                            const LatencyProfile& profile, const ProfileOptions& options) {
  ir::GraphModule copy = ir::decode_pare(ir::encode_pare(graph_module), "the profiled model");
  pruning::GroupPrunerOptions pruning;
  pruning.importance(pruning::Importance::l2()).ratio(0.0).ignore(options.ignored_layers);
  for (const GroupWidths& group : profile.groups) {
    const int64_t width = widths.at(group.key);
    if (width == group.size) continue;
    // int(size * (1 - ratio)) must give `width`: aim half a channel above it.
    pruning.layer_ratio(group.key,
                        1.0 - (static_cast<double>(width) + 0.5) / static_cast<double>(group.size));
  }
  pruning::GroupPruner pruner(copy, pruning);
  pruner.prune();
  return copy;
}

}  // namespace

std::vector<LatencyProfile::Linear> calibrate_prediction(const ir::GraphModule& graph_module,
                                                         const LatencyProfile& profile,
                                                         const std::vector<ir::TensorMeta>& inputs,
                                                         const ProfileOptions& options,
                                                         const std::vector<double>& shares) {
  if (profile.groups.empty()) return {};
  const int64_t threads = options.max_threads;
  // (layers at the widths, measured whole) per thread count; the dense point first.
  std::vector<std::vector<std::pair<double, double>>> points(static_cast<size_t>(threads));
  for (int64_t t = 1; t <= threads; ++t)
    points[static_cast<size_t>(t - 1)].emplace_back(
        profile.layers_ms({}, t), profile.dense_ms.at(static_cast<size_t>(t - 1)));
  for (size_t s = 0; s < shares.size(); ++s) {
    if (options.progress)
      options.progress(str_cat("calibration ", s + 1, "/", shares.size(), ": every group at ",
                               shares[s], " of its width"));
    const std::map<std::string, int64_t> widths = uniform_widths(profile, shares[s]);
    ir::GraphModule copy = pruned_copy(graph_module, widths, profile, options);
    for (int64_t t = 1; t <= threads; ++t) {
      omp_set_num_threads(static_cast<int>(t));
      points[static_cast<size_t>(t - 1)].emplace_back(
          profile.layers_ms(widths, t),
          time_compiled_ms(copy, inputs, options.warmup, options.repetitions));
    }
  }
  std::vector<LatencyProfile::Linear> fitted;
  for (const auto& thread_points : points) fitted.push_back(fit_prediction(thread_points));
  return fitted;
}

}  // namespace pare::latency
