// The call_function table of the interpreter: each target compiled once per node into a kernel
// that runs the matching pare op. Internal to pare_ir (GraphModule uses it).
#pragma once

#include <functional>
#include <vector>

#include "pare/ir/graph.h"
#include "pare/ir/graph_module.h"
#include "pare/ir/op_definition.h"

namespace pare::ir::detail {

using ir::FunctionKernel;

// Throws pare::Error for an unknown target, a missing or mistyped argument, or an unknown
// keyword.
FunctionKernel compile_function(const Node& node);

// Literal parameters shared with shape inference, so that both read them alike. `what` names the
// argument in errors.
// A reduction's `dim`: absent or None reduces every dim (an empty list), else one int or a list.
Shape reduction_dims(const Argument* dim, const std::string& what);
// torch.norm's `p`: absent, None or "fro" is 2, "inf" is INFINITY (how the engine reports it, as
// JSON has no infinity), else a number.
double norm_order(const Argument* p, const std::string& what);

}  // namespace pare::ir::detail
