// Shape inference: fills every node's meta (output shapes and dtypes) from the input shapes alone,
// without running a kernel. It reads each module's config() and parameter shapes, and each
// call_function node's arguments, and follows the engine's rules (broadcasting, dtype promotion,
// PyTorch's pooling and convolution output sizes, the LSTM's tuple outputs).
//
//   pare::ir::GraphModule gm = pare::ir::load("net.pare");
//   pare::ir::infer_shapes(gm, {{{32, 1, 28, 28}, pare::kFloat32}});   // batch 32 this time
//   for (const pare::ir::Node* node : gm.graph().nodes())
//     std::cout << node->name() << ": " << pare::ir::format_meta(node->meta) << "\n";
//   pare::ir::infer_shapes(gm);            // or from the placeholders' recorded meta
//
// Contract: on success every node's meta holds what GraphModule::record_meta would record for
// inputs of these shapes (tuple producers: the flattened tensors, produces_tuple set), and the
// output node's meta holds the graph's outputs, flattened. On a shape, dtype or argument error,
// a pare::Error names the node, its op, its target (and module type) and its input shapes; nodes
// before it have their new meta, the others keep their old one. Not detected: view() of a
// non-contiguous tensor (strides are not tracked) and errors that depend on tensor values.
#pragma once

#include <functional>
#include <vector>

#include "pare/ir/graph.h"
#include "pare/ir/graph_module.h"
#include "pare/ir/op_definition.h"

namespace pare::ir {

// `inputs` holds one TensorMeta per placeholder, in order; the placeholders' meta is set to it.
void infer_shapes(GraphModule& graph_module, const std::vector<TensorMeta>& inputs);
// Uses each placeholder's existing meta (as set by the tracer or a loaded .pare file).
void infer_shapes(GraphModule& graph_module);

// Says what a node produces where shape inference cannot (its rule refuses the arguments, or it
// has none, as for a user's registered module type), given the symbols of its positional
// arguments; returns the node's symbol or throws the error to report, as is.
using SymbolFallback =
    std::function<Symbol(const Node& node, const std::vector<Symbol>& arg_symbols)>;

// Every node's symbol, one per node in graph order (a tuple producer's with its nesting: the
// LSTM's (output, (h_n, c_n))), by the same walk as infer_shapes but leaving the nodes' meta as
// it is. Without a fallback, errors are infer_shapes' own.
//
//   std::vector<pare::ir::Symbol> symbols =
//       pare::ir::infer_symbols(gm, {{{1, 3, 32, 32}, pare::kFloat32}});
std::vector<Symbol> infer_symbols(const GraphModule& graph_module,
                                  const std::vector<TensorMeta>& inputs,
                                  const SymbolFallback& fallback = {});

// What one call of `module` on a tensor of meta `input` produces, for the modules the format
// lists and Sequentials of them (an LSTM: output, h_n, c_n). Errors name the module's type.
std::vector<TensorMeta> infer_module_outputs(const nn::Module& module, const TensorMeta& input);

}  // namespace pare::ir
