// The self-check of `pare prune --groups` before it writes (docs/cli.md): independent of the
// pruner's own slicing, it reloads the dense model from its file and compares
//   1. tensors: every tensor of the dense state dict, sliced along each axis the report lists
//      with the report's `kept` indices, equals the pruned model's tensor exactly; every tensor
//      the report does not list is unchanged;
//   2. outputs: the pruned model on a seeded input equals the dense model with the removed
//      channels zeroed on every edge of their groups (a multiply by a 0/1 mask after each edge's
//      producer), on the outputs' kept positions where --allow-output-change let an output
//      shrink. Where a group holds a LayerNorm (its mean and variance then span the removed
//      channels too, so zeroing is not the same as removing) the outputs are not compared, and
//      the check says so.
//
//   pare::pruning::GroupPruner pruner(gm, options);
//   pruner.prune();
//   pare::cli::GroupCheck check =
//       pare::cli::check_group_pruning("dense.pare", pruner, pruner.report(), gm, inputs);
//   for (const pare::cli::CheckResult& result : check.results)
//     if (!result.passed()) ...
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pare/ir/graph_module.h"
#include "pare/passes/pruning/group_pruner.h"
#include "prune_check.h"

namespace pare::cli {

struct GroupCheck {
  std::vector<CheckResult> results;
  // Why the outputs were not compared ("" when they were).
  std::string outputs_not_compared;
};

// `dense_path`: the file `pruned` was loaded from before `pruner` pruned it; `report`:
// pruner.report(). Runs both models in the plain interpreter on `inputs`.
GroupCheck check_group_pruning(const std::string& dense_path, const pruning::GroupPruner& pruner,
                               const nlohmann::json& report, ir::GraphModule& pruned,
                               const std::vector<Tensor>& inputs);

}  // namespace pare::cli
