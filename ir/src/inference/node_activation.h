// Internal to the inference compiler (ir/src/inference): the elementwise activation a node computes
// in evaluation mode (one of the 21, as a module or a function), with its arguments in kernels'
// terms.
#pragma once

#include <optional>

#include "pare/ir/graph_module.h"
#include "pare/kernels/activation.h"

namespace pare::inference::detail {

// std::nullopt for anything else, and for PReLU (a weight tensor), RReLU in training mode and
// activations whose arguments are not literals.
std::optional<kernels::ActivationParams> activation_of(ir::GraphModule& graph_module,
                                                       const ir::Node& node);

}  // namespace pare::inference::detail
