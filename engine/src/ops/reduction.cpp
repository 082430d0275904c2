// Reductions (sum, mean, max/min, argmax/argmin, p-norms, variance) and their gradients.
//
// Float reductions accumulate in double. Three layouts: a contiguous tensor reduced over a
// trailing run of dims folds rows with a vectorisable loop; a contiguous tensor reduced over an
// inner run folds [outer, reduced, inner] blocks column-wise; anything else walks the strided
// input once with for_each_offsets, folding into the output element each input element maps to.
//
// Every public reduction reports itself to the tracer with torch's names: sum, mean, norm and var
// with `dim` (a list; absent for a full reduction) and `keepdim`; max and min along a dim with
// `dim`, `keepdim` and two outputs (values, indices), as torch.max(x, dim) returns them.
#include "pare/reduction.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/observer.h"
#include "pare/reduction_geometry.h"
#include "strided_loop.h"

namespace pare {

namespace {

constexpr int64_t kParallelThreshold = 1 << 16;

// Which dims a reduction folds, and the shapes on both sides of it (pare/reduction_geometry.h).
using ReducePlan = ReductionGeometry;

// Empty `dims` reduces every dim, as torch.sum(x, dim=[]) does.
ReducePlan make_plan(const Tensor& x, const Shape& dims, bool keepdim, const char* op) {
  PARE_CHECK(x.defined(), op, ": the tensor is undefined");
  return reduction_geometry(x.sizes(), dims, keepdim, op);
}

ReducePlan make_full_plan(const Tensor& x, const char* op) { return make_plan(x, {}, false, op); }

// Strides (in elements) that walk the dense kept-shape output while iterating the input shape:
// zero along reduced dims, so every input element lands on the output element it folds into.
Shape output_strides_over_input(const ReducePlan& plan) {
  Shape strides = contiguous_strides(plan.kept_shape);
  for (size_t d = 0; d < strides.size(); ++d)
    if (plan.reduced[d]) strides[d] = 0;
  return strides;
}

// The same walk for an existing tensor `t` of the plan's output or kept shape (any strides).
Shape tensor_strides_over_input(const Tensor& t, const ReducePlan& plan) {
  const size_t rank = plan.input_shape.size();
  const bool has_all_dims = static_cast<size_t>(t.dim()) == rank;
  Shape strides(rank, 0);
  size_t next = 0;
  for (size_t d = 0; d < rank; ++d) {
    if (has_all_dims) {
      strides[d] = plan.reduced[d] ? 0 : t.strides()[d];
    } else if (!plan.reduced[d]) {
      strides[d] = t.strides()[next++];
    }
  }
  return strides;
}

// When x is contiguous and its reduced dims (ignoring size-1 dims) form one run, x is laid out
// as [outer, reduced_count, inner] and the fast paths apply.
bool as_block(const Tensor& x, const ReducePlan& plan, int64_t& outer, int64_t& inner) {
  if (!x.is_contiguous()) return false;
  const int64_t rank = static_cast<int64_t>(plan.input_shape.size());
  int64_t first = -1, last = -1;
  for (int64_t d = 0; d < rank; ++d) {
    if (plan.reduced[d] && plan.input_shape[d] != 1) {
      if (first < 0) first = d;
      last = d;
    }
  }
  if (first < 0) {
    outer = plan.output_count;
    inner = 1;
    return true;
  }
  for (int64_t d = first; d <= last; ++d)
    if (!plan.reduced[d] && plan.input_shape[d] != 1) return false;
  outer = 1;
  inner = 1;
  for (int64_t d = 0; d < first; ++d) outer *= plan.input_shape[d];
  for (int64_t d = last + 1; d < rank; ++d) inner *= plan.input_shape[d];
  return true;
}

// Folds fold(acc, value, output_index) over every element of float32 x into one double
// accumulator per output element (dense kept-shape order), starting from `identity`.
template <typename Fold>
std::vector<double> fold_strided(const Tensor& x, const ReducePlan& plan, double identity,
                                 const Fold& fold) {
  std::vector<double> acc(plan.output_count, identity);
  const Shape out_strides = output_strides_over_input(plan);
  const float* data = x.data_ptr<float>();
  detail::for_each_offsets<2>(
      plan.input_shape, {&out_strides, &x.strides()},
      [&](const std::array<int64_t, 2>& o) { acc[o[0]] = fold(acc[o[0]], data[o[1]], o[0]); });
  return acc;
}

// Sum of load(data[i]) over a contiguous row. Eight independent double lanes keep the loop
// vectorisable without reassociation and the result accurate for long rows.
template <typename Load>
double sum_row(const float* data, int64_t count, const Load& load) {
  constexpr int64_t kLanes = 8;
  double lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= count; i += kLanes)
    for (int64_t lane = 0; lane < kLanes; ++lane) lanes[lane] += load(data[i + lane]);
  double total = 0.0;
  for (; i < count; ++i) total += load(data[i]);
  for (double lane : lanes) total += lane;
  return total;
}

// max with NaN propagation, as torch.max.
inline double nan_max(double acc, double value) {
  return (value > acc || std::isnan(value)) && !std::isnan(acc) ? value : acc;
}

template <typename Load>
struct SumOf {
  Load load;
  double identity() const { return 0.0; }
  double fold(double acc, float value) const { return acc + load(value); }
  double combine(double a, double b) const { return a + b; }
  double fold_row(const float* data, int64_t count) const { return sum_row(data, count, load); }
};
// clang 14 does not deduce aggregate template arguments (P1816) without a guide.
template <typename Load>
SumOf(Load) -> SumOf<Load>;

template <typename Load>
struct MaxOf {
  Load load;
  double start = -std::numeric_limits<double>::infinity();
  double identity() const { return start; }
  double fold(double acc, float value) const { return nan_max(acc, load(value)); }
  double combine(double a, double b) const { return nan_max(a, b); }
  double fold_row(const float* data, int64_t count) const {
    double acc = start;
    for (int64_t i = 0; i < count; ++i) acc = nan_max(acc, load(data[i]));
    return acc;
  }
};

// out[o] = finish(fold of the reduced elements of float32 x), shaped plan.output_shape.
template <typename Reducer, typename Finish>
Tensor reduce_float(const Tensor& x, const ReducePlan& plan, const Reducer& reducer,
                    const Finish& finish) {
  Tensor result = empty(plan.output_shape, kFloat32);
  float* out = result.data_ptr<float>();
  const int64_t reduced_count = plan.reduced_count;
  int64_t outer = 0, inner = 0;
  if (as_block(x, plan, outer, inner)) {
    const float* data = x.data_ptr<float>();
    const bool parallel = outer > 1 && outer * reduced_count * inner > kParallelThreshold;
    if (inner == 1 && outer == 1 && reduced_count > kParallelThreshold) {
      // One long row (a full reduction): fold chunks in parallel, then combine the partials.
      const int64_t chunks = (reduced_count + kParallelThreshold - 1) / kParallelThreshold;
      std::vector<double> partials(chunks);
#pragma omp parallel for
      for (int64_t c = 0; c < chunks; ++c) {
        const int64_t begin = c * kParallelThreshold;
        partials[c] =
            reducer.fold_row(data + begin, std::min(kParallelThreshold, reduced_count - begin));
      }
      double total = reducer.identity();
      for (double partial : partials) total = reducer.combine(total, partial);
      out[0] = static_cast<float>(finish(total));
    } else if (inner == 1) {
#pragma omp parallel for if (parallel)
      for (int64_t o = 0; o < outer; ++o)
        out[o] =
            static_cast<float>(finish(reducer.fold_row(data + o * reduced_count, reduced_count)));
    } else {
#pragma omp parallel if (parallel)
      {
        std::vector<double> acc(inner);
#pragma omp for
        for (int64_t o = 0; o < outer; ++o) {
          std::fill(acc.begin(), acc.end(), reducer.identity());
          for (int64_t r = 0; r < reduced_count; ++r) {
            const float* row = data + (o * reduced_count + r) * inner;
            for (int64_t i = 0; i < inner; ++i) acc[i] = reducer.fold(acc[i], row[i]);
          }
          for (int64_t i = 0; i < inner; ++i)
            out[o * inner + i] = static_cast<float>(finish(acc[i]));
        }
      }
    }
    return result;
  }
  std::vector<double> acc =
      fold_strided(x, plan, reducer.identity(),
                   [&](double a, float value, int64_t) { return reducer.fold(a, value); });
  for (int64_t o = 0; o < plan.output_count; ++o) out[o] = static_cast<float>(finish(acc[o]));
  return result;
}

// Integer and bool sums accumulate exactly in int64, as torch.sum promotes them.
Tensor sum_integral(const Tensor& x, const ReducePlan& plan) {
  Tensor result = zeros(plan.output_shape, sum_dtype(x.dtype()));
  int64_t* out = result.data_ptr<int64_t>();
  const Shape out_strides = output_strides_over_input(plan);
  detail::dispatch_dtype(x.dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T* data = static_cast<const T*>(x.raw_data());
    detail::for_each_offsets<2>(
        plan.input_shape, {&out_strides, &x.strides()},
        [&](const std::array<int64_t, 2>& o) { out[o[0]] += static_cast<int64_t>(data[o[1]]); });
    return 0;
  });
  return result;
}

// A float32 tensor of the input shape with out[i] = fn(x[i], r[o(i)], g[o(i)]), where o(i) is
// the output element input element i folds into; `reduced` and `grad` have the output or kept
// shape. `x` may be undefined when fn ignores it.
template <typename Fn>
Tensor map_back(const ReducePlan& plan, const Tensor& x, const Tensor& reduced, const Tensor& grad,
                const Fn& fn) {
  Tensor result = empty(plan.input_shape, kFloat32);
  const Shape result_strides = result.strides();
  const Shape x_strides = x.defined() ? x.strides() : Shape(plan.input_shape.size(), 0);
  const Shape reduced_strides = tensor_strides_over_input(reduced, plan);
  const Shape grad_strides = tensor_strides_over_input(grad, plan);
  float* out = result.data_ptr<float>();
  const float* x_data = x.defined() ? x.data_ptr<float>() : nullptr;
  const float* r_data = reduced.data_ptr<float>();
  const float* g_data = grad.data_ptr<float>();
  detail::for_each_offsets<4>(
      plan.input_shape, {&result_strides, &x_strides, &reduced_strides, &grad_strides},
      [&](const std::array<int64_t, 4>& o) {
        out[o[0]] = fn(x_data ? x_data[o[1]] : 0.0f, r_data[o[2]], g_data[o[3]]);
      });
  return result;
}

// grad / count[o] per output element, in the kept shape.
Tensor divide_by_counts(const Tensor& grad, const std::vector<double>& counts,
                        const ReducePlan& plan) {
  Tensor dense = grad.contiguous();
  const float* g = dense.data_ptr<float>();
  Tensor result = empty(plan.kept_shape, kFloat32);
  float* out = result.data_ptr<float>();
  for (int64_t o = 0; o < plan.output_count; ++o)
    out[o] = counts[o] > 0 ? static_cast<float>(g[o] / counts[o]) : 0.0f;
  return result;
}

// How many elements of x equal target[o] (after `load`) for each output element o.
template <typename Load>
std::vector<double> count_matches(const Tensor& x, const ReducePlan& plan, const Tensor& target,
                                  const Load& load) {
  Tensor dense_target = target.contiguous();
  const float* t = dense_target.data_ptr<float>();
  return fold_strided(x, plan, 0.0, [&](double acc, float value, int64_t o) {
    return acc + (load(value) == t[o] ? 1.0 : 0.0);
  });
}

float sign_of(float value) { return static_cast<float>((value > 0.0f) - (value < 0.0f)); }

Tensor sum_over(const Tensor& x, const ReducePlan& plan) {
  if (x.dtype() != kFloat32) return sum_integral(x, plan);
  Tensor result =
      reduce_float(x, plan, SumOf{[](float v) { return v; }}, [](double acc) { return acc; });
  autograd::record("sum", {x}, {result}, [plan](const std::vector<Tensor>& grads) {
    if (!grads[0].defined()) return std::vector<Tensor>{Tensor()};
    return std::vector<Tensor>{
        map_back(plan, Tensor(), grads[0], grads[0], [](float, float, float g) { return g; })};
  });
  return result;
}

Tensor mean_over(const Tensor& x, const ReducePlan& plan) {
  check_float_reduction(x.sizes(), x.dtype(), "mean");
  const double count = static_cast<double>(plan.reduced_count);
  Tensor result = reduce_float(x, plan, SumOf{[](float v) { return v; }},
                               [count](double acc) { return acc / count; });
  autograd::record("mean", {x}, {result}, [plan, count](const std::vector<Tensor>& grads) {
    if (!grads[0].defined()) return std::vector<Tensor>{Tensor()};
    const float scale = static_cast<float>(1.0 / count);
    return std::vector<Tensor>{map_back(plan, Tensor(), grads[0], grads[0],
                                        [scale](float, float, float g) { return g * scale; })};
  });
  return result;
}

// The largest (kLargest) or smallest element of any dtype; NaN wins, as in torch.max.
template <bool kLargest, typename T>
bool is_better(T value, T best) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(best)) return false;
    if (std::isnan(value)) return true;
  }
  return kLargest ? value > best : value < best;
}

template <bool kLargest>
Tensor extreme_all(const Tensor& x, const char* op) {
  PARE_CHECK(x.defined(), op, ": the tensor is undefined");
  check_whole_extreme(x.sizes(), op);
  Tensor result = empty({}, x.dtype());
  detail::dispatch_dtype(x.dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T* data = static_cast<const T*>(x.raw_data());
    T best = data[0];
    detail::for_each_offsets<1>(x.sizes(), {&x.strides()}, [&](const std::array<int64_t, 1>& o) {
      if (is_better<kLargest>(data[o[0]], best)) best = data[o[0]];
    });
    *result.data_ptr<T>() = best;
    return 0;
  });
  if (x.dtype() != kFloat32) return result;
  ReducePlan plan = make_full_plan(x, op);
  Tensor saved_x = x.detach();
  Tensor saved_result = result.detach();
  // The gradient is shared evenly by every element that attains the extreme.
  autograd::record(
      op, {x}, {result}, [plan, saved_x, saved_result](const std::vector<Tensor>& grads) {
        if (!grads[0].defined()) return std::vector<Tensor>{Tensor()};
        auto identity = [](float v) { return v; };
        Tensor share =
            divide_by_counts(grads[0], count_matches(saved_x, plan, saved_result, identity), plan);
        return std::vector<Tensor>{
            map_back(plan, saved_x, saved_result, share,
                     [](float v, float r, float g) { return v == r ? g : 0.0f; })};
      });
  return result;
}

// Values and indices of the first extreme along `dim`, without recording history.
template <bool kLargest>
std::tuple<Tensor, Tensor> extreme_along(const Tensor& x, int64_t dim, bool keepdim,
                                         const char* op) {
  PARE_CHECK(x.defined(), op, ": the tensor is undefined");
  const AlongDimGeometry geometry = along_dim_geometry(x.sizes(), dim, keepdim, op);
  if (x.dim() == 0) {
    return {x.detach().clone(), zeros({}, kInt64)};
  }
  const int64_t d = geometry.dim;
  const int64_t length = x.size(d);
  Shape outer_shape = x.sizes();
  Shape outer_strides = x.strides();
  outer_shape.erase(outer_shape.begin() + d);
  outer_strides.erase(outer_strides.begin() + d);
  const Shape& result_shape = geometry.shape;
  Tensor values = empty(result_shape, x.dtype());
  Tensor indices = empty(result_shape, kInt64);
  const Shape dense_strides = contiguous_strides(outer_shape);
  const int64_t step = x.stride(d);
  int64_t* index_out = indices.data_ptr<int64_t>();
  detail::dispatch_dtype(x.dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T* data = static_cast<const T*>(x.raw_data());
    T* value_out = values.data_ptr<T>();
    detail::for_each_offsets<2>(outer_shape, {&outer_strides, &dense_strides},
                                [&](const std::array<int64_t, 2>& o) {
                                  const T* line = data + o[0];
                                  T best = line[0];
                                  int64_t best_index = 0;
                                  for (int64_t j = 1; j < length; ++j) {
                                    if (is_better<kLargest>(line[j * step], best)) {
                                      best = line[j * step];
                                      best_index = j;
                                    }
                                  }
                                  value_out[o[1]] = best;
                                  index_out[o[1]] = best_index;
                                });
    return 0;
  });
  return {values, indices};
}

// The gradient of a max/min along `dim` goes to the returned index only.
template <bool kLargest>
std::tuple<Tensor, Tensor> extreme_along_with_grad(const Tensor& x, int64_t dim, bool keepdim,
                                                   const char* op) {
  if (x.defined() && x.dim() == 0) {
    wrap_dim(dim, 0, op);
    return extreme_along_with_grad<kLargest>(x.reshape({1}), 0, false, op);
  }
  auto [values, indices] = extreme_along<kLargest>(x, dim, keepdim, op);
  if (x.dtype() != kFloat32) return {values, indices};
  const int64_t d = wrap_dim(dim, x.dim(), op);
  const Shape input_shape = x.sizes();
  Tensor saved_indices = indices.detach();
  autograd::record(
      op, {x}, {values, indices},
      [input_shape, d, keepdim, saved_indices](const std::vector<Tensor>& grads) {
        if (!grads[0].defined()) return std::vector<Tensor>{Tensor()};
        Tensor result = zeros(input_shape, kFloat32);
        Shape outer_shape = input_shape;
        outer_shape.erase(outer_shape.begin() + d);
        Shape result_strides = result.strides();
        const int64_t step = result_strides[d];
        result_strides.erase(result_strides.begin() + d);
        Shape grad_strides = grads[0].strides();
        Shape index_strides = saved_indices.strides();
        if (keepdim) {
          grad_strides.erase(grad_strides.begin() + d);
          index_strides.erase(index_strides.begin() + d);
        }
        float* out = result.data_ptr<float>();
        const float* g = grads[0].data_ptr<float>();
        const int64_t* index = saved_indices.data_ptr<int64_t>();
        detail::for_each_offsets<3>(
            outer_shape, {&result_strides, &grad_strides, &index_strides},
            [&](const std::array<int64_t, 3>& o) { out[o[0] + index[o[2]] * step] += g[o[1]]; });
        return std::vector<Tensor>{result};
      });
  return {values, indices};
}

Tensor norm_over(const Tensor& x, double p, const ReducePlan& plan) {
  check_float_reduction(x.sizes(), x.dtype(), "norm");
  check_norm_order(p, x.sizes());
  auto magnitude = [](float v) { return std::fabs(v); };
  Tensor result;
  if (std::isinf(p)) {
    result = reduce_float(x, plan, MaxOf<decltype(magnitude)>{magnitude, 0.0},
                          [](double acc) { return acc; });
  } else if (p == 1.0) {
    result = reduce_float(x, plan, SumOf{magnitude}, [](double acc) { return acc; });
  } else if (p == 2.0) {
    result = reduce_float(x, plan, SumOf{[](float v) { return v * v; }},
                          [](double acc) { return std::sqrt(acc); });
  } else {
    result = reduce_float(
        x, plan, SumOf{[p](float v) { return static_cast<float>(std::pow(std::fabs(v), p)); }},
        [p](double acc) { return std::pow(acc, 1.0 / p); });
  }
  Tensor saved_x = x.detach();
  Tensor saved_norm = result.detach();
  autograd::record(
      "norm", {x}, {result}, [plan, p, saved_x, saved_norm](const std::vector<Tensor>& grads) {
        const Tensor& grad = grads[0];
        if (!grad.defined()) return std::vector<Tensor>{Tensor()};
        Tensor result;
        if (std::isinf(p)) {
          // Like the max-all gradient: shared evenly among the elements attaining the norm.
          auto magnitude = [](float v) { return std::fabs(v); };
          Tensor share =
              divide_by_counts(grad, count_matches(saved_x, plan, saved_norm, magnitude), plan);
          result = map_back(plan, saved_x, saved_norm, share, [](float v, float n, float g) {
            return std::fabs(v) == n ? sign_of(v) * g : 0.0f;
          });
        } else if (p == 1.0) {
          result = map_back(plan, saved_x, saved_norm, grad,
                            [](float v, float, float g) { return sign_of(v) * g; });
        } else if (p == 2.0) {
          result = map_back(plan, saved_x, saved_norm, grad,
                            [](float v, float n, float g) { return n == 0.0f ? 0.0f : v / n * g; });
        } else {
          result = map_back(plan, saved_x, saved_norm, grad, [p](float v, float n, float g) {
            if (n == 0.0f || v == 0.0f) return 0.0f;
            const double ratio = std::pow(std::fabs(v) / n, p - 1.0);
            return static_cast<float>(sign_of(v) * ratio * g);
          });
        }
        return std::vector<Tensor>{result};
      });
  return result;
}

// torch.norm's p; p = INFINITY travels as the string "inf" (a .pare file's JSON has no infinity).
AttrValue norm_order(double p) {
  if (std::isinf(p)) return std::string("inf");
  return p;
}

Attrs dims_attrs(const Shape& dims, bool keepdim) { return {{"dim", dims}, {"keepdim", keepdim}}; }

Attrs dim_attrs(int64_t dim, bool keepdim) { return {{"dim", dim}, {"keepdim", keepdim}}; }

}  // namespace

Tensor sum(const Tensor& x) {
  OpScope scope;
  Tensor result = sum_over(x, make_full_plan(x, "sum"));
  if (scope.should_report()) notify_function("sum", {x}, {}, {result});
  return result;
}

Tensor sum(const Tensor& x, const Shape& dims, bool keepdim) {
  OpScope scope;
  Tensor result = sum_over(x, make_plan(x, dims, keepdim, "sum"));
  if (scope.should_report()) notify_function("sum", {x}, dims_attrs(dims, keepdim), {result});
  return result;
}

Tensor mean(const Tensor& x) {
  OpScope scope;
  Tensor result = mean_over(x, make_full_plan(x, "mean"));
  if (scope.should_report()) notify_function("mean", {x}, {}, {result});
  return result;
}

Tensor mean(const Tensor& x, const Shape& dims, bool keepdim) {
  OpScope scope;
  Tensor result = mean_over(x, make_plan(x, dims, keepdim, "mean"));
  if (scope.should_report()) notify_function("mean", {x}, dims_attrs(dims, keepdim), {result});
  return result;
}

Tensor max(const Tensor& x) {
  OpScope scope;
  Tensor result = extreme_all<true>(x, "max");
  if (scope.should_report()) notify_function("max", {x}, {}, {result});
  return result;
}

Tensor min(const Tensor& x) {
  OpScope scope;
  Tensor result = extreme_all<false>(x, "min");
  if (scope.should_report()) notify_function("min", {x}, {}, {result});
  return result;
}

std::tuple<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  OpScope scope;
  auto [values, indices] = extreme_along_with_grad<true>(x, dim, keepdim, "max");
  if (scope.should_report())
    notify_function("max", {x}, dim_attrs(dim, keepdim), {values, indices});
  return {values, indices};
}

std::tuple<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  OpScope scope;
  auto [values, indices] = extreme_along_with_grad<false>(x, dim, keepdim, "min");
  if (scope.should_report())
    notify_function("min", {x}, dim_attrs(dim, keepdim), {values, indices});
  return {values, indices};
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  OpScope scope;
  Tensor result = std::get<1>(extreme_along<true>(x, dim, keepdim, "argmax"));
  if (scope.should_report()) notify_function("argmax", {x}, dim_attrs(dim, keepdim), {result});
  return result;
}

Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) {
  OpScope scope;
  Tensor result = std::get<1>(extreme_along<false>(x, dim, keepdim, "argmin"));
  if (scope.should_report()) notify_function("argmin", {x}, dim_attrs(dim, keepdim), {result});
  return result;
}

Tensor norm(const Tensor& x, double p) {
  OpScope scope;
  Tensor result = norm_over(x, p, make_full_plan(x, "norm"));
  if (scope.should_report()) notify_function("norm", {x}, {{"p", norm_order(p)}}, {result});
  return result;
}

Tensor norm(const Tensor& x, double p, const Shape& dims, bool keepdim) {
  OpScope scope;
  Tensor result = norm_over(x, p, make_plan(x, dims, keepdim, "norm"));
  if (scope.should_report()) {
    notify_function("norm", {x}, {{"p", norm_order(p)}, {"dim", dims}, {"keepdim", keepdim}},
                    {result});
  }
  return result;
}

Tensor var(const Tensor& x, const Shape& dims, bool unbiased, bool keepdim) {
  OpScope scope;
  ReducePlan plan = make_plan(x, dims, keepdim, "var");
  check_float_reduction(x.sizes(), x.dtype(), "var");
  const double count = static_cast<double>(plan.reduced_count);
  const double divisor = count - (unbiased ? 1.0 : 0.0);
  // Two passes in double: the mean, then the squared deviations from it.
  std::vector<double> means =
      fold_strided(x, plan, 0.0, [](double acc, float value, int64_t) { return acc + value; });
  for (double& mean_value : means) mean_value /= count;
  std::vector<double> squares = fold_strided(x, plan, 0.0, [&](double acc, float value, int64_t o) {
    const double deviation = value - means[o];
    return acc + deviation * deviation;
  });
  Tensor result = empty(plan.output_shape, kFloat32);
  Tensor mean_tensor = empty(plan.kept_shape, kFloat32);
  float* out = result.data_ptr<float>();
  float* mean_out = mean_tensor.data_ptr<float>();
  for (int64_t o = 0; o < plan.output_count; ++o) {
    out[o] = static_cast<float>(squares[o] / divisor);
    mean_out[o] = static_cast<float>(means[o]);
  }
  Tensor saved_x = x.detach();
  autograd::record("var", {x}, {result},
                   [plan, divisor, saved_x, mean_tensor](const std::vector<Tensor>& grads) {
                     if (!grads[0].defined()) return std::vector<Tensor>{Tensor()};
                     const float scale = static_cast<float>(2.0 / divisor);
                     return std::vector<Tensor>{map_back(
                         plan, saved_x, mean_tensor, grads[0],
                         [scale](float v, float m, float g) { return scale * (v - m) * g; })};
                   });
  if (scope.should_report()) {
    notify_function("var", {x}, {{"dim", dims}, {"unbiased", unbiased}, {"keepdim", keepdim}},
                    {result});
  }
  return result;
}

}  // namespace pare
