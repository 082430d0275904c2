// Elementwise arithmetic (add, sub, mul, div, rsub, rdiv, maximum, minimum, pow, clamp), the
// unary maths (neg, abs, exp, log, sqrt, sign, logical_not) and where, with pare/elementwise.h's
// dtype rules: two tensors combine in their common dtype (promote); a tensor and a number stay
// integer only where the result can (scalar_dtype); true division, exp, log and sqrt give float32.
#include "pare/elementwise.h"

#include <cmath>

#include "channel_rules.h"
#include "families.h"
#include "pare/error.h"
#include "shape_rules.h"

namespace pare::ir::ops {

namespace {

using Type = ParamType;
using TensorPairOp = Tensor (*)(const Tensor&, const Tensor&);

// Where the tensors of add, sub, mul and div sit: torch's (tensor, tensor) and (tensor, number),
// and the (number, tensor) that `2.0 - x` records.
enum class Operands { tensors, tensor_number, number_tensor };

Operands operands_of(const OpCall& call) {
  PARE_CHECK(!call.node().args().empty(), call.target(), ": expected an operand");
  const bool second_is_tensor = is_tensor_operand(call, 1, "other");
  if (call.is_node_arg(0)) return second_is_tensor ? Operands::tensors : Operands::tensor_number;
  PARE_CHECK(second_is_tensor && call.node().args()[0].is_number(), call.target(),
             ": expected a tensor operand, got ", call.node().args()[0]);
  return Operands::number_tensor;
}

// The number of a (number, tensor) call.
double leading_number(const OpCall& call) { return call.node().args()[0].to_double(); }

// The meta of two tensors combined elementwise: broadcast shapes, the common dtype.
Symbol infer_broadcast_pair(const OpCall& call) {
  const TensorMeta& a = call.tensor(0);
  const TensorMeta& b = call.tensor(1);
  return Symbol::of(broadcast_shapes(a.shape, b.shape, call.target().c_str()),
                    promote(a, b, call.target()));
}

// add / sub: tensor or number operands, and torch's keyword `alpha` scaling the second one.
Symbol infer_add_or_sub(const OpCall& call) {
  const bool subtract = call.target() == "sub";
  const double alpha = call.number("alpha");
  const double sign = subtract ? -1.0 : 1.0;
  const Operands operands = operands_of(call);
  if (operands == Operands::tensors) {
    const TensorMeta& a = call.tensor(0);
    const TensorMeta& b = call.tensor(1);
    PARE_CHECK(!(subtract && a.dtype == kBool && b.dtype == kBool),
               "sub: subtracting bool tensors is not supported (shapes ", a.shape, " and ", b.shape,
               ")");
    const Shape shape = broadcast_shapes(a.shape, b.shape, call.target().c_str());
    const DType dtype = promote(a, b, call.target());
    PARE_CHECK(dtype == kFloat32 || is_whole(alpha), call.target(),
               ": alpha must be a whole number for ", dtype_name(dtype), " tensors, got ", alpha);
    return Symbol::of(shape, dtype);
  }
  if (operands == Operands::tensor_number) {
    const TensorMeta& x = call.tensor(0);
    return Symbol::of(x.shape, scalar_dtype(x.dtype, sign * alpha * call.number("other")));
  }
  const TensorMeta& x = call.tensor(1);
  return Symbol::of(x.shape,
                    scalar_dtype(scalar_dtype(x.dtype, sign * alpha), leading_number(call)));
}

FunctionKernel bind_add_or_sub(const OpCall& call) {
  const bool subtract = call.target() == "sub";
  const double alpha = call.number("alpha");
  const double sign = subtract ? -1.0 : 1.0;
  const Operands operands = operands_of(call);
  if (operands == Operands::tensors) {
    return [subtract, alpha](const std::vector<Value>& args) {
      return Value(subtract ? pare::sub(tensor_at(args, 0), tensor_at(args, 1), alpha)
                            : pare::add(tensor_at(args, 0), tensor_at(args, 1), alpha));
    };
  }
  if (operands == Operands::tensor_number) {
    const double other = sign * alpha * call.number("other");
    return [other](const std::vector<Value>& args) {
      return Value(pare::add(tensor_at(args, 0), other));
    };
  }
  const double first = leading_number(call);
  return [first, sign, alpha](const std::vector<Value>& args) {
    return Value(pare::add(pare::mul(tensor_at(args, 1), sign * alpha), first));
  };
}

// mul / div: tensor or number operands; division is true division (float32).
Symbol infer_mul_or_div(const OpCall& call) {
  const bool divide = call.target() == "div";
  const Operands operands = operands_of(call);
  if (operands == Operands::tensors) {
    const Symbol combined = infer_broadcast_pair(call);
    return Symbol::of(combined.meta.shape, divide ? kFloat32 : combined.meta.dtype);
  }
  const bool tensor_first = operands == Operands::tensor_number;
  const TensorMeta& x = call.tensor(tensor_first ? 0 : 1);
  const double other = tensor_first ? call.number("other") : leading_number(call);
  return Symbol::of(x.shape, divide ? kFloat32 : scalar_dtype(x.dtype, other));
}

FunctionKernel bind_mul_or_div(const OpCall& call) {
  const bool divide = call.target() == "div";
  const Operands operands = operands_of(call);
  if (operands == Operands::tensors) {
    return binary_kernel(call, divide ? TensorPairOp(&pare::div) : TensorPairOp(&pare::mul));
  }
  if (operands == Operands::tensor_number) {
    const double other = call.number("other");
    return [divide, other](const std::vector<Value>& args) {
      return Value(divide ? tensor_at(args, 0) / other : tensor_at(args, 0) * other);
    };
  }
  const double first = leading_number(call);
  return [divide, first](const std::vector<Value>& args) {
    return Value(divide ? first / tensor_at(args, 1) : first * tensor_at(args, 1));
  };
}

// rsub / rdiv: `other - x` and `other / x` (what `2.0 - x` and `2.0 / x` record).
Symbol infer_reversed_scalar(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  const double other = call.number("other");
  if (call.target() == "rdiv") return Symbol::of(x.shape, kFloat32);
  const double alpha = call.number("alpha");
  const DType scaled = alpha == 1.0 ? x.dtype : scalar_dtype(x.dtype, alpha);
  return Symbol::of(x.shape, scalar_dtype(scaled, other));
}

FunctionKernel bind_reversed_scalar(const OpCall& call) {
  call.require_tensor_args(1);
  const bool divide = call.target() == "rdiv";
  const double other = call.number("other");
  const double alpha = divide ? 1.0 : call.number("alpha");
  return [divide, other, alpha](const std::vector<Value>& args) {
    const Tensor& x = tensor_at(args, 0);
    return Value(divide ? other / x : other - (alpha == 1.0 ? x : x * alpha));
  };
}

Symbol infer_pow(const OpCall& call) {
  const TensorMeta& base = call.tensor(0);
  if (call.is_node_arg(1)) {
    const TensorMeta& exponent = call.tensor(1);
    const Shape shape = broadcast_shapes(base.shape, exponent.shape, "pow");
    const DType dtype = promote(base, exponent, "pow");
    PARE_CHECK(dtype != kBool, "pow: bool tensors are not supported (shapes ", base.shape, " and ",
               exponent.shape, ")");
    return Symbol::of(shape, dtype);
  }
  const double exponent = call.number("exponent");
  PARE_CHECK(base.dtype != kBool, "pow: bool tensors are not supported (shape ", base.shape, ")");
  if (base.dtype != kFloat32 && is_whole(exponent)) {
    PARE_CHECK(exponent >= 0, "pow: integers to negative integer powers are not allowed (got ",
               exponent, " for a ", dtype_name(base.dtype), " tensor of shape ", base.shape, ")");
    return Symbol::of(base.shape, base.dtype);
  }
  return Symbol::of(base.shape, kFloat32);
}

FunctionKernel bind_pow(const OpCall& call) {
  call.require_tensor_args(1);
  if (is_tensor_operand(call, 1, "exponent")) return binary_kernel(call, TensorPairOp(&pare::pow));
  const double exponent = call.number("exponent");
  return [exponent](const std::vector<Value>& args) {
    return Value(pare::pow(tensor_at(args, 0), exponent));
  };
}

// clamp's bounds: at least one of min and max.
struct ClampBounds {
  bool has_min;
  bool has_max;
  double min;
  double max;
};

ClampBounds clamp_bounds(const OpCall& call) {
  ClampBounds bounds{call.has("min"), call.has("max"), 0.0, 0.0};
  PARE_CHECK(bounds.has_min || bounds.has_max, "clamp: expected at least one of 'min' and 'max'");
  if (bounds.has_min) bounds.min = call.number("min");
  if (bounds.has_max) bounds.max = call.number("max");
  return bounds;
}

Symbol infer_clamp(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  const ClampBounds bounds = clamp_bounds(call);
  PARE_CHECK(x.dtype != kBool, "clamp: bool tensors are not supported (shape ", x.shape, ")");
  auto integer_bound = [](double bound) { return std::isinf(bound) || is_whole(bound); };
  const bool keep_integer = (!bounds.has_min || integer_bound(bounds.min)) &&
                            (!bounds.has_max || integer_bound(bounds.max));
  return Symbol::of(x.shape, keep_integer ? x.dtype : kFloat32);
}

FunctionKernel bind_clamp(const OpCall& call) {
  call.require_tensor_args(1);
  const ClampBounds bounds = clamp_bounds(call);
  return [bounds](const std::vector<Value>& args) {
    const Tensor& x = tensor_at(args, 0);
    if (bounds.has_min && bounds.has_max) return Value(pare::clamp(x, bounds.min, bounds.max));
    return Value(bounds.has_min ? pare::clamp_min(x, bounds.min) : pare::clamp_max(x, bounds.max));
  };
}

Symbol infer_neg(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  PARE_CHECK(x.dtype != kBool, "neg: negating a bool tensor (shape ", x.shape,
             ") is not supported; use logical_not");
  return Symbol::of(x.shape, x.dtype);
}

Symbol infer_same_dtype(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  return Symbol::of(x.shape, x.dtype);
}

Symbol infer_to_float(const OpCall& call) { return Symbol::of(call.tensor(0).shape, kFloat32); }

Symbol infer_to_bool(const OpCall& call) { return Symbol::of(call.tensor(0).shape, kBool); }

Symbol infer_where(const OpCall& call) {
  const TensorMeta& condition = call.tensor(0);
  const TensorMeta& a = call.tensor(1);
  const TensorMeta& b = call.tensor(2);
  PARE_CHECK(condition.dtype == kBool || condition.dtype == kUInt8,
             "where: the condition must be a bool tensor, got ", dtype_name(condition.dtype),
             " of shape ", condition.shape);
  const Shape values = broadcast_shapes(a.shape, b.shape, "where");
  const DType dtype = promote(a, b, "where");
  return Symbol::of(broadcast_shapes(condition.shape, values, "where"), dtype);
}

FunctionKernel bind_where(const OpCall& call) {
  call.require_tensor_args(3);
  return [](const std::vector<Value>& args) {
    return Value(pare::where(tensor_at(args, 0), tensor_at(args, 1), tensor_at(args, 2)));
  };
}

OpParam input() { return required_param("input", Type::tensor, 0); }

OpDefinition unary(std::string name, std::string summary, Symbol (*infer)(const OpCall&),
                   FunctionKernel (*bind)(const OpCall&)) {
  return {.name = std::move(name),
          .family = "elementwise",
          .summary = std::move(summary),
          .params = {input()},
          .infer = infer,
          .bind = bind,
          .channel_rule = &elementwise_channels};
}

}  // namespace

std::vector<OpDefinition> elementwise_ops() {
  const std::vector<OpParam> add_params = {input(),
                                           required_param("other", Type::tensor_or_number, 1),
                                           param("alpha", Type::number, kKeywordOnly, 1.0)};
  const std::vector<OpParam> mul_params = {input(),
                                           required_param("other", Type::tensor_or_number, 1)};
  const std::vector<OpParam> tensor_pair = {input(), required_param("other", Type::tensor, 1)};
  std::vector<OpDefinition> ops;
  ops.push_back({.name = "add",
                 .family = "elementwise",
                 .summary = "input + alpha * other, broadcasting; either side may be a number",
                 .params = add_params,
                 .infer = &infer_add_or_sub,
                 .bind = &bind_add_or_sub,
                 .channel_rule = &elementwise_channels});
  ops.push_back({.name = "sub",
                 .family = "elementwise",
                 .summary = "input - alpha * other, broadcasting; either side may be a number",
                 .params = add_params,
                 .infer = &infer_add_or_sub,
                 .bind = &bind_add_or_sub,
                 .channel_rule = &elementwise_channels});
  ops.push_back({.name = "mul",
                 .family = "elementwise",
                 .summary = "input * other, broadcasting; either side may be a number",
                 .params = mul_params,
                 .infer = &infer_mul_or_div,
                 .bind = &bind_mul_or_div,
                 .channel_rule = &elementwise_channels});
  ops.push_back(
      {.name = "div",
       .family = "elementwise",
       .summary = "input / other (true division), broadcasting; either side may be a number",
       .params = mul_params,
       .infer = &infer_mul_or_div,
       .bind = &bind_mul_or_div,
       .channel_rule = &elementwise_channels});
  ops.push_back({.name = "rsub",
                 .family = "elementwise",
                 .summary = "other - alpha * input, for a number other",
                 .params = {input(), required_param("other", Type::number, 1),
                            param("alpha", Type::number, kKeywordOnly, 1.0)},
                 .infer = &infer_reversed_scalar,
                 .bind = &bind_reversed_scalar,
                 .channel_rule = &elementwise_channels});
  ops.push_back({.name = "rdiv",
                 .family = "elementwise",
                 .summary = "other / input, for a number other",
                 .params = {input(), required_param("other", Type::number, 1)},
                 .infer = &infer_reversed_scalar,
                 .bind = &bind_reversed_scalar,
                 .channel_rule = &elementwise_channels});
  ops.push_back({.name = "maximum",
                 .family = "elementwise",
                 .summary = "the larger of input and other, elementwise, broadcasting",
                 .params = tensor_pair,
                 .infer = &infer_broadcast_pair,
                 .bind = [](const OpCall& c) { return binary_kernel(c, &pare::maximum); },
                 .channel_rule = &elementwise_channels});
  ops.push_back({.name = "minimum",
                 .family = "elementwise",
                 .summary = "the smaller of input and other, elementwise, broadcasting",
                 .params = tensor_pair,
                 .infer = &infer_broadcast_pair,
                 .bind = [](const OpCall& c) { return binary_kernel(c, &pare::minimum); },
                 .channel_rule = &elementwise_channels});
  ops.push_back({.name = "pow",
                 .family = "elementwise",
                 .summary = "input to the power exponent (a tensor, broadcasting, or a number)",
                 .params = {input(), required_param("exponent", Type::tensor_or_number, 1)},
                 .infer = &infer_pow,
                 .bind = &bind_pow,
                 .channel_rule = &elementwise_channels});
  ops.push_back({.name = "clamp",
                 .family = "elementwise",
                 .summary = "input clamped to [min, max]; either bound may be None",
                 .params = {input(), param("min", Type::optional_number, 1),
                            param("max", Type::optional_number, 2)},
                 .infer = &infer_clamp,
                 .bind = &bind_clamp,
                 .channel_rule = &elementwise_channels});
  ops.push_back(unary("neg", "-input", &infer_neg,
                      [](const OpCall& c) { return unary_kernel(c, &pare::neg); }));
  ops.push_back(unary("abs", "|input|", &infer_same_dtype,
                      [](const OpCall& c) { return unary_kernel(c, &pare::abs); }));
  ops.push_back(unary("exp", "e to the input, in float32", &infer_to_float,
                      [](const OpCall& c) { return unary_kernel(c, &pare::exp); }));
  ops.push_back(unary("log", "the natural logarithm, in float32", &infer_to_float,
                      [](const OpCall& c) { return unary_kernel(c, &pare::log); }));
  ops.push_back(unary("sqrt", "the square root, in float32", &infer_to_float,
                      [](const OpCall& c) { return unary_kernel(c, &pare::sqrt); }));
  ops.push_back(unary("sign", "-1, 0 or 1 by the sign of input", &infer_same_dtype,
                      [](const OpCall& c) { return unary_kernel(c, &pare::sign); }));
  ops.push_back(unary("logical_not", "input == 0, as bool", &infer_to_bool,
                      [](const OpCall& c) { return unary_kernel(c, &pare::logical_not); }));
  ops.push_back({.name = "where",
                 .family = "elementwise",
                 .summary = "input where condition, else other, broadcasting all three",
                 .params = {required_param("condition", Type::tensor, 0),
                            required_param("input", Type::tensor, 1),
                            required_param("other", Type::tensor, 2)},
                 .infer = &infer_where,
                 .bind = &bind_where,
                 .channel_rule = &elementwise_channels});
  return ops;
}

}  // namespace pare::ir::ops
