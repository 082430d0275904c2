// The table `pare prune` prints: per pruned module (and per consumer whose inputs shrank) its
// width (out features / out channels / hidden units), parameters and MACs before -> after, a
// note where a module kept its shape, then the totals with their ratios.
//
//   std::vector<pare::cli::MaskedModule> masked = pare::cli::masked_modules(pruner);  // pre-prune
//   pare::ir::ModelStats before = ..., after = pare::ir::model_stats(gm);
//   pare::cli::print_prune_table(before, after, masked, std::cout);
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "pare/ir/model_stats.h"
#include "pare/passes/pruning/base_sparsifier.h"

namespace pare::cli {

// A module the sparsifier masks: its rows (out channels / features, or an LSTM's hidden units)
// and how many its masks keep (an LSTM keeps the units of its last layer's output gate).
struct MaskedModule {
  std::string name;
  int64_t rows = 0;
  int64_t kept = 0;
};

// Read from the prepared sparsifier's masks; call before prune_graph removes them.
std::vector<MaskedModule> masked_modules(const pruning::BaseSparsifier& sparsifier);

void print_prune_table(const ir::ModelStats& before, const ir::ModelStats& after,
                       const std::vector<MaskedModule>& masked, std::ostream& stream);

}  // namespace pare::cli
