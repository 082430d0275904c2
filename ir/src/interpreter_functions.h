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

}  // namespace pare::ir::detail
