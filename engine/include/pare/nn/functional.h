// pare::nn::functional: libtorch's torch::nn::functional spellings of pare's ops, each taking its
// libtorch options struct. Every function is one call of pare's own (functional.h, loss.h), so
// values, gradients and what the tracer records are the same as there.
//
//   namespace F = pare::nn::functional;
//   auto h = F::relu(F::conv2d(x, w, F::Conv2dFuncOptions().bias(b).padding(1)));
//   auto p = F::max_pool2d(h, F::MaxPool2dFuncOptions(2));
//   auto y = F::leaky_relu(p, F::LeakyReLUFuncOptions().negative_slope(0.2));
//   auto loss = F::cross_entropy(logits, labels,
//   F::CrossEntropyFuncOptions().label_smoothing(0.1));
//
// `inplace(true)` (ReLU, ELU, ...) writes the result into the input and returns it, as libtorch
// does; it is refused for an input that requires grad (pare records no in-place history).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pare/arg.h"
#include "pare/functional.h"
#include "pare/loss.h"
#include "pare/nn/loss_options.h"

namespace pare::nn::functional {

namespace detail {
// The in-place form of an activation: `result` copied into `input`, which is returned.
Tensor apply_inplace(const Tensor& input, const Tensor& result, bool inplace, const char* op);
}  // namespace detail

// Activations.
struct ReLUFuncOptions {
  PARE_ARG(bool, inplace) = false;
};
inline Tensor relu(const Tensor& input, const ReLUFuncOptions& options = {}) {
  return detail::apply_inplace(input, pare::relu(input), options.inplace(), "relu");
}
struct ReLU6FuncOptions {
  PARE_ARG(bool, inplace) = false;
};
inline Tensor relu6(const Tensor& input, const ReLU6FuncOptions& options = {}) {
  return detail::apply_inplace(input, pare::relu6(input), options.inplace(), "relu6");
}
struct LeakyReLUFuncOptions {
  PARE_ARG(double, negative_slope) = 1e-2;
  PARE_ARG(bool, inplace) = false;
};
inline Tensor leaky_relu(const Tensor& input, const LeakyReLUFuncOptions& options = {}) {
  return detail::apply_inplace(input, pare::leaky_relu(input, options.negative_slope()),
                               options.inplace(), "leaky_relu");
}
struct ELUFuncOptions {
  PARE_ARG(double, alpha) = 1.0;
  PARE_ARG(bool, inplace) = false;
};
inline Tensor elu(const Tensor& input, const ELUFuncOptions& options = {}) {
  return detail::apply_inplace(input, pare::elu(input, options.alpha()), options.inplace(), "elu");
}
struct CELUFuncOptions {
  PARE_ARG(double, alpha) = 1.0;
  PARE_ARG(bool, inplace) = false;
};
inline Tensor celu(const Tensor& input, const CELUFuncOptions& options = {}) {
  return detail::apply_inplace(input, pare::celu(input, options.alpha()), options.inplace(),
                               "celu");
}
struct SELUFuncOptions {
  PARE_ARG(bool, inplace) = false;
};
inline Tensor selu(const Tensor& input, const SELUFuncOptions& options = {}) {
  return detail::apply_inplace(input, pare::selu(input), options.inplace(), "selu");
}
struct HardtanhFuncOptions {
  PARE_ARG(double, min_val) = -1.0;
  PARE_ARG(double, max_val) = 1.0;
  PARE_ARG(bool, inplace) = false;
};
inline Tensor hardtanh(const Tensor& input, const HardtanhFuncOptions& options = {}) {
  return detail::apply_inplace(input, pare::hardtanh(input, options.min_val(), options.max_val()),
                               options.inplace(), "hardtanh");
}
struct RReLUFuncOptions {
  PARE_ARG(double, lower) = 1.0 / 8.0;
  PARE_ARG(double, upper) = 1.0 / 3.0;
  PARE_ARG(bool, training) = false;
  PARE_ARG(bool, inplace) = false;
};
inline Tensor rrelu(const Tensor& input, const RReLUFuncOptions& options = {}) {
  return detail::apply_inplace(
      input, pare::rrelu(input, options.lower(), options.upper(), options.training()),
      options.inplace(), "rrelu");
}
struct HardshrinkFuncOptions {
  PARE_ARG(double, lambda) = 0.5;
};
inline Tensor hardshrink(const Tensor& input, const HardshrinkFuncOptions& options = {}) {
  return pare::hardshrink(input, options.lambda());
}
struct SoftshrinkFuncOptions {
  PARE_ARG(double, lambda) = 0.5;
};
inline Tensor softshrink(const Tensor& input, const SoftshrinkFuncOptions& options = {}) {
  return pare::softshrink(input, options.lambda());
}
struct SoftplusFuncOptions {
  PARE_ARG(double, beta) = 1.0;
  PARE_ARG(double, threshold) = 20.0;
};
inline Tensor softplus(const Tensor& input, const SoftplusFuncOptions& options = {}) {
  return pare::softplus(input, options.beta(), options.threshold());
}
struct GELUFuncOptions {
  // "none" (erf) or "tanh".
  PARE_ARG(std::string, approximate) = "none";
};
inline Tensor gelu(const Tensor& input, const GELUFuncOptions& options = {}) {
  return pare::gelu(input, options.approximate());
}
inline Tensor prelu(const Tensor& input, const Tensor& weight) {
  return pare::prelu(input, weight);
}
// The activations without arguments.
inline Tensor sigmoid(const Tensor& input) { return pare::sigmoid(input); }
inline Tensor tanh(const Tensor& input) { return pare::tanh(input); }
inline Tensor silu(const Tensor& input) { return pare::silu(input); }
inline Tensor mish(const Tensor& input) { return pare::mish(input); }
inline Tensor hardswish(const Tensor& input) { return pare::hardswish(input); }
inline Tensor hardsigmoid(const Tensor& input) { return pare::hardsigmoid(input); }
inline Tensor logsigmoid(const Tensor& input) { return pare::logsigmoid(input); }
inline Tensor softsign(const Tensor& input) { return pare::softsign(input); }
inline Tensor tanhshrink(const Tensor& input) { return pare::tanhshrink(input); }

struct SoftmaxFuncOptions {
  SoftmaxFuncOptions(int64_t dim) : dim_(dim) {}  // NOLINT: implicit, as in libtorch
  PARE_ARG(int64_t, dim);
};
inline Tensor softmax(const Tensor& input, const SoftmaxFuncOptions& options) {
  return pare::softmax(input, options.dim());
}
struct LogSoftmaxFuncOptions {
  LogSoftmaxFuncOptions(int64_t dim) : dim_(dim) {}  // NOLINT: implicit, as in libtorch
  PARE_ARG(int64_t, dim);
};
inline Tensor log_softmax(const Tensor& input, const LogSoftmaxFuncOptions& options) {
  return pare::log_softmax(input, options.dim());
}

// Layers.
inline Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor()) {
  return pare::linear(input, weight, bias);
}
struct Conv2dFuncOptions {
  PARE_ARG(Tensor, bias);
  PARE_ARG(IntPair, stride) = 1;
  PARE_ARG(IntPair, padding) = 0;
  PARE_ARG(IntPair, dilation) = 1;
  PARE_ARG(int64_t, groups) = 1;
};
inline Tensor conv2d(const Tensor& input, const Tensor& weight,
                     const Conv2dFuncOptions& options = {}) {
  return pare::conv2d(input, weight, options.bias(), options.stride(), options.padding(),
                      options.dilation(), options.groups());
}
// stride defaults to kernel_size, as in libtorch.
struct MaxPool2dFuncOptions {
  MaxPool2dFuncOptions(IntPair kernel_size)  // NOLINT: implicit, as in libtorch
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  PARE_ARG(IntPair, kernel_size);
  PARE_ARG(IntPair, stride);
  PARE_ARG(IntPair, padding) = 0;
  PARE_ARG(IntPair, dilation) = 1;
  PARE_ARG(bool, ceil_mode) = false;
};
inline Tensor max_pool2d(const Tensor& input, const MaxPool2dFuncOptions& options) {
  return pare::max_pool2d(input, options.kernel_size(), options.stride(), options.padding(),
                          options.dilation(), options.ceil_mode());
}
struct AvgPool2dFuncOptions {
  AvgPool2dFuncOptions(IntPair kernel_size)  // NOLINT: implicit, as in libtorch
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  PARE_ARG(IntPair, kernel_size);
  PARE_ARG(IntPair, stride);
  PARE_ARG(IntPair, padding) = 0;
  PARE_ARG(bool, ceil_mode) = false;
  PARE_ARG(bool, count_include_pad) = true;
};
inline Tensor avg_pool2d(const Tensor& input, const AvgPool2dFuncOptions& options) {
  return pare::avg_pool2d(input, options.kernel_size(), options.stride(), options.padding(),
                          options.ceil_mode(), options.count_include_pad());
}
struct AdaptiveAvgPool2dFuncOptions {
  AdaptiveAvgPool2dFuncOptions(IntPair output_size)  // NOLINT: implicit, as in libtorch
      : output_size_(output_size) {}
  PARE_ARG(IntPair, output_size);
};
inline Tensor adaptive_avg_pool2d(const Tensor& input,
                                  const AdaptiveAvgPool2dFuncOptions& options) {
  return pare::adaptive_avg_pool2d(input, options.output_size());
}
struct AdaptiveMaxPool2dFuncOptions {
  AdaptiveMaxPool2dFuncOptions(IntPair output_size)  // NOLINT: implicit, as in libtorch
      : output_size_(output_size) {}
  PARE_ARG(IntPair, output_size);
};
inline Tensor adaptive_max_pool2d(const Tensor& input,
                                  const AdaptiveMaxPool2dFuncOptions& options) {
  return pare::adaptive_max_pool2d(input, options.output_size());
}
struct DropoutFuncOptions {
  PARE_ARG(double, p) = 0.5;
  PARE_ARG(bool, training) = true;
};
inline Tensor dropout(const Tensor& input, const DropoutFuncOptions& options = {}) {
  return pare::dropout(input, options.p(), options.training());
}
struct LayerNormFuncOptions {
  LayerNormFuncOptions(std::vector<int64_t> normalized_shape)  // NOLINT: implicit, as in libtorch
      : normalized_shape_(std::move(normalized_shape)) {}
  PARE_ARG(std::vector<int64_t>, normalized_shape);
  PARE_ARG(Tensor, weight);
  PARE_ARG(Tensor, bias);
  PARE_ARG(double, eps) = 1e-5;
};
inline Tensor layer_norm(const Tensor& input, const LayerNormFuncOptions& options) {
  return pare::layer_norm(input, options.normalized_shape(), options.weight(), options.bias(),
                          options.eps());
}
struct BatchNormFuncOptions {
  PARE_ARG(Tensor, weight);
  PARE_ARG(Tensor, bias);
  PARE_ARG(bool, training) = false;
  PARE_ARG(double, momentum) = 0.1;
  PARE_ARG(double, eps) = 1e-5;
};
inline Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                         const BatchNormFuncOptions& options = {}) {
  return pare::batch_norm(input, running_mean, running_var, options.weight(), options.bias(),
                          options.training(), options.momentum(), options.eps());
}

// Losses: the FuncOptions are the loss modules' options, as in libtorch.
using CrossEntropyFuncOptions = CrossEntropyLossOptions;
using NLLLossFuncOptions = NLLLossOptions;
using MSELossFuncOptions = MSELossOptions;
using L1LossFuncOptions = L1LossOptions;
inline Tensor cross_entropy(const Tensor& input, const Tensor& target,
                            const CrossEntropyFuncOptions& options = {}) {
  return pare::cross_entropy(input, target, options.reduction(), options.label_smoothing(),
                             options.weight(), options.ignore_index());
}
inline Tensor nll_loss(const Tensor& input, const Tensor& target,
                       const NLLLossFuncOptions& options = {}) {
  return pare::nll_loss(input, target, options.reduction(), options.weight(),
                        options.ignore_index());
}
inline Tensor mse_loss(const Tensor& input, const Tensor& target,
                       const MSELossFuncOptions& options = {}) {
  return pare::mse_loss(input, target, options.reduction());
}
inline Tensor l1_loss(const Tensor& input, const Tensor& target,
                      const L1LossFuncOptions& options = {}) {
  return pare::l1_loss(input, target, options.reduction());
}

}  // namespace pare::nn::functional
