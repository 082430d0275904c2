// Shape inference (shape_inference.h): a symbolic run of the graph. Every node produces a Symbol,
// the data-free twin of the interpreter's Value; each call_function target's op definition
// (ir/ops/) and each built-in layer's definition (pare/ir/layer_definition.h) has a shape rule that
// mirrors the checks and output rules of the engine op it runs.
#include "pare/ir/shape_inference.h"

#include <functional>
#include <unordered_map>

#include "layers.h"
#include "pare/checked_math.h"
#include "pare/error.h"
#include "pare/ir/op_definition.h"

namespace pare::ir {

namespace {

// A module call's shape rule is its layer definition's (ir/ops/).
using ops::infer_layer_call;

// ---- The graph walk ----

Symbol gather(const Argument& argument, const std::unordered_map<const Node*, Symbol>& symbols) {
  if (argument.is_node()) {
    auto found = symbols.find(argument.to_node());
    PARE_CHECK(found != symbols.end(), "uses '", argument.to_node()->name(),
               "', which is not defined before it");
    return found->second;
  }
  if (argument.is_list()) {
    std::vector<Symbol> items;
    for (const Argument& item : argument.to_list()) items.push_back(gather(item, symbols));
    return Symbol::tuple(std::move(items));
  }
  return Symbol();
}

std::string node_label(const Node& node, const GraphModule& graph_module) {
  std::string label =
      str_cat("node '", node.name(), "' (", op_kind_name(node.op()), " ", node.target());
  if (node.op() == OpKind::call_module) {
    try {
      label += ": " + graph_module.module(node.target())->type_name();
    } catch (const Error&) {
      // The missing module is what the error itself reports.
    }
  }
  return label + ")";
}

std::string input_shapes(const Node& node, const std::unordered_map<const Node*, Symbol>& symbols) {
  std::string text;
  for (const Node* input : node.input_nodes()) {
    auto found = symbols.find(input);
    text += (text.empty() ? "" : ", ") +
            (found != symbols.end() ? found->second.describe() : std::string("unknown"));
  }
  return text.empty() ? "none" : text;
}

Symbol infer_node(const Node& node, const GraphModule& graph_module,
                  const std::unordered_map<const Node*, Symbol>& symbols) {
  std::vector<Symbol> args;
  for (const Argument& argument : node.args()) args.push_back(gather(argument, symbols));
  switch (node.op()) {
    case OpKind::placeholder:
      break;
    case OpKind::get_attr: {
      const Tensor tensor = graph_module.attribute(node.target());
      return Symbol::of(tensor.sizes(), tensor.dtype());
    }
    case OpKind::call_module:
      PARE_CHECK(node.kwargs().empty(), "call_module takes no keyword arguments");
      return infer_layer_call(*graph_module.module(node.target()), args);
    case OpKind::call_function: {
      const OpDefinition& definition = op_definition(node.target());
      const OpCall call(definition, node, &args);
      // The interpreter's own argument checks (unknown keywords, missing or mistyped ones).
      definition.bind(call);
      return definition.infer(call);
    }
    case OpKind::output:
      PARE_CHECK(args.size() == 1, "the output node must have one argument");
      return args[0];
  }
  return Symbol();
}

// Refuses a shape no tensor pare can hold (checked_tensor_bytes): checked at every node, so that
// the error names the node, and no later product of its sizes (a kernel's, a MAC count) can wrap.
void check_holdable(const Symbol& symbol, const char* role) {
  for (const TensorMeta& meta : symbol.flatten())
    checked_tensor_bytes(meta.shape, static_cast<int64_t>(element_size(meta.dtype)), role);
}

// The walk infer_shapes and infer_symbols share: every node's symbol, in graph order, handed to
// `visit` as soon as it is known (so that infer_shapes leaves the nodes before a failing one with
// their new meta). `caller` names the entry point in the input-count error.
void walk_symbols(const GraphModule& graph_module, const std::vector<TensorMeta>& inputs,
                  const SymbolFallback& fallback, const char* caller,
                  const std::function<void(Node& node, const Symbol& symbol)>& visit) {
  std::unordered_map<const Node*, Symbol> symbols;
  const std::vector<Node*> placeholders = graph_module.graph().placeholders();
  PARE_CHECK(inputs.size() == placeholders.size(), caller, ": expected ", placeholders.size(),
             " input shape(s) (one per placeholder), got ", inputs.size());
  size_t next_input = 0;
  for (Node* node : graph_module.graph().nodes()) {
    Symbol symbol;
    if (node->op() == OpKind::placeholder) {
      const TensorMeta& input = inputs[next_input++];
      symbol = Symbol::of(input.shape, input.dtype);
      try {
        check_holdable(symbol, "input");
      } catch (const std::exception& error) {
        throw Error(str_cat(node_label(*node, graph_module), ": ", error.what()));
      }
    } else {
      try {
        symbol = infer_node(*node, graph_module, symbols);
        check_holdable(symbol, "output");
      } catch (const std::exception& error) {
        if (!fallback)
          throw Error(str_cat(node_label(*node, graph_module), ", input shapes ",
                              input_shapes(*node, symbols), ": ", error.what()));
        std::vector<Symbol> args;
        for (const Argument& argument : node->args()) args.push_back(gather(argument, symbols));
        symbol = fallback(*node, args);
      }
    }
    visit(*node, symbol);
    symbols.emplace(node, std::move(symbol));
  }
}

}  // namespace

void infer_shapes(GraphModule& graph_module, const std::vector<TensorMeta>& inputs) {
  walk_symbols(graph_module, inputs, {}, "infer_shapes", [](Node& node, const Symbol& symbol) {
    node.meta = symbol.flatten();
    node.produces_tuple = symbol.is_tuple();
  });
}

std::vector<Symbol> infer_symbols(const GraphModule& graph_module,
                                  const std::vector<TensorMeta>& inputs,
                                  const SymbolFallback& fallback) {
  std::vector<Symbol> result;
  walk_symbols(graph_module, inputs, fallback, "infer_symbols",
               [&](Node&, const Symbol& symbol) { result.push_back(symbol); });
  return result;
}

void infer_shapes(GraphModule& graph_module) {
  std::vector<TensorMeta> inputs;
  for (const Node* placeholder : graph_module.graph().placeholders()) {
    PARE_CHECK(placeholder->meta.size() == 1, "infer_shapes: placeholder '", placeholder->name(),
               "' has no recorded shape (pass the input shapes, trace the model, or call "
               "GraphModule::record_meta)");
    inputs.push_back(placeholder->meta[0]);
  }
  infer_shapes(graph_module, inputs);
}

std::vector<TensorMeta> infer_module_outputs(const nn::Module& module, const TensorMeta& input) {
  try {
    return infer_layer_call(module, {Symbol::of(input.shape, input.dtype)}).flatten();
  } catch (const Error& error) {
    throw Error(str_cat(module.type_name(), ": ", error.what()));
  }
}

}  // namespace pare::ir
