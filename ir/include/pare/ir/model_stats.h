// Model statistics for `pare info`, `pare prune` and `pare bench`: per module its type, its
// state_dict tensors, its parameter count and the multiply-accumulates (MACs) it performs for
// the recorded input shape; per graph node a printable line; totals.
//
//   pare::ir::GraphModule gm = pare::ir::load("net.pare");
//   pare::ir::ModelStats stats = pare::ir::model_stats(gm);   // the recorded input shapes
//   for (const pare::ir::NodeLine& line : pare::ir::node_lines(gm.graph()))
//     std::cout << line.name << " " << line.op << " " << line.target << " " << line.output << "\n";
//   for (const pare::ir::ModuleStats& module : stats.modules)
//     std::cout << module.name << " " << module.type << " " << module.params << " "
//               << module.macs << "\n";
//   std::cout << "total: " << stats.params << " params, " << stats.macs << " MACs\n";
//
// The MAC convention (that of ptflops / thop for these layers): one multiply-accumulate per
// weight tap per output element of Linear, Conv2d and LSTM, as modules or as the functions
// linear, conv2d and lstm; every other op (activations, norms, pools, elementwise arithmetic,
// the LSTM's gate nonlinearities and bias adds) counts 0.
//   Linear  rows * in_features * out_features          (rows: all leading dims of the input)
//   Conv2d  N * out_h * out_w * out_channels * (in_channels / groups) * kh * kw
//   LSTM    per layer: T * N * 4 * hidden * (layer_input + hidden)   (N = 1 when unbatched)
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pare/ir/graph.h"
#include "pare/ir/graph_module.h"

namespace pare::ir {

struct ModuleStats {
  std::string name;  // qualified name, the call_module target ("features.0")
  std::string type;  // "Conv2d", as type_name() says
  nn::ModuleKind kind = nn::ModuleKind::custom;
  // The module's state_dict entries (parameters and buffers) under their full keys
  // ("features.0.weight"), in state_dict order.
  std::vector<std::pair<std::string, Shape>> tensors;
  int64_t params = 0;  // parameter elements (buffers excluded)
  int64_t macs = 0;    // summed over every call of the module in the graph
  int64_t calls = 0;   // call_module nodes that call it
};

// A call_function node whose op definition counts MACs (linear, conv2d, lstm).
struct FunctionStats {
  std::string node;
  std::string target;
  int64_t macs = 0;
};

struct GraphInput {
  std::string name;
  TensorMeta meta;
};

struct ModelStats {
  std::vector<GraphInput> inputs;
  std::vector<ModuleStats> modules;  // call_module targets, in order of their first call
  std::vector<FunctionStats> functions;
  // Every parameter of the root module, each tensor once however often it is shared or called
  // (what the .pare file holds).
  int64_t params = 0;
  int64_t macs = 0;  // modules and functions together
};

// Runs shape inference for `inputs` (one per placeholder), then counts.
ModelStats model_stats(GraphModule& graph_module, const std::vector<TensorMeta>& inputs);
// Uses the placeholders' recorded meta.
ModelStats model_stats(GraphModule& graph_module);

// The MACs of one call of `module` on an input of meta `input` (0 for modules other than
// Linear, Conv2d, LSTM and Sequentials holding them).
int64_t module_macs(const nn::Module& module, const TensorMeta& input);

// One printable line per node, for a graph whose meta is filled.
struct NodeLine {
  std::string name;
  std::string op;      // "call_module"
  std::string target;  // "conv1", "relu", ...
  std::string output;  // format_meta(node.meta): "[1, 16, 28, 28] float32"; "" without meta
};
std::vector<NodeLine> node_lines(const Graph& graph);

}  // namespace pare::ir
