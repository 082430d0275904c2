#include "pare/kernels/fused_activation.h"

#include <vector>

#include "dnnl_context.h"
#include "fused_activation_impl.h"

namespace pare::kernels::cpu {
namespace {

using dnnl::algorithm;

// PyTorch's SELU constants.
constexpr float kSeluAlpha = 1.6732632423543772848170429916717f;
constexpr float kSeluScale = 1.0507009873554804934193349852946f;

struct EltwiseStep {
  algorithm kind;
  float alpha = 0.0f;
  float beta = 0.0f;
};

// The chain for `params`; empty when oneDNN has none.
std::vector<EltwiseStep> chain_for(const ActivationParams& p) {
  switch (p.kind) {
    case Activation::relu:
      return {{algorithm::eltwise_relu}};
    case Activation::leaky_relu:
      return {{algorithm::eltwise_relu, p.alpha}};
    case Activation::rrelu:  // evaluation mode: the mean slope
      return {{algorithm::eltwise_relu, 0.5f * (p.alpha + p.beta)}};
    case Activation::hardtanh:
      return {{algorithm::eltwise_clip_v2, p.alpha, p.beta}};
    case Activation::relu6:
      return {{algorithm::eltwise_clip_v2, 0.0f, 6.0f}};
    case Activation::sigmoid:
      return {{algorithm::eltwise_logistic}};
    case Activation::hardsigmoid:
      return {{algorithm::eltwise_linear, 1.0f / 6.0f, 0.5f}, {algorithm::eltwise_clip_v2, 0, 1}};
    case Activation::tanh:
      return {{algorithm::eltwise_tanh}};
    case Activation::silu:
      return {{algorithm::eltwise_swish, 1.0f}};
    case Activation::mish:
      return {{algorithm::eltwise_mish}};
    case Activation::hardswish:
      return {{algorithm::eltwise_hardswish}};
    case Activation::elu:
      return {{algorithm::eltwise_elu, p.alpha}};
    case Activation::selu:
      return {{algorithm::eltwise_elu, kSeluAlpha}, {algorithm::eltwise_linear, kSeluScale, 0.0f}};
    case Activation::logsigmoid:
      return {{algorithm::eltwise_logsigmoid}};
    case Activation::gelu:
      return {{algorithm::eltwise_gelu_erf}};
    case Activation::gelu_tanh:
      return {{algorithm::eltwise_gelu_tanh}};
    // The rest run unfused, which is always exact: hardshrink, softsign and tanhshrink have no
    // oneDNN algorithm; chains of three post-ops (celu as alpha * elu(x / alpha), softplus as
    // soft_relu(beta x) / beta) gave wrong numbers on oneDNN 2.6 (AVX-512 convolution); and a new
    // activation stays unfused until its chain is added here and checked against the kernels.
    default:
      return {};
  }
}

}  // namespace

bool can_fuse_activation(const ActivationParams& params) { return !chain_for(params).empty(); }

bool fused_activation_keeps_nan(const ActivationParams& params) {
  for (const EltwiseStep& step : chain_for(params)) {
    const bool max_with_zero = step.kind == algorithm::eltwise_relu && step.alpha == 0.0f;
    if (max_with_zero || step.kind == algorithm::eltwise_clip ||
        step.kind == algorithm::eltwise_clip_v2)
      return false;
  }
  return true;
}

dnnl::primitive_attr fused_attr(const std::optional<ActivationParams>& activation,
                                bool accumulate) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::post_ops post_ops;
  if (accumulate) post_ops.append_sum(1.0f);
  if (!activation) {
    if (accumulate) attr.set_post_ops(post_ops);
    return attr;
  }
  activation->validate();
  const std::vector<EltwiseStep> chain = chain_for(*activation);
  PARE_CHECK(!chain.empty(), "fused activation: oneDNN has no post-op for ",
             activation_name(activation->kind));
  for (const EltwiseStep& step : chain)
    post_ops.append_eltwise(1.0f, step.kind, step.alpha, step.beta);
  attr.set_post_ops(post_ops);
  return attr;
}

}  // namespace pare::kernels::cpu
