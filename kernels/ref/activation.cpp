// Reference activations: PyTorch's formulas evaluated in double precision, one element at a time.
// Also home of the backend-independent helpers (defaults, names, validation, activation_value).
#include "pare/kernels/activation.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "pare/error.h"

namespace pare::kernels {
namespace {

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kSqrtTwoOverPi = 0.79788456080286535587989211986876;  // sqrt(2 / pi)
constexpr double kGeluTanhKappa = 0.044715;
constexpr double kInvSqrtTwo = 0.70710678118654752440084436210485;
constexpr double kInvSqrtTwoPi = 0.39894228040143267793994605993438;  // 1 / sqrt(2 pi)

double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

// log(1 + exp(x)) without overflow for large x.
double log1p_exp(double x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

double rrelu_eval_slope(const ActivationParams& params) {
  return (static_cast<double>(params.alpha) + static_cast<double>(params.beta)) / 2.0;
}

double value(const ActivationParams& params, double x) {
  const double alpha = params.alpha;
  const double beta = params.beta;
  switch (params.kind) {
    case Activation::relu:
      return x <= 0 ? 0.0 : x;  // NaN passes through, as in PyTorch
    case Activation::rrelu:
      return x > 0 ? x : x * rrelu_eval_slope(params);
    case Activation::leaky_relu:
      return x > 0 ? x : x * alpha;
    case Activation::hardtanh:
      return x <= alpha ? alpha : (x >= beta ? beta : x);
    case Activation::relu6:
      return x <= 0 ? 0.0 : (x >= 6 ? 6.0 : x);
    case Activation::sigmoid:
      return sigmoid(x);
    case Activation::hardsigmoid:
      return x <= -3 ? 0.0 : (x >= 3 ? 1.0 : x / 6.0 + 0.5);
    case Activation::tanh:
      return std::tanh(x);
    case Activation::silu:
      return x * sigmoid(x);
    case Activation::mish:
      return x * std::tanh(log1p_exp(x));
    case Activation::hardswish:
      return x <= -3 ? 0.0 : (x >= 3 ? x : x * (x + 3.0) / 6.0);
    case Activation::elu:
      return x > 0 ? x : alpha * std::expm1(x);
    case Activation::celu:
      return x > 0 ? x : alpha * std::expm1(x / alpha);
    case Activation::selu:
      return kSeluScale * (x > 0 ? x : kSeluAlpha * std::expm1(x));
    case Activation::hardshrink:
      return (x >= -alpha && x <= alpha) ? 0.0 : x;
    case Activation::logsigmoid:
      return std::min(x, 0.0) - std::log1p(std::exp(-std::fabs(x)));
    case Activation::softplus:
      return x * alpha > beta ? x : log1p_exp(x * alpha) / alpha;
    case Activation::softsign:
      return x / (1.0 + std::fabs(x));
    case Activation::tanhshrink:
      return x - std::tanh(x);
    case Activation::gelu:
      return 0.5 * x * (1.0 + std::erf(x * kInvSqrtTwo));
    case Activation::gelu_tanh:
      return 0.5 * x * (1.0 + std::tanh(kSqrtTwoOverPi * (x + kGeluTanhKappa * x * x * x)));
  }
  return x;
}

// d value / dx, with PyTorch's choice at every kink.
double derivative(const ActivationParams& params, double x) {
  const double alpha = params.alpha;
  const double beta = params.beta;
  switch (params.kind) {
    case Activation::relu:
      return x > 0 ? 1.0 : 0.0;
    case Activation::rrelu:
      return x > 0 ? 1.0 : rrelu_eval_slope(params);
    case Activation::leaky_relu:
      return x > 0 ? 1.0 : alpha;
    case Activation::hardtanh:
      return (x <= alpha || x >= beta) ? 0.0 : 1.0;
    case Activation::relu6:
      return (x <= 0 || x >= 6) ? 0.0 : 1.0;
    case Activation::sigmoid: {
      const double s = sigmoid(x);
      return s * (1.0 - s);
    }
    case Activation::hardsigmoid:
      return (x > -3 && x < 3) ? 1.0 / 6.0 : 0.0;
    case Activation::tanh: {
      const double t = std::tanh(x);
      return 1.0 - t * t;
    }
    case Activation::silu: {
      const double s = sigmoid(x);
      return s * (1.0 + x * (1.0 - s));
    }
    case Activation::mish: {
      const double t = std::tanh(log1p_exp(x));
      return t + x * sigmoid(x) * (1.0 - t * t);
    }
    case Activation::hardswish:
      // PyTorch 1.13's kinks: the middle piece's slope holds at x = -3 (-0.5) and x = 3 (1.5).
      return x < -3 ? 0.0 : (x <= 3 ? x / 3.0 + 0.5 : 1.0);
    case Activation::elu:
      return x > 0 ? 1.0 : alpha * std::exp(x);
    case Activation::celu:
      return x > 0 ? 1.0 : std::exp(x / alpha);
    case Activation::selu:
      return kSeluScale * (x > 0 ? 1.0 : kSeluAlpha * std::exp(x));
    case Activation::hardshrink:
      return (x >= -alpha && x <= alpha) ? 0.0 : 1.0;
    case Activation::logsigmoid:
      return sigmoid(-x);
    case Activation::softplus:
      return x * alpha > beta ? 1.0 : sigmoid(x * alpha);
    case Activation::softsign: {
      const double denominator = 1.0 + std::fabs(x);
      return 1.0 / (denominator * denominator);
    }
    case Activation::tanhshrink: {
      const double t = std::tanh(x);
      return t * t;
    }
    case Activation::gelu:
      return 0.5 * (1.0 + std::erf(x * kInvSqrtTwo)) + x * kInvSqrtTwoPi * std::exp(-0.5 * x * x);
    case Activation::gelu_tanh: {
      const double t = std::tanh(kSqrtTwoOverPi * (x + kGeluTanhKappa * x * x * x));
      const double inner_derivative = kSqrtTwoOverPi * (1.0 + 3.0 * kGeluTanhKappa * x * x);
      return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * inner_derivative;
    }
  }
  return 1.0;
}

}  // namespace

namespace detail {

void check_count(const char* op, int64_t count) {
  PARE_CHECK(count >= 0, op, ": element count must be >= 0, got ", count);
}

void check_prelu_args(int64_t num_weights, int64_t outer, int64_t channels, int64_t inner) {
  PARE_CHECK(outer >= 0 && channels >= 1 && inner >= 0,
             "prelu: expected outer >= 0, channels >= 1, inner >= 0, got [outer, channels, inner] ",
             std::vector<int64_t>{outer, channels, inner});
  PARE_CHECK(num_weights == 1 || num_weights == channels,
             "prelu: num_weights must be 1 or the number of channels (", channels, "), got ",
             num_weights);
}

void check_rrelu_training_args(int64_t count, float lower, float upper) {
  check_count("rrelu", count);
  PARE_CHECK(lower <= upper, "rrelu: lower must be <= upper, got lower=", lower, " upper=", upper);
}

}  // namespace detail

void ActivationParams::validate() const {
  const char* name = activation_name(kind);
  switch (kind) {
    case Activation::hardtanh:
      PARE_CHECK(alpha <= beta, name, ": min_val must be <= max_val, got min_val=", alpha,
                 " max_val=", beta);
      break;
    case Activation::rrelu:
      PARE_CHECK(alpha <= beta, name, ": lower must be <= upper, got lower=", alpha,
                 " upper=", beta);
      break;
    case Activation::celu:
      PARE_CHECK(alpha != 0.0f, name, ": alpha must be non-zero");
      break;
    case Activation::softplus:
      PARE_CHECK(alpha != 0.0f, name, ": beta must be non-zero");
      break;
    default:
      break;
  }
}

ActivationParams default_activation_params(Activation kind) {
  ActivationParams params;
  params.kind = kind;
  switch (kind) {
    case Activation::leaky_relu:
      params.alpha = 0.01f;
      break;
    case Activation::elu:
    case Activation::celu:
      params.alpha = 1.0f;
      break;
    case Activation::hardtanh:
      params.alpha = -1.0f;
      params.beta = 1.0f;
      break;
    case Activation::hardshrink:
      params.alpha = 0.5f;
      break;
    case Activation::softplus:
      params.alpha = 1.0f;
      params.beta = 20.0f;
      break;
    case Activation::rrelu:
      params.alpha = 1.0f / 8.0f;
      params.beta = 1.0f / 3.0f;
      break;
    default:
      break;
  }
  return params;
}

ActivationParams activation_params(Activation kind, double alpha) {
  ActivationParams params = default_activation_params(kind);
  params.alpha = static_cast<float>(alpha);
  return params;
}

ActivationParams activation_params(Activation kind, double alpha, double beta) {
  ActivationParams params = activation_params(kind, alpha);
  params.beta = static_cast<float>(beta);
  return params;
}

const char* activation_name(Activation kind) {
  switch (kind) {
    case Activation::relu:
      return "relu";
    case Activation::rrelu:
      return "rrelu";
    case Activation::hardtanh:
      return "hardtanh";
    case Activation::relu6:
      return "relu6";
    case Activation::sigmoid:
      return "sigmoid";
    case Activation::hardsigmoid:
      return "hardsigmoid";
    case Activation::tanh:
      return "tanh";
    case Activation::silu:
      return "silu";
    case Activation::mish:
      return "mish";
    case Activation::hardswish:
      return "hardswish";
    case Activation::elu:
      return "elu";
    case Activation::celu:
      return "celu";
    case Activation::selu:
      return "selu";
    case Activation::hardshrink:
      return "hardshrink";
    case Activation::leaky_relu:
      return "leaky_relu";
    case Activation::logsigmoid:
      return "logsigmoid";
    case Activation::softplus:
      return "softplus";
    case Activation::softsign:
      return "softsign";
    case Activation::tanhshrink:
      return "tanhshrink";
    case Activation::gelu:
    case Activation::gelu_tanh:
      return "gelu";
  }
  return "unknown_activation";
}

double activation_value(const ActivationParams& params, double x) {
  params.validate();
  return value(params, x);
}

namespace ref {

void activation_forward(const ActivationParams& params, const float* src, float* dst,
                        int64_t count) {
  params.validate();
  detail::check_count(activation_name(params.kind), count);
  for (int64_t i = 0; i < count; ++i) dst[i] = static_cast<float>(value(params, src[i]));
}

void activation_backward(const ActivationParams& params, const float* src, const float* diff_dst,
                         float* diff_src, int64_t count) {
  params.validate();
  detail::check_count(activation_name(params.kind), count);
  for (int64_t i = 0; i < count; ++i) {
    diff_src[i] = static_cast<float>(diff_dst[i] * derivative(params, src[i]));
  }
}

void prelu_forward(const float* src, const float* weight, int64_t num_weights, int64_t outer,
                   int64_t channels, int64_t inner, float* dst) {
  detail::check_prelu_args(num_weights, outer, channels, inner);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      const double w = weight[num_weights == 1 ? 0 : c];
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t index = (o * channels + c) * inner + i;
        dst[index] = src[index] > 0 ? src[index] : static_cast<float>(w * src[index]);
      }
    }
  }
}

void prelu_backward(const float* src, const float* weight, int64_t num_weights, int64_t outer,
                    int64_t channels, int64_t inner, const float* diff_dst, float* diff_src,
                    float* diff_weight) {
  detail::check_prelu_args(num_weights, outer, channels, inner);
  std::vector<double> weight_sums(num_weights, 0.0);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t w_index = num_weights == 1 ? 0 : c;
      const double w = weight[w_index];
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t index = (o * channels + c) * inner + i;
        if (src[index] > 0) {
          diff_src[index] = diff_dst[index];
        } else {
          weight_sums[w_index] += static_cast<double>(src[index]) * diff_dst[index];
          diff_src[index] = static_cast<float>(w * diff_dst[index]);
        }
      }
    }
  }
  for (int64_t w = 0; w < num_weights; ++w) diff_weight[w] = static_cast<float>(weight_sums[w]);
}

void rrelu_forward_training(const float* src, float* dst, float* slopes, int64_t count, float lower,
                            float upper, uint64_t seed) {
  detail::check_rrelu_training_args(count, lower, upper);
  for (int64_t i = 0; i < count; ++i) {
    slopes[i] = rrelu_training_slope(seed, i, lower, upper);
    dst[i] = src[i] > 0 ? src[i] : src[i] * slopes[i];
  }
}

void rrelu_backward_training(const float* src, const float* slopes, const float* diff_dst,
                             float* diff_src, int64_t count) {
  detail::check_count("rrelu", count);
  for (int64_t i = 0; i < count; ++i) {
    diff_src[i] = src[i] > 0 ? diff_dst[i] : diff_dst[i] * slopes[i];
  }
}

}  // namespace ref
}  // namespace pare::kernels
