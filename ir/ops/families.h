// The op families (one file each in ir/ops/) and what their definitions share. Internal to
// pare_ir: everything outside reads the definitions through pare/ir/op_definition.h.
#pragma once

#include <string_view>
#include <vector>

#include "pare/ir/op_definition.h"

namespace pare::ir::ops {

// Each family's definitions; registry.cpp lists the families.
std::vector<OpDefinition> pooling_ops();
std::vector<OpDefinition> activation_ops();
std::vector<OpDefinition> elementwise_ops();
std::vector<OpDefinition> comparison_ops();
std::vector<OpDefinition> linalg_ops();
std::vector<OpDefinition> reduction_ops();
std::vector<OpDefinition> linear_ops();
std::vector<OpDefinition> conv_ops();
std::vector<OpDefinition> normalization_ops();
std::vector<OpDefinition> recurrent_ops();
std::vector<OpDefinition> softmax_ops();
std::vector<OpDefinition> dropout_ops();
std::vector<OpDefinition> shape_ops();
std::vector<OpDefinition> joining_ops();
std::vector<OpDefinition> indexing_ops();

// ---- Shared by the bindings ----

// The tensor in runtime argument `index`; a pare::Error when it is not one.
const Tensor& tensor_at(const std::vector<Value>& args, size_t index);
// The tensor at `index`, or an undefined tensor for None or a missing argument.
Tensor optional_tensor_at(const std::vector<Value>& args, size_t index);
// A tuple Value of `tensors`.
Value tuple_of(const std::vector<Tensor>& tensors);
// The kernel of an op on the node's first one (two) tensor arguments and nothing else.
FunctionKernel unary_kernel(const OpCall& call, Tensor (*op)(const Tensor&));
FunctionKernel binary_kernel(const OpCall& call, Tensor (*op)(const Tensor&, const Tensor&));
// Whether positional argument `index`, the Tensor|Scalar parameter `name` (add's `other`, pow's
// `exponent`), is a tensor; a pare::Error when the node also gives `name` as a keyword, which
// would otherwise be silently ignored.
bool is_tensor_operand(const OpCall& call, size_t index, std::string_view name);

}  // namespace pare::ir::ops
