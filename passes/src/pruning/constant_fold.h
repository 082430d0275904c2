// What the removed channels of a masked group carry, and whether pruning can keep it (the masked
// group flow's fold; pare/passes/pruning/group_sparsifier.h says when a group folds).
//
// plan_constant_folds() runs the masked model (eval mode, the interpreter) on the example inputs
// and on a seeded random input of the same shapes, and measures, at the input of every layer that
// reads a group's channels (a weight member along axis 1), each removed position's smallest and
// largest value. A position whose values agree (within 1e-6, relative above 1) is a constant v.
// Then per group: folded when every reader saw constants and can absorb them exactly (v = 0, or a
// Linear, or a Conv2d with groups = 1 and no padding) and the channels leave the group through
// readers only (a matmul over them is allowed when they are 0 there). It changes nothing.
//
// Example: conv a (masked, channels {1, 3} removed, prune_bias) -> BatchNorm -> ReLU -> 1x1 conv b.
// The removed channels carry relu(beta - gamma * mean / sqrt(var + eps)) = {0.2, 0.0} into b, so
// the plan for a's group is {folded, readers: [b, constants {0, 0.2, 0, 0.0, ...}]}: b's bias gains
// W_b[:, 1] * 0.2 summed over the taps. With a 3x3 padded b instead the border taps read 0, so the
// group is not folded ("... 'b' pads its input ...").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "pare/ir/graph_module.h"
#include "pare/passes/pruning/group_pruner.h"
#include "pare/passes/pruning/group_sparsifier.h"

namespace pare::pruning {

struct FoldPlan {
  GroupFold fold;
  // Each reading layer and the constant per input channel it must absorb (0 where nothing was
  // removed), for a folded group.
  std::vector<std::pair<std::string, std::vector<float>>> readers;
};

// One plan per choice that removes channels, keyed by group id.
std::map<int64_t, FoldPlan> plan_constant_folds(ir::GraphModule& masked,
                                                const std::vector<GroupChoice>& choices,
                                                const std::vector<Tensor>& example_inputs);

}  // namespace pare::pruning
