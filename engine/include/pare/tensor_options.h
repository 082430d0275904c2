// pare::TensorOptions: what a factory makes, chained as in libtorch. A DType converts to it, so
// every factory taking options also takes a plain dtype.
//
//   auto labels = pare::zeros({2, 3}, pare::TensorOptions().dtype(pare::kInt64));
//   auto w = pare::randn({4, 3}, pare::TensorOptions().requires_grad(true));
#pragma once

#include "pare/dtype.h"

namespace pare {

class TensorOptions {
 public:
  TensorOptions() = default;
  TensorOptions(DType dtype) : dtype_(dtype) {}  // NOLINT: implicit, as in libtorch
  TensorOptions& dtype(DType value) {
    dtype_ = value;
    return *this;
  }
  // Marks the new tensor as a leaf needing a gradient (float32 only, as every differentiable op).
  TensorOptions& requires_grad(bool value) {
    requires_grad_ = value;
    return *this;
  }
  DType dtype() const { return dtype_; }
  bool requires_grad() const { return requires_grad_; }

 private:
  DType dtype_ = kFloat32;
  bool requires_grad_ = false;
};

}  // namespace pare
