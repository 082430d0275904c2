// Selecting and joining: index_select (the workhorse of pruning), cat, stack, masked ops.
//
//   auto kept = pare::index_select(weight, 0, pare::tensor(std::vector<int64_t>{0, 2, 3}));
//   auto both = pare::cat({a, b}, /*dim=*/1);
//   auto batch = pare::stack({x0, x1, x2});                // new dim 0
//   auto rows = pare::nonzero(mask);                        // int64 indices of true entries (1-d
//   mask)
#pragma once

#include <vector>

#include "pare/tensor.h"

namespace pare {

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
// Splits into chunks of `split_size` along dim (the last may be smaller). Views.
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
// Indices (int64) of the true / non-zero entries of a 1-d tensor.
Tensor nonzero(const Tensor& mask);
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
// out[i] = x[i][index[i]] along dim 1 for a 2-d x and a 1-d int64 index (what nll_loss needs).
Tensor gather_rows(const Tensor& x, const Tensor& index);

}  // namespace pare
