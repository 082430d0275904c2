#include "pare/pool_geometry.h"

#include "empty_batch.h"
#include "pare/error.h"

namespace pare {

void check_pool2d_input(const Shape& input, DType dtype, const char* op) {
  PARE_CHECK(dtype == kFloat32, op, ": expected a float32 input, got ", dtype_name(dtype),
             " of shape ", input);
  PARE_CHECK(input.size() == 3 || input.size() == 4, op,
             ": expected a 3-d (unbatched) or 4-d (batched) input, got shape ", input);
  // An empty batch (N = 0) is allowed, as in PyTorch: the result is an empty batch too.
  const Shape per_sample(input.begin() + (input.size() == 4 ? 1 : 0), input.end());
  PARE_CHECK(shape_numel(per_sample) > 0, op,
             ": expected a non-empty input (only the batch may be 0), got shape ", input);
}

kernels::Pool2dParams pool2d_geometry(const Shape& input, DType dtype,
                                      const kernels::Pool2dParams& window, const char* op) {
  check_pool2d_input(input, dtype, op);
  const IntPair kernel_size(window.kernel_h, window.kernel_w);
  const IntPair padding(window.pad_h, window.pad_w);
  const IntPair dilation(window.dilation_h, window.dilation_w);
  PARE_CHECK(kernel_size.first > 0 && kernel_size.second > 0, op,
             ": kernel_size must be positive, got ", kernel_size.vec());
  PARE_CHECK(window.stride_h >= 0 && window.stride_w >= 0, op,
             ": stride must be positive (0 = kernel_size), got ",
             Shape{window.stride_h, window.stride_w});
  PARE_CHECK(dilation.first > 0 && dilation.second > 0, op, ": dilation must be positive, got ",
             dilation.vec());
  PARE_CHECK(padding.first >= 0 && padding.second >= 0 && padding.first <= kernel_size.first / 2 &&
                 padding.second <= kernel_size.second / 2,
             op, ": padding should be at most half of the kernel size, got padding ", padding.vec(),
             " and kernel_size ", kernel_size.vec());
  kernels::Pool2dParams params = window;
  const size_t rank = input.size();
  params.batch = rank == 4 ? input[0] : 1;
  params.channels = input[rank - 3];
  params.in_h = input[rank - 2];
  params.in_w = input[rank - 1];
  params.set_window(kernel_size.first, kernel_size.second, window.stride_h, window.stride_w,
                    padding.first, padding.second, dilation.first, dilation.second);
  PARE_CHECK(params.out_h() >= 1 && params.out_w() >= 1, op, ": input of shape ", input,
             " is too small for kernel_size ", kernel_size.vec(), ", padding ", padding.vec(),
             " and dilation ", dilation.vec(), " (output size ",
             Shape{params.out_h(), params.out_w()}, ")");
  detail::validate_per_sample(params);
  return params;
}

kernels::AdaptivePool2dParams adaptive_pool2d_geometry(const Shape& input, DType dtype,
                                                       IntPair output_size, const char* op) {
  check_pool2d_input(input, dtype, op);
  PARE_CHECK(output_size.first > 0 && output_size.second > 0, op,
             ": output_size must be positive, got ", output_size.vec(), " for input of shape ",
             input);
  kernels::AdaptivePool2dParams params;
  const size_t rank = input.size();
  params.batch = rank == 4 ? input[0] : 1;
  params.channels = input[rank - 3];
  params.in_h = input[rank - 2];
  params.in_w = input[rank - 1];
  params.out_h = output_size.first;
  params.out_w = output_size.second;
  detail::validate_per_sample(params);
  return params;
}

Shape pooled_shape(const Shape& input, int64_t out_h, int64_t out_w) {
  Shape shape = input;
  shape[shape.size() - 2] = out_h;
  shape[shape.size() - 1] = out_w;
  return shape;
}

}  // namespace pare
