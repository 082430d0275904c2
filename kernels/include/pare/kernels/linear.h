// Fully connected layer (PyTorch's nn.Linear) on raw float buffers: dst = src * weight^T + bias.
//
//   pare::kernels::LinearParams params{/*rows=*/8, /*in_features=*/128, /*out_features=*/10};
//   pare::kernels::cpu::linear_forward(params, x, weight, bias, y);           // y: [8, 10]
//   pare::kernels::cpu::linear_backward_data(params, dy, weight, dx);         // dx: [8, 128]
//   pare::kernels::cpu::linear_backward_weights(params, x, dy, dweight, dbias);
#pragma once

#include <cstdint>

namespace pare::kernels {

// Sizes of one linear layer applied to `rows` independent samples.
// Buffers are dense row-major: src and diff_src [rows, in_features], weight and diff_weight
// [out_features, in_features], bias and diff_bias [out_features], dst and diff_dst
// [rows, out_features].
struct LinearParams {
  int64_t rows = 0, in_features = 0, out_features = 0;

  // Throws pare::Error naming linear and the sizes unless all three are positive.
  void validate() const;
};

namespace ref {
void linear_forward(const LinearParams& params, const float* src, const float* weight,
                    const float* bias, float* dst);
void linear_backward_data(const LinearParams& params, const float* diff_dst, const float* weight,
                          float* diff_src);
void linear_backward_weights(const LinearParams& params, const float* src, const float* diff_dst,
                             float* diff_weight, float* diff_bias);
}  // namespace ref

// oneDNN inner product; primitives are created once per distinct params (and bias presence).
namespace cpu {
void linear_forward(const LinearParams& params, const float* src, const float* weight,
                    const float* bias, float* dst);
void linear_backward_data(const LinearParams& params, const float* diff_dst, const float* weight,
                          float* diff_src);
void linear_backward_weights(const LinearParams& params, const float* src, const float* diff_dst,
                             float* diff_weight, float* diff_bias);
}  // namespace cpu

}  // namespace pare::kernels
