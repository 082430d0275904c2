// The 21 activations of docs/pruning.md (PyTorch's torch.nn.functional set), elementwise on raw
// float buffers, with PyTorch's forward and backward formulas, including the gradient it takes at
// every kink (relu'(0) = 0, hardtanh' = 0 at both bounds, leaky_relu tests x > 0, ...).
//
//   using namespace pare::kernels;
//   ActivationParams params = default_activation_params(Activation::leaky_relu);  // slope 0.01
//   params.alpha = 0.2f;
//   cpu::activation_forward(params, x, y, count);
//   cpu::activation_backward(params, x, dy, dx, count);           // dx = dy * act'(x)
//   double folded = activation_value(params, bias);               // sigma(c) for the pruning fold
//
//   cpu::prelu_forward(x, weight, /*num_weights=*/channels, n, channels, h * w, y);
//   cpu::rrelu_forward_training(x, y, slopes, count, 1.0f / 8, 1.0f / 3, /*seed=*/42);
//   cpu::rrelu_backward_training(x, slopes, dy, dx, count);
#pragma once

#include <cmath>
#include <cstdint>

namespace pare::kernels {

// PReLU has its own functions below (it has a weight tensor), so it is not listed here.
enum class Activation {
  relu,
  rrelu,
  hardtanh,
  relu6,
  sigmoid,
  hardsigmoid,
  tanh,
  silu,
  mish,
  hardswish,
  elu,
  celu,
  selu,
  hardshrink,
  leaky_relu,
  logsigmoid,
  softplus,
  softsign,
  tanhshrink,
  gelu,
  gelu_tanh,
};

// Which activation and its scalar arguments. Meaning of alpha / beta per kind (PyTorch's names):
//   leaky_relu  alpha = negative_slope
//   elu, celu   alpha = alpha (celu requires alpha != 0)
//   hardtanh    alpha = min_val, beta = max_val (min_val <= max_val)
//   hardshrink  alpha = lambd
//   softplus    alpha = beta (!= 0), beta = threshold: identity where beta * x > threshold
//   rrelu       alpha = lower, beta = upper (lower <= upper); activation_forward/backward are the
//               eval mode, i.e. leaky_relu with slope (lower + upper) / 2
//   all others  unused (relu6 is hardtanh(0, 6); selu uses PyTorch's fixed constants)
// Start from default_activation_params(kind) to get PyTorch's defaults.
struct ActivationParams {
  Activation kind = Activation::relu;
  float alpha = 0.0f;
  float beta = 0.0f;

  // Throws pare::Error naming the activation when the arguments are out of their domain.
  void validate() const;
};

// PyTorch's defaults: leaky_relu 0.01, elu/celu 1, hardtanh -1..1, hardshrink 0.5,
// softplus beta 1 / threshold 20, rrelu 1/8..1/3.
ActivationParams default_activation_params(Activation kind);
// `kind` with its arguments given (alpha, then beta, as above); the others keep their defaults.
ActivationParams activation_params(Activation kind, double alpha);
ActivationParams activation_params(Activation kind, double alpha, double beta);

// The torch.nn.functional name: "relu", "leaky_relu", ...; both GELU kinds are "gelu".
const char* activation_name(Activation kind);

// The activation at one point in double precision (the reference formulas). The pruning pass uses
// it to fold sigma(c) of a pruned channel into the next layer's bias.
double activation_value(const ActivationParams& params, double x);

// The slope RReLU's training mode draws for element `index`: uniform in [lower, upper) from a
// counter-based hash of (seed, index), so any backend and any split of the work across threads
// draws the same numbers. lower == upper gives lower.
inline float rrelu_training_slope(uint64_t seed, int64_t index, float lower, float upper) {
  // splitmix64's finaliser on a Weyl sequence: cheap, stateless and well mixed.
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (static_cast<uint64_t>(index) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  const float unit = static_cast<float>(z >> 40) * 0x1.0p-24f;  // [0, 1), 24 random bits
  const float slope = lower + (upper - lower) * unit;
  // Rounding can land exactly on upper; step back one ulp to keep the interval half-open.
  return (slope < upper || lower == upper) ? slope : std::nextafter(upper, lower);
}

namespace detail {
// Argument checks shared by ref:: and cpu::; they throw pare::Error naming the op.
void check_prelu_args(int64_t num_weights, int64_t outer, int64_t channels, int64_t inner);
void check_rrelu_training_args(int64_t count, float lower, float upper);
void check_count(const char* op, int64_t count);
}  // namespace detail

// Every function below exists twice with the same signature: ref:: (naive loops in double
// precision, the test oracle) and cpu:: (oneDNN eltwise where oneDNN 2.6 has the algorithm with
// PyTorch's formula and kinks, vectorised OpenMP loops otherwise). Buffers hold `count` floats;
// outputs are written, never accumulated; dst may alias src and diff_src may alias diff_dst.
namespace ref {

void activation_forward(const ActivationParams& params, const float* src, float* dst,
                        int64_t count);
// diff_src = diff_dst * act'(src).
void activation_backward(const ActivationParams& params, const float* src, const float* diff_dst,
                         float* diff_src, int64_t count);

// PReLU on a tensor viewed as [outer, channels, inner] (PyTorch's channel axis is dim 1);
// num_weights is 1 (one shared weight) or channels. dst = src > 0 ? src : weight[c] * src.
void prelu_forward(const float* src, const float* weight, int64_t num_weights, int64_t outer,
                   int64_t channels, int64_t inner, float* dst);
// diff_src = src > 0 ? diff_dst : weight[c] * diff_dst; diff_weight [num_weights] is written with
// the sum of src * diff_dst over the elements where src <= 0.
void prelu_backward(const float* src, const float* weight, int64_t num_weights, int64_t outer,
                    int64_t channels, int64_t inner, const float* diff_dst, float* diff_src,
                    float* diff_weight);

// RReLU in training mode: slopes[i] is drawn uniformly from [lower, upper) for every element by a
// counter-based generator (the same numbers in ref:: and cpu::, for any thread count) and
// dst = src > 0 ? src : src * slopes[i]. lower == upper gives the slope lower.
void rrelu_forward_training(const float* src, float* dst, float* slopes, int64_t count, float lower,
                            float upper, uint64_t seed);
// diff_src = diff_dst * (src > 0 ? 1 : slopes[i]): PyTorch's gradient, where x = 0 takes the slope.
void rrelu_backward_training(const float* src, const float* slopes, const float* diff_dst,
                             float* diff_src, int64_t count);

}  // namespace ref

namespace cpu {

void activation_forward(const ActivationParams& params, const float* src, float* dst,
                        int64_t count);
// diff_src = diff_dst * act'(src).
void activation_backward(const ActivationParams& params, const float* src, const float* diff_dst,
                         float* diff_src, int64_t count);

// PReLU on a tensor viewed as [outer, channels, inner] (PyTorch's channel axis is dim 1);
// num_weights is 1 (one shared weight) or channels. dst = src > 0 ? src : weight[c] * src.
void prelu_forward(const float* src, const float* weight, int64_t num_weights, int64_t outer,
                   int64_t channels, int64_t inner, float* dst);
// diff_src = src > 0 ? diff_dst : weight[c] * diff_dst; diff_weight [num_weights] is written with
// the sum of src * diff_dst over the elements where src <= 0.
void prelu_backward(const float* src, const float* weight, int64_t num_weights, int64_t outer,
                    int64_t channels, int64_t inner, const float* diff_dst, float* diff_src,
                    float* diff_weight);

// RReLU in training mode: slopes[i] is drawn uniformly from [lower, upper) for every element by a
// counter-based generator (the same numbers in ref:: and cpu::, for any thread count) and
// dst = src > 0 ? src : src * slopes[i]. lower == upper gives the slope lower.
void rrelu_forward_training(const float* src, float* dst, float* slopes, int64_t count, float lower,
                            float upper, uint64_t seed);
// diff_src = diff_dst * (src > 0 ? 1 : slopes[i]): PyTorch's gradient, where x = 0 takes the slope.
void rrelu_backward_training(const float* src, const float* slopes, const float* diff_dst,
                             float* diff_src, int64_t count);

}  // namespace cpu

}  // namespace pare::kernels
