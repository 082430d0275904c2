// The geometry of conv2d from shapes alone. The engine's conv2d, shape inference and the op
// definitions build their kernels::Conv2dParams here, so their checks, messages (PyTorch's) and
// output sizes are one rule.
//
//   const pare::kernels::Conv2dParams params = pare::conv2d_geometry(
//       {8, 3, 32, 32}, {16, 3, 3, 3}, /*bias=*/nullptr, /*stride=*/2, /*padding=*/1,
//       /*dilation=*/1, /*groups=*/1);
//   pare::conv2d_output_shape({8, 3, 32, 32}, params);   // [8, 16, 16, 16]
#pragma once

#include "pare/functional.h"
#include "pare/kernels/conv2d.h"
#include "pare/tensor.h"

namespace pare {

// Checks a conv2d call (input 3-d unbatched or 4-d, a 4-d weight [out, in / groups, kH, kW],
// groups dividing the channels, a bias of [out] when given, positive sizes, stride and dilation,
// padding not negative, a kernel that fits the padded input) and returns its kernel params.
// `bias` may be nullptr. Dtypes are the caller's to check.
kernels::Conv2dParams conv2d_geometry(const Shape& input, const Shape& weight, const Shape* bias,
                                      IntPair stride, IntPair padding, IntPair dilation,
                                      int64_t groups);

// `input` with its channels and spatial sizes replaced by the convolution's output's.
Shape conv2d_output_shape(const Shape& input, const kernels::Conv2dParams& params);

}  // namespace pare
