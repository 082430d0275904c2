// The profile's prediction fitted to measured whole models. A layer timed alone is not the layer
// inside the model (the layout its input arrives in, whether the graph runs Winograd, the
// reorders between layers), so summing the tables misses by a factor that differs from model to
// model; measuring the whole model at a few widths and fitting measured = constant + scale *
// layers(widths) by least squares corrects it while keeping the prediction a sum of layer terms
// (what the width choice needs).
//
//   std::vector<LatencyProfile::Linear> fitted =
//       calibrate_prediction(gm, profile, inputs, options);   // one per thread count
//   profile.calibration = fitted;                             // predict_ms uses it
//
// Example: layers(dense) = 10 ms measured 12 ms whole; at the shares 0.25, 0.5, 0.75 of every
// group's width, layers() = 1.2, 3.1, 6.4 ms measured 2.9, 4.6, 8.2 ms whole: fitted constant
// 1.52 ms, scale 1.04 (the points as a line), not the scale-only 1.2.
#pragma once

#include <utility>
#include <vector>

#include "pare/ir/graph_module.h"
#include "pare/passes/latency/latency_profile.h"

namespace pare::latency {

// Least squares of y = constant + scale * x over (x, y) points; a constant below 0 or a scale not
// above 0 falls back to y = scale * x through the origin (fewer than two distinct x: the same).
LatencyProfile::Linear fit_prediction(const std::vector<std::pair<double, double>>& points);

// The whole model measured dense (profile.dense_ms) and pruned (a copy, by GroupPruner with l2)
// to the candidate nearest each share in `shares` of every group's width, at 1 .. max_threads
// threads, each fitted. Empty when the profile has no groups.
std::vector<LatencyProfile::Linear> calibrate_prediction(
    const ir::GraphModule& graph_module, const LatencyProfile& profile,
    const std::vector<ir::TensorMeta>& inputs, const ProfileOptions& options,
    const std::vector<double>& shares = {0.25, 0.5, 0.75});

}  // namespace pare::latency
