// linear(input, weight, bias=None): y = x W^T + b, as torch.nn.functional.linear. The shape rule
// is shape_rules.h's linear_shape, which the Linear module's rule shares.
#include "families.h"
#include "layer_macs.h"
#include "pare/error.h"
#include "pare/functional.h"
#include "shape_rules.h"

namespace pare::ir::ops {

namespace {

using Type = ParamType;

Symbol infer_linear(const OpCall& call) {
  return Symbol::of(linear_shape(call.tensor(0), call.tensor(1), call.optional_tensor(2)));
}

FunctionKernel bind_linear(const OpCall& call) {
  call.require_tensor_args(2);
  PARE_CHECK(call.node().args().size() <= 3, "linear: expected (input, weight, bias), got ",
             call.node().args().size(), " arguments");
  return [](const std::vector<Value>& args) {
    return Value(pare::linear(tensor_at(args, 0), tensor_at(args, 1), optional_tensor_at(args, 2)));
  };
}

int64_t macs_of_linear(const OpCall& call, const Symbol&) {
  return linear_macs(call.tensor(0).shape, call.tensor(1).shape);
}

}  // namespace

std::vector<OpDefinition> linear_ops() {
  std::vector<OpDefinition> ops;
  ops.push_back({.name = "linear",
                 .family = "linear",
                 .summary = "y = x W^T + b over the last dim",
                 .params = {required_param("input", Type::tensor, 0),
                            required_param("weight", Type::tensor, 1),
                            param("bias", Type::optional_tensor, 2)},
                 .infer = &infer_linear,
                 .bind = &bind_linear,
                 .macs = &macs_of_linear});
  return ops;
}

}  // namespace pare::ir::ops
