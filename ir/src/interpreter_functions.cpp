// The call_function targets GraphModule runs: each node is bound once, through its op definition
// (ir/ops/), into a kernel that runs the matching pare op.
#include "interpreter_functions.h"

#include <string>
#include <vector>

namespace pare::ir::detail {

FunctionKernel compile_function(const Node& node) {
  const OpDefinition& definition = op_definition(node.target());
  return definition.bind(OpCall(definition, node, nullptr));
}

}  // namespace pare::ir::detail

namespace pare::ir {

const std::vector<std::string>& function_targets() {
  static const std::vector<std::string> targets = [] {
    std::vector<std::string> names;  // sorted, as op_definitions() is
    for (const OpDefinition* definition : op_definitions()) names.push_back(definition->name);
    return names;
  }();
  return targets;
}

bool is_function_target(const std::string& target) { return find_op_definition(target) != nullptr; }

}  // namespace pare::ir
