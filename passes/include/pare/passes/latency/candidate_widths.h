// The widths a latency profile measures a prunable group at
// (pare/passes/latency/latency_profile.h): every multiple of the kernels' channel block below the
// dense width (where oneDNN's time steps), the widths the ratios 0.1 .. 0.9 keep (what `pare prune
// --ratio` gives), and the dense width, last. A ratio's width is the group pruner's: floor(size *
// (1 - ratio)), rounded down to a multiple of round_to where the group has at least round_to
// channels; none is narrower than what max_ratio keeps, and with rounding every width but the dense
// one is a multiple of round_to.
//
//   pare::latency::candidate_widths({.size = 64, .channel_block = 16, .round_to = 1,
//                                    .max_ratio = 0.9});
//   // -> {6, 12, 16, 19, 25, 32, 38, 44, 48, 51, 57, 64}
#pragma once

#include <cstdint>
#include <vector>

namespace pare::latency {

struct CandidateRule {
  int64_t size = 0;           // the group's dense width
  int64_t channel_block = 1;  // MachineKey::channel_block
  int64_t round_to = 1;
  double max_ratio = 0.9;  // in [0, 1): the largest share of the group pruning may remove
};

// Ascending, without repeats, the last being `size`. Throws pare::Error for a size below 1, a
// block or round_to below 1, or max_ratio outside [0, 1).
std::vector<int64_t> candidate_widths(const CandidateRule& rule);

}  // namespace pare::latency
