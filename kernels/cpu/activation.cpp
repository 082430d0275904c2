// CPU activations. Kinds whose oneDNN 2.6 eltwise algorithm computes PyTorch's formula, gradient
// at the kinks included, run on cached oneDNN primitives; the rest are vectorisable OpenMP loops
// in float, written as PyTorch's CPU kernels are.
//
// Checked against oneDNN 2.6 (its definitions and measurements of its AVX-512 JIT):
// - relu/leaky_relu/rrelu test x > 0 in both passes; clip_v2's gradient is 0 at both bounds like
//   hardtanh's. hardswish's backward gives 0 at x <= -3 and 1 at x >= 3 (as PyTorch after 1.13),
//   where PyTorch 1.13 takes the middle piece at the kinks (-0.5 at -3, 1.5 at 3): its backward is
//   an own loop.
// - elu's forward is exact, but its JIT backward returns alpha instead of 1 for 0 < x < ~1e-7:
//   elu's backward is an own loop.
// - soft_relu and logsigmoid lose up to 7.6e-6 absolute where the result is near 0 (|x| > ~20),
//   and mish inherits about 1.3e-6 of it near x = -16: softplus, logsigmoid and mish are own loops
//   (soft_relu also lacks softplus's beta and threshold).
// - gelu_erf, gelu_tanh, logistic, tanh and swish stay within 1e-6 absolute of the exact values
//   (gelu's tails are about 1e-3 relative off there, PyTorch's are exact).
// Own loops also serve hardsigmoid, celu, selu, hardshrink, softsign, tanhshrink, PReLU and
// RReLU's training mode, which oneDNN 2.6 does not have.
#include "pare/kernels/activation.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>

#include "dnnl_context.h"

namespace pare::kernels::cpu {
namespace {

// Below this many elements a single thread beats waking the OpenMP team.
constexpr int64_t kParallelMinCount = int64_t{1} << 15;

constexpr float kSeluScale = 1.0507009873554804934193349852946f;
constexpr float kSeluScaledAlpha =
    static_cast<float>(1.6732632423543772848170429916717 * 1.0507009873554804934193349852946);

struct EltwiseAlgorithm {
  dnnl::algorithm algorithm;
  float alpha = 0.0f;
  float beta = 0.0f;
};

enum class Pass { forward, backward };

// The oneDNN algorithm that computes PyTorch's result for this kind and pass, if there is one.
std::optional<EltwiseAlgorithm> onednn_algorithm(const ActivationParams& params, Pass pass) {
  using dnnl::algorithm;
  switch (params.kind) {
    case Activation::relu:
      // oneDNN's forward relu (alpha 0) and clip compute max(x, lower), which is `lower` for NaN;
      // PyTorch propagates NaN, so their forward passes are own loops (as fast: memory-bound).
      if (pass == Pass::forward) return std::nullopt;
      return EltwiseAlgorithm{algorithm::eltwise_relu};
    case Activation::leaky_relu:
      return EltwiseAlgorithm{algorithm::eltwise_relu, params.alpha};
    case Activation::rrelu:
      return EltwiseAlgorithm{algorithm::eltwise_relu, 0.5f * (params.alpha + params.beta)};
    case Activation::hardtanh:
      if (pass == Pass::forward) return std::nullopt;
      return EltwiseAlgorithm{algorithm::eltwise_clip_v2, params.alpha, params.beta};
    case Activation::relu6:
      if (pass == Pass::forward) return std::nullopt;
      return EltwiseAlgorithm{algorithm::eltwise_clip_v2, 0.0f, 6.0f};
    case Activation::sigmoid:
      return EltwiseAlgorithm{algorithm::eltwise_logistic};
    case Activation::tanh:
      return EltwiseAlgorithm{algorithm::eltwise_tanh};
    case Activation::silu:
      return EltwiseAlgorithm{algorithm::eltwise_swish, 1.0f};
    case Activation::hardswish:
      if (pass == Pass::backward) return std::nullopt;
      return EltwiseAlgorithm{algorithm::eltwise_hardswish};
    case Activation::elu:
      if (pass == Pass::backward) return std::nullopt;
      return EltwiseAlgorithm{algorithm::eltwise_elu, params.alpha};
    case Activation::gelu:
      return EltwiseAlgorithm{algorithm::eltwise_gelu_erf};
    case Activation::gelu_tanh:
      return EltwiseAlgorithm{algorithm::eltwise_gelu_tanh};
    default:
      return std::nullopt;
  }
}

uint32_t float_bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

std::string eltwise_key(const char* direction, const EltwiseAlgorithm& eltwise, int64_t count) {
  return pare::str_cat("activation_", direction, "/", static_cast<int>(eltwise.algorithm), "/",
                       float_bits(eltwise.alpha), "/", float_bits(eltwise.beta), "/", count);
}

dnnl::memory::desc flat_desc(int64_t count) {
  return dnnl::memory::desc({count}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
}

dnnl::eltwise_forward::primitive_desc forward_primitive_desc(const EltwiseAlgorithm& eltwise,
                                                             const dnnl::memory::desc& desc) {
  return dnnl::eltwise_forward::primitive_desc(
      dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, eltwise.algorithm, desc,
                                  eltwise.alpha, eltwise.beta),
      cpu_engine());
}

struct EltwiseForwardEntry {
  dnnl::memory::desc desc;
  dnnl::eltwise_forward primitive;
};

struct EltwiseBackwardEntry {
  dnnl::memory::desc desc;
  dnnl::eltwise_backward primitive;
};

void onednn_forward(const char* op, const EltwiseAlgorithm& eltwise, const float* src, float* dst,
                    int64_t count) {
  with_dnnl_errors(op, [&] {
    auto& entry = primitive_cache().get_or_create<EltwiseForwardEntry>(
        eltwise_key("forward", eltwise, count), [&] {
          const dnnl::memory::desc desc = flat_desc(count);
          return std::make_shared<EltwiseForwardEntry>(EltwiseForwardEntry{
              desc, dnnl::eltwise_forward(forward_primitive_desc(eltwise, desc))});
        });
    dnnl::stream& stream = cpu_stream();
    entry.primitive.execute(
        stream, {{DNNL_ARG_SRC, wrap(entry.desc, src)}, {DNNL_ARG_DST, wrap(entry.desc, dst)}});
    stream.wait();
  });
}

void onednn_backward(const char* op, const EltwiseAlgorithm& eltwise, const float* src,
                     const float* diff_dst, float* diff_src, int64_t count) {
  with_dnnl_errors(op, [&] {
    auto& entry = primitive_cache().get_or_create<EltwiseBackwardEntry>(
        eltwise_key("backward", eltwise, count), [&] {
          const dnnl::memory::desc desc = flat_desc(count);
          const dnnl::eltwise_backward::primitive_desc backward(
              dnnl::eltwise_backward::desc(eltwise.algorithm, desc, desc, eltwise.alpha,
                                           eltwise.beta),
              cpu_engine(), forward_primitive_desc(eltwise, desc));
          return std::make_shared<EltwiseBackwardEntry>(
              EltwiseBackwardEntry{desc, dnnl::eltwise_backward(backward)});
        });
    dnnl::stream& stream = cpu_stream();
    entry.primitive.execute(stream, {{DNNL_ARG_SRC, wrap(entry.desc, src)},
                                     {DNNL_ARG_DIFF_DST, wrap(entry.desc, diff_dst)},
                                     {DNNL_ARG_DIFF_SRC, wrap(entry.desc, diff_src)}});
    stream.wait();
  });
}

// Each thread runs the plain vectorised loop over its own contiguous chunk; small counts run
// outside any parallel region (an OpenMP region costs microseconds even with a false if(),
// ten times a 4096-element relu).
template <typename Body>
void in_chunks(int64_t count, Body body) {
  if (count < kParallelMinCount) return body(int64_t{0}, count);
#pragma omp parallel
  {
    const int64_t threads = omp_get_num_threads(), thread = omp_get_thread_num();
    const int64_t chunk = (count + threads - 1) / threads;
    const int64_t begin = std::min(count, thread * chunk);
    body(begin, std::min(count, begin + chunk));
  }
}

template <typename Function>
void map_forward(const float* src, float* dst, int64_t count, Function function) {
  in_chunks(count, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) dst[i] = function(src[i]);
  });
}

template <typename Gradient>
void map_backward(const float* src, const float* diff_dst, float* diff_src, int64_t count,
                  Gradient gradient) {
  in_chunks(count, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) diff_src[i] = gradient(src[i], diff_dst[i]);
  });
}

// log(1 + exp(x)); unlike PyTorch's log1p(exp(x)) it does not overflow to inf for x > 88 (which
// softplus reaches only with a threshold above 88).
inline float log1p_exp(float x) {
  return x > 0.0f ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

inline float sigmoid(float x) {
  const float e = std::exp(-std::fabs(x));
  return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

void loop_forward(const ActivationParams& params, const float* src, float* dst, int64_t count) {
  const float alpha = params.alpha;
  const float beta = params.beta;
  switch (params.kind) {
    // The comparisons are false for NaN, which then passes through.
    case Activation::relu:
      return map_forward(src, dst, count, [](float x) { return x <= 0.0f ? 0.0f : x; });
    case Activation::relu6:
      return map_forward(src, dst, count,
                         [](float x) { return x <= 0.0f ? 0.0f : (x >= 6.0f ? 6.0f : x); });
    case Activation::hardtanh:
      return map_forward(src, dst, count,
                         [=](float x) { return x <= alpha ? alpha : (x >= beta ? beta : x); });
    case Activation::hardsigmoid:
      return map_forward(src, dst, count,
                         [](float x) { return std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f; });
    case Activation::celu: {
      const float input_scale = 1.0f / alpha;
      return map_forward(src, dst, count, [=](float x) {
        return x > 0.0f ? x : alpha * std::expm1(x * input_scale);
      });
    }
    case Activation::selu:
      return map_forward(src, dst, count, [](float x) {
        return x > 0.0f ? kSeluScale * x : kSeluScaledAlpha * std::expm1(x);
      });
    case Activation::hardshrink:
      // |x| <= lambd is PyTorch's -lambd <= x <= lambd (also for NaN and lambd < 0), branch-free.
      return map_forward(src, dst, count,
                         [=](float x) { return std::fabs(x) <= alpha ? 0.0f : x; });
    case Activation::mish:
      return map_forward(src, dst, count, [](float x) { return x * std::tanh(log1p_exp(x)); });
    case Activation::logsigmoid:
      return map_forward(src, dst, count, [](float x) {
        return std::min(x, 0.0f) - std::log1p(std::exp(-std::fabs(x)));
      });
    case Activation::softplus:
      return map_forward(src, dst, count, [=](float x) {
        const float scaled = x * alpha;
        return scaled > beta ? x : log1p_exp(scaled) / alpha;
      });
    case Activation::softsign:
      return map_forward(src, dst, count, [](float x) { return x / (1.0f + std::fabs(x)); });
    case Activation::tanhshrink:
      return map_forward(src, dst, count, [](float x) { return x - std::tanh(x); });
    default:
      PARE_CHECK(false, activation_name(params.kind), ": no CPU loop for this activation");
  }
}

void loop_backward(const ActivationParams& params, const float* src, const float* diff_dst,
                   float* diff_src, int64_t count) {
  const float alpha = params.alpha;
  const float beta = params.beta;
  switch (params.kind) {
    case Activation::hardsigmoid:
      return map_backward(src, diff_dst, diff_src, count, [](float x, float dy) {
        return dy * (std::fabs(x) < 3.0f ? 1.0f / 6.0f : 0.0f);
      });
    case Activation::hardswish:
      return map_backward(src, diff_dst, diff_src, count, [](float x, float dy) {
        return x < -3.0f ? 0.0f : (x <= 3.0f ? dy * (x / 3.0f + 0.5f) : dy);
      });
    case Activation::celu: {
      const float input_scale = 1.0f / alpha;
      return map_backward(src, diff_dst, diff_src, count, [=](float x, float dy) {
        return x > 0.0f ? dy : dy * std::exp(x * input_scale);
      });
    }
    case Activation::selu:
      return map_backward(src, diff_dst, diff_src, count, [](float x, float dy) {
        return x > 0.0f ? dy * kSeluScale : dy * kSeluScaledAlpha * std::exp(x);
      });
    case Activation::hardshrink:
      return map_backward(src, diff_dst, diff_src, count,
                          [=](float x, float dy) { return std::fabs(x) <= alpha ? 0.0f : dy; });
    case Activation::elu:
      return map_backward(src, diff_dst, diff_src, count, [=](float x, float dy) {
        return x > 0.0f ? dy : dy * alpha * std::exp(x);
      });
    case Activation::mish:
      return map_backward(src, diff_dst, diff_src, count, [](float x, float dy) {
        const float t = std::tanh(log1p_exp(x));
        return dy * (t + x * sigmoid(x) * (1.0f - t * t));
      });
    case Activation::logsigmoid:
      return map_backward(src, diff_dst, diff_src, count,
                          [](float x, float dy) { return dy * sigmoid(-x); });
    case Activation::softplus:
      return map_backward(src, diff_dst, diff_src, count, [=](float x, float dy) {
        const float scaled = x * alpha;
        return scaled > beta ? dy : dy * sigmoid(scaled);
      });
    case Activation::softsign:
      return map_backward(src, diff_dst, diff_src, count, [](float x, float dy) {
        const float denominator = 1.0f + std::fabs(x);
        return dy / (denominator * denominator);
      });
    case Activation::tanhshrink:
      return map_backward(src, diff_dst, diff_src, count, [](float x, float dy) {
        const float t = std::tanh(x);
        return dy * t * t;
      });
    default:
      PARE_CHECK(false, activation_name(params.kind), ": no CPU loop for this activation");
  }
}

// x > 0 ? x : slope * x, in a form GCC vectorises without -fno-trapping-math (it will not
// if-convert a multiplication that only one branch performs).
inline float prelu(float x, float slope) { return std::max(x, 0.0f) + slope * std::min(x, 0.0f); }

// diff_dst routed to the x > 0 side or the x <= 0 side; the other side gets 0. Written as two
// selects of a loaded value for the same reason as prelu().
struct SplitGradient {
  float positive;
  float negative;
};

inline SplitGradient split_gradient(float x, float diff_dst) {
  return {x > 0.0f ? diff_dst : 0.0f, x > 0.0f ? 0.0f : diff_dst};
}

}  // namespace

void activation_forward(const ActivationParams& params, const float* src, float* dst,
                        int64_t count) {
  params.validate();
  const char* op = activation_name(params.kind);
  detail::check_count(op, count);
  if (count == 0) return;
  if (const auto eltwise = onednn_algorithm(params, Pass::forward)) {
    onednn_forward(op, *eltwise, src, dst, count);
  } else {
    loop_forward(params, src, dst, count);
  }
}

void activation_backward(const ActivationParams& params, const float* src, const float* diff_dst,
                         float* diff_src, int64_t count) {
  params.validate();
  const char* op = activation_name(params.kind);
  detail::check_count(op, count);
  if (count == 0) return;
  if (const auto eltwise = onednn_algorithm(params, Pass::backward)) {
    onednn_backward(op, *eltwise, src, diff_dst, diff_src, count);
  } else {
    loop_backward(params, src, diff_dst, diff_src, count);
  }
}

void prelu_forward(const float* src, const float* weight, int64_t num_weights, int64_t outer,
                   int64_t channels, int64_t inner, float* dst) {
  detail::check_prelu_args(num_weights, outer, channels, inner);
  if (num_weights == 1) {
    const float w = weight[0];
    return map_forward(src, dst, outer * channels * inner, [=](float x) { return prelu(x, w); });
  }
  const int64_t rows = outer * channels;
#pragma omp parallel for schedule(static) if (rows * inner >= kParallelMinCount)
  for (int64_t row = 0; row < rows; ++row) {
    const float w = weight[row % channels];
    const float* row_src = src + row * inner;
    float* row_dst = dst + row * inner;
#pragma omp simd
    for (int64_t i = 0; i < inner; ++i) row_dst[i] = prelu(row_src[i], w);
  }
}

void prelu_backward(const float* src, const float* weight, int64_t num_weights, int64_t outer,
                    int64_t channels, int64_t inner, const float* diff_dst, float* diff_src,
                    float* diff_weight) {
  detail::check_prelu_args(num_weights, outer, channels, inner);
  const int64_t total = outer * channels * inner;
  // The weight gradient sums many products of both signs: accumulate in double. min(x, 0) keeps
  // an infinite positive x from turning its zero contribution into NaN.
  if (num_weights == 1) {
    const float w = weight[0];
    double sum = 0.0;
#pragma omp parallel for simd schedule(static) reduction(+ : sum) if (total >= kParallelMinCount)
    for (int64_t i = 0; i < total; ++i) {
      const SplitGradient split = split_gradient(src[i], diff_dst[i]);
      sum += static_cast<double>(std::min(src[i], 0.0f)) * split.negative;
      diff_src[i] = split.positive + w * split.negative;
    }
    diff_weight[0] = static_cast<float>(sum);
    return;
  }
#pragma omp parallel for schedule(static) if (total >= kParallelMinCount)
  for (int64_t c = 0; c < channels; ++c) {
    const float w = weight[c];
    double sum = 0.0;
    for (int64_t o = 0; o < outer; ++o) {
      const int64_t offset = (o * channels + c) * inner;
      const float* row_src = src + offset;
      const float* row_diff_dst = diff_dst + offset;
      float* row_diff_src = diff_src + offset;
#pragma omp simd reduction(+ : sum)
      for (int64_t i = 0; i < inner; ++i) {
        const SplitGradient split = split_gradient(row_src[i], row_diff_dst[i]);
        sum += static_cast<double>(std::min(row_src[i], 0.0f)) * split.negative;
        row_diff_src[i] = split.positive + w * split.negative;
      }
    }
    diff_weight[c] = static_cast<float>(sum);
  }
}

void rrelu_forward_training(const float* src, float* dst, float* slopes, int64_t count, float lower,
                            float upper, uint64_t seed) {
  detail::check_rrelu_training_args(count, lower, upper);
#pragma omp parallel for schedule(static) if (count >= kParallelMinCount)
  for (int64_t i = 0; i < count; ++i) {
    const float slope = rrelu_training_slope(seed, i, lower, upper);
    const float x = src[i];
    slopes[i] = slope;
    dst[i] = prelu(x, slope);
  }
}

void rrelu_backward_training(const float* src, const float* slopes, const float* diff_dst,
                             float* diff_src, int64_t count) {
  detail::check_count("rrelu", count);
#pragma omp parallel for simd schedule(static) if (count >= kParallelMinCount)
  for (int64_t i = 0; i < count; ++i) {
    const SplitGradient split = split_gradient(src[i], diff_dst[i]);
    diff_src[i] = split.positive + slopes[i] * split.negative;
  }
}

}  // namespace pare::kernels::cpu
