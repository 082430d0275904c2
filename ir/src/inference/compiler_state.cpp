// The compiler's bookkeeping (compiler_state.h): slots, steps and arena buffers, the blocked ->
// plain conversions a reader may need, and the questions a lowering asks about the graph.
#include "compiler_state.h"

#include "lowerings.h"
#include "pare/error.h"
#include "pare/kernels/memory_layout.h"
#include "pare/nn/conv.h"
#include "pare/reduction.h"

namespace pare::inference::detail {

std::string node_label(const ir::Node& node) {
  return str_cat(node.name(), " (", ir::op_kind_name(node.op()), " ", node.target(), ")");
}

bool unhooked(const nn::Module& module, std::initializer_list<const char*> names) {
  if (module.has_hooks()) return false;
  for (const char* name : names)
    if (module.parametrization(name) != nullptr) return false;
  return true;
}

Tensor float_contiguous(const Tensor& tensor) {
  return tensor.defined() ? tensor.contiguous() : Tensor();
}

CompilerState::CompilerState(ir::GraphModule& source, const std::vector<ir::TensorMeta>& inputs,
                             const InferenceOptions& opts)
    : graph_module(source), input_meta(inputs), options(opts) {
  graph_module.set_forward_backend(nullptr);
}

// ---- Slots and steps ----

int CompilerState::add_slot(Slot slot) {
  slots.push_back(std::move(slot));
  return static_cast<int>(slots.size()) - 1;
}

int CompilerState::arena_slot(const Shape& shape, const kernels::MemoryLayout& layout) {
  Slot slot;
  slot.shape = shape;
  slot.layout = layout.defined() && !layout.is_plain() ? layout : kernels::MemoryLayout();
  slot.buffer = static_cast<int>(buffers.size());
  slot.may_alias = {slot.buffer};
  const size_t bytes = slot.blocked() ? layout.bytes() : shape_numel(shape) * sizeof(float);
  buffers.push_back({bytes, steps.size()});
  if (slot.blocked()) ++stats.blocked_values;
  return add_slot(std::move(slot));
}

int CompilerState::alias_slot(int source, const Shape& shape) {
  Slot slot;
  slot.shape = shape;
  slot.buffer = slots[source].buffer;
  slot.may_alias = slots[source].may_alias;
  return add_slot(std::move(slot));
}

int CompilerState::external_slot(const Shape& shape, DType dtype, std::vector<int> may_alias) {
  Slot slot;
  slot.shape = shape;
  slot.dtype = dtype;
  slot.may_alias = std::move(may_alias);
  return add_slot(std::move(slot));
}

void CompilerState::add_step(std::string description, std::vector<int> reads,
                             std::function<void()> run) {
  steps.push_back({std::move(description), std::move(reads), std::move(run), nullptr, 0});
}

int CompilerState::plain(int index) {
  if (!slots[index].blocked()) return index;
  auto found = plain_copy_of.find(index);
  if (found != plain_copy_of.end()) return found->second;
  const Shape shape = slots[index].shape;
  auto reorder = std::make_shared<kernels::LayoutReorder>(slots[index].layout,
                                                          kernels::MemoryLayout::plain(shape));
  const int out = arena_slot(shape);
  add_step(str_cat("reorder blocked -> plain ", shape), {index},
           [this, reorder, index, out] { reorder->run(address(index), address(out)); });
  ++stats.layout_reorders;
  plain_copy_of[index] = out;
  return out;
}

ValueTree CompilerState::plain_tree(const ValueTree& tree) {
  if (tree.is_slot()) return {plain(tree.slot), {}};
  ValueTree result;
  for (const ValueTree& item : tree.items) result.items.push_back(plain_tree(item));
  return result;
}

void CompilerState::collect_slots(const ValueTree& tree, std::vector<int>& out) const {
  if (tree.is_slot()) {
    out.push_back(tree.slot);
    return;
  }
  for (const ValueTree& item : tree.items) collect_slots(item, out);
}

void CompilerState::watch(const std::shared_ptr<nn::Module>& owner, const std::string& name) {
  const Tensor tensor =
      owner->has_parameter(name) ? owner->get_parameter(name) : owner->get_buffer(name);
  watched.push_back({owner, name, tensor.impl(), tensor.defined() ? tensor.raw_data() : nullptr});
}

void* CompilerState::address(int index) {
  Slot& slot = slots[index];
  if (slot.fixed != nullptr) return slot.fixed;
  if (!slot.tensor.is_contiguous()) slot.tensor = slot.tensor.contiguous();
  return slot.tensor.raw_data();
}

// ---- Compile-time queries ----

bool CompilerState::is_float_tensor(const ir::Node* node) const {
  const ir::Symbol& value = symbol(node);
  return value.is_tensor() && value.meta.dtype == kFloat32;
}

ir::Node* CompilerState::single_user(const ir::Node* node) const {
  return node->users().size() == 1 ? node->users()[0] : nullptr;
}

ir::Node* CompilerState::first_input(const ir::Node& node) const {
  return !node.args().empty() && node.args()[0].is_node() ? node.args()[0].to_node() : nullptr;
}

std::shared_ptr<nn::Module> CompilerState::module_of(const ir::Node& node) const {
  return node.op() == ir::OpKind::call_module ? graph_module.module(node.target()) : nullptr;
}

bool CompilerState::model_is_finite() {
  if (!model_finite) {
    model_finite = true;
    for (const auto& [name, tensor] : graph_module.root().state_dict())
      if (!all_finite(tensor)) model_finite = false;
  }
  return *model_finite;
}

bool CompilerState::all_users_read_blocked(const ir::Node* node) const {
  if (!options.blocked_layout || node->users().empty()) return false;
  // Convolutions and pools take a blocked input as their only tensor argument; a convolution
  // that fuses a residual add takes its shortcut in the shortcut's layout.
  auto reads_blocked = [&](const ir::Node* user) {
    if (is_fused_shortcut(*this, node, user)) return true;
    if (first_input(*user) != node) return false;
    for (size_t i = 1; i < user->args().size(); ++i)
      if (user->args()[i].is_node()) return false;
    if (auto conv = layer_of<nn::Conv2dImpl>(*user))
      return options.prepack_weights && unhooked(*conv, {"weight", "bias"});
    return pool_lowering(*this, *user).has_value();
  };
  for (const ir::Node* user : node->users())
    if (!reads_blocked(user)) return false;
  return true;
}

}  // namespace pare::inference::detail
