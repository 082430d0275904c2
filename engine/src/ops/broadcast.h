// Internal: elementwise maps with NumPy broadcasting, and the dtype rules the elementwise ops
// share. Inputs are read in place through broadcast strides (nothing is expanded or copied);
// the output is always a fresh contiguous tensor.
//
//   Shape shape = broadcast_shapes(a.sizes(), b.sizes(), "mul");
//   Tensor out = detail::map_new<float, float, float>(
//       shape, [](float x, float y) { return x * y; }, a, b);
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <tuple>
#include <type_traits>
#include <utility>

#include "pare/creation.h"
#include "pare/elementwise.h"
#include "pare/tensor.h"
#include "strided_loop.h"

namespace pare::detail {

// Below this many elements a parallel region costs more than it saves.
inline constexpr int64_t kParallelElementThreshold = 32768;
// Upper bound on the work items a broadcast map is split into.
inline constexpr int64_t kMaxParallelBlocks = 64;

// Strides that read `tensor` as if it were expanded to `shape` (0 along broadcast dims).
inline Shape broadcast_strides(const Tensor& tensor, const Shape& shape) {
  const Shape& sizes = tensor.sizes();
  const Shape& strides = tensor.strides();
  Shape result(shape.size(), 0);
  const size_t lead = shape.size() - sizes.size();
  for (size_t i = 0; i < sizes.size(); ++i) result[lead + i] = sizes[i] == 1 ? 0 : strides[i];
  return result;
}

// The map over contiguous operands of one shape: a flat loop the compiler can vectorise.
template <typename Out, typename Fn, typename Inputs, size_t... I>
void map_dense(Out* out, Inputs in, int64_t count, Fn& fn, std::index_sequence<I...>) {
#pragma omp parallel for if (count > kParallelElementThreshold)
  for (int64_t i = 0; i < count; ++i) out[i] = static_cast<Out>(fn(std::get<I>(in)[i]...));
}

// The map over broadcast or strided operands (rank >= 1). Blocks of the outermost dim go to
// threads; each walks its block with the strided iterator. strides[0] is the output's.
template <typename Out, typename Fn, typename Inputs, size_t... I>
void map_strided(Out* out, const Inputs& in, const Shape& shape,
                 const std::array<Shape, sizeof...(I) + 1>& strides, Fn& fn,
                 std::index_sequence<I...>) {
  constexpr size_t kOperands = sizeof...(I) + 1;
  std::array<const Shape*, kOperands> stride_ptrs;
  for (size_t k = 0; k < kOperands; ++k) stride_ptrs[k] = &strides[k];
  const int64_t outer = shape[0];
  const int64_t blocks = shape_numel(shape) > kParallelElementThreshold
                             ? std::min<int64_t>(outer, kMaxParallelBlocks)
                             : 1;
#pragma omp parallel for if (blocks > 1)
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t begin = outer * block / blocks;
    const int64_t end = outer * (block + 1) / blocks;
    Shape block_shape = shape;
    block_shape[0] = end - begin;
    const std::array<int64_t, kOperands> base{begin * strides[0][0], begin * strides[I + 1][0]...};
    for_each_offsets<kOperands>(
        block_shape, stride_ptrs, [&](const std::array<int64_t, kOperands>& offset) {
          out[base[0] + offset[0]] =
              static_cast<Out>(fn(std::get<I>(in)[base[I + 1] + offset[I + 1]]...));
        });
  }
}

// out[i] = fn(inputs[i]...) over out's shape. `out` must be contiguous; each input has the C++
// element type In and a shape that broadcasts to out's.
template <typename Out, typename... In, typename Fn, typename... Tensors>
void map_into(const Tensor& out, Fn&& fn, const Tensors&... inputs) {
  static_assert(sizeof...(In) == sizeof...(Tensors), "one element type per input");
  const Shape& shape = out.sizes();
  const int64_t count = out.numel();
  if (count == 0) return;
  Out* out_data = out.data_ptr<Out>();
  const std::tuple<const In*...> in_data{inputs.template data_ptr<In>()...};
  // A 0-d output always takes the dense path (its inputs are 0-d too).
  const bool dense = ((inputs.sizes() == shape && inputs.is_contiguous()) && ...);
  if (dense) {
    map_dense(out_data, in_data, count, fn, std::index_sequence_for<In...>{});
  } else {
    const std::array<Shape, sizeof...(In) + 1> strides{out.strides(),
                                                       broadcast_strides(inputs, shape)...};
    map_strided(out_data, in_data, shape, strides, fn, std::index_sequence_for<In...>{});
  }
}

// A new contiguous tensor of `shape` holding fn(inputs...).
template <typename Out, typename... In, typename Fn, typename... Tensors>
Tensor map_new(const Shape& shape, Fn&& fn, const Tensors&... inputs) {
  Tensor out = empty(shape, dtype_of<Out>());
  map_into<Out, In...>(out, std::forward<Fn>(fn), inputs...);
  return out;
}

// Whether a same-dtype map keeps its inputs' dtype or produces bool (comparisons).
enum class ResultKind { kSameDtype, kBool };

// fn over inputs that all share one dtype (the first one's), typed by that dtype.
template <ResultKind kResult, typename Fn, typename... Tensors>
Tensor map_same_dtype(const Shape& shape, Fn&& fn, const Tensors&... inputs) {
  const DType dtype = std::get<0>(std::tie(inputs...)).dtype();
  return dispatch_dtype(dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    using Out = std::conditional_t<kResult == ResultKind::kBool, bool, T>;
    return map_new<Out, std::conditional_t<true, T, Tensors>...>(shape, fn, inputs...);
  });
}

// fn over float32 inputs into a new float32 tensor of `shape`.
template <typename Fn, typename... Tensors>
Tensor map_float(const Shape& shape, Fn&& fn, const Tensors&... inputs) {
  return map_new<float, std::conditional_t<true, float, Tensors>...>(shape, std::forward<Fn>(fn),
                                                                     inputs...);
}

inline void check_operand(const Tensor& tensor, const char* op) {
  PARE_CHECK(tensor.defined(), op, ": an operand is undefined");
  PARE_CHECK(tensor.device().is_cpu(), op, ": only CPU tensors are supported, got a tensor on ",
             tensor.device());
}

inline bool is_floating(DType dtype) { return dtype == DType::f32; }

// The dtype two tensor operands are computed in: their common dtype, or float32 when one of
// them is float32.
inline DType promote_types(const Tensor& a, const Tensor& b, const char* op) {
  if (a.dtype() == b.dtype()) return a.dtype();
  if (is_floating(a.dtype()) || is_floating(b.dtype())) return DType::f32;
  throw Error(str_cat(op, ": cannot combine dtypes ", dtype_name(a.dtype()), " and ",
                      dtype_name(b.dtype()), " (shapes ", a.sizes(), " and ", b.sizes(),
                      "); convert one of them with .to()"));
}

inline bool is_whole(double value) { return std::isfinite(value) && std::trunc(value) == value; }

// The dtype of `tensor op scalar`: the tensor's own for float32, and for integer tensors when
// the scalar is a whole number; float32 otherwise (PyTorch's rule for a Python float scalar).
inline DType scalar_result_dtype(DType tensor_dtype, double scalar) {
  if (tensor_dtype == DType::f32) return DType::f32;
  if (tensor_dtype == DType::boolean) return DType::f32;
  return is_whole(scalar) ? tensor_dtype : DType::f32;
}

// `tensor` itself when it already has `dtype` (keeping its autograd identity), else a copy.
inline Tensor as_dtype(const Tensor& tensor, DType dtype) {
  return tensor.dtype() == dtype ? tensor : tensor.to(dtype);
}

// `value` converted to T, saturating at T's range (so infinite clamp bounds stay meaningful
// for integer tensors).
template <typename T>
T saturate_cast(double value) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(value);
  } else {
    if (value <= static_cast<double>(std::numeric_limits<T>::lowest()))
      return std::numeric_limits<T>::lowest();
    if (value >= static_cast<double>(std::numeric_limits<T>::max()))
      return std::numeric_limits<T>::max();
    return static_cast<T>(value);
  }
}

// base^exponent by repeated squaring, for integer types and exponent >= 0. Works in unsigned
// arithmetic so that overflow wraps (as PyTorch's integer pow does) instead of being undefined.
template <typename T>
T integer_power(T base, T exponent) {
  using Unsigned = std::make_unsigned_t<T>;
  Unsigned result = 1;
  Unsigned factor = static_cast<Unsigned>(base);
  while (exponent > 0) {
    if (exponent & 1) result = static_cast<Unsigned>(result * factor);
    factor = static_cast<Unsigned>(factor * factor);
    exponent >>= 1;
  }
  return static_cast<T>(result);
}

}  // namespace pare::detail
