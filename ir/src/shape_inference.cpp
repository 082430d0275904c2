// Shape inference (shape_inference.h): a symbolic run of the graph. Every node produces a Symbol,
// the data-free twin of the interpreter's Value; each call_function target's op definition
// (ir/ops/) and each module type has a shape rule that mirrors the checks and output rules of the
// engine op it runs.
#include "pare/ir/shape_inference.h"

#include <functional>
#include <optional>
#include <unordered_map>

#include "pare/checked_math.h"
#include "pare/error.h"
#include "pare/functional.h"
#include "pare/ir/op_definition.h"
#include "pare/kernels/pooling.h"
#include "shape_rules.h"

namespace pare::ir {

namespace {

using namespace ops;  // the shared shape rules

// ---- call_module nodes ----

const AttrValue& config_value(const Attrs& config, const std::string& key,
                              const nn::Module& module) {
  for (const auto& [name, value] : config)
    if (name == key) return value;
  throw Error(str_cat(module.type_name(), ": its config() has no '", key, "'"));
}

int64_t config_int(const Attrs& config, const std::string& key, const nn::Module& module) {
  const AttrValue& value = config_value(config, key, module);
  PARE_CHECK(std::holds_alternative<int64_t>(value), module.type_name(), ": config '", key,
             "' is not an integer");
  return std::get<int64_t>(value);
}

bool config_bool(const Attrs& config, const std::string& key, const nn::Module& module) {
  const AttrValue& value = config_value(config, key, module);
  PARE_CHECK(std::holds_alternative<bool>(value), module.type_name(), ": config '", key,
             "' is not a bool");
  return std::get<bool>(value);
}

IntPair config_pair(const Attrs& config, const std::string& key, const nn::Module& module) {
  const AttrValue& value = config_value(config, key, module);
  if (std::holds_alternative<int64_t>(value)) return std::get<int64_t>(value);
  PARE_CHECK(std::holds_alternative<std::vector<int64_t>>(value), module.type_name(), ": config '",
             key, "' is not a list of integers");
  return IntPair(std::get<std::vector<int64_t>>(value));
}

// The meta of a registered parameter or buffer, or nullptr when it is absent.
std::optional<TensorMeta> tensor_meta_of(const nn::Module& module, const std::string& name) {
  Tensor tensor;
  if (module.has_parameter(name)) {
    tensor = module.get_parameter(name);
  } else if (module.has_buffer(name)) {
    tensor = module.get_buffer(name);
  }
  if (!tensor.defined()) return std::nullopt;
  return TensorMeta{tensor.sizes(), tensor.dtype()};
}

TensorMeta required_tensor(const nn::Module& module, const std::string& name) {
  std::optional<TensorMeta> meta = tensor_meta_of(module, name);
  PARE_CHECK(meta.has_value(), module.type_name(), ": has no parameter '", name, "'");
  return *meta;
}

const TensorMeta& single_input(const std::vector<Symbol>& args, const nn::Module& module) {
  PARE_CHECK(args.size() == 1, module.type_name(), ": expected one input tensor, got ", args.size(),
             " arguments");
  PARE_CHECK(args[0].is_tensor(), module.type_name(), ": expected a tensor input, got ",
             args[0].describe());
  return args[0].meta;
}

Symbol infer_module_call(const nn::Module& module, const std::vector<Symbol>& args);

Symbol infer_lstm_module(const nn::Module& module, const std::vector<Symbol>& args) {
  PARE_CHECK(args.size() == 1 || args.size() == 2,
             "LSTM: expected (input) or (input, (h_0, c_0)), got ", args.size(), " arguments");
  PARE_CHECK(args[0].is_tensor(), "LSTM: expected a tensor input, got ", args[0].describe());
  const TensorMeta* h0 = nullptr;
  const TensorMeta* c0 = nullptr;
  if (args.size() == 2) {
    const Symbol& state = args[1];
    PARE_CHECK(state.is_tuple() && state.items.size() == 2 && state.items[0].is_tensor() &&
                   state.items[1].is_tensor(),
               "LSTM: the state must be a pair (h_0, c_0), got ", state.describe());
    h0 = &state.items[0].meta;
    c0 = &state.items[1].meta;
  }
  const Attrs config = module.config();
  const int64_t num_layers = config_int(config, "num_layers", module);
  const bool bias = config_bool(config, "bias", module);
  const TensorMeta& x = args[0].meta;
  const TensorMeta w_ih = required_tensor(module, "weight_ih_l0");
  PARE_CHECK(x.shape.size() < 2 || w_ih.shape.size() != 2 || x.shape.back() == w_ih.shape[1],
             "input ", x.shape, " does not match input_size=", w_ih.shape[1],
             " (the last dim must be the input size)");
  std::vector<TensorMeta> weights;
  for (int64_t layer = 0; layer < num_layers; ++layer) {
    const std::string suffix = std::to_string(layer);
    weights.push_back(required_tensor(module, "weight_ih_l" + suffix));
    weights.push_back(required_tensor(module, "weight_hh_l" + suffix));
    if (bias) {
      weights.push_back(required_tensor(module, "bias_ih_l" + suffix));
      weights.push_back(required_tensor(module, "bias_hh_l" + suffix));
    }
  }
  const std::vector<Shape> shapes =
      lstm_shapes(x, h0, c0, weights, bias, num_layers, config_bool(config, "batch_first", module));
  return Symbol::tuple(
      {Symbol::of(shapes[0]), Symbol::tuple({Symbol::of(shapes[1]), Symbol::of(shapes[2])})});
}

Symbol infer_unary_module(const nn::Module& module, const TensorMeta& x) {
  const nn::ModuleKind kind = module.kind();
  const Attrs config = module.config();
  if (kind == nn::ModuleKind::linear) {
    const TensorMeta weight = required_tensor(module, "weight");
    PARE_CHECK(weight.shape.size() == 2, "Linear: expected a 2-d weight, got ", weight.shape);
    PARE_CHECK(!x.shape.empty() && x.shape.back() == weight.shape[1], "input ", x.shape,
               " does not match in_features=", weight.shape[1],
               " (the last dim must be the input features)");
    const std::optional<TensorMeta> bias = tensor_meta_of(module, "bias");
    return Symbol::of(linear_shape(x, weight, bias ? &*bias : nullptr));
  }
  if (kind == nn::ModuleKind::conv2d) {
    const TensorMeta weight = required_tensor(module, "weight");
    ConvGeometry geometry;
    geometry.stride = config_pair(config, "stride", module);
    geometry.padding = config_pair(config, "padding", module);
    geometry.dilation = config_pair(config, "dilation", module);
    geometry.groups = config_int(config, "groups", module);
    if (weight.shape.size() == 4 && (x.shape.size() == 3 || x.shape.size() == 4)) {
      const int64_t in_channels = checked_mul(weight.shape[1], geometry.groups,
                                              "Conv2d: in_channels of weight ", weight.shape);
      PARE_CHECK(x.shape[x.shape.size() - 3] == in_channels, "input ", x.shape,
                 " does not match in_channels=", in_channels, " (dim ",
                 x.shape.size() == 4 ? "1" : "0", " must be the channels)");
    }
    const std::optional<TensorMeta> bias = tensor_meta_of(module, "bias");
    return Symbol::of(conv2d_shape(x, weight, bias ? &*bias : nullptr, geometry));
  }
  if (kind == nn::ModuleKind::layer_norm) {
    const AttrValue& value = config_value(config, "normalized_shape", module);
    PARE_CHECK(std::holds_alternative<std::vector<int64_t>>(value),
               "LayerNorm: config 'normalized_shape' is not a list of integers");
    const Shape& normalized_shape = std::get<std::vector<int64_t>>(value);
    const int64_t feature_dims = static_cast<int64_t>(normalized_shape.size());
    require_float(x, "LayerNorm", "input");
    PARE_CHECK(static_cast<int64_t>(x.shape.size()) >= feature_dims &&
                   Shape(x.shape.end() - feature_dims, x.shape.end()) == normalized_shape,
               "input ", x.shape, " does not end with normalized_shape=", normalized_shape);
    for (const char* name : {"weight", "bias"}) {
      const std::optional<TensorMeta> parameter = tensor_meta_of(module, name);
      PARE_CHECK(!parameter || parameter->shape == normalized_shape, "LayerNorm: expected ", name,
                 " of shape ", normalized_shape, ", got ", parameter->shape);
    }
    return Symbol::of(x.shape);
  }
  if (kind == nn::ModuleKind::batch_norm2d) {
    PARE_CHECK(x.shape.size() == 4, "BatchNorm2d: expected a 4-d input, got shape ", x.shape);
    std::vector<const TensorMeta*> vectors;
    std::vector<std::optional<TensorMeta>> owned;
    for (const char* name : {"running_mean", "running_var", "weight", "bias"})
      owned.push_back(tensor_meta_of(module, name));
    for (const auto& meta : owned) vectors.push_back(meta ? &*meta : nullptr);
    for (const TensorMeta* vector : vectors) {
      PARE_CHECK(vector == nullptr || shape_numel(vector->shape) == x.shape[1], "input ", x.shape,
                 " does not match num_features=", shape_numel(vector->shape),
                 " (dim 1 must be the channels)");
    }
    const bool use_batch_statistics = module.is_training() || vectors[0] == nullptr;
    return Symbol::of(batch_norm_shape(x, vectors, use_batch_statistics));
  }
  if (kind == nn::ModuleKind::max_pool2d || kind == nn::ModuleKind::avg_pool2d) {
    const bool max = kind == nn::ModuleKind::max_pool2d;
    const IntPair kernel = config_pair(config, "kernel_size", module);
    const IntPair stride = config_pair(config, "stride", module);
    const IntPair padding = config_pair(config, "padding", module);
    const IntPair dilation = max ? config_pair(config, "dilation", module) : 1;
    kernels::Pool2dParams window;
    window.set_window(kernel.first, kernel.second, stride.first, stride.second, padding.first,
                      padding.second, dilation.first, dilation.second);
    window.ceil_mode = config_bool(config, "ceil_mode", module);
    return Symbol::of(pool2d_shape(x, window, max ? "max_pool2d" : "avg_pool2d"));
  }
  if (kind == nn::ModuleKind::adaptive_avg_pool2d || kind == nn::ModuleKind::adaptive_max_pool2d) {
    return Symbol::of(adaptive_pool2d_shape(x, config_pair(config, "output_size", module),
                                            kind == nn::ModuleKind::adaptive_avg_pool2d
                                                ? "adaptive_avg_pool2d"
                                                : "adaptive_max_pool2d"));
  }
  if (kind == nn::ModuleKind::flatten) {
    return Symbol::of(flatten_shape(x.shape, config_int(config, "start_dim", module),
                                    config_int(config, "end_dim", module)),
                      x.dtype);
  }
  if (kind == nn::ModuleKind::dropout) {
    const AttrValue& p = config_value(config, "p", module);
    const bool drops = std::holds_alternative<double>(p) && std::get<double>(p) != 0.0;
    if (module.is_training() && drops) require_float(x, "Dropout", "input");
    return Symbol::of(x.shape, x.dtype);
  }
  if (kind == nn::ModuleKind::identity) return Symbol::of(x.shape, x.dtype);
  if (kind == nn::ModuleKind::prelu) {
    require_float(x, "PReLU", "input");
    const TensorMeta weight = required_tensor(module, "weight");
    const int64_t channels = x.shape.size() >= 2 ? x.shape[1] : 1;
    const int64_t count = shape_numel(weight.shape);
    PARE_CHECK(count == 1 || count == channels, "input ", x.shape,
               " does not match num_parameters=", count, " (1 or the channels, dim 1)");
    return Symbol::of(x.shape);
  }
  if (kind == nn::ModuleKind::activation) {
    require_float(x, module.type_name(), "input");
    return Symbol::of(x.shape);
  }
  if (kind == nn::ModuleKind::sequential) {
    Symbol current = Symbol::of(x.shape, x.dtype);
    for (const auto& [name, child] : module.named_children()) {
      try {
        Symbol result = infer_module_call(*child, {current});
        // Inside a Sequential an LSTM contributes its output sequence only (LSTMImpl::call).
        current = result.is_tuple() ? result.items.at(0) : result;
      } catch (const Error& error) {
        throw Error(str_cat("child '", name, "' (", child->type_name(), "): ", error.what()));
      }
    }
    return current;
  }
  throw Error(str_cat("no shape rule for module type '", module.type_name(), "'"));
}

Symbol infer_module_call(const nn::Module& module, const std::vector<Symbol>& args) {
  if (module.kind() == nn::ModuleKind::lstm) return infer_lstm_module(module, args);
  return infer_unary_module(module, single_input(args, module));
}

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
      return infer_module_call(*graph_module.module(node.target()), args);
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
    return infer_module_call(module, {Symbol::of(input.shape, input.dtype)}).flatten();
  } catch (const Error& error) {
    throw Error(str_cat(module.type_name(), ": ", error.what()));
  }
}

}  // namespace pare::ir
