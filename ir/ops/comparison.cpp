// The comparisons eq, ne, lt, le, gt and ge: a tensor against a tensor (broadcasting, in their
// common dtype) or against a number, giving a bool tensor.
#include "channel_rules.h"
#include "families.h"
#include "pare/elementwise.h"
#include "pare/error.h"
#include "shape_rules.h"

namespace pare::ir::ops {

namespace {

using Type = ParamType;
using WithTensor = Tensor (*)(const Tensor&, const Tensor&);
using WithNumber = Tensor (*)(const Tensor&, double);

Symbol infer_comparison(const OpCall& call) {
  const TensorMeta& a = call.tensor(0);
  if (!call.is_node_arg(1)) {
    call.require("other");
    return Symbol::of(a.shape, kBool);
  }
  const TensorMeta& b = call.tensor(1);
  const Shape shape = broadcast_shapes(a.shape, b.shape, call.target().c_str());
  promote(a, b, call.target());
  return Symbol::of(shape, kBool);
}

FunctionKernel comparison_kernel(const OpCall& call, WithTensor with_tensor,
                                 WithNumber with_number) {
  call.require_tensor_args(1);
  if (is_tensor_operand(call, 1, "other")) return binary_kernel(call, with_tensor);
  const double other = call.number("other");
  return [with_number, other](const std::vector<Value>& args) {
    return Value(with_number(tensor_at(args, 0), other));
  };
}

OpDefinition comparison(std::string name, std::string summary,
                        FunctionKernel (*bind)(const OpCall&)) {
  return {.name = std::move(name),
          .family = "comparison",
          .summary = std::move(summary),
          .params = {required_param("input", Type::tensor, 0),
                     required_param("other", Type::tensor_or_number, 1)},
          .infer = &infer_comparison,
          .bind = bind,
          .channel_rule = &elementwise_channels};
}

}  // namespace

std::vector<OpDefinition> comparison_ops() {
  std::vector<OpDefinition> ops;
  ops.push_back(comparison("eq", "input == other, as bool", [](const OpCall& c) {
    return comparison_kernel(c, &pare::eq,
                             [](const Tensor& x, double other) { return x == other; });
  }));
  ops.push_back(comparison("ne", "input != other, as bool", [](const OpCall& c) {
    return comparison_kernel(c, &pare::ne,
                             [](const Tensor& x, double other) { return x != other; });
  }));
  ops.push_back(comparison("lt", "input < other, as bool", [](const OpCall& c) {
    return comparison_kernel(c, &pare::lt, [](const Tensor& x, double other) { return x < other; });
  }));
  ops.push_back(comparison("le", "input <= other, as bool", [](const OpCall& c) {
    return comparison_kernel(c, &pare::le,
                             [](const Tensor& x, double other) { return x <= other; });
  }));
  ops.push_back(comparison("gt", "input > other, as bool", [](const OpCall& c) {
    return comparison_kernel(c, &pare::gt, [](const Tensor& x, double other) { return x > other; });
  }));
  ops.push_back(comparison("ge", "input >= other, as bool", [](const OpCall& c) {
    return comparison_kernel(c, &pare::ge,
                             [](const Tensor& x, double other) { return x >= other; });
  }));
  return ops;
}

}  // namespace pare::ir::ops
