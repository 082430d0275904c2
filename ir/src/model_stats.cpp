// Model statistics (model_stats.h): shape inference first, then parameter and MAC counts read
// from the modules' weights and the nodes' meta.
#include "pare/ir/model_stats.h"

#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "pare/checked_math.h"
#include "pare/error.h"
#include "pare/ir/shape_inference.h"

namespace pare::ir {

namespace {

Shape parameter_shape(const nn::Module& module, const std::string& name) {
  PARE_CHECK(module.has_parameter(name), module.type_name(), ": has no parameter '", name, "'");
  const Tensor tensor = module.get_parameter(name);
  PARE_CHECK(tensor.defined(), module.type_name(), ": parameter '", name, "' is undefined");
  return tensor.sizes();
}

bool config_flag(const nn::Module& module, const std::string& key) {
  for (const auto& [name, value] : module.config())
    if (name == key && std::holds_alternative<bool>(value)) return std::get<bool>(value);
  throw Error(str_cat(module.type_name(), ": its config() has no bool '", key, "'"));
}

int64_t linear_macs(const Shape& input, const Shape& weight) {
  PARE_CHECK(weight.size() == 2, "linear: expected a 2-d weight, got ", weight);
  // rows * in_features * out_features, where rows * in_features is the input's size.
  return checked_mul(shape_numel(input), weight[0], "linear: MACs of input ", input, " and weight ",
                     weight);
}

int64_t conv2d_macs(const Shape& output, const Shape& weight) {
  PARE_CHECK(weight.size() == 4, "conv2d: expected a 4-d weight, got ", weight);
  int64_t macs = shape_numel(output);
  for (size_t i = 1; i < 4; ++i)
    macs = checked_mul(macs, weight[i], "conv2d: MACs of output ", output, " and weight ", weight);
  return macs;
}

// T * N * (|w_ih| + |w_hh|) per layer, which is T * N * 4H * (layer_input + H).
int64_t lstm_macs(const Shape& input, bool batch_first, const std::vector<Shape>& layer_weights) {
  PARE_CHECK(input.size() == 2 || input.size() == 3,
             "lstm: expected a 2-d or 3-d input, got shape ", input);
  const int64_t steps = input.size() == 3 && batch_first ? input[1] : input[0];
  const int64_t batch = input.size() == 3 ? (batch_first ? input[0] : input[1]) : 1;
  int64_t per_step = 0;
  for (const Shape& weight : layer_weights)
    per_step = checked_add(per_step, shape_numel(weight), "lstm: MACs per step of input ", input);
  const char* what = "lstm: MACs of input";
  return checked_mul(checked_mul(steps, batch, what, " ", input), per_step, what, " ", input);
}

const TensorMeta& tensor_meta_of_arg(const Node& node, size_t index) {
  PARE_CHECK(index < node.args().size() && node.args()[index].is_node(), "node '", node.name(),
             "': argument ", index, " is not a node");
  const Node* input = node.args()[index].to_node();
  PARE_CHECK(input->meta.size() == 1 && !input->produces_tuple, "node '", node.name(),
             "': argument ", index, " ('", input->name(), "') is not one tensor");
  return input->meta[0];
}

int64_t function_macs(const Node& node) {
  if (node.target() == "linear")
    return linear_macs(tensor_meta_of_arg(node, 0).shape, tensor_meta_of_arg(node, 1).shape);
  if (node.target() == "conv2d") {
    PARE_CHECK(node.meta.size() == 1, "node '", node.name(), "' has no output meta");
    return conv2d_macs(node.meta[0].shape, tensor_meta_of_arg(node, 1).shape);
  }
  // lstm(x, h0, c0, per layer w_ih, w_hh[, b_ih, b_hh]).
  const Argument* has_biases = node.kwarg("has_biases");
  const Argument* batch_first = node.kwarg("batch_first");
  const size_t per_layer = has_biases == nullptr || has_biases->to_bool() ? 4 : 2;
  std::vector<Shape> layer_weights;
  for (size_t i = 3; i < node.args().size(); ++i)
    if ((i - 3) % per_layer < 2) layer_weights.push_back(tensor_meta_of_arg(node, i).shape);
  return lstm_macs(tensor_meta_of_arg(node, 0).shape,
                   batch_first != nullptr && batch_first->to_bool(), layer_weights);
}

int64_t unique_parameter_count(const std::vector<Tensor>& parameters) {
  std::unordered_set<const TensorImpl*> seen;
  int64_t count = 0;
  for (const Tensor& parameter : parameters) {
    if (!parameter.defined() || !seen.insert(parameter.impl()).second) continue;
    count = checked_add(count, parameter.numel(), "parameter count");
  }
  return count;
}

ModelStats collect(GraphModule& graph_module) {
  ModelStats stats;
  for (const Node* placeholder : graph_module.graph().placeholders())
    stats.inputs.push_back({placeholder->name(), placeholder->meta.at(0)});
  std::unordered_map<std::string, size_t> module_index;
  for (const Node* node : graph_module.graph().nodes()) {
    try {
      if (node->op() == OpKind::call_module) {
        const std::shared_ptr<nn::Module> module = graph_module.module(node->target());
        auto [found, inserted] = module_index.emplace(node->target(), stats.modules.size());
        if (inserted) {
          ModuleStats entry;
          entry.name = node->target();
          entry.type = module->type_name();
          for (const auto& [key, tensor] : module->state_dict())
            entry.tensors.emplace_back(node->target() + "." + key, tensor.sizes());
          entry.params = unique_parameter_count(module->parameters());
          stats.modules.push_back(std::move(entry));
        }
        ModuleStats& entry = stats.modules[found->second];
        entry.calls += 1;
        entry.macs = checked_add(entry.macs, module_macs(*module, tensor_meta_of_arg(*node, 0)),
                                 "MACs of module '", node->target(), "'");
      } else if (node->op() == OpKind::call_function &&
                 (node->target() == "linear" || node->target() == "conv2d" ||
                  node->target() == "lstm")) {
        stats.functions.push_back({node->name(), node->target(), function_macs(*node)});
      }
    } catch (const Error& error) {
      throw Error(str_cat("model_stats: node '", node->name(), "' (", op_kind_name(node->op()), " ",
                          node->target(), "): ", error.what()));
    }
  }
  for (const ModuleStats& module : stats.modules)
    stats.macs = checked_add(stats.macs, module.macs, "model_stats: total MACs at module '",
                             module.name, "'");
  for (const FunctionStats& function : stats.functions)
    stats.macs = checked_add(stats.macs, function.macs, "model_stats: total MACs at node '",
                             function.node, "'");
  stats.params = unique_parameter_count(graph_module.root().parameters());
  return stats;
}

}  // namespace

int64_t module_macs(const nn::Module& module, const TensorMeta& input) {
  const std::string& type = module.type_name();
  if (type == "Linear") return linear_macs(input.shape, parameter_shape(module, "weight"));
  if (type == "Conv2d") {
    const std::vector<TensorMeta> output = infer_module_outputs(module, input);
    return conv2d_macs(output.at(0).shape, parameter_shape(module, "weight"));
  }
  if (type == "LSTM") {
    std::vector<Shape> layer_weights;
    for (int64_t layer = 0; module.has_parameter("weight_ih_l" + std::to_string(layer)); ++layer) {
      layer_weights.push_back(parameter_shape(module, "weight_ih_l" + std::to_string(layer)));
      layer_weights.push_back(parameter_shape(module, "weight_hh_l" + std::to_string(layer)));
    }
    return lstm_macs(input.shape, config_flag(module, "batch_first"), layer_weights);
  }
  if (type == "Sequential") {
    int64_t macs = 0;
    TensorMeta current = input;
    for (const auto& [name, child] : module.named_children()) {
      macs =
          checked_add(macs, module_macs(*child, current), "Sequential: MACs at child '", name, "'");
      current = infer_module_outputs(*child, current).at(0);
    }
    return macs;
  }
  return 0;
}

ModelStats model_stats(GraphModule& graph_module, const std::vector<TensorMeta>& inputs) {
  infer_shapes(graph_module, inputs);
  return collect(graph_module);
}

ModelStats model_stats(GraphModule& graph_module) {
  infer_shapes(graph_module);
  return collect(graph_module);
}

std::vector<NodeLine> node_lines(const Graph& graph) {
  std::vector<NodeLine> lines;
  for (const Node* node : graph.nodes()) {
    lines.push_back({node->name(), op_kind_name(node->op()), node->target(),
                     node->meta.empty() ? std::string() : format_meta(node->meta)});
  }
  return lines;
}

}  // namespace pare::ir
