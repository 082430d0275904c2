// Which tensors `pare prune` masks (docs/cli.md): the groups of a --config file, checked entry by
// entry, or the default list: every Linear, Conv2d and LSTM that a pattern can prune and whose
// output is not a graph output, with the reason for every layer left out.
//
//   std::vector<nlohmann::json> config = pare::cli::read_prune_config("groups.json");
//   pare::cli::DefaultConfig found = pare::cli::default_prune_config(gm, pruner, pruner.patterns);
//   for (const pare::cli::LeftOut& layer : found.left_out)
//     std::cout << layer.module << ": " << layer.reason << "\n";
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "pare/ir/graph_module.h"
#include "pare/passes/pruning/base_sparsifier.h"
#include "pare/passes/pruning/patterns.h"

namespace pare::cli {

// The group list of a --config file: a JSON array of objects, each with a string tensor_fqn, and
// when given a sparsity_level in [0, 1) and a boolean prune_bias. Errors name the entry (its
// index and text); the caller prefixes the file.
std::vector<nlohmann::json> read_prune_config(const std::string& path);
// The same checks on the file's text (the fuzz target feeds it bytes).
std::vector<nlohmann::json> parse_prune_config(std::string_view text);

struct LeftOut {
  std::string module;  // qualified name
  std::string type;    // "Linear"
  std::string reason;  // "its output is a graph output", "no pattern matches: fc -> sort", ...
};

struct DefaultConfig {
  std::vector<nlohmann::json> entries;  // {"tensor_fqn": ...}, in make_config_from_model order
  std::vector<LeftOut> left_out;
};

// `sparsifier`'s make_config_from_model on the graph's root, less the layers prune_graph could
// not convert or whose pruning would change the width of a graph output.
DefaultConfig default_prune_config(ir::GraphModule& graph_module,
                                   const pruning::BaseSparsifier& sparsifier,
                                   const pruning::PatternTable& patterns);

}  // namespace pare::cli
