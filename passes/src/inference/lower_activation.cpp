// The 21 elementwise activations (node_activation.h says which node is one): fused into the
// convolution or inner product before them as a oneDNN post-op where oneDNN computes them
// exactly, else one elementwise pass of their own.
#include "lowerings.h"
#include "node_activation.h"
#include "pare/kernels/fused_activation.h"

namespace pare::inference::detail {

std::optional<kernels::ActivationParams> take_fused_activation(CompilerState& state,
                                                               const ir::Node*& last) {
  if (!state.options.fuse_activations || !state.options.prepack_weights) return std::nullopt;
  ir::Node* user = state.single_user(last);
  if (user == nullptr || state.first_input(*user) != last) return std::nullopt;
  if (user->op() == ir::OpKind::call_module && !unhooked(*state.module_of(*user), {}))
    return std::nullopt;
  std::optional<kernels::ActivationParams> activation = activation_of(state.graph_module, *user);
  if (!activation || !kernels::cpu::can_fuse_activation(*activation)) return std::nullopt;
  if (!kernels::cpu::fused_activation_keeps_nan(*activation) && !state.model_is_finite())
    return std::nullopt;
  state.absorbed.insert(user);
  last = user;
  ++state.stats.fused_activations;
  return activation;
}

bool lower_activation(CompilerState& state, const ir::Node& node) {
  const ir::Node* input = state.first_input(node);
  if (input == nullptr || !state.is_float_tensor(input)) return false;
  if (node.op() == ir::OpKind::call_module && !unhooked(*state.module_of(node), {})) return false;
  std::optional<kernels::ActivationParams> activation = activation_of(state.graph_module, node);
  if (!activation) return false;
  const int src = state.plain(state.tree(input).slot);
  const int out = state.arena_slot(state.symbol(&node).meta.shape);
  const int64_t count = shape_numel(state.slots[out].shape);
  const kernels::ActivationParams params = *activation;
  state.add_step(str_cat(kernels::activation_name(params.kind), " ", node.name()), {src},
                 [&state, params, src, out, count] {
                   if (count > 0)
                     kernels::cpu::activation_forward(params, state.floats(src), state.floats(out),
                                                      count);
                 });
  state.tree(&node) = {out, {}};
  return true;
}

}  // namespace pare::inference::detail
