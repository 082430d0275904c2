// Any node no lowering takes runs as the interpreter runs it (GraphModule::run_node), on plain
// inputs, so that every graph compiles. Its results are external slots of the shapes shape
// inference gave; each call checks the node returned those, since later steps were laid out for
// them (a forward hook may replace a module's output).
#include "lowerings.h"
#include "pare/error.h"

namespace pare::inference::detail {

namespace {

ir::Value value_of_tree(CompilerState& state, const ValueTree& tree) {
  if (tree.is_slot()) return ir::Value(state.slots[tree.slot].tensor);
  std::vector<ir::Value> items;
  items.reserve(tree.items.size());
  for (const ValueTree& item : tree.items) items.push_back(value_of_tree(state, item));
  return ir::Value(std::move(items));
}

void store(CompilerState& state, const ir::Node& node, const ValueTree& tree,
           const ir::Value& value) {
  if (tree.is_slot()) {
    Slot& slot = state.slots[tree.slot];
    const Tensor& tensor = value.tensor();
    PARE_CHECK(tensor.defined() && tensor.sizes() == slot.shape && tensor.dtype() == slot.dtype,
               "CompiledGraph: node ", node_label(node), " returned ",
               tensor.defined() ? str_cat(tensor.sizes(), " ", dtype_name(tensor.dtype()))
                                : std::string("an undefined tensor"),
               " where shape inference, which the compiled graph was laid out by, says ",
               slot.shape, " ", dtype_name(slot.dtype));
    slot.tensor = tensor;
    return;
  }
  const std::vector<ir::Value>& items = value.items();
  PARE_CHECK(items.size() == tree.items.size(), "CompiledGraph: a node returned ", items.size(),
             " values where the compiled graph expects ", tree.items.size());
  for (size_t i = 0; i < items.size(); ++i) store(state, node, tree.items[i], items[i]);
}

}  // namespace

void lower_interpreted(CompilerState& state, const ir::Node& node) {
  std::vector<ValueTree> arguments;
  std::vector<int> reads;
  std::vector<int> may_alias;
  std::function<ValueTree(const ir::Argument&)> tree_of = [&](const ir::Argument& argument) {
    if (argument.is_node()) return state.plain_tree(state.tree(argument.to_node()));
    ValueTree tree;
    if (argument.is_list())
      for (const ir::Argument& item : argument.to_list()) tree.items.push_back(tree_of(item));
    return tree;
  };
  for (const ir::Argument& argument : node.args()) arguments.push_back(tree_of(argument));
  for (const ValueTree& tree : arguments) state.collect_slots(tree, reads);
  for (int slot : reads) {
    const std::vector<int>& buffers = state.slots[slot].may_alias;
    may_alias.insert(may_alias.end(), buffers.begin(), buffers.end());
  }
  std::function<ValueTree(const ir::Symbol&)> result_tree = [&](const ir::Symbol& symbol) {
    if (symbol.is_tensor())
      return ValueTree{state.external_slot(symbol.meta.shape, symbol.meta.dtype, may_alias), {}};
    ValueTree tree;
    for (const ir::Symbol& item : symbol.items) tree.items.push_back(result_tree(item));
    return tree;
  };
  const ValueTree result = result_tree(state.symbol(&node));
  const ir::Node* target = &node;
  state.add_step(str_cat("interpreted ", node_label(node)), reads,
                 [&state, target, arguments, result] {
                   std::vector<ir::Value> args;
                   args.reserve(arguments.size());
                   for (const ValueTree& tree : arguments)
                     args.push_back(value_of_tree(state, tree));
                   store(state, *target, result, state.graph_module.run_node(*target, args));
                 });
  state.tree(&node) = result;
  ++state.stats.interpreted_nodes;
}

}  // namespace pare::inference::detail
