// Internal: the argument checks and dense reads shared by the activation, dropout, softmax and
// normalisation ops, which run their kernels on contiguous float32 buffers.
//
//   Tensor src = detail::dense_float_input(x, "softmax", "input");
//   PARE_KERNEL(softmax_forward)(params, src.data_ptr<float>(), ...);
#pragma once

#include "pare/tensor.h"

namespace pare::detail {

// A contiguous, history-free float32 view (or copy) of `x`; `op` and `role` name it in errors.
inline Tensor dense_float_input(const Tensor& x, const char* op, const char* role) {
  PARE_CHECK(x.defined(), op, ": ", role, " is undefined");
  PARE_CHECK(x.dtype() == DType::f32, op, ": expected a float32 ", role, ", got ",
             dtype_name(x.dtype()), " of shape ", x.sizes());
  return x.detach().contiguous();
}

// An output gradient as a contiguous buffer (backward closures already run without history).
inline Tensor dense_gradient(const Tensor& gradient) { return gradient.detach().contiguous(); }

}  // namespace pare::detail
