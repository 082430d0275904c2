// Weight initialisation (torch.nn.init): fills a tensor in place on the default generator
// (pare::manual_seed makes it repeatable) without recording autograd history, and returns it.
//
//   auto w = pare::empty({16, 3, 3, 3}).set_requires_grad(true);
//   pare::nn::init::kaiming_uniform_(w, /*a=*/0.0, pare::nn::init::FanMode::fan_out, "relu");
//   pare::nn::init::xavier_normal_(w, pare::nn::init::calculate_gain("tanh"));
//   pare::nn::init::zeros_(bias);
//
// Fans follow PyTorch: for a weight [out, in, k...] fan_in = in * prod(k) and
// fan_out = out * prod(k); tensors with fewer than 2 dims have no fans (an error).
// Under a SkipInitGuard (skip_init.h) the fills leave the tensor as it is.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "pare/tensor.h"

namespace pare::nn::init {

enum class FanMode { fan_in, fan_out };

// The recommended gain for `nonlinearity` ("linear", "conv2d", "sigmoid", "tanh", "relu",
// "leaky_relu", "selu", ...); `param` is leaky_relu's negative slope (default 0.01).
double calculate_gain(const std::string& nonlinearity, std::optional<double> param = std::nullopt);
// (fan_in, fan_out) of a weight with at least 2 dims.
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor);

Tensor uniform_(Tensor tensor, double low = 0.0, double high = 1.0);
Tensor normal_(Tensor tensor, double mean = 0.0, double std = 1.0);
Tensor constant_(Tensor tensor, double value);
Tensor zeros_(Tensor tensor);
Tensor ones_(Tensor tensor);

// He initialisation: bound = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).
Tensor kaiming_uniform_(Tensor tensor, double a = 0.0, FanMode mode = FanMode::fan_in,
                        const std::string& nonlinearity = "leaky_relu");
// std = gain / sqrt(fan).
Tensor kaiming_normal_(Tensor tensor, double a = 0.0, FanMode mode = FanMode::fan_in,
                       const std::string& nonlinearity = "leaky_relu");
// Glorot initialisation: bound = gain * sqrt(6 / (fan_in + fan_out)).
Tensor xavier_uniform_(Tensor tensor, double gain = 1.0);
// std = gain * sqrt(2 / (fan_in + fan_out)).
Tensor xavier_normal_(Tensor tensor, double gain = 1.0);

}  // namespace pare::nn::init
