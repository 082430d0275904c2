// Activations: ref:: against hand-computed values (from PyTorch's formulas, evaluated in Python's
// math module) and finite differences; cpu:: against ref:: on seeded random buffers plus the
// edge values where PyTorch's kinks sit.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "pare/error.h"
#include "pare/kernels/activation.h"
#include "test_util.h"

namespace {

using pare::kernels::Activation;
using pare::kernels::ActivationParams;
namespace kernels = pare::kernels;

constexpr Activation kAllActivations[] = {
    Activation::relu,     Activation::rrelu,       Activation::hardtanh,   Activation::relu6,
    Activation::sigmoid,  Activation::hardsigmoid, Activation::tanh,       Activation::silu,
    Activation::mish,     Activation::hardswish,   Activation::elu,        Activation::celu,
    Activation::selu,     Activation::hardshrink,  Activation::leaky_relu, Activation::logsigmoid,
    Activation::softplus, Activation::softsign,    Activation::tanhshrink, Activation::gelu,
    Activation::gelu_tanh};

ActivationParams params_of(Activation kind, float alpha, float beta) {
  ActivationParams params;
  params.kind = kind;
  params.alpha = alpha;
  params.beta = beta;
  return params;
}

ActivationParams defaults(Activation kind) { return kernels::default_activation_params(kind); }

std::string describe(const ActivationParams& params) {
  return pare::str_cat(kernels::activation_name(params.kind), "(kind ",
                       static_cast<int>(params.kind), ", alpha=", params.alpha,
                       ", beta=", params.beta, ")");
}

// Every activation at its defaults, plus other arguments for those that take some.
std::vector<ActivationParams> parameter_sets() {
  std::vector<ActivationParams> sets;
  for (Activation kind : kAllActivations) sets.push_back(defaults(kind));
  sets.push_back(params_of(Activation::leaky_relu, 0.2f, 0.0f));
  sets.push_back(params_of(Activation::leaky_relu, -0.5f, 0.0f));
  sets.push_back(params_of(Activation::rrelu, 0.1f, 0.1f));
  sets.push_back(params_of(Activation::rrelu, 0.0f, 0.5f));
  sets.push_back(params_of(Activation::hardtanh, -2.0f, 0.5f));
  sets.push_back(params_of(Activation::hardtanh, 0.0f, 6.0f));
  sets.push_back(params_of(Activation::elu, 0.5f, 0.0f));
  sets.push_back(params_of(Activation::elu, 2.0f, 0.0f));
  sets.push_back(params_of(Activation::celu, 0.5f, 0.0f));
  sets.push_back(params_of(Activation::celu, 2.0f, 0.0f));
  sets.push_back(params_of(Activation::hardshrink, 1.5f, 0.0f));
  sets.push_back(params_of(Activation::hardshrink, 0.0f, 0.0f));
  sets.push_back(params_of(Activation::softplus, 2.0f, 20.0f));
  sets.push_back(params_of(Activation::softplus, 1.0f, 1.0f));
  sets.push_back(params_of(Activation::softplus, 0.5f, 3.0f));
  return sets;
}

// Points where the first derivative jumps (finite differences are meaningless there).
std::vector<double> kinks(const ActivationParams& params) {
  switch (params.kind) {
    case Activation::relu:
    case Activation::rrelu:
    case Activation::leaky_relu:
    case Activation::elu:
    case Activation::celu:
    case Activation::selu:
    case Activation::softsign:
      return {0.0};
    case Activation::hardtanh:
      return {params.alpha, params.beta};
    case Activation::relu6:
      return {0.0, 6.0};
    case Activation::hardsigmoid:
    case Activation::hardswish:
      return {-3.0, 3.0};
    case Activation::hardshrink:
      return {-params.alpha, params.alpha};
    case Activation::softplus:
      return {static_cast<double>(params.beta) / params.alpha};
    default:
      return {};
  }
}

// Values at and around the kinks and the far tails, appended to every random buffer.
std::vector<float> edge_values(const ActivationParams& params) {
  std::vector<float> values = {0.0f,  -0.0f,  1e-7f, -1e-7f, 1e-30f, -1e-30f, 0.5f,  -0.5f,
                               1.0f,  -1.0f,  3.0f,  -3.0f,  6.0f,   -6.0f,   20.0f, -20.0f,
                               30.0f, -30.0f, 50.0f, -50.0f, 100.0f, -100.0f};
  for (double kink : kinks(params)) {
    const float at = static_cast<float>(kink);
    values.insert(values.end(),
                  {at, -at, std::nextafter(at, -INFINITY), std::nextafter(at, INFINITY)});
  }
  return values;
}

std::vector<float> test_inputs(const ActivationParams& params, size_t random_count, uint32_t seed) {
  std::vector<float> values = pare::testing::random_floats(random_count, seed, -6.0f, 6.0f);
  const std::vector<float> wide = pare::testing::random_floats(200, seed + 1, -100.0f, 100.0f);
  values.insert(values.end(), wide.begin(), wide.end());
  const std::vector<float> edges = edge_values(params);
  values.insert(values.end(), edges.begin(), edges.end());
  return values;
}

// Checks |actual - expected| <= atol + rtol * |expected| elementwise and names the first offender.
void check_close(const std::vector<float>& actual, const std::vector<float>& expected,
                 const std::vector<float>& inputs, double rtol, double atol,
                 const std::string& what) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    const double diff = std::fabs(static_cast<double>(actual[i]) - expected[i]);
    if (!(diff <= atol + rtol * std::fabs(static_cast<double>(expected[i])))) {
      FAIL_CHECK(what << " at x=" << inputs[i] << ": got " << actual[i] << ", expected "
                      << expected[i]);
      return;
    }
  }
}

float ref_forward_one(const ActivationParams& params, float x) {
  float y = 0.0f;
  kernels::ref::activation_forward(params, &x, &y, 1);
  return y;
}

float ref_derivative_one(const ActivationParams& params, float x) {
  const float one = 1.0f;
  float dx = 0.0f;
  kernels::ref::activation_backward(params, &x, &one, &dx, 1);
  return dx;
}

struct HandValue {
  ActivationParams params;
  double x;
  double expected;
};

constexpr double kSlopeRrelu = (0.125 + static_cast<double>(1.0f / 3.0f)) / 2.0;

}  // namespace

TEST_CASE("activation names and PyTorch defaults") {
  CHECK(std::string(kernels::activation_name(Activation::leaky_relu)) == "leaky_relu");
  CHECK(std::string(kernels::activation_name(Activation::logsigmoid)) == "logsigmoid");
  CHECK(std::string(kernels::activation_name(Activation::gelu)) == "gelu");
  CHECK(std::string(kernels::activation_name(Activation::gelu_tanh)) == "gelu");
  CHECK(std::string(kernels::activation_name(Activation::relu6)) == "relu6");

  CHECK(defaults(Activation::leaky_relu).alpha == 0.01f);
  CHECK(defaults(Activation::elu).alpha == 1.0f);
  CHECK(defaults(Activation::celu).alpha == 1.0f);
  CHECK(defaults(Activation::hardtanh).alpha == -1.0f);
  CHECK(defaults(Activation::hardtanh).beta == 1.0f);
  CHECK(defaults(Activation::hardshrink).alpha == 0.5f);
  CHECK(defaults(Activation::softplus).alpha == 1.0f);
  CHECK(defaults(Activation::softplus).beta == 20.0f);
  CHECK(defaults(Activation::rrelu).alpha == 1.0f / 8.0f);
  CHECK(defaults(Activation::rrelu).beta == 1.0f / 3.0f);
  CHECK(defaults(Activation::selu).kind == Activation::selu);
}

TEST_CASE("ref activation forward matches hand-computed values") {
  const std::vector<HandValue> table = {
      {defaults(Activation::relu), -2.0, 0.0},
      {defaults(Activation::relu), 3.5, 3.5},
      {defaults(Activation::rrelu), -3.0, -3.0 * kSlopeRrelu},
      {defaults(Activation::rrelu), 2.0, 2.0},
      {defaults(Activation::hardtanh), -2.0, -1.0},
      {defaults(Activation::hardtanh), 0.25, 0.25},
      {defaults(Activation::hardtanh), 2.0, 1.0},
      {params_of(Activation::hardtanh, -2.0f, 0.5f), 1.0, 0.5},
      {params_of(Activation::hardtanh, -2.0f, 0.5f), -3.0, -2.0},
      {defaults(Activation::relu6), -1.0, 0.0},
      {defaults(Activation::relu6), 3.0, 3.0},
      {defaults(Activation::relu6), 7.0, 6.0},
      {defaults(Activation::sigmoid), 0.0, 0.5},
      {defaults(Activation::sigmoid), 2.0, 0.8807970779778823},
      {defaults(Activation::sigmoid), -1.0, 0.2689414213699951},
      {defaults(Activation::hardsigmoid), -4.0, 0.0},
      {defaults(Activation::hardsigmoid), 1.0, 0.6666666666666666},
      {defaults(Activation::hardsigmoid), 4.0, 1.0},
      {defaults(Activation::tanh), 1.0, 0.7615941559557649},
      {defaults(Activation::tanh), -0.5, -0.46211715726000974},
      {defaults(Activation::silu), 1.0, 0.7310585786300049},
      {defaults(Activation::silu), -2.0, -0.2384058440442351},
      {defaults(Activation::mish), 1.0, 0.8650983882673103},
      {defaults(Activation::mish), -2.0, -0.2525014826957089},
      {defaults(Activation::hardswish), -4.0, 0.0},
      {defaults(Activation::hardswish), -1.0, -1.0 / 3.0},
      {defaults(Activation::hardswish), 1.0, 0.6666666666666666},
      {defaults(Activation::hardswish), 4.0, 4.0},
      {defaults(Activation::elu), -1.0, -0.6321205588285577},
      {defaults(Activation::elu), 2.0, 2.0},
      {params_of(Activation::elu, 0.5f, 0.0f), -2.0, -0.43233235838169365},
      {params_of(Activation::celu, 2.0f, 0.0f), -1.0, -0.7869386805747332},
      {params_of(Activation::celu, 2.0f, 0.0f), 1.5, 1.5},
      {params_of(Activation::celu, 0.5f, 0.0f), -1.0, -0.43233235838169365},
      {defaults(Activation::selu), -1.0, -1.1113307378125625},
      {defaults(Activation::selu), 2.0, 2.101401974710961},
      {defaults(Activation::hardshrink), 0.5, 0.0},
      {defaults(Activation::hardshrink), -0.5, 0.0},
      {defaults(Activation::hardshrink), 0.1, 0.0},
      {defaults(Activation::hardshrink), 0.6, 0.6},
      {defaults(Activation::hardshrink), -0.6, -0.6},
      {defaults(Activation::leaky_relu), -2.0, -2.0 * 0.01f},
      {defaults(Activation::leaky_relu), 3.0, 3.0},
      {params_of(Activation::leaky_relu, 0.2f, 0.0f), -1.0, -1.0 * 0.2f},
      {defaults(Activation::logsigmoid), 0.0, -0.6931471805599453},
      {defaults(Activation::logsigmoid), -3.0, -3.048587351573742},
      {defaults(Activation::logsigmoid), 2.0, -0.12692801104297263},
      {defaults(Activation::logsigmoid), -100.0, -100.0},
      {defaults(Activation::softplus), 0.0, 0.6931471805599453},
      {defaults(Activation::softplus), -3.0, 0.04858735157374206},
      {defaults(Activation::softplus), 25.0, 25.0},
      {params_of(Activation::softplus, 2.0f, 20.0f), 1.0, 1.0634640055214863},
      {params_of(Activation::softplus, 1.0f, 1.0f), 1.5, 1.5},
      {params_of(Activation::softplus, 1.0f, 1.0f), 0.5, 0.9740769841801067},
      {defaults(Activation::softsign), 3.0, 0.75},
      {defaults(Activation::softsign), -1.0, -0.5},
      {defaults(Activation::tanhshrink), 1.0, 0.23840584404423515},
      {defaults(Activation::tanhshrink), -2.0, -1.035972419924183},
      {defaults(Activation::gelu), 1.0, 0.8413447460685429},
      {defaults(Activation::gelu), -1.0, -0.15865525393145707},
      {defaults(Activation::gelu), 2.5, 2.4844758366855597},
      {defaults(Activation::gelu_tanh), 1.0, 0.8411919906082768},
      {defaults(Activation::gelu_tanh), -1.5, -0.10042842301976707},
  };
  for (const HandValue& row : table) {
    INFO(describe(row.params), " at x=", row.x);
    const double value = kernels::activation_value(row.params, row.x);
    CHECK(std::fabs(value - row.expected) <= 1e-12 + 1e-12 * std::fabs(row.expected));
    const float forward = ref_forward_one(row.params, static_cast<float>(row.x));
    CHECK(std::fabs(forward - row.expected) <= 1e-7 * (1.0 + std::fabs(row.expected)));
  }
}

TEST_CASE("ref activation backward matches hand-computed gradients, kinks as in PyTorch") {
  const ActivationParams hardtanh = defaults(Activation::hardtanh);
  const std::vector<HandValue> table = {
      {defaults(Activation::relu), 0.0, 0.0},
      {defaults(Activation::relu), -1.0, 0.0},
      {defaults(Activation::relu), 2.0, 1.0},
      {defaults(Activation::rrelu), 0.0, kSlopeRrelu},
      {defaults(Activation::rrelu), 1.0, 1.0},
      {defaults(Activation::leaky_relu), 0.0, 0.01},
      {defaults(Activation::leaky_relu), -1.0, 0.01},
      {hardtanh, -1.0, 0.0},
      {hardtanh, 1.0, 0.0},
      {hardtanh, 0.0, 1.0},
      {hardtanh, -0.999, 1.0},
      {defaults(Activation::relu6), 0.0, 0.0},
      {defaults(Activation::relu6), 6.0, 0.0},
      {defaults(Activation::relu6), 3.0, 1.0},
      {defaults(Activation::hardsigmoid), -3.0, 0.0},
      {defaults(Activation::hardsigmoid), 3.0, 0.0},
      {defaults(Activation::hardsigmoid), 0.0, 1.0 / 6.0},
      // PyTorch 1.13 (torch.nn.functional.hardswish(x).backward()): -0.5 at -3, 1.5 at 3.
      {defaults(Activation::hardswish), -3.0, -0.5},
      {defaults(Activation::hardswish), 3.0, 1.5},
      {defaults(Activation::hardswish), -3.0001, 0.0},
      {defaults(Activation::hardswish), 3.0001, 1.0},
      {defaults(Activation::hardswish), 0.0, 0.5},
      {defaults(Activation::hardswish), 1.0, 0.8333333333333333},
      {defaults(Activation::elu), 0.0, 1.0},
      {defaults(Activation::elu), -1.0, 0.36787944117144233},
      {params_of(Activation::elu, 0.5f, 0.0f), 0.0, 0.5},
      {params_of(Activation::celu, 2.0f, 0.0f), 0.0, 1.0},
      {params_of(Activation::celu, 2.0f, 0.0f), -1.0, 0.6065306597126334},
      {defaults(Activation::selu), 0.0, 1.7580993408473766},
      {defaults(Activation::selu), 1.0, 1.0507009873554805},
      {defaults(Activation::hardshrink), 0.5, 0.0},
      {defaults(Activation::hardshrink), -0.5, 0.0},
      {defaults(Activation::hardshrink), 0.6, 1.0},
      {defaults(Activation::sigmoid), 2.0, 0.10499358540350662},
      {defaults(Activation::tanh), 0.0, 1.0},
      {defaults(Activation::silu), 1.0, 0.9276705118714869},
      {defaults(Activation::mish), 1.0, 1.0490362200997922},
      {defaults(Activation::gelu), 1.0, 1.0833154705876864},
      {defaults(Activation::gelu_tanh), 0.0, 0.5},
      {defaults(Activation::logsigmoid), 2.0, 0.11920292202211755},
      {defaults(Activation::softplus), 20.0, 0.9999999979388463},
      {defaults(Activation::softplus), 21.0, 1.0},
      {defaults(Activation::softsign), 3.0, 0.0625},
      {defaults(Activation::softsign), 0.0, 1.0},
      {defaults(Activation::tanhshrink), 1.0, 0.5800256583859739},
  };
  for (const HandValue& row : table) {
    INFO(describe(row.params), " at x=", row.x);
    const float gradient = ref_derivative_one(row.params, static_cast<float>(row.x));
    CHECK(std::fabs(gradient - row.expected) <= 1e-7 * (1.0 + std::fabs(row.expected)));
  }
}

TEST_CASE("ref activation backward matches finite differences of the forward") {
  constexpr double kStep = 1e-5;
  for (const ActivationParams& params : parameter_sets()) {
    INFO(describe(params));
    std::vector<float> inputs;
    for (int k = 0; k < 121; ++k) {
      const double x = -6.0 + 0.0173 + 0.0997 * k;
      bool near_kink = false;
      for (double kink : kinks(params)) near_kink = near_kink || std::fabs(x - kink) < 1e-3;
      if (!near_kink) inputs.push_back(static_cast<float>(x));
    }
    const std::vector<float> diff_dst = pare::testing::random_floats(inputs.size(), 7, -2.0f, 2.0f);
    std::vector<float> diff_src(inputs.size());
    kernels::ref::activation_backward(params, inputs.data(), diff_dst.data(), diff_src.data(),
                                      static_cast<int64_t>(inputs.size()));
    std::vector<float> expected(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      const double x = inputs[i];
      const double slope = (kernels::activation_value(params, x + kStep) -
                            kernels::activation_value(params, x - kStep)) /
                           (2.0 * kStep);
      expected[i] = static_cast<float>(diff_dst[i] * slope);
    }
    check_close(diff_src, expected, inputs, 1e-5, 1e-6, "ref backward vs finite differences");
  }
}

TEST_CASE("ref forward is activation_value rounded to float") {
  for (const ActivationParams& params : parameter_sets()) {
    INFO(describe(params));
    const std::vector<float> inputs = test_inputs(params, 500, 3);
    std::vector<float> outputs(inputs.size());
    kernels::ref::activation_forward(params, inputs.data(), outputs.data(),
                                     static_cast<int64_t>(inputs.size()));
    for (size_t i = 0; i < inputs.size(); ++i) {
      REQUIRE(outputs[i] == static_cast<float>(kernels::activation_value(params, inputs[i])));
    }
  }
}

// oneDNN's JIT approximates exp/tanh/erf; for gelu its error reaches about 6e-7 absolute in the
// tails (1e-3 relative), which atol 1e-6 admits with |diff_dst| <= 1. No kind needs more.
TEST_CASE("cpu activations match ref on random buffers and edge values") {
  uint32_t seed = 100;
  for (const ActivationParams& params : parameter_sets()) {
    INFO(describe(params));
    const std::vector<float> inputs = test_inputs(params, 10000, seed++);
    const int64_t count = static_cast<int64_t>(inputs.size());
    std::vector<float> expected(inputs.size()), actual(inputs.size());
    kernels::ref::activation_forward(params, inputs.data(), expected.data(), count);
    kernels::cpu::activation_forward(params, inputs.data(), actual.data(), count);
    check_close(actual, expected, inputs, 1e-5, 1e-6, "cpu forward");

    const std::vector<float> diff_dst = pare::testing::random_floats(inputs.size(), seed++, -1, 1);
    kernels::ref::activation_backward(params, inputs.data(), diff_dst.data(), expected.data(),
                                      count);
    kernels::cpu::activation_backward(params, inputs.data(), diff_dst.data(), actual.data(), count);
    check_close(actual, expected, inputs, 1e-5, 1e-6, "cpu backward");
  }
}

TEST_CASE("cpu activations: multi-threaded sizes, in-place calls and empty buffers") {
  const std::vector<float> inputs = pare::testing::random_floats(70001, 11, -6.0f, 6.0f);
  const std::vector<float> diff_dst = pare::testing::random_floats(70001, 12, -1.0f, 1.0f);
  const int64_t count = static_cast<int64_t>(inputs.size());
  for (Activation kind : kAllActivations) {
    const ActivationParams params = defaults(kind);
    INFO(describe(params));
    std::vector<float> expected(inputs.size());
    kernels::ref::activation_forward(params, inputs.data(), expected.data(), count);
    std::vector<float> in_place = inputs;
    kernels::cpu::activation_forward(params, in_place.data(), in_place.data(), count);
    check_close(in_place, expected, inputs, 1e-5, 1e-6, "cpu forward in place");

    kernels::ref::activation_backward(params, inputs.data(), diff_dst.data(), expected.data(),
                                      count);
    in_place = diff_dst;
    kernels::cpu::activation_backward(params, inputs.data(), in_place.data(), in_place.data(),
                                      count);
    check_close(in_place, expected, inputs, 1e-5, 1e-6, "cpu backward in place");

    kernels::cpu::activation_forward(params, nullptr, nullptr, 0);
    kernels::cpu::activation_backward(params, nullptr, nullptr, nullptr, 0);
  }
}

TEST_CASE("activation arguments are validated") {
  float x = 1.0f, y = 0.0f;
  CHECK_THROWS_AS(
      kernels::ref::activation_forward(params_of(Activation::hardtanh, 1.0f, -1.0f), &x, &y, 1),
      pare::Error);
  CHECK_THROWS_AS(
      kernels::cpu::activation_forward(params_of(Activation::hardtanh, 1.0f, -1.0f), &x, &y, 1),
      pare::Error);
  CHECK_THROWS_AS(
      kernels::cpu::activation_forward(params_of(Activation::celu, 0.0f, 0.0f), &x, &y, 1),
      pare::Error);
  CHECK_THROWS_AS(
      kernels::cpu::activation_forward(params_of(Activation::softplus, 0.0f, 20.0f), &x, &y, 1),
      pare::Error);
  CHECK_THROWS_AS(kernels::activation_value(params_of(Activation::rrelu, 0.5f, 0.1f), 1.0),
                  pare::Error);
  CHECK_THROWS_AS(kernels::cpu::activation_forward(defaults(Activation::relu), &x, &y, -1),
                  pare::Error);
  try {
    kernels::cpu::activation_forward(params_of(Activation::hardtanh, 2.0f, 1.0f), &x, &y, 1);
    FAIL("expected pare::Error");
  } catch (const pare::Error& error) {
    CHECK(std::string(error.what()).find("hardtanh") != std::string::npos);
  }
}

TEST_CASE("ref prelu: hand values, per-channel leaky_relu and weight finite differences") {
  SUBCASE("one shared weight") {
    const std::vector<float> src = {-2.0f, 3.0f, -0.5f, 0.0f};
    const float weight = 0.25f;
    std::vector<float> dst(4);
    kernels::ref::prelu_forward(src.data(), &weight, 1, 1, 4, 1, dst.data());
    CHECK(dst == std::vector<float>{-0.5f, 3.0f, -0.125f, 0.0f});

    const std::vector<float> diff_dst = {1.0f, 2.0f, -4.0f, 8.0f};
    std::vector<float> diff_src(4);
    float diff_weight = 0.0f;
    kernels::ref::prelu_backward(src.data(), &weight, 1, 1, 4, 1, diff_dst.data(), diff_src.data(),
                                 &diff_weight);
    CHECK(diff_src == std::vector<float>{0.25f, 2.0f, -1.0f, 2.0f});
    CHECK(diff_weight == doctest::Approx(-2.0 * 1.0 + -0.5 * -4.0 + 0.0 * 8.0));
  }
  SUBCASE("one weight per channel") {
    const int64_t outer = 2, channels = 3, inner = 5;
    const int64_t count = outer * channels * inner;
    const std::vector<float> weight = {0.1f, -0.2f, 0.75f};
    const std::vector<float> src = pare::testing::random_floats(count, 21, -3.0f, 3.0f);
    const std::vector<float> diff_dst = pare::testing::random_floats(count, 22, -1.0f, 1.0f);
    std::vector<float> dst(count), diff_src(count), diff_weight(channels);
    kernels::ref::prelu_forward(src.data(), weight.data(), channels, outer, channels, inner,
                                dst.data());
    kernels::ref::prelu_backward(src.data(), weight.data(), channels, outer, channels, inner,
                                 diff_dst.data(), diff_src.data(), diff_weight.data());
    for (int64_t c = 0; c < channels; ++c) {
      const ActivationParams leaky = params_of(Activation::leaky_relu, weight[c], 0.0f);
      for (int64_t o = 0; o < outer; ++o) {
        const int64_t offset = (o * channels + c) * inner;
        std::vector<float> leaky_dst(inner), leaky_diff(inner);
        kernels::ref::activation_forward(leaky, src.data() + offset, leaky_dst.data(), inner);
        kernels::ref::activation_backward(leaky, src.data() + offset, diff_dst.data() + offset,
                                          leaky_diff.data(), inner);
        for (int64_t i = 0; i < inner; ++i) {
          CHECK(dst[offset + i] == leaky_dst[i]);
          CHECK(diff_src[offset + i] == leaky_diff[i]);
        }
      }
    }
    // The loss sum(diff_dst * prelu(src, w)) is linear in each weight, so a wide central
    // difference is exact up to float rounding of the outputs.
    for (int64_t c = 0; c < channels; ++c) {
      auto loss = [&](float shift) {
        std::vector<float> shifted = weight;
        shifted[c] += shift;
        std::vector<float> out(count);
        kernels::ref::prelu_forward(src.data(), shifted.data(), channels, outer, channels, inner,
                                    out.data());
        double sum = 0.0;
        for (int64_t i = 0; i < count; ++i) sum += static_cast<double>(diff_dst[i]) * out[i];
        return sum;
      };
      const double finite_difference = (loss(0.5f) - loss(-0.5f)) / 1.0;
      CHECK(diff_weight[c] == doctest::Approx(finite_difference).epsilon(1e-5));
    }
  }
}

TEST_CASE("cpu prelu matches ref for one and per-channel weights") {
  struct Shape {
    int64_t outer, channels, inner;
  };
  const std::vector<Shape> shapes = {{4, 16, 49}, {64, 8, 1}, {1, 3, 40000}, {2, 1, 7}, {0, 5, 3}};
  uint32_t seed = 300;
  for (const Shape& shape : shapes) {
    for (bool per_channel : {false, true}) {
      INFO("shape [", shape.outer, ", ", shape.channels, ", ", shape.inner, "], per_channel ",
           per_channel);
      const int64_t count = shape.outer * shape.channels * shape.inner;
      const int64_t num_weights = per_channel ? shape.channels : 1;
      const std::vector<float> weight =
          pare::testing::random_floats(num_weights, seed++, -0.5f, 0.5f);
      std::vector<float> src = pare::testing::random_floats(count, seed++, -6.0f, 6.0f);
      if (count > 2) {
        src[0] = 0.0f;
        src[1] = -0.0f;
      }
      const std::vector<float> diff_dst = pare::testing::random_floats(count, seed++, -1, 1);

      std::vector<float> expected(count), actual(count);
      kernels::ref::prelu_forward(src.data(), weight.data(), num_weights, shape.outer,
                                  shape.channels, shape.inner, expected.data());
      kernels::cpu::prelu_forward(src.data(), weight.data(), num_weights, shape.outer,
                                  shape.channels, shape.inner, actual.data());
      check_close(actual, expected, src, 1e-5, 1e-6, "cpu prelu forward");

      std::vector<float> expected_weight(num_weights), actual_weight(num_weights, -1.0f);
      kernels::ref::prelu_backward(src.data(), weight.data(), num_weights, shape.outer,
                                   shape.channels, shape.inner, diff_dst.data(), expected.data(),
                                   expected_weight.data());
      kernels::cpu::prelu_backward(src.data(), weight.data(), num_weights, shape.outer,
                                   shape.channels, shape.inner, diff_dst.data(), actual.data(),
                                   actual_weight.data());
      check_close(actual, expected, src, 1e-5, 1e-6, "cpu prelu backward diff_src");
      check_close(actual_weight, expected_weight, weight, 1e-5, 1e-5,
                  "cpu prelu backward diff_weight");
    }
  }
}

TEST_CASE("prelu arguments are validated") {
  const float src[6] = {}, weight[3] = {};
  float dst[6];
  CHECK_THROWS_AS(kernels::cpu::prelu_forward(src, weight, 2, 1, 3, 2, dst), pare::Error);
  CHECK_THROWS_AS(kernels::ref::prelu_forward(src, weight, 2, 1, 3, 2, dst), pare::Error);
  CHECK_THROWS_AS(kernels::cpu::prelu_forward(src, weight, 1, 1, 0, 2, dst), pare::Error);
}

TEST_CASE("rrelu training: slopes in [lower, upper), repeatable per seed, cpu equals ref") {
  const float lower = 1.0f / 8.0f, upper = 1.0f / 3.0f;
  std::vector<float> src = pare::testing::random_floats(50000, 31, -6.0f, 6.0f);
  src[0] = 0.0f;
  const int64_t count = static_cast<int64_t>(src.size());

  std::vector<float> dst(count), slopes(count);
  kernels::cpu::rrelu_forward_training(src.data(), dst.data(), slopes.data(), count, lower, upper,
                                       42);
  double slope_sum = 0.0;
  for (int64_t i = 0; i < count; ++i) {
    REQUIRE(slopes[i] >= lower);
    REQUIRE(slopes[i] < upper);
    REQUIRE(dst[i] == (src[i] > 0.0f ? src[i] : src[i] * slopes[i]));
    slope_sum += slopes[i];
  }
  // The mean of 50000 uniform draws is within 0.005 of the midpoint (about 20 standard errors).
  CHECK(std::fabs(slope_sum / count - (lower + upper) / 2.0) < 5e-3);

  std::vector<float> ref_dst(count), ref_slopes(count);
  kernels::ref::rrelu_forward_training(src.data(), ref_dst.data(), ref_slopes.data(), count, lower,
                                       upper, 42);
  CHECK(ref_slopes == slopes);
  CHECK(ref_dst == dst);

  std::vector<float> again_dst(count), again_slopes(count);
  kernels::cpu::rrelu_forward_training(src.data(), again_dst.data(), again_slopes.data(), count,
                                       lower, upper, 42);
  CHECK(again_slopes == slopes);
  kernels::cpu::rrelu_forward_training(src.data(), again_dst.data(), again_slopes.data(), count,
                                       lower, upper, 43);
  int64_t same = 0;
  for (int64_t i = 0; i < count; ++i) same += again_slopes[i] == slopes[i];
  CHECK(same < count / 100);

  const std::vector<float> diff_dst = pare::testing::random_floats(count, 32, -1.0f, 1.0f);
  std::vector<float> diff_src(count), ref_diff_src(count);
  kernels::cpu::rrelu_backward_training(src.data(), slopes.data(), diff_dst.data(), diff_src.data(),
                                        count);
  kernels::ref::rrelu_backward_training(src.data(), slopes.data(), diff_dst.data(),
                                        ref_diff_src.data(), count);
  CHECK(diff_src == ref_diff_src);
  CHECK(diff_src[0] == diff_dst[0] * slopes[0]);  // PyTorch gives x = 0 the random slope
  for (int64_t i = 1; i < count; ++i) {
    REQUIRE(diff_src[i] == (src[i] > 0.0f ? diff_dst[i] : diff_dst[i] * slopes[i]));
  }
}

TEST_CASE("rrelu training with lower == upper uses that slope; lower > upper is refused") {
  const std::vector<float> src = {-2.0f, 1.0f, -0.5f};
  std::vector<float> dst(3), slopes(3);
  kernels::cpu::rrelu_forward_training(src.data(), dst.data(), slopes.data(), 3, 0.2f, 0.2f, 1);
  CHECK(slopes == std::vector<float>{0.2f, 0.2f, 0.2f});
  CHECK(dst == std::vector<float>{-2.0f * 0.2f, 1.0f, -0.5f * 0.2f});
  CHECK_THROWS_AS(
      kernels::cpu::rrelu_forward_training(src.data(), dst.data(), slopes.data(), 3, 0.3f, 0.2f, 1),
      pare::Error);
  CHECK_THROWS_AS(
      kernels::ref::rrelu_forward_training(src.data(), dst.data(), slopes.data(), 3, 0.3f, 0.2f, 1),
      pare::Error);
}
