// Elementwise ops between two (or three) tensors: arithmetic, maximum/minimum, pow,
// comparisons, where, and the allclose/equal predicates. Unary ops live in
// elementwise_unary.cpp, ops with a scalar operand and the operators in elementwise_scalar.cpp.
#include "pare/elementwise.h"

#include <cmath>

#include "broadcast.h"
#include "pare/autograd.h"
#include "pare/observer.h"

namespace pare {

namespace {

using detail::map_float;
using detail::map_same_dtype;
using detail::ResultKind;

// Both operands converted to their common dtype, and the shape they broadcast to.
struct BinaryOperands {
  Tensor a;
  Tensor b;
  Shape shape;
  DType dtype;
};

BinaryOperands prepare_binary(const Tensor& a, const Tensor& b, const char* op) {
  detail::check_operand(a, op);
  detail::check_operand(b, op);
  Shape shape = broadcast_shapes(a.sizes(), b.sizes(), op);
  DType dtype = detail::promote_types(a, b, op);
  return {detail::as_dtype(a, dtype), detail::as_dtype(b, dtype), std::move(shape), dtype};
}

// Gradients of a two-input op: `make(g)` returns both (either may be undefined when its input
// needs none), and this wraps the zero-gradient case.
template <typename Make>
autograd::BackwardFunction binary_backward(Make make) {
  return [make = std::move(make)](const std::vector<Tensor>& grads) {
    if (!grads[0].defined()) return std::vector<Tensor>(2);
    return make(grads[0]);
  };
}

Tensor add_or_sub(const Tensor& a, const Tensor& b, double alpha, const char* op) {
  BinaryOperands in = prepare_binary(a, b, op);
  Tensor out;
  if (in.dtype == DType::f32) {
    const float scale = static_cast<float>(alpha);
    out = map_float(
        in.shape, [scale](float x, float y) { return x + scale * y; }, in.a, in.b);
  } else {
    PARE_CHECK(detail::is_whole(alpha), op, ": alpha must be a whole number for ",
               dtype_name(in.dtype), " tensors, got ", alpha);
    const int64_t scale = static_cast<int64_t>(alpha);
    out = map_same_dtype<ResultKind::kSameDtype>(
        in.shape, [scale](auto x, auto y) { return x + scale * y; }, in.a, in.b);
  }
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  autograd::record(op, {a, b}, {out},
                   binary_backward([need_a, need_b, alpha, a_shape = a.sizes(),
                                    b_shape = b.sizes()](const Tensor& grad) {
                     Tensor grad_a, grad_b;
                     if (need_a) grad_a = autograd::reduce_to_shape(grad, a_shape);
                     if (need_b) {
                       const float scale = static_cast<float>(alpha);
                       Tensor scaled =
                           alpha == 1.0
                               ? grad
                               : map_float(
                                     grad.sizes(), [scale](float g) { return scale * g; }, grad);
                       grad_b = autograd::reduce_to_shape(scaled, b_shape);
                     }
                     return std::vector<Tensor>{grad_a, grad_b};
                   }));
  return out;
}

Attrs alpha_attrs(double alpha) {
  if (alpha == 1.0) return {};
  return {{"alpha", alpha}};
}

// maximum (kPickLarger) or minimum. NaN wins, as in PyTorch.
template <bool kPickLarger>
Tensor extremum(const Tensor& a, const Tensor& b, const char* op) {
  BinaryOperands in = prepare_binary(a, b, op);
  Tensor out = map_same_dtype<ResultKind::kSameDtype>(
      in.shape,
      [](auto x, auto y) {
        const bool x_wins = kPickLarger ? x > y : x < y;
        return (x_wins || x != x) ? x : y;
      },
      in.a, in.b);
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  autograd::record(
      op, {a, b}, {out},
      binary_backward([need_a, need_b, x = in.a.detach(), y = in.b.detach(), a_shape = a.sizes(),
                       b_shape = b.sizes()](const Tensor& grad) {
        // The larger (smaller) input takes the whole gradient; a tie splits it evenly.
        auto share = [](float g, float mine, float other) {
          const bool mine_wins = kPickLarger ? mine > other : mine < other;
          return mine_wins ? g : (mine == other ? 0.5f * g : 0.0f);
        };
        Tensor grad_a, grad_b;
        if (need_a)
          grad_a = autograd::reduce_to_shape(map_float(grad.sizes(), share, grad, x, y), a_shape);
        if (need_b)
          grad_b = autograd::reduce_to_shape(map_float(grad.sizes(), share, grad, y, x), b_shape);
        return std::vector<Tensor>{grad_a, grad_b};
      }));
  return out;
}

bool any_negative(const Tensor& tensor) {
  return detail::dispatch_dtype(tensor.dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T* data = tensor.data_ptr<T>();
    bool negative = false;
    detail::for_each_offsets<1>(tensor.sizes(), {&tensor.strides()},
                                [&](const std::array<int64_t, 1>& o) {
                                  if (data[o[0]] < T(0)) negative = true;
                                });
    return negative;
  });
}

template <typename Compare>
Tensor compare(const Tensor& a, const Tensor& b, const char* op, Compare compare_values) {
  OpScope scope;
  BinaryOperands in = prepare_binary(a, b, op);
  Tensor out = map_same_dtype<ResultKind::kBool>(in.shape, compare_values, in.a, in.b);
  if (scope.should_report()) notify_function(op, {a, b}, {}, {out});
  return out;
}

// body(u, v) on the values of two same-shape tensors of any dtypes, read as T and U.
template <typename Body>
void for_each_value_pair(const Tensor& a, const Tensor& b, Body&& body) {
  detail::dispatch_dtype(a.dtype(), [&](auto* a_tag) {
    using T = std::remove_pointer_t<decltype(a_tag)>;
    detail::dispatch_dtype(b.dtype(), [&](auto* b_tag) {
      using U = std::remove_pointer_t<decltype(b_tag)>;
      const T* a_data = a.data_ptr<T>();
      const U* b_data = b.data_ptr<U>();
      detail::for_each_offsets<2>(
          a.sizes(), {&a.strides(), &b.strides()},
          [&](const std::array<int64_t, 2>& o) { body(a_data[o[0]], b_data[o[1]]); });
      return 0;
    });
    return 0;
  });
}

}  // namespace

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t rank = std::max(a.size(), b.size());
  Shape result(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t size_a = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t size_b = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    PARE_CHECK(size_a == size_b || size_a == 1 || size_b == 1, op, ": shapes ", a, " and ", b,
               " cannot be broadcast together (dim ", i, ": ", size_a, " vs ", size_b, ")");
    result[i] = size_a == 1 ? size_b : size_a;
  }
  return result;
}

Tensor add(const Tensor& a, const Tensor& b, double alpha) {
  OpScope scope;
  Tensor out = add_or_sub(a, b, alpha, "add");
  if (scope.should_report()) notify_function("add", {a, b}, alpha_attrs(alpha), {out});
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b, double alpha) {
  OpScope scope;
  PARE_CHECK(
      !(a.defined() && b.defined() && a.dtype() == DType::boolean && b.dtype() == DType::boolean),
      "sub: subtracting bool tensors is not supported (shapes ", a.sizes(), " and ", b.sizes(),
      "); use logical_not or convert with .to()");
  Tensor out = add_or_sub(a, b, -alpha, "sub");
  if (scope.should_report()) notify_function("sub", {a, b}, alpha_attrs(alpha), {out});
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  OpScope scope;
  BinaryOperands in = prepare_binary(a, b, "mul");
  Tensor out = map_same_dtype<ResultKind::kSameDtype>(
      in.shape, [](auto x, auto y) { return x * y; }, in.a, in.b);
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  autograd::record(
      "mul", {a, b}, {out},
      binary_backward([need_a, need_b, x = in.a.detach(), y = in.b.detach(), a_shape = a.sizes(),
                       b_shape = b.sizes()](const Tensor& grad) {
        auto times = [](float g, float other) { return g * other; };
        Tensor grad_a, grad_b;
        if (need_a)
          grad_a = autograd::reduce_to_shape(map_float(grad.sizes(), times, grad, y), a_shape);
        if (need_b)
          grad_b = autograd::reduce_to_shape(map_float(grad.sizes(), times, grad, x), b_shape);
        return std::vector<Tensor>{grad_a, grad_b};
      }));
  if (scope.should_report()) notify_function("mul", {a, b}, {}, {out});
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  OpScope scope;
  BinaryOperands in = prepare_binary(a, b, "div");
  // True division, as in PyTorch: integer operands give float32.
  Tensor x = detail::as_dtype(in.a, DType::f32);
  Tensor y = detail::as_dtype(in.b, DType::f32);
  Tensor out = map_float(
      in.shape, [](float u, float v) { return u / v; }, x, y);
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  autograd::record(
      "div", {a, b}, {out},
      binary_backward([need_a, need_b, x = x.detach(), y = y.detach(), a_shape = a.sizes(),
                       b_shape = b.sizes()](const Tensor& grad) {
        Tensor grad_a, grad_b;
        if (need_a) {
          grad_a = autograd::reduce_to_shape(
              map_float(
                  grad.sizes(), [](float g, float v) { return g / v; }, grad, y),
              a_shape);
        }
        if (need_b) {
          grad_b = autograd::reduce_to_shape(
              map_float(
                  grad.sizes(), [](float g, float u, float v) { return -g * u / (v * v); }, grad, x,
                  y),
              b_shape);
        }
        return std::vector<Tensor>{grad_a, grad_b};
      }));
  if (scope.should_report()) notify_function("div", {a, b}, {}, {out});
  return out;
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  OpScope scope;
  Tensor out = extremum<true>(a, b, "maximum");
  if (scope.should_report()) notify_function("maximum", {a, b}, {}, {out});
  return out;
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  OpScope scope;
  Tensor out = extremum<false>(a, b, "minimum");
  if (scope.should_report()) notify_function("minimum", {a, b}, {}, {out});
  return out;
}

Tensor pow(const Tensor& base, const Tensor& exponent) {
  OpScope scope;
  BinaryOperands in = prepare_binary(base, exponent, "pow");
  PARE_CHECK(in.dtype != DType::boolean, "pow: bool tensors are not supported (shapes ",
             base.sizes(), " and ", exponent.sizes(), ")");
  Tensor out;
  if (in.dtype == DType::f32) {
    out = map_float(
        in.shape, [](float x, float y) { return std::pow(x, y); }, in.a, in.b);
  } else {
    PARE_CHECK(!any_negative(in.b), "pow: integers to negative integer powers are not allowed",
               " (exponent of shape ", exponent.sizes(), ")");
    out = map_same_dtype<ResultKind::kSameDtype>(
        in.shape,
        [](auto x, auto y) {
          if constexpr (std::is_integral_v<decltype(x)> && !std::is_same_v<decltype(x), bool>) {
            return detail::integer_power(x, y);
          } else {
            return x;  // float32 and bool never take this branch
          }
        },
        in.a, in.b);
  }
  const bool need_base = base.requires_grad(), need_exponent = exponent.requires_grad();
  autograd::record("pow", {base, exponent}, {out},
                   binary_backward([need_base, need_exponent, x = in.a.detach(), y = in.b.detach(),
                                    result = out.detach(), base_shape = base.sizes(),
                                    exponent_shape = exponent.sizes()](const Tensor& grad) {
                     Tensor grad_base, grad_exponent;
                     if (need_base) {
                       grad_base = autograd::reduce_to_shape(
                           map_float(
                               grad.sizes(),
                               [](float g, float u, float v) {
                                 return v == 0.0f ? 0.0f : g * v * std::pow(u, v - 1.0f);
                               },
                               grad, x, y),
                           base_shape);
                     }
                     if (need_exponent) {
                       // d(u^v)/dv = u^v log u, taken as 0 where u == 0 and v >= 0 (PyTorch's
                       // convention).
                       grad_exponent = autograd::reduce_to_shape(
                           map_float(
                               grad.sizes(),
                               [](float g, float u, float v, float r) {
                                 return (u == 0.0f && v >= 0.0f) ? 0.0f : g * r * std::log(u);
                               },
                               grad, x, y, result),
                           exponent_shape);
                     }
                     return std::vector<Tensor>{grad_base, grad_exponent};
                   }));
  if (scope.should_report()) notify_function("pow", {base, exponent}, {}, {out});
  return out;
}

Tensor eq(const Tensor& a, const Tensor& b) {
  return compare(a, b, "eq", [](auto x, auto y) { return x == y; });
}
Tensor ne(const Tensor& a, const Tensor& b) {
  return compare(a, b, "ne", [](auto x, auto y) { return x != y; });
}
Tensor lt(const Tensor& a, const Tensor& b) {
  return compare(a, b, "lt", [](auto x, auto y) { return x < y; });
}
Tensor le(const Tensor& a, const Tensor& b) {
  return compare(a, b, "le", [](auto x, auto y) { return x <= y; });
}
Tensor gt(const Tensor& a, const Tensor& b) {
  return compare(a, b, "gt", [](auto x, auto y) { return x > y; });
}
Tensor ge(const Tensor& a, const Tensor& b) {
  return compare(a, b, "ge", [](auto x, auto y) { return x >= y; });
}

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  OpScope scope;
  detail::check_operand(condition, "where");
  PARE_CHECK(condition.dtype() == DType::boolean || condition.dtype() == DType::u8,
             "where: the condition must be a bool tensor, got ", dtype_name(condition.dtype()),
             " of shape ", condition.sizes());
  BinaryOperands in = prepare_binary(a, b, "where");
  const Shape shape = broadcast_shapes(condition.sizes(), in.shape, "where");
  const Tensor mask = detail::as_dtype(condition, DType::boolean);
  Tensor out = detail::dispatch_dtype(in.dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    return detail::map_new<T, bool, T, T>(
        shape, [](bool take_a, T x, T y) { return take_a ? x : y; }, mask, in.a, in.b);
  });
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  autograd::record("where", {condition, a, b}, {out},
                   [need_a, need_b, mask, a_shape = a.sizes(),
                    b_shape = b.sizes()](const std::vector<Tensor>& grads) {
                     std::vector<Tensor> result(3);
                     const Tensor& grad = grads[0];
                     if (!grad.defined()) return result;
                     auto routed = [&](bool to_a) {
                       return detail::map_new<float, bool, float>(
                           grad.sizes(),
                           [to_a](bool take_a, float g) { return take_a == to_a ? g : 0.0f; }, mask,
                           grad);
                     };
                     if (need_a) result[1] = autograd::reduce_to_shape(routed(true), a_shape);
                     if (need_b) result[2] = autograd::reduce_to_shape(routed(false), b_shape);
                     return result;
                   });
  if (scope.should_report()) notify_function("where", {condition, a, b}, {}, {out});
  return out;
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  detail::check_operand(a, "allclose");
  detail::check_operand(b, "allclose");
  if (a.sizes() != b.sizes()) return false;
  bool close = true;
  for_each_value_pair(a, b, [&](auto x, auto y) {
    const double u = static_cast<double>(x), v = static_cast<double>(y);
    if (u == v) return;  // also equal infinities
    if (!std::isfinite(u) || !std::isfinite(v) || !(std::fabs(u - v) <= atol + rtol * std::fabs(v)))
      close = false;
  });
  return close;
}

bool equal(const Tensor& a, const Tensor& b) {
  detail::check_operand(a, "equal");
  detail::check_operand(b, "equal");
  if (a.sizes() != b.sizes() || a.dtype() != b.dtype()) return false;
  bool same = true;
  for_each_value_pair(a, b, [&](auto x, auto y) {
    if (!(x == y)) same = false;
  });
  return same;
}

}  // namespace pare
