// Reductions over all elements or along dims (negative dims count from the end).
//
//   auto total = pare::sum(x);                             // 0-d tensor
//   auto row_means = pare::mean(x, {1}, /*keepdim=*/true);
//   auto [values, indices] = pare::max(logits, 1);
//   auto predicted = pare::argmax(logits, 1);
//   auto l2 = pare::norm(w, 2.0, {1});                     // per-row L2 norms
//   if (!pare::all_finite(loss)) ...                      // NaN or inf anywhere
#pragma once

#include <tuple>

#include "pare/tensor.h"

namespace pare {

Tensor sum(const Tensor& x);
Tensor sum(const Tensor& x, const Shape& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const Shape& dims, bool keepdim = false);
Tensor max(const Tensor& x);
Tensor min(const Tensor& x);
// Values and int64 indices of the first maximum (minimum) along `dim`.
std::tuple<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
std::tuple<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);
// p-norm (p > 0, or INFINITY) over all elements or along dims.
Tensor norm(const Tensor& x, double p = 2.0);
Tensor norm(const Tensor& x, double p, const Shape& dims, bool keepdim = false);
// Variance with Bessel's correction when `unbiased`.
Tensor var(const Tensor& x, const Shape& dims, bool unbiased = true, bool keepdim = false);
// True when no element is NaN or infinite (always for integer and bool tensors, and for an
// undefined one): torch.isfinite(x).all() without the intermediate tensor.
bool all_finite(const Tensor& x);

}  // namespace pare
