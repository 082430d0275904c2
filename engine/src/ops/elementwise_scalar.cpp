// Ops with one scalar operand (kept as a captured constant, never a tensor) and the operator
// overloads, which are thin wrappers over the named ops.
#include <functional>

#include "broadcast.h"
#include "pare/autograd.h"
#include "pare/elementwise.h"
#include "pare/observer.h"

namespace pare {

namespace {

using detail::map_float;

// tensor op scalar, or scalar op tensor for the reversed kinds.
enum class ScalarOp { kAdd, kSub, kReverseSub, kMul, kDiv, kReverseDiv };

// The tracer's names: torch's for the first five; "rdiv" is scalar / tensor.
constexpr const char* scalar_op_name(ScalarOp op) {
  switch (op) {
    case ScalarOp::kAdd:
      return "add";
    case ScalarOp::kSub:
      return "sub";
    case ScalarOp::kReverseSub:
      return "rsub";
    case ScalarOp::kMul:
      return "mul";
    case ScalarOp::kDiv:
      return "div";
    case ScalarOp::kReverseDiv:
      return "rdiv";
  }
  return "";
}

template <ScalarOp kOp, typename T>
auto combine(T value, T scalar) {
  if constexpr (kOp == ScalarOp::kAdd) return value + scalar;
  if constexpr (kOp == ScalarOp::kSub) return value - scalar;
  if constexpr (kOp == ScalarOp::kReverseSub) return scalar - value;
  if constexpr (kOp == ScalarOp::kMul) return value * scalar;
  if constexpr (kOp == ScalarOp::kDiv) return value / scalar;
  if constexpr (kOp == ScalarOp::kReverseDiv) return scalar / value;
}

// `scalar` in the tensor's element type. Integer tensors only see whole scalars (others turn
// the result float32); the int64 detour makes a negative scalar wrap for uint8 like PyTorch.
template <typename T>
T scalar_as(double scalar) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(scalar);
  } else {
    return static_cast<T>(detail::saturate_cast<int64_t>(scalar));
  }
}

template <ScalarOp kOp>
Tensor scalar_arithmetic(const Tensor& x, double scalar) {
  constexpr const char* op = scalar_op_name(kOp);
  detail::check_operand(x, op);
  constexpr bool kDivides = kOp == ScalarOp::kDiv || kOp == ScalarOp::kReverseDiv;
  // True division: integer tensors give float32.
  const DType dtype = kDivides ? DType::f32 : detail::scalar_result_dtype(x.dtype(), scalar);
  const Tensor input = detail::as_dtype(x, dtype);
  Tensor out = detail::dispatch_dtype(dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T constant = scalar_as<T>(scalar);
    return detail::map_new<T, T>(
        input.sizes(), [constant](T v) { return static_cast<T>(combine<kOp>(v, constant)); },
        input);
  });
  autograd::record(
      op, {x}, {out},
      [scalar, x = input.detach(), result = out.detach()](const std::vector<Tensor>& grads) {
        const Tensor& grad = grads[0];
        if (!grad.defined()) return std::vector<Tensor>(1);
        const float constant = static_cast<float>(scalar);
        Tensor grad_x;
        if constexpr (kOp == ScalarOp::kAdd || kOp == ScalarOp::kSub) {
          grad_x = grad;
        } else if constexpr (kOp == ScalarOp::kReverseSub) {
          grad_x = map_float(
              grad.sizes(), [](float g) { return -g; }, grad);
        } else if constexpr (kOp == ScalarOp::kMul) {
          grad_x = map_float(
              grad.sizes(), [constant](float g) { return g * constant; }, grad);
        } else if constexpr (kOp == ScalarOp::kDiv) {
          grad_x = map_float(
              grad.sizes(), [constant](float g) { return g / constant; }, grad);
        } else {
          // d(s / x)/dx = -s / x^2 = -result / x.
          grad_x = map_float(
              grad.sizes(), [](float g, float r, float v) { return -g * r / v; }, grad, result, x);
        }
        return std::vector<Tensor>{grad_x};
      });
  return out;
}

template <ScalarOp kOp>
Tensor reported_scalar_arithmetic(const Tensor& x, double scalar) {
  OpScope scope;
  Tensor out = scalar_arithmetic<kOp>(x, scalar);
  if (scope.should_report()) notify_function(scalar_op_name(kOp), {x}, {{"other", scalar}}, {out});
  return out;
}

// x compared with a scalar: in float32 for float32 tensors (the scalar is rounded first, as in
// PyTorch), exactly in double for the others.
template <typename Compare>
Tensor compare_with_scalar(const Tensor& x, double scalar, const char* op, Compare compare) {
  OpScope scope;
  detail::check_operand(x, op);
  Tensor out = detail::dispatch_dtype(x.dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    if constexpr (std::is_same_v<T, float>) {
      const float constant = static_cast<float>(scalar);
      return detail::map_new<bool, float>(
          x.sizes(), [constant, compare](float v) { return compare(v, constant); }, x);
    } else {
      return detail::map_new<bool, T>(
          x.sizes(), [scalar, compare](T v) { return compare(static_cast<double>(v), scalar); }, x);
    }
  });
  if (scope.should_report()) notify_function(op, {x}, {{"other", scalar}}, {out});
  return out;
}

}  // namespace

Tensor add(const Tensor& a, double b) { return reported_scalar_arithmetic<ScalarOp::kAdd>(a, b); }
Tensor mul(const Tensor& a, double b) { return reported_scalar_arithmetic<ScalarOp::kMul>(a, b); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }

Tensor operator+(const Tensor& a, double b) {
  return reported_scalar_arithmetic<ScalarOp::kAdd>(a, b);
}
Tensor operator-(const Tensor& a, double b) {
  return reported_scalar_arithmetic<ScalarOp::kSub>(a, b);
}
Tensor operator*(const Tensor& a, double b) {
  return reported_scalar_arithmetic<ScalarOp::kMul>(a, b);
}
Tensor operator/(const Tensor& a, double b) {
  return reported_scalar_arithmetic<ScalarOp::kDiv>(a, b);
}
Tensor operator+(double a, const Tensor& b) {
  return reported_scalar_arithmetic<ScalarOp::kAdd>(b, a);
}
Tensor operator-(double a, const Tensor& b) {
  return reported_scalar_arithmetic<ScalarOp::kReverseSub>(b, a);
}
Tensor operator*(double a, const Tensor& b) {
  return reported_scalar_arithmetic<ScalarOp::kMul>(b, a);
}
Tensor operator/(double a, const Tensor& b) {
  return reported_scalar_arithmetic<ScalarOp::kReverseDiv>(b, a);
}

Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }

Tensor operator==(const Tensor& a, double b) {
  return compare_with_scalar(a, b, "eq", std::equal_to<>());
}
Tensor operator!=(const Tensor& a, double b) {
  return compare_with_scalar(a, b, "ne", std::not_equal_to<>());
}
Tensor operator<(const Tensor& a, double b) {
  return compare_with_scalar(a, b, "lt", std::less<>());
}
Tensor operator<=(const Tensor& a, double b) {
  return compare_with_scalar(a, b, "le", std::less_equal<>());
}
Tensor operator>(const Tensor& a, double b) {
  return compare_with_scalar(a, b, "gt", std::greater<>());
}
Tensor operator>=(const Tensor& a, double b) {
  return compare_with_scalar(a, b, "ge", std::greater_equal<>());
}

Tensor operator!(const Tensor& x) { return logical_not(x); }

}  // namespace pare
