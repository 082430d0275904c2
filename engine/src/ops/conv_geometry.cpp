#include "pare/conv_geometry.h"

#include <algorithm>

#include "empty_batch.h"
#include "pare/checked_math.h"
#include "pare/error.h"

namespace pare {

kernels::Conv2dParams conv2d_geometry(const Shape& input, const Shape& weight, const Shape* bias,
                                      IntPair stride, IntPair padding, IntPair dilation,
                                      int64_t groups) {
  PARE_CHECK(input.size() == 3 || input.size() == 4,
             "conv2d: expected a 3-d (unbatched) or 4-d (batched) input, got input of shape ",
             input);
  PARE_CHECK(weight.size() == 4,
             "conv2d: expected a 4-d weight [out_channels, in_channels / groups, kH, kW], got ",
             "weight of shape ", weight);
  PARE_CHECK(groups > 0, "conv2d: groups must be positive, got ", groups);
  PARE_CHECK(weight[0] % groups == 0, "conv2d: given groups=", groups, ", weight of size ", weight,
             " has ", weight[0], " output channels, which do not divide by groups");
  const size_t rank = input.size();
  const int64_t channels = input[rank - 3];
  const int64_t expected_channels =
      checked_mul(weight[1], groups, "conv2d: in_channels of weight ", weight, " times groups");
  // PyTorch's words, "expected input[1, 3, 8, 8]" included.
  PARE_CHECK(channels == expected_channels, "conv2d: given groups=", groups, ", weight of size ",
             weight, ", expected input", input, " to have ", expected_channels,
             " channels, but got ", channels, " channels instead");
  PARE_CHECK(bias == nullptr || *bias == Shape{weight[0]}, "conv2d: expected a bias of shape ",
             Shape{weight[0]}, " for weight of size ", weight, ", got shape ",
             bias == nullptr ? Shape{} : *bias);
  PARE_CHECK(stride.first > 0 && stride.second > 0 && dilation.first > 0 && dilation.second > 0 &&
                 padding.first >= 0 && padding.second >= 0,
             "conv2d: stride and dilation must be positive and padding not negative, got stride ",
             stride.vec(), ", padding ", padding.vec(), ", dilation ", dilation.vec());
  auto positive = [](const Shape& shape) {
    return std::all_of(shape.begin(), shape.end(), [](int64_t v) { return v > 0; });
  };
  // An empty batch (N = 0) is allowed, as in PyTorch: the result is an empty batch too.
  const Shape per_sample(input.begin() + (rank == 4 ? 1 : 0), input.end());
  PARE_CHECK(positive(per_sample) && positive(weight),
             "conv2d: sizes must be positive (only the batch may be 0), got input ", input,
             " and weight ", weight);
  kernels::Conv2dParams params;
  params.batch = rank == 4 ? input[0] : 1;
  params.in_channels = channels;
  params.in_h = input[rank - 2];
  params.in_w = input[rank - 1];
  params.out_channels = weight[0];
  params.kernel_h = weight[2];
  params.kernel_w = weight[3];
  params.stride_h = stride.first;
  params.stride_w = stride.second;
  params.pad_h = padding.first;
  params.pad_w = padding.second;
  params.dilation_h = dilation.first;
  params.dilation_w = dilation.second;
  params.groups = groups;
  detail::validate_per_sample(params);  // the kernels' own output-size rule and limits
  return params;
}

Shape conv2d_output_shape(const Shape& input, const kernels::Conv2dParams& params) {
  Shape out = input;
  const size_t rank = input.size();
  out[rank - 3] = params.out_channels;
  out[rank - 2] = params.out_h();
  out[rank - 1] = params.out_w();
  return out;
}

}  // namespace pare
