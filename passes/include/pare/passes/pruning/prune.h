// prune(): the pass that turns a masked model into a physically smaller one (docs/pruning.md,
// "prune(): pattern matching"). Sparsifiers call it from prune(example_inputs); it can also run
// on a GraphModule loaded from a .pare file whose modules were prepared by a sparsifier.
//
//   pare::pruning::SaliencyPruner pruner({{"sparsity_level", 0.5}});
//   pruner.prepare(gm.root_ptr());                  // gm: a GraphModule (e.g. pare::ir::load)
//   pruner.step();
//   pare::pruning::prune_graph(gm, pare::pruning::default_pattern_table());
//   gm.forward({x});                                // the pruned graph, smaller modules
//
// The pass first matches every node whose module carries a FakeStructuredSparsity against the
// table and checks the whole plan (every masked module covered by exactly one match, a masked
// module called once, no channel leaking to a node outside its chain); only then does it change
// modules, in graph order, so those refusals leave the model as it was. A prune function's own
// checks (shapes that do not fit its rule) run as its match is converted.
#pragma once

#include <vector>

#include "pare/ir/graph_module.h"
#include "pare/passes/pruning/patterns.h"

namespace pare::pruning {

// Converts every match; refuses (pare::Error naming the module, the chain it found, the patterns
// it tried and why) when a masked module has no pattern. When `example_inputs` is not empty the
// graph's shape metadata is recorded again on them afterwards.
void prune_graph(ir::GraphModule& graph_module, const PatternTable& patterns,
                 const std::vector<Tensor>& example_inputs = {});

// True when `module` carries a FakeStructuredSparsity on any of its tensors.
bool carries_structured_sparsity(const nn::Module& module);

}  // namespace pare::pruning
