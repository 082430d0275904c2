// Matrix products on oneDNN's matmul.
//
//   auto y = pare::matmul(x, w.t());                       // [N, in] x [in, out]
//   auto z = pare::matmul(a, b);                           // [B, M, K] x [K, N] broadcasts
#pragma once

#include "pare/tensor.h"

namespace pare {

// torch.matmul semantics: 1-d x 1-d dot product, 2-d x 2-d matrix product, and batched products
// with broadcasting of the batch dims; 1-d operands are promoted and the added dim removed.
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor mm(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);

}  // namespace pare
