// Activations a prepared convolution or inner product (prepared_conv2d.h, prepared_linear.h)
// applies in the same pass as the product and the bias: oneDNN eltwise post-ops, chained where one
// algorithm does not match PyTorch's formula on its own (selu = scale * elu, hardsigmoid =
// clip(x / 6 + 1/2, 0, 1)). The others (celu, softplus, hardshrink, softsign, tanhshrink) run as
// their own pass after the product.
//
//   auto gelu = pare::kernels::default_activation_params(pare::kernels::Activation::gelu);
//   if (pare::kernels::cpu::can_fuse_activation(gelu)) options.activation = gelu;
#pragma once

#include "pare/kernels/activation.h"

namespace pare::kernels::cpu {

// True when the post-op chain computes PyTorch's forward values for `params` (to float rounding).
bool can_fuse_activation(const ActivationParams& params);

// False when the chain turns NaN into a number, as oneDNN's relu (slope 0) and clip post-ops do:
// they compute max(x, lower). Such a fusion is exact only where the product cannot be NaN, so the
// inference compiler fuses it only for finite weights and runs non-finite inputs on the
// interpreter.
bool fused_activation_keeps_nan(const ActivationParams& params);

}  // namespace pare::kernels::cpu
