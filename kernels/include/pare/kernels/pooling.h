// 2-d pooling kernels on NCHW float buffers, with PyTorch's output sizes, window rules and
// max-pool indices (flat h * in_w + w within each input plane).
//
//   pare::kernels::Pool2dParams params;
//   params.batch = 8; params.channels = 16; params.in_h = 32; params.in_w = 32;
//   params.kernel_h = params.kernel_w = 3; params.stride_h = params.stride_w = 2;
//   params.pad_h = params.pad_w = 1; params.ceil_mode = true;
//   std::vector<float> dst(8 * 16 * params.out_h() * params.out_w());
//   std::vector<int64_t> indices(dst.size());
//   pare::kernels::cpu::max_pool2d_forward(params, src.data(), dst.data(), indices.data());
//   pare::kernels::cpu::max_pool2d_backward(params, diff_dst.data(), indices.data(),
//                                           diff_src.data());
#pragma once

#include <cstdint>
#include <optional>

namespace pare::kernels {

// MaxPool2d / AvgPool2d geometry. Output sizes follow PyTorch: floor (or ceil with ceil_mode)
// of (in + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1, where in ceil_mode the last
// window must start inside the input or the left padding. Requires positive sizes, kernel,
// stride and dilation, 0 <= pad <= kernel / 2 and an output of at least 1 x 1.
// PyTorch's pooling_output_shape for one spatial dim (dilation counted from 1): in ceil mode the
// last window must start inside the input or the left padding. Shared with shape inference.
int64_t pool_output_size(int64_t in, int64_t kernel, int64_t pad, int64_t stride, int64_t dilation,
                         bool ceil_mode);

struct Pool2dParams {
  int64_t batch = 0, channels = 0, in_h = 0, in_w = 0, kernel_h = 0, kernel_w = 0, stride_h = 0,
          stride_w = 0, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1;
  bool ceil_mode = false;
  // Average pooling only: whether the padding counts in the divisor (PyTorch's default).
  bool count_include_pad = true;

  int64_t out_h() const;
  int64_t out_w() const;
  void validate() const;
  // Sets the window the way torch.nn.functional takes it: a stride of 0 means "the kernel size"
  // (PyTorch's stride=None).
  void set_window(int64_t kernel_h, int64_t kernel_w, int64_t stride_h, int64_t stride_w,
                  int64_t pad_h, int64_t pad_w, int64_t dilation_h = 1, int64_t dilation_w = 1);
};

// AdaptiveAvgPool2d / AdaptiveMaxPool2d geometry: output cell i covers input rows
// [floor(i * in / out), ceil((i + 1) * in / out)), and likewise for columns.
struct AdaptivePool2dParams {
  int64_t batch = 0, channels = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  void validate() const;
};

// The plain window (kernel and stride; no padding, dilation 1) whose pool covers exactly the cells
// of an adaptive pool from in_h x in_w to out_h x out_w, when there is one: along each axis every
// adaptive window has one size and consecutive windows start one fixed stride apart. That holds
// when the output divides the input (kernel = stride = in / out) and for overlapping windows such
// as 7 -> 3 (kernel 3, stride 2); not for 7 -> 4 (windows of 2 and 3 rows). Sizes must be
// positive. Only the window fields of the result are set (Pool2dParams::set_window).
//
//   auto window = pare::kernels::adaptive_pool_window(7, 7, 3, 3);  // kernel 3x3, stride 2x2
std::optional<Pool2dParams> adaptive_pool_window(int64_t in_h, int64_t in_w, int64_t out_h,
                                                 int64_t out_w);

// Both namespaces declare the same kernels. src/diff_src are [batch, channels, in_h, in_w];
// dst/diff_dst/indices are [batch, channels, out_h, out_w]. Backward kernels overwrite all of
// diff_src. Average pooling requires dilation 1.

// Naive loops: the test oracle.
namespace ref {
void max_pool2d_forward(const Pool2dParams& params, const float* src, float* dst,
                        int64_t* indices /* nullable */);
void max_pool2d_backward(const Pool2dParams& params, const float* diff_dst, const int64_t* indices,
                         float* diff_src);
void avg_pool2d_forward(const Pool2dParams& params, const float* src, float* dst);
void avg_pool2d_backward(const Pool2dParams& params, const float* diff_dst, float* diff_src);
void adaptive_avg_pool2d_forward(const AdaptivePool2dParams& params, const float* src, float* dst);
void adaptive_avg_pool2d_backward(const AdaptivePool2dParams& params, const float* diff_dst,
                                  float* diff_src);
void adaptive_max_pool2d_forward(const AdaptivePool2dParams& params, const float* src, float* dst,
                                 int64_t* indices /* nullable */);
void adaptive_max_pool2d_backward(const AdaptivePool2dParams& params, const float* diff_dst,
                                  const int64_t* indices, float* diff_src);
}  // namespace ref

// oneDNN where it reproduces PyTorch's numbers, own OpenMP loops elsewhere (indices, divisors
// oneDNN computes differently, backward).
namespace cpu {
void max_pool2d_forward(const Pool2dParams& params, const float* src, float* dst,
                        int64_t* indices /* nullable */);
void max_pool2d_backward(const Pool2dParams& params, const float* diff_dst, const int64_t* indices,
                         float* diff_src);
void avg_pool2d_forward(const Pool2dParams& params, const float* src, float* dst);
void avg_pool2d_backward(const Pool2dParams& params, const float* diff_dst, float* diff_src);
void adaptive_avg_pool2d_forward(const AdaptivePool2dParams& params, const float* src, float* dst);
void adaptive_avg_pool2d_backward(const AdaptivePool2dParams& params, const float* diff_dst,
                                  float* diff_src);
void adaptive_max_pool2d_forward(const AdaptivePool2dParams& params, const float* src, float* dst,
                                 int64_t* indices /* nullable */);
void adaptive_max_pool2d_backward(const AdaptivePool2dParams& params, const float* diff_dst,
                                  const int64_t* indices, float* diff_src);
}  // namespace cpu

}  // namespace pare::kernels
