// The nodes that cost nothing once compiled: getitem of a tuple value (the LSTM's) is one of its
// slots, and flatten / reshape / view / contiguous / eval dropout / identity of an arena value is
// the same memory under another shape.
#include "lowerings.h"
#include "pare/ir/op_definition.h"

namespace pare::inference::detail {

namespace {

// Whether a call_function node's definition makes it a view of its first input
// (Lowering::alias, and its alias_when for this call's literals).
bool is_alias_call(const ir::Node& node) {
  const ir::OpDefinition* definition = ir::find_op_definition(node.target());
  if (definition == nullptr || definition->lowering != ir::Lowering::alias) return false;
  // A shape or flag computed at run time cannot be fixed when compiling.
  for (size_t i = 1; i < node.args().size(); ++i)
    if (node.args()[i].is_node()) return false;
  return definition->alias_when == nullptr ||
         definition->alias_when(ir::OpCall(*definition, node, nullptr));
}

}  // namespace

bool lower_getitem(CompilerState& state, const ir::Node& node) {
  if (node.op() != ir::OpKind::call_function || node.target() != "getitem" ||
      node.args().size() != 2 || !node.args()[1].is_int())
    return false;
  const ir::Node* input = state.first_input(node);
  if (input == nullptr) return false;
  const ValueTree& tree = state.tree(input);
  if (tree.is_slot()) return false;
  int64_t index = node.args()[1].to_int();
  const int64_t count = static_cast<int64_t>(tree.items.size());
  if (index < 0) index += count;
  if (index < 0 || index >= count) return false;
  state.tree(&node) = tree.items[index];
  return true;
}

bool lower_alias(CompilerState& state, const ir::Node& node) {
  const ir::Node* input = state.first_input(node);
  if (input == nullptr || !state.is_float_tensor(input)) return false;
  const ir::Symbol& result = state.symbol(&node);
  if (!result.is_tensor() ||
      shape_numel(result.meta.shape) != shape_numel(state.symbol(input).meta.shape))
    return false;
  bool is_alias = false;
  if (node.op() == ir::OpKind::call_module) {
    const auto module = state.module_of(node);
    const nn::ModuleKind kind = module->kind();
    is_alias = unhooked(*module, {}) &&
               (kind == nn::ModuleKind::flatten || kind == nn::ModuleKind::identity ||
                (kind == nn::ModuleKind::dropout && !module->is_training()));
  } else if (node.op() == ir::OpKind::call_function) {
    is_alias = is_alias_call(node);
  }
  const int in_slot = state.tree(input).slot;
  if (!is_alias || state.slots[in_slot].buffer == kNone) return false;
  state.tree(&node) = {state.alias_slot(state.plain(in_slot), result.meta.shape), {}};
  return true;
}

}  // namespace pare::inference::detail
