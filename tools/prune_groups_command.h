// `pare prune MODEL.pare -o OUT.pare --groups [options]`: dependency-group pruning
// (pare/passes/pruning/group_pruner.h) of a saved model. Loads it, chooses and removes channels
// group by group, checks the result against the dense file (prune_groups_check.h), prints the
// before -> after table and writes the smaller model (and --report's JSON); with --importance
// taylor it first sums the loss gradients of --calibration's batches; --explain prints
// the groups and why each other layer cannot be pruned instead. prune_command.cpp dispatches
// here when --groups is given.
//
//   pare::cli::ArgParser parser("pare prune", "...");
//   pare::cli::add_group_options(parser);                       // prune_groups_options.h
//   return pare::cli::prune_groups(parser.parse(arguments));  // the exit status
#pragma once

#include "cli_args.h"

namespace pare::cli {

int prune_groups(const ParsedArgs& args);

}  // namespace pare::cli
