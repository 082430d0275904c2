// Elementwise functions of one tensor: neg, abs, exp, log, sqrt, sign, clamp, pow with a scalar
// exponent and logical_not.
#include <cmath>
#include <limits>

#include "broadcast.h"
#include "pare/autograd.h"
#include "pare/elementwise.h"
#include "pare/observer.h"

namespace pare {

namespace {

using detail::map_float;
using detail::map_same_dtype;
using detail::ResultKind;

// Records `op` with backward `grad_input(grad_output)`; a missing output gradient gives none.
template <typename GradInput>
void record_unary(const char* op, const Tensor& x, const Tensor& out, GradInput grad_input) {
  autograd::record(op, {x}, {out},
                   [grad_input = std::move(grad_input)](const std::vector<Tensor>& grads) {
                     if (!grads[0].defined()) return std::vector<Tensor>(1);
                     return std::vector<Tensor>{grad_input(grads[0])};
                   });
}

void report_unary(const OpScope& scope, const char* op, const Tensor& x, const Tensor& out,
                  const Attrs& attrs = {}) {
  if (scope.should_report()) notify_function(op, {x}, attrs, {out});
}

// The input of a float-only math function: integer and bool tensors are read as float32, as in
// PyTorch.
Tensor float_input(const Tensor& x, const char* op) {
  detail::check_operand(x, op);
  return detail::as_dtype(x, DType::f32);
}

// A clamp bound an integer tensor can use without turning float.
bool integer_bound(double bound) { return std::isinf(bound) || detail::is_whole(bound); }

Tensor clamp_between(const Tensor& x, double min_value, double max_value, const char* op) {
  detail::check_operand(x, op);
  PARE_CHECK(x.dtype() != DType::boolean, op, ": bool tensors are not supported (shape ", x.sizes(),
             ")");
  const bool keep_integer = integer_bound(min_value) && integer_bound(max_value);
  const Tensor input = keep_integer ? x : detail::as_dtype(x, DType::f32);
  Tensor out = detail::dispatch_dtype(input.dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T low = detail::saturate_cast<T>(min_value);
    const T high = detail::saturate_cast<T>(max_value);
    // Written so that NaN inputs stay NaN; min > max gives max everywhere, as in PyTorch.
    return detail::map_new<T, T>(
        input.sizes(),
        [low, high](T v) {
          const T raised = v < low ? low : v;
          return raised > high ? high : raised;
        },
        input);
  });
  const float low = static_cast<float>(min_value), high = static_cast<float>(max_value);
  record_unary(op, x, out, [x = x.detach(), low, high](const Tensor& grad) {
    return map_float(
        grad.sizes(), [low, high](float g, float v) { return low <= v && v <= high ? g : 0.0f; },
        grad, x);
  });
  return out;
}

}  // namespace

Tensor neg(const Tensor& x) {
  OpScope scope;
  detail::check_operand(x, "neg");
  PARE_CHECK(x.dtype() != DType::boolean, "neg: negating a bool tensor (shape ", x.sizes(),
             ") is not supported; use logical_not");
  Tensor out = map_same_dtype<ResultKind::kSameDtype>(
      x.sizes(), [](auto v) { return -v; }, x);
  record_unary("neg", x, out, [](const Tensor& grad) {
    return map_float(
        grad.sizes(), [](float g) { return -g; }, grad);
  });
  report_unary(scope, "neg", x, out);
  return out;
}

Tensor abs(const Tensor& x) {
  OpScope scope;
  detail::check_operand(x, "abs");
  Tensor out = map_same_dtype<ResultKind::kSameDtype>(
      x.sizes(),
      [](auto v) {
        using T = decltype(v);
        if constexpr (std::is_floating_point_v<T>) {
          return std::fabs(v);
        } else if constexpr (std::is_signed_v<T>) {
          return v < 0 ? static_cast<T>(-v) : v;
        } else {
          return v;
        }
      },
      x);
  // d|x|/dx = sign(x), with 0 at 0.
  record_unary("abs", x, out, [x = x.detach()](const Tensor& grad) {
    return map_float(
        grad.sizes(), [](float g, float v) { return v > 0.0f ? g : (v < 0.0f ? -g : 0.0f); }, grad,
        x);
  });
  report_unary(scope, "abs", x, out);
  return out;
}

Tensor exp(const Tensor& x) {
  OpScope scope;
  const Tensor input = float_input(x, "exp");
  Tensor out = map_float(
      input.sizes(), [](float v) { return std::exp(v); }, input);
  record_unary("exp", x, out, [result = out.detach()](const Tensor& grad) {
    return map_float(
        grad.sizes(), [](float g, float r) { return g * r; }, grad, result);
  });
  report_unary(scope, "exp", x, out);
  return out;
}

Tensor log(const Tensor& x) {
  OpScope scope;
  const Tensor input = float_input(x, "log");
  Tensor out = map_float(
      input.sizes(), [](float v) { return std::log(v); }, input);
  record_unary("log", x, out, [x = input.detach()](const Tensor& grad) {
    return map_float(
        grad.sizes(), [](float g, float v) { return g / v; }, grad, x);
  });
  report_unary(scope, "log", x, out);
  return out;
}

Tensor sqrt(const Tensor& x) {
  OpScope scope;
  const Tensor input = float_input(x, "sqrt");
  Tensor out = map_float(
      input.sizes(), [](float v) { return std::sqrt(v); }, input);
  record_unary("sqrt", x, out, [result = out.detach()](const Tensor& grad) {
    return map_float(
        grad.sizes(), [](float g, float r) { return g / (2.0f * r); }, grad, result);
  });
  report_unary(scope, "sqrt", x, out);
  return out;
}

Tensor sign(const Tensor& x) {
  OpScope scope;
  detail::check_operand(x, "sign");
  Tensor out = map_same_dtype<ResultKind::kSameDtype>(
      x.sizes(), [](auto v) { return (decltype(v)(0) < v) - (v < decltype(v)(0)); }, x);
  // Piecewise constant: the gradient is zero everywhere (PyTorch returns zeros too).
  record_unary("sign", x, out, [shape = x.sizes()](const Tensor&) { return zeros(shape); });
  report_unary(scope, "sign", x, out);
  return out;
}

Tensor clamp(const Tensor& x, double min_value, double max_value) {
  OpScope scope;
  Tensor out = clamp_between(x, min_value, max_value, "clamp");
  report_unary(scope, "clamp", x, out, {{"min", min_value}, {"max", max_value}});
  return out;
}

Tensor clamp_min(const Tensor& x, double min_value) {
  OpScope scope;
  Tensor out = clamp_between(x, min_value, std::numeric_limits<double>::infinity(), "clamp_min");
  report_unary(scope, "clamp", x, out, {{"min", min_value}});
  return out;
}

Tensor clamp_max(const Tensor& x, double max_value) {
  OpScope scope;
  Tensor out = clamp_between(x, -std::numeric_limits<double>::infinity(), max_value, "clamp_max");
  report_unary(scope, "clamp", x, out, {{"max", max_value}});
  return out;
}

Tensor pow(const Tensor& base, double exponent) {
  OpScope scope;
  detail::check_operand(base, "pow");
  PARE_CHECK(base.dtype() != DType::boolean, "pow: bool tensors are not supported (shape ",
             base.sizes(), ")");
  Tensor out;
  if (base.dtype() != DType::f32 && detail::is_whole(exponent)) {
    PARE_CHECK(exponent >= 0, "pow: integers to negative integer powers are not allowed (got ",
               exponent, " for a ", dtype_name(base.dtype()), " tensor of shape ", base.sizes(),
               ")");
    out = map_same_dtype<ResultKind::kSameDtype>(
        base.sizes(),
        [exponent](auto v) {
          using T = decltype(v);
          if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
            return detail::integer_power(v, static_cast<T>(exponent));
          } else {
            return v;  // float32 and bool never take this branch
          }
        },
        base);
  } else {
    const Tensor input = detail::as_dtype(base, DType::f32);
    const float power = static_cast<float>(exponent);
    if (exponent == 2.0) {
      out = map_float(
          input.sizes(), [](float v) { return v * v; }, input);
    } else {
      out = map_float(
          input.sizes(), [power](float v) { return std::pow(v, power); }, input);
    }
  }
  record_unary("pow", base, out, [x = base.detach(), exponent](const Tensor& grad) {
    const float power = static_cast<float>(exponent);
    return map_float(
        grad.sizes(),
        [power](float g, float v) {
          return power == 0.0f ? 0.0f : g * power * std::pow(v, power - 1.0f);
        },
        grad, x);
  });
  report_unary(scope, "pow", base, out, {{"exponent", exponent}});
  return out;
}

Tensor logical_not(const Tensor& x) {
  OpScope scope;
  detail::check_operand(x, "logical_not");
  Tensor out = map_same_dtype<ResultKind::kBool>(
      x.sizes(), [](auto v) { return v == decltype(v)(0); }, x);
  report_unary(scope, "logical_not", x, out);
  return out;
}

}  // namespace pare
