// What the fuzz target and the corpus writer share: the small model that 'G', 'C' and 'M' inputs
// are read against, and the .pare container a graph JSON is wrapped into.
//
//   pare::ir::GraphModule model = pare::fuzz::small_mlp();    // x -> fc1 -> relu -> fc2
//   std::string bytes = pare::fuzz::pare_file_with_graph(graph_json_text);
#pragma once

#include <memory>
#include <string>

#include "pare/ir/graph_module.h"
#include "pare/pare.h"
#include "pare/safetensors.h"

namespace pare::fuzz {

// x [1, 3] -> fc1 (Linear 3 -> 4) -> relu -> fc2 (Linear 4 -> 2), weights 0.5 (deterministic).
inline ir::GraphModule small_mlp() {
  auto root = std::make_shared<nn::Module>("MLP");
  root->register_module("fc1", nn::Linear(3, 4));
  root->register_module("fc2", nn::Linear(4, 2));
  NoGradGuard no_grad;
  for (auto& [name, tensor] : root->state_dict()) tensor.fill_(0.5);
  auto graph = std::make_shared<ir::Graph>();
  ir::Node* x = graph->placeholder("x");
  x->meta = {ir::TensorMeta{{1, 3}, kFloat32}};
  ir::Node* fc1 = graph->call_module("fc1", {x});
  ir::Node* relu = graph->call_function("relu", {fc1});
  graph->output(graph->call_module("fc2", {relu}));
  return ir::GraphModule(root, graph);
}

// A .pare file holding small_mlp()'s tensors and `graph_json` as its graph.
inline std::string pare_file_with_graph(const std::string& graph_json) {
  static const std::vector<std::pair<std::string, Tensor>> tensors = [] {
    std::vector<std::pair<std::string, Tensor>> named;
    for (const auto& [name, tensor] : small_mlp().root().state_dict())
      named.emplace_back(name, tensor);
    return named;
  }();
  return encode_safetensors(
      tensors, {{"format", "pare"}, {"pare.version", "1"}, {"pare.graph", graph_json}});
}

}  // namespace pare::fuzz
