// The structured pruning pass (docs/pruning.md): sparsifiers, masks, schedulers and pruners.
//
//   #include "pare/passes/pruning/pruning.h"
//
//   pare::pruning::SaliencyPruner pruner({{"sparsity_level", 0.5}});      // defaults
//   pruner.prepare(net, {{{"tensor_fqn", "conv1.weight"}},
//                        {{"tensor_fqn", "conv2.weight"}, {"prune_bias", false}}});
//   train_a_few_steps(net);          // the row masks apply on every forward
//   pruner.step();                   // update_mask() for every group
//   std::cout << pruner;             // the groups, PyTorch style
//   auto saved = pruner.state_dict();
//   auto pruned = pruner.prune({example_input});   // physically smaller; net shrinks too
#pragma once

#include "pare/passes/pruning/base_sparsifier.h"
#include "pare/passes/pruning/dependency_graph.h"
#include "pare/passes/pruning/group_pruner.h"
#include "pare/passes/pruning/group_sparsifier.h"
#include "pare/passes/pruning/importance.h"
#include "pare/passes/pruning/patterns.h"
#include "pare/passes/pruning/prune.h"
#include "pare/passes/pruning/prune_functions.h"
#include "pare/passes/pruning/pruners.h"
#include "pare/passes/pruning/scheduler.h"
#include "pare/passes/pruning/structured.h"
