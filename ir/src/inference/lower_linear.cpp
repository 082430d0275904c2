// Lowers a Linear module, with the activation after it fused, to one prepared oneDNN inner
// product (weights reordered once), or to the plain kernel when weights are not prepacked.
#include "lowerings.h"
#include "pare/kernels/linear.h"
#include "pare/kernels/prepared_linear.h"
#include "pare/nn/linear.h"

namespace pare::inference::detail {

bool lower_linear(CompilerState& state, const ir::Node& node) {
  auto linear = state.layer_of<nn::LinearImpl>(node);
  const ir::Node* input = state.first_input(node);
  if (!linear || input == nullptr || node.args().size() != 1 || !state.is_float_tensor(input) ||
      !unhooked(*linear, {"weight", "bias"}))
    return false;
  const Shape& in = state.symbol(input).meta.shape;
  const Tensor weight = float_contiguous(linear->weight());
  if (in.empty() || weight.dim() != 2 || in.back() != weight.size(1)) return false;
  const bool has_bias = linear->options().bias();
  const Tensor bias = has_bias ? float_contiguous(linear->bias()) : Tensor();
  state.watch(linear, "weight");
  if (has_bias) state.watch(linear, "bias");
  kernels::LinearParams p{shape_numel(in) / in.back(), weight.size(1), weight.size(0)};
  if (p.rows == 0) return false;
  const ir::Node* last = &node;
  std::optional<kernels::ActivationParams> activation = take_fused_activation(state, last);
  std::string description = str_cat("linear ", node.name());
  if (activation) description += str_cat(" + ", last->name());
  const int src = state.plain(state.tree(input).slot);
  const int out = state.arena_slot(state.symbol(last).meta.shape);
  if (state.options.prepack_weights) {
    auto primitive = std::make_shared<Rebuildable<kernels::cpu::PreparedLinear>>([=] {
      return std::make_unique<kernels::cpu::PreparedLinear>(
          p, weight.data_ptr<float>(), has_bias ? bias.data_ptr<float>() : nullptr, activation);
    });
    state.add_step(description, {src}, [&state, primitive, src, out] {
      (*primitive)->run(state.floats(src), state.floats(out));
    });
    state.steps.back().primitive = primitive;
    ++state.stats.prepared_linears;
  } else {
    state.add_step(description, {src}, [&state, p, weight, bias, src, out] {
      kernels::cpu::linear_forward(p, state.floats(src), weight.data_ptr<float>(),
                                   bias.defined() ? bias.data_ptr<float>() : nullptr,
                                   state.floats(out));
    });
  }
  state.tree(last) = {out, {}};
  return true;
}

}  // namespace pare::inference::detail
