#include "node_activation.h"

#include "pare/ir/op_definition.h"
#include "pare/nn/activation.h"

namespace pare::inference::detail {
namespace {

std::optional<kernels::ActivationParams> of_module(const nn::Module& module) {
  const auto* activation = dynamic_cast<const nn::ActivationModule*>(&module);
  if (activation == nullptr) return std::nullopt;
  return activation->activation();
}

std::optional<kernels::ActivationParams> of_function(const ir::Node& node) {
  const ir::OpDefinition* definition = ir::find_op_definition(node.target());
  if (definition == nullptr || definition->activation == nullptr) return std::nullopt;
  // The compiled step reads the first argument alone: every other must be a literal number or
  // flag (or None), fixed at compile time.
  if (node.args().empty() || !node.args()[0].is_node()) return std::nullopt;
  for (size_t i = 1; i < node.args().size(); ++i)
    if (!node.args()[i].is_number() && !node.args()[i].is_bool() && !node.args()[i].is_none())
      return std::nullopt;
  return definition->activation(ir::OpCall(*definition, node, nullptr));
}

}  // namespace

std::optional<kernels::ActivationParams> activation_of(ir::GraphModule& graph_module,
                                                       const ir::Node& node) {
  if (node.op() == ir::OpKind::call_module) return of_module(*graph_module.module(node.target()));
  if (node.op() == ir::OpKind::call_function) return of_function(node);
  return std::nullopt;
}

}  // namespace pare::inference::detail
