// The table `pare prune --groups` prints: per layer that changed, its width (the first axis of
// its weight: out channels or features, a BatchNorm's features), parameters and MACs before ->
// after, and whether its own channels went or only its inputs shrank; then the totals with their
// ratios (the chain flow's table, prune_report.h, reads the masks this flow does not have).
//
//   pare::ir::ModelStats before = pare::ir::model_stats(gm);
//   pruner.prune();
//   pare::cli::print_group_prune_table(before, pare::ir::model_stats(gm), std::cout);
#pragma once

#include <ostream>

#include "pare/ir/model_stats.h"

namespace pare::cli {

void print_group_prune_table(const ir::ModelStats& before, const ir::ModelStats& after,
                             std::ostream& stream);

}  // namespace pare::cli
