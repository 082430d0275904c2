// Layer normalisation of each row of a [rows, cols] float buffer (PyTorch's LayerNorm with
// normalized_shape flattened into cols), with the saved statistics PyTorch's backward uses.
//
//   pare::kernels::LayerNormParams params;
//   params.rows = batch * tokens; params.cols = hidden;
//   pare::kernels::cpu::layer_norm_forward(params, x.data(), weight.data(), bias.data(),
//                                          y.data(), mean.data(), rstd.data());
//   pare::kernels::cpu::layer_norm_backward(params, x.data(), dy.data(), weight.data(),
//                                           mean.data(), rstd.data(), dx.data(),
//                                           dweight.data(), dbias.data());
#pragma once

#include <cstdint>

namespace pare::kernels {

// Requires rows and cols to be positive and eps >= 0.
struct LayerNormParams {
  int64_t rows = 0, cols = 0;
  float eps = 1e-5f;
  void validate() const;
};

// Both namespaces declare the same kernels. src, dst, diff_dst and diff_src hold rows * cols
// floats; gamma, beta, diff_gamma and diff_beta hold cols; mean and rstd hold rows.
// Forward: mean = mean(row), rstd = 1 / sqrt(biased variance(row) + eps),
//          dst = (src - mean) * rstd * gamma + beta (a missing gamma is 1, a missing beta 0).
// Backward takes the forward's mean and rstd and writes diff_src, plus diff_gamma and diff_beta
// when they are not null.

// Naive loops in double: the test oracle.
namespace ref {
void layer_norm_forward(const LayerNormParams& params, const float* src,
                        const float* gamma /* nullable */, const float* beta /* nullable */,
                        float* dst, float* mean /* nullable */, float* rstd /* nullable */);
void layer_norm_backward(const LayerNormParams& params, const float* src, const float* diff_dst,
                         const float* gamma /* nullable */, const float* mean, const float* rstd,
                         float* diff_src, float* diff_gamma /* nullable */,
                         float* diff_beta /* nullable */);
}  // namespace ref

// oneDNN layer_normalization primitives.
namespace cpu {
void layer_norm_forward(const LayerNormParams& params, const float* src,
                        const float* gamma /* nullable */, const float* beta /* nullable */,
                        float* dst, float* mean /* nullable */, float* rstd /* nullable */);
void layer_norm_backward(const LayerNormParams& params, const float* src, const float* diff_dst,
                         const float* gamma /* nullable */, const float* mean, const float* rstd,
                         float* diff_src, float* diff_gamma /* nullable */,
                         float* diff_beta /* nullable */);
}  // namespace cpu

}  // namespace pare::kernels
