// What a latency profile measures, before any timing: the prunable groups with their candidate
// widths (candidate_widths.h) and every Conv2d / Linear / LSTM call with the group each side
// follows and its input shape at the profile's batch. measure_profile times this plan; the tests
// check it without timing anything.
//
//   pare::latency::ProfilePlan plan = pare::latency::plan_profile(gm, options, /*block=*/16);
//   for (const pare::latency::PlannedLayer& layer : plan.layers)
//     std::cout << layer.table.layer << ": " << layer.table.in_group << " -> "
//               << layer.table.out_group << "\n";
//
// Which side follows which group (DependencyGraph::groups_of on the layer's weight): Conv2d and
// Linear read their input along weight axis 1 and write their output along axis 0; an LSTM's
// hidden units (weight_hh_l0 axis 1, every layer's hidden size alike) are its output and
// weight_ih_l0 axis 1 its input; a depthwise conv (groups == in_channels) reads and writes the
// same group. A side is fixed (its dense width alone) where its channels are not exactly one
// profiled group: a group that is not prunable, that is a grouped conv's blocks (blocks > 1) or a
// head split (unit > 1), or a concat's part of an axis. Groups of the first two kinds are left
// out of the profile and stay at their dense width.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pare/ir/graph_module.h"
#include "pare/passes/latency/latency_profile.h"

namespace pare::latency {

struct PlannedLayer {
  LayerLatency table;              // its layer, type, groups and widths; `ms` empty
  std::string node;                // the call_module node
  ir::TensorMeta input;            // its input (the first argument) at the profile's batch
  bool reads_graph_input = false;  // that input is a graph input (the plain layout)
  // The layer's channels per group channel on each side: a Linear after a flatten reads H * W
  // features per channel of the conv before it; a depthwise conv with a channel multiplier m
  // writes m per channel. 1 on a fixed side.
  int64_t in_scale = 1, out_scale = 1;
};

struct ProfilePlan {
  std::vector<GroupWidths> groups;
  std::vector<PlannedLayer> layers;
};

// Reads `graph_module`'s recorded input shapes (the leading, batch, dimension replaced by
// options.batch) and its dependency groups (options.ignored_layers are no roots). Changes nothing.
ProfilePlan plan_profile(const ir::GraphModule& graph_module, const ProfileOptions& options,
                         int64_t channel_block);

}  // namespace pare::latency
