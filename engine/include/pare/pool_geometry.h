// The geometry of the 2-d pools from shapes alone. The engine's pool ops, shape inference and
// the inference compiler all build their kernels::Pool2dParams here, so their checks, messages
// and output sizes are one rule.
//
//   pare::kernels::Pool2dParams window;
//   window.set_window(3, 3, 2, 2, 1, 1);   // kernel 3, stride 2, padding 1
//   window.ceil_mode = true;
//   const auto params = pare::pool2d_geometry({8, 16, 32, 32}, pare::kFloat32, window,
//   "max_pool2d"); pare::pooled_shape({8, 16, 32, 32}, params.out_h(), params.out_w());   // [8,
//   16, 17, 17]
#pragma once

#include "pare/dtype.h"
#include "pare/functional.h"
#include "pare/kernels/pooling.h"
#include "pare/tensor.h"

namespace pare {

// Checks what every 2-d pool needs of its input: float32, 3-d (unbatched) or 4-d, non-empty.
void check_pool2d_input(const Shape& input, DType dtype, const char* op);

// `window` holds the kernel, stride (0: the kernel size), padding, dilation, ceil_mode and
// count_include_pad as the op takes them; returns it completed with the input's batch, channels
// and spatial sizes, after checking them as PyTorch does (positive kernel and dilation, padding
// at most half the kernel, an output of at least 1 x 1).
kernels::Pool2dParams pool2d_geometry(const Shape& input, DType dtype,
                                      const kernels::Pool2dParams& window, const char* op);

kernels::AdaptivePool2dParams adaptive_pool2d_geometry(const Shape& input, DType dtype,
                                                       IntPair output_size, const char* op);

// `input` with its last two sizes replaced.
Shape pooled_shape(const Shape& input, int64_t out_h, int64_t out_w);

}  // namespace pare
