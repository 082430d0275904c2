// Internal to the inference compiler (ir/src/inference): the lowerings the compiler tries on each
// node, in the order compiled_graph.cpp tries them. Each adds its steps and sets the node's value
// tree, or returns false (adding nothing) to leave the node to the next one; lower_interpreted
// takes any node.
#pragma once

#include <cstdint>
#include <optional>

#include "compiler_state.h"
#include "pare/kernels/conv2d.h"

namespace pare::inference::detail {

// Conv2d [-> BatchNorm2d folded] [-> residual add fused] [-> activation fused]: lower_conv2d.cpp.
bool lower_conv2d(CompilerState& state, const ir::Node& node);
// Linear [-> activation fused]: lower_linear.cpp.
bool lower_linear(CompilerState& state, const ir::Node& node);
// The LSTM module on oneDNN's RNN primitive: lower_lstm.cpp.
bool lower_lstm(CompilerState& state, const ir::Node& node);
// Max, average and adaptive pools the prepared pool reproduces: lower_pool2d.cpp.
bool lower_pool2d(CompilerState& state, const ir::Node& node);
// getitem of a tuple value and views of an arena value, which cost nothing: lower_views.cpp.
bool lower_getitem(CompilerState& state, const ir::Node& node);
bool lower_alias(CompilerState& state, const ir::Node& node);
// An activation that did not fuse, as one elementwise pass: lower_activation.cpp.
bool lower_activation(CompilerState& state, const ir::Node& node);
// Any node, run as the interpreter runs it: lower_interpreted.cpp.
void lower_interpreted(CompilerState& state, const ir::Node& node);

// The convolution a Conv2d node computes, when lower_conv2d takes it (lower_conv2d.cpp).
std::optional<kernels::Conv2dParams> conv2d_params(const CompilerState& state,
                                                   const ir::Node& node);
// The BatchNorm2d node that folds into the conv ending at `last` (of `channels` outputs), or
// nullptr (lower_conv2d.cpp).
const ir::Node* foldable_batchnorm(const CompilerState& state, const ir::Node* last,
                                   int64_t channels);

// A residual add a convolution's step computes with oneDNN's sum post-op (residual_add.cpp):
// conv [-> BatchNorm2d] -> add(., shortcut), the shortcut computed before the conv.
struct ResidualAdd {
  const ir::Node* add = nullptr;
  const ir::Node* shortcut = nullptr;
};
// The residual add the Conv2d node `conv` fuses, if any.
std::optional<ResidualAdd> residual_add_after(const CompilerState& state, const ir::Node& conv);
// Whether `user` is a residual add that a convolution fuses with `value` as its shortcut (which
// the convolution then reads in whatever layout `value` has).
bool is_fused_shortcut(const CompilerState& state, const ir::Node* value, const ir::Node* user);

// The pool a node computes, when the prepared pool reproduces it (lower_pool2d.cpp).
std::optional<ir::Pool2dLowering> pool_lowering(const CompilerState& state, const ir::Node& node);
// The activation after `last` to fuse into its producer's step: absorbs it and moves `last` to
// it (lower_activation.cpp).
std::optional<kernels::ActivationParams> take_fused_activation(CompilerState& state,
                                                               const ir::Node*& last);

}  // namespace pare::inference::detail
