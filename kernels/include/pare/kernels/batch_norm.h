// Batch normalisation of a float buffer viewed as [batch, channels, spatial] (BatchNorm2d on
// NCHW: spatial = H * W; BatchNorm1d on [N, C]: spatial = 1), with statistics per channel.
// Updating running statistics is the caller's job: training returns the batch mean and the
// biased batch variance, and inference takes the running ones.
//
//   pare::kernels::BatchNormParams params;
//   params.batch = n; params.channels = c; params.spatial = h * w;
//   pare::kernels::cpu::batch_norm_forward_training(params, x.data(), weight.data(),
//                                                   bias.data(), y.data(), mean.data(),
//                                                   var.data());
//   pare::kernels::cpu::batch_norm_backward(params, x.data(), dy.data(), weight.data(),
//                                           mean.data(), var.data(), dx.data(),
//                                           dweight.data(), dbias.data());
#pragma once

#include <cstdint>

namespace pare::kernels {

// Requires positive sizes and a finite eps >= 0; training also needs more than one value per
// channel (batch * spatial > 1), as PyTorch does.
struct BatchNormParams {
  int64_t batch = 0, channels = 0, spatial = 1;
  float eps = 1e-5f;
  void validate() const;
};

// Both namespaces declare the same kernels. src, dst, diff_dst and diff_src hold
// batch * channels * spatial floats; every per-channel buffer holds channels floats.
// A missing gamma is 1 and a missing beta 0.
// Training:  dst = (src - mean) / sqrt(var + eps) * gamma + beta with the batch's mean and biased
//            variance, written to save_mean and save_var unless those are null.
// Inference: the same with running_mean and running_var.
// Backward (of training): takes the saved mean and biased variance; writes diff_src, plus
//            diff_gamma and diff_beta when they are not null.

// Naive loops in double: the test oracle.
namespace ref {
void batch_norm_forward_training(const BatchNormParams& params, const float* src,
                                 const float* gamma /* nullable */,
                                 const float* beta /* nullable */, float* dst,
                                 float* save_mean /* nullable */, float* save_var /* nullable */);
void batch_norm_forward_inference(const BatchNormParams& params, const float* src,
                                  const float* gamma /* nullable */,
                                  const float* beta /* nullable */, const float* running_mean,
                                  const float* running_var, float* dst);
void batch_norm_backward(const BatchNormParams& params, const float* src, const float* diff_dst,
                         const float* gamma /* nullable */, const float* save_mean,
                         const float* save_var, float* diff_src, float* diff_gamma /* nullable */,
                         float* diff_beta /* nullable */);
}  // namespace ref

// oneDNN batch_normalization primitives.
namespace cpu {
void batch_norm_forward_training(const BatchNormParams& params, const float* src,
                                 const float* gamma /* nullable */,
                                 const float* beta /* nullable */, float* dst,
                                 float* save_mean /* nullable */, float* save_var /* nullable */);
void batch_norm_forward_inference(const BatchNormParams& params, const float* src,
                                  const float* gamma /* nullable */,
                                  const float* beta /* nullable */, const float* running_mean,
                                  const float* running_var, float* dst);
void batch_norm_backward(const BatchNormParams& params, const float* src, const float* diff_dst,
                         const float* gamma /* nullable */, const float* save_mean,
                         const float* save_var, float* diff_src, float* diff_gamma /* nullable */,
                         float* diff_beta /* nullable */);
}  // namespace cpu

}  // namespace pare::kernels
