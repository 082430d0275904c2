// The functional neural-network ops (torch.nn.functional's names and arguments), all
// differentiable and all reported to the tracer as call_function nodes.
//
//   auto h = pare::max_pool2d(pare::relu(pare::conv2d(x, w, b, 1, 1)), 2);
//   auto y = pare::linear(pare::flatten(h, 1), fc_w, fc_b);
//   auto p = pare::log_softmax(y, 1);
//   auto a = pare::leaky_relu(y, 0.2);
//
// Kernels: oneDNN (kernels/cpu) by default; set_reference_kernels(true) routes every op to the
// naive loops of kernels/ref, which the tests use as the oracle.
#pragma once

#include <initializer_list>
#include <string>
#include <tuple>
#include <vector>

#include "pare/kernels/activation.h"
#include "pare/observer.h"
#include "pare/tensor.h"

namespace pare {

// A pair of ints given as one value (3 -> {3, 3}) or two ({3, 1}), like libtorch's
// ExpandingArray<2>.
struct IntPair {
  int64_t first = 0;
  int64_t second = 0;
  IntPair(int64_t value) : first(value), second(value) {}  // NOLINT: implicit by design
  IntPair(int64_t a, int64_t b) : first(a), second(b) {}
  IntPair(std::initializer_list<int64_t> values);
  IntPair(const std::vector<int64_t>& values);  // NOLINT: implicit by design
  std::vector<int64_t> vec() const { return {first, second}; }
  bool operator==(const IntPair&) const = default;
};

// Routes every op to kernels/ref (true) or kernels/cpu (false, the default), process-wide.
void set_reference_kernels(bool use_reference);
bool reference_kernels_enabled();

// An elementwise activation of the kernels (pare/kernels/activation.h), differentiable, and
// reported to the tracer as the call_function kernels::activation_name(params.kind) ("relu",
// "leaky_relu", ...) with `arguments` as its keyword arguments: torch.nn.functional's names for
// the numbers in `params`, which that op's definition (ir/ops/activations.cpp) reads back when the
// tracer binds the node. The activations below that are one fixed function are each one call of
// it; a new activation with a kernel needs no code of its own here beyond such a line.
//
//   using pare::kernels::Activation;
//   Tensor y = pare::activation(x, pare::kernels::activation_params(Activation::elu, 0.5),
//                               {{"alpha", 0.5}});  // pare::elu(x, 0.5)
//   Tensor z = pare::activation(x, pare::kernels::default_activation_params(Activation::silu));
Tensor activation(const Tensor& x, const kernels::ActivationParams& params,
                  const Attrs& arguments = {});

// The activations (the 21 of docs/pruning.md), with torch.nn.functional's names and arguments.
inline Tensor relu(const Tensor& x) {
  return activation(x, kernels::default_activation_params(kernels::Activation::relu));
}
// A random slope per element from [lower, upper) when training,, the slope (lower + upper) / 2
// otherwise.
Tensor rrelu(const Tensor& x, double lower = 1.0 / 8.0, double upper = 1.0 / 3.0,
             bool training = false);
inline Tensor hardtanh(const Tensor& x, double min_val = -1.0, double max_val = 1.0) {
  return activation(x, kernels::activation_params(kernels::Activation::hardtanh, min_val, max_val),
                    {{"min_val", min_val}, {"max_val", max_val}});
}
inline Tensor relu6(const Tensor& x) {
  return activation(x, kernels::default_activation_params(kernels::Activation::relu6));
}
inline Tensor sigmoid(const Tensor& x) {
  return activation(x, kernels::default_activation_params(kernels::Activation::sigmoid));
}
inline Tensor hardsigmoid(const Tensor& x) {
  return activation(x, kernels::default_activation_params(kernels::Activation::hardsigmoid));
}
inline Tensor tanh(const Tensor& x) {
  return activation(x, kernels::default_activation_params(kernels::Activation::tanh));
}
inline Tensor silu(const Tensor& x) {
  return activation(x, kernels::default_activation_params(kernels::Activation::silu));
}
inline Tensor mish(const Tensor& x) {
  return activation(x, kernels::default_activation_params(kernels::Activation::mish));
}
inline Tensor hardswish(const Tensor& x) {
  return activation(x, kernels::default_activation_params(kernels::Activation::hardswish));
}
inline Tensor elu(const Tensor& x, double alpha = 1.0) {
  return activation(x, kernels::activation_params(kernels::Activation::elu, alpha),
                    {{"alpha", alpha}});
}
inline Tensor celu(const Tensor& x, double alpha = 1.0) {
  return activation(x, kernels::activation_params(kernels::Activation::celu, alpha),
                    {{"alpha", alpha}});
}
inline Tensor selu(const Tensor& x) {
  return activation(x, kernels::default_activation_params(kernels::Activation::selu));
}
inline Tensor hardshrink(const Tensor& x, double lambd = 0.5) {
  return activation(x, kernels::activation_params(kernels::Activation::hardshrink, lambd),
                    {{"lambd", lambd}});
}
inline Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01) {
  return activation(x, kernels::activation_params(kernels::Activation::leaky_relu, negative_slope),
                    {{"negative_slope", negative_slope}});
}
inline Tensor logsigmoid(const Tensor& x) {
  return activation(x, kernels::default_activation_params(kernels::Activation::logsigmoid));
}
inline Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0) {
  return activation(x, kernels::activation_params(kernels::Activation::softplus, beta, threshold),
                    {{"beta", beta}, {"threshold", threshold}});
}
// weight has 1 or C (= x.size(1)) entries.
Tensor prelu(const Tensor& x, const Tensor& weight);
inline Tensor softsign(const Tensor& x) {
  return activation(x, kernels::default_activation_params(kernels::Activation::softsign));
}
inline Tensor tanhshrink(const Tensor& x) {
  return activation(x, kernels::default_activation_params(kernels::Activation::tanhshrink));
}
// x - lambd where x > lambd, x + lambd where x < -lambd, else 0 (gradient 0 at +-lambd, as
// PyTorch's); recorded as the call_function softshrink.
Tensor softshrink(const Tensor& x, double lambd = 0.5);
// approximate: "none" (erf) or "tanh".
Tensor gelu(const Tensor& x, const std::string& approximate = "none");

// y = x W^T + b over the last dim of x (any leading dims).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());
// x: [N, C, H, W] or unbatched [C, H, W].
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              IntPair stride = 1, IntPair padding = 0, IntPair dilation = 1, int64_t groups = 1);

// Pools; stride defaults to kernel_size (pass 0 or omit). x: [N, C, H, W] or [C, H, W].
Tensor max_pool2d(const Tensor& x, IntPair kernel_size, IntPair stride = 0, IntPair padding = 0,
                  IntPair dilation = 1, bool ceil_mode = false);
std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, IntPair kernel_size,
                                                   IntPair stride = 0, IntPair padding = 0,
                                                   IntPair dilation = 1, bool ceil_mode = false);
Tensor avg_pool2d(const Tensor& x, IntPair kernel_size, IntPair stride = 0, IntPair padding = 0,
                  bool ceil_mode = false, bool count_include_pad = true);
Tensor adaptive_avg_pool2d(const Tensor& x, IntPair output_size);
Tensor adaptive_max_pool2d(const Tensor& x, IntPair output_size);

Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor reshape(const Tensor& x, const Shape& shape);
// Inverted dropout: zeroes with probability p and scales the rest by 1/(1-p) when training.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true);
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

// Normalises over the trailing `normalized_shape` dims.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);
// x: [N, C, ...]. In training mode uses batch statistics and updates the running ones in place
// (unbiased variance, PyTorch's momentum convention); otherwise uses the running statistics.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum = 0.1,
                  double eps = 1e-5);

// A multi-layer unidirectional LSTM (at::lstm's contract). `weights` holds, per layer,
// w_ih [4H, I], w_hh [4H, H] and, when has_biases, b_ih [4H], b_hh [4H]. x: [T, N, I]
// ([N, T, I] when batch_first) or unbatched [T, I]; h0, c0: [L, N, H] (undefined = zeros).
// Returns (output, h_n, c_n).
std::tuple<Tensor, Tensor, Tensor> lstm(const Tensor& x, const Tensor& h0, const Tensor& c0,
                                        const std::vector<Tensor>& weights, bool has_biases,
                                        int64_t num_layers, bool batch_first);

}  // namespace pare
