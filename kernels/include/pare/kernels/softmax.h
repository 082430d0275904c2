// Softmax and log-softmax over one axis of a float buffer viewed as [outer, axis, inner]
// (softmax over dim d of a contiguous tensor: outer = product of the sizes before d,
// axis = size(d), inner = product of the sizes after d).
//
//   pare::kernels::SoftmaxParams params;
//   params.outer = batch; params.axis = classes;  // inner = 1: softmax over the last dim
//   pare::kernels::cpu::log_softmax_forward(params, logits.data(), log_probs.data());
//   pare::kernels::cpu::log_softmax_backward(params, log_probs.data(), diff_log_probs.data(),
//                                            diff_logits.data());
#pragma once

#include <cstdint>

namespace pare::kernels {

// Requires outer, axis and inner to be positive.
struct SoftmaxParams {
  int64_t outer = 0, axis = 0, inner = 1;
  void validate() const;
};

// Both namespaces declare the same kernels. Every buffer holds outer * axis * inner floats.
// The backward kernels take the forward output (dst), as PyTorch's do:
//   softmax:     diff_src = dst * (diff_dst - sum_axis(diff_dst * dst))
//   log_softmax: diff_src = diff_dst - exp(dst) * sum_axis(diff_dst)

// Naive loops: the test oracle.
namespace ref {
void softmax_forward(const SoftmaxParams& params, const float* src, float* dst);
void softmax_backward(const SoftmaxParams& params, const float* dst, const float* diff_dst,
                      float* diff_src);
void log_softmax_forward(const SoftmaxParams& params, const float* src, float* dst);
void log_softmax_backward(const SoftmaxParams& params, const float* dst, const float* diff_dst,
                          float* diff_src);
}  // namespace ref

// oneDNN softmax / logsoftmax primitives.
namespace cpu {
void softmax_forward(const SoftmaxParams& params, const float* src, float* dst);
void softmax_backward(const SoftmaxParams& params, const float* dst, const float* diff_dst,
                      float* diff_src);
void log_softmax_forward(const SoftmaxParams& params, const float* src, float* dst);
void log_softmax_backward(const SoftmaxParams& params, const float* dst, const float* diff_dst,
                          float* diff_src);
}  // namespace cpu

}  // namespace pare::kernels
