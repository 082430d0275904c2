// The latency-aware choice of GroupPruner (target_latency): builds choose_widths' problem from the
// pruner's scored groups and a measured profile, solves it, and says per group how many channels
// stay. Internal to passes/: GroupPruner::choose calls it and then picks which channels go, as
// for any other kept count.
//
//   LatencyWidths widths = plan_latency_widths(inputs);   // one entry per scored choice
//   // widths.kept[i]: choice i's kept count; widths.report: the "latency" object of the report
//
// Contract: the candidates are the profile's widths of each group that are at most the group's
// present width, at least what max_ratio lets stay of the dense width, and multiples of round_to
// (groups of at least round_to channels); the present width is always one. Throws, changing
// nothing, when the profile does not describe this model (a group's width is neither its dense nor
// its present one), when a
// present width was never measured, or when even the narrowest candidates miss the budget.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "pare/passes/latency/latency_profile.h"
#include "pare/passes/pruning/group_pruner.h"

namespace pare::latency {

struct LatencyWidthsInputs {
  const std::vector<pruning::GroupChoice>* choices = nullptr;
  std::vector<int64_t> dense_sizes;  // per choice: the group's width in the dense model
  // Per choice: the scores whose highest `width` are what a group keeps at `width` (comparable
  // across groups: the criterion's reduced scores, not normalised per group); -infinity for a
  // pinned channel, which keeps nothing. Empty: the group is left as it is.
  std::vector<std::vector<double>> scores;
  const LatencyProfile* profile = nullptr;
  int64_t threads = 1;
  double budget_ms = 0.0;  // already scheduled for the current step
  int64_t round_to = 1;
  double max_ratio = 0.9;
};

struct LatencyWidths {
  std::vector<int64_t> kept;  // per choice; its present width where it is not a problem group
  nlohmann::json report;
};

LatencyWidths plan_latency_widths(const LatencyWidthsInputs& inputs);

}  // namespace pare::latency
