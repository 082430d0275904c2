// Model statistics (model_stats.h): shape inference first, then parameter and MAC counts read
// from the modules' weights (each layer definition's MAC rule) and the nodes' meta.
#include "pare/ir/model_stats.h"

#include <unordered_map>
#include <unordered_set>

#include "pare/checked_math.h"
#include "pare/error.h"
#include "pare/ir/layer_definition.h"
#include "pare/ir/op_definition.h"
#include "pare/ir/shape_inference.h"

namespace pare::ir {

namespace {

const TensorMeta& tensor_meta_of_arg(const Node& node, size_t index) {
  PARE_CHECK(index < node.args().size() && node.args()[index].is_node(), "node '", node.name(),
             "': argument ", index, " is not a node");
  const Node* input = node.args()[index].to_node();
  PARE_CHECK(input->meta.size() == 1 && !input->produces_tuple, "node '", node.name(),
             "': argument ", index, " ('", input->name(), "') is not one tensor");
  return input->meta[0];
}

// What a node produced, from its recorded meta. A nested tuple comes back flat, which the MAC
// rules do not see: they read tensor arguments only.
Symbol recorded_symbol(const Node& node) {
  PARE_CHECK(!node.meta.empty(), "node '", node.name(), "' has no output meta");
  if (!node.produces_tuple) return Symbol::of(node.meta[0].shape, node.meta[0].dtype);
  std::vector<Symbol> items;
  for (const TensorMeta& meta : node.meta) items.push_back(Symbol::of(meta.shape, meta.dtype));
  return Symbol::tuple(std::move(items));
}

Symbol argument_symbol(const Argument& argument) {
  if (argument.is_node()) return recorded_symbol(*argument.to_node());
  if (!argument.is_list()) return Symbol();
  std::vector<Symbol> items;
  for (const Argument& item : argument.to_list()) items.push_back(argument_symbol(item));
  return Symbol::tuple(std::move(items));
}

// The MACs of a call_function node, from its definition.
int64_t function_macs(const OpDefinition& definition, const Node& node) {
  std::vector<Symbol> args;
  for (const Argument& argument : node.args()) args.push_back(argument_symbol(argument));
  return definition.macs(OpCall(definition, node, &args), recorded_symbol(node));
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
          entry.kind = module->kind();
          for (const auto& [key, tensor] : module->state_dict())
            entry.tensors.emplace_back(node->target() + "." + key, tensor.sizes());
          entry.params = unique_parameter_count(module->parameters());
          stats.modules.push_back(std::move(entry));
        }
        ModuleStats& entry = stats.modules[found->second];
        entry.calls += 1;
        entry.macs = checked_add(entry.macs, module_macs(*module, tensor_meta_of_arg(*node, 0)),
                                 "MACs of module '", node->target(), "'");
      } else if (node->op() == OpKind::call_function) {
        const OpDefinition* definition = find_op_definition(node->target());
        if (definition != nullptr && definition->macs != nullptr) {
          stats.functions.push_back(
              {node->name(), node->target(), function_macs(*definition, *node)});
        }
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
  const LayerDefinition* definition = find_layer_definition(module.kind());
  return definition != nullptr && definition->macs != nullptr ? definition->macs(module, input) : 0;
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
