// Which residual adds a convolution computes itself (InferenceOptions::fuse_residual_add): in
// conv [-> BatchNorm2d] -> add(., shortcut) [-> activation], oneDNN's sum post-op adds what the
// conv's dst already holds, so when the shortcut is in dst (its own buffer, or a copy) the add
// costs no pass of its own and the activation after it fuses too. lower_conv2d does the fusing;
// this file answers, without changing anything, which add a conv takes and which value it reads
// as the shortcut (so that the shortcut's producer may keep it blocked).
#include "lowerings.h"
#include "pare/nn/conv.h"

namespace pare::inference::detail {

namespace {

// add(a, b) of two tensors with alpha 1 (the tracer records a kwarg only for another alpha).
bool is_tensor_add(const ir::Node& node) {
  return node.op() == ir::OpKind::call_function && node.target() == "add" &&
         node.args().size() == 2 && node.args()[0].is_node() && node.args()[1].is_node() &&
         node.kwargs().empty();
}

}  // namespace

std::optional<ResidualAdd> residual_add_after(const CompilerState& state, const ir::Node& conv) {
  if (!state.options.fuse_residual_add || !state.options.prepack_weights) return std::nullopt;
  const std::optional<kernels::Conv2dParams> params = conv2d_params(state, conv);
  if (!params) return std::nullopt;
  const ir::Node* last = &conv;
  if (const ir::Node* bn = foldable_batchnorm(state, last, params->out_channels)) last = bn;
  const ir::Node* add = state.single_user(last);
  if (add == nullptr || !is_tensor_add(*add)) return std::nullopt;
  const ir::Node* a = add->args()[0].to_node();
  const ir::Node* b = add->args()[1].to_node();
  if (a == b) return std::nullopt;
  const ir::Node* shortcut = a == last ? b : a;
  // The shortcut must exist when the conv's step runs; of two convs feeding one add, the later one
  // takes it (the downsample conv of a ResNet block, traced after the main branch).
  if (state.index_of.at(shortcut) >= state.index_of.at(&conv)) return std::nullopt;
  // Same shape on both sides: the sum post-op does not broadcast.
  if (!state.is_float_tensor(shortcut) || !state.is_float_tensor(add) ||
      !state.is_float_tensor(last))
    return std::nullopt;
  const Shape& shape = state.symbol(add).meta.shape;
  if (state.symbol(shortcut).meta.shape != shape || state.symbol(last).meta.shape != shape)
    return std::nullopt;
  return ResidualAdd{add, shortcut};
}

bool is_fused_shortcut(const CompilerState& state, const ir::Node* value, const ir::Node* user) {
  if (!is_tensor_add(*user)) return false;
  for (const ir::Argument& argument : user->args()) {
    const ir::Node* branch = argument.to_node();
    if (branch == value) continue;
    // The other operand ends a conv chain: the conv itself, or the BatchNorm2d folded into it.
    const ir::Node* conv = branch;
    if (!state.layer_of<nn::Conv2dImpl>(*conv)) {
      conv = state.first_input(*branch);
      if (conv == nullptr || !state.layer_of<nn::Conv2dImpl>(*conv)) continue;
    }
    const std::optional<ResidualAdd> residual = residual_add_after(state, *conv);
    if (residual && residual->add == user && residual->shortcut == value) return true;
  }
  return false;
}

}  // namespace pare::inference::detail
