// all_finite (reduction.h): one pass that stops at the first NaN or infinity.
#include <algorithm>
#include <cmath>

#include "pare/reduction.h"

namespace pare {

bool all_finite(const Tensor& x) {
  if (!x.defined() || x.dtype() != kFloat32 || x.numel() == 0) return true;
  const Tensor values = x.contiguous();
  const float* data = values.data_ptr<float>();
  const int64_t count = values.numel();
  // Blocks of 1024 vectorise (no early exit inside) and still stop soon after a NaN.
  constexpr int64_t kBlock = 1024;
  for (int64_t begin = 0; begin < count; begin += kBlock) {
    const int64_t end = std::min(count, begin + kBlock);
    bool finite = true;
#pragma omp simd reduction(&& : finite)
    for (int64_t i = begin; i < end; ++i) finite = finite && std::isfinite(data[i]);
    if (!finite) return false;
  }
  return true;
}

}  // namespace pare
