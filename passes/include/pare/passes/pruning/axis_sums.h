// Per-index sums along one axis of a float tensor: what the magnitude and Taylor criteria score a
// member's slices by. Every index's sum runs over the other axes in row-major order (the axes
// before `axis` outermost), starting from 0.0 in double, whatever the layout: the scores are
// bit-reproducible, and a test writes the same order as three plain loops.
//
//   const pare::Tensor w = pare::randn({64, 32, 3, 3});
//   std::vector<double> rows = pare::pruning::per_index_power_sums(w, 0, 2.0);  // 64 sums of w^2
//   std::vector<double> cols = pare::pruning::per_index_power_sums(w, 1, 1.0);  // 32 sums of |w|
//   std::vector<double> taylor = pare::pruning::per_index_products(w, w.grad(), 0);
#pragma once

#include <cstdint>
#include <vector>

#include "pare/tensor.h"

namespace pare::pruning {

// sum over every axis but `axis` of |x|^p, one value per index of `axis` (float32 `value`).
std::vector<double> per_index_power_sums(const Tensor& value, int64_t axis, double p);

// sum over every axis but `axis` of value * other, one value per index of `axis` (both float32,
// of one shape).
std::vector<double> per_index_products(const Tensor& value, const Tensor& other, int64_t axis);

}  // namespace pare::pruning
