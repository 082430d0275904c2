// Internal to the inference compiler (ir/src/inference): the lowerings the compiler tries on each
// node, in the order compiled_graph.cpp tries them. Each adds its steps and sets the node's value
// tree, or returns false (adding nothing) to leave the node to the next one; lower_interpreted
// takes any node.
#pragma once

#include <optional>

#include "compiler_state.h"

namespace pare::inference::detail {

// Conv2d [-> BatchNorm2d folded] [-> activation fused]: lower_conv2d.cpp.
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

// The pool a node computes, when the prepared pool reproduces it (lower_pool2d.cpp).
std::optional<ir::Pool2dLowering> pool_lowering(const CompilerState& state, const ir::Node& node);
// The activation after `last` to fuse into its producer's step: absorbs it and moves `last` to
// it (lower_activation.cpp).
std::optional<kernels::ActivationParams> take_fused_activation(CompilerState& state,
                                                               const ir::Node*& last);

}  // namespace pare::inference::detail
