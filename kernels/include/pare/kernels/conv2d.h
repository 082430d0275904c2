// 2-d convolution (PyTorch's nn.Conv2d) on raw float buffers in NCHW layout.
//
//   pare::kernels::Conv2dParams params;
//   params.batch = 1;
//   params.in_channels = 16;
//   params.in_h = params.in_w = 32;
//   params.out_channels = 32;
//   params.kernel_h = params.kernel_w = 3;
//   params.pad_h = params.pad_w = 1;
//   std::vector<float> y(params.batch * params.out_channels * params.out_h() * params.out_w());
//   pare::kernels::cpu::conv2d_forward(params, x, weight, bias, y.data());
//   pare::kernels::cpu::conv2d_backward_data(params, dy, weight, dx);
//   pare::kernels::cpu::conv2d_backward_weights(params, x, dy, dweight, dbias);
#pragma once

#include <cstdint>

namespace pare::kernels {

// Sizes and attributes of one convolution, with PyTorch's conventions: dilation 1 is dense,
// padding is symmetric, the output size is floor((in + 2 * pad - dilation * (kernel - 1) - 1) /
// stride) + 1.
// Buffers are dense: src and diff_src [batch, in_channels, in_h, in_w]; weight and diff_weight
// [out_channels, in_channels / groups, kernel_h, kernel_w]; bias and diff_bias [out_channels];
// dst and diff_dst [batch, out_channels, out_h(), out_w()].
struct Conv2dParams {
  int64_t batch = 0, in_channels = 0, in_h = 0, in_w = 0, out_channels = 0, kernel_h = 0,
          kernel_w = 0, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1,
          dilation_w = 1, groups = 1;

  int64_t out_h() const;
  int64_t out_w() const;

  // Throws pare::Error naming conv2d and the sizes unless the sizes, strides and dilations are
  // positive, the paddings are not negative, both channel counts divide by groups and the output
  // is at least 1 x 1.
  void validate() const;
};

namespace ref {
void conv2d_forward(const Conv2dParams& params, const float* src, const float* weight,
                    const float* bias, float* dst);
void conv2d_backward_data(const Conv2dParams& params, const float* diff_dst, const float* weight,
                          float* diff_src);
void conv2d_backward_weights(const Conv2dParams& params, const float* src, const float* diff_dst,
                             float* diff_weight, float* diff_bias);
}  // namespace ref

// oneDNN convolutions in the layouts oneDNN prefers (blocked on AVX2 and up), converted from and
// to NCHW inside the call. Everything but the caller's buffers is created once per distinct
// params (and bias presence) and reused.
namespace cpu {
void conv2d_forward(const Conv2dParams& params, const float* src, const float* weight,
                    const float* bias, float* dst);
void conv2d_backward_data(const Conv2dParams& params, const float* diff_dst, const float* weight,
                          float* diff_src);
void conv2d_backward_weights(const Conv2dParams& params, const float* src, const float* diff_dst,
                             float* diff_weight, float* diff_bias);
}  // namespace cpu

}  // namespace pare::kernels
