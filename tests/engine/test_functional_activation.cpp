// The functional activations: values against PyTorch's formulas evaluated in double here, the
// gradients PyTorch takes at the kinks, oneDNN (default) against the reference kernels, finite
// differences, prelu's weight broadcasting and rrelu's training mode, the generic pare::activation
// they share, and flatten / reshape.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "gradcheck.h"
#include "pare/pare.h"
#include "recording_observer.h"
#include "test_util.h"

namespace {

using pare::Tensor;
using pare::testing::gradcheck;
using pare::testing::random_floats;

// Routes every op to kernels/ref for its lifetime.
class ReferenceKernels {
 public:
  ReferenceKernels() { pare::set_reference_kernels(true); }
  ~ReferenceKernels() { pare::set_reference_kernels(false); }
};

double sigmoid_of(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double softplus_of(double x) { return std::log1p(std::exp(x)); }

struct ActivationCase {
  std::string name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> value;
  std::vector<double> kinks;  // where the derivative jumps
};

std::vector<ActivationCase> all_cases() {
  constexpr double kSeluScale = 1.0507009873554804934193349852946;
  constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
  constexpr double kPi = 3.14159265358979323846;
  return {
      {"relu",
       [](const Tensor& x) { return pare::relu(x); },
       [](double x) { return std::max(x, 0.0); },
       {0.0}},
      {"rrelu(eval, 0.1, 0.3)",
       [](const Tensor& x) { return pare::rrelu(x, 0.1, 0.3, false); },
       [](double x) { return x >= 0 ? x : 0.2 * x; },
       {0.0}},
      {"rrelu(eval, defaults)",
       [](const Tensor& x) { return pare::rrelu(x); },
       [](double x) { return x >= 0 ? x : (1.0 / 8 + 1.0 / 3) / 2 * x; },
       {0.0}},
      {"hardtanh",
       [](const Tensor& x) { return pare::hardtanh(x); },
       [](double x) { return std::clamp(x, -1.0, 1.0); },
       {-1.0, 1.0}},
      {"hardtanh(-0.5, 2)",
       [](const Tensor& x) { return pare::hardtanh(x, -0.5, 2.0); },
       [](double x) { return std::clamp(x, -0.5, 2.0); },
       {-0.5, 2.0}},
      {"relu6",
       [](const Tensor& x) { return pare::relu6(x); },
       [](double x) { return std::clamp(x, 0.0, 6.0); },
       {0.0, 6.0}},
      {"sigmoid", [](const Tensor& x) { return pare::sigmoid(x); }, sigmoid_of, {}},
      {"hardsigmoid",
       [](const Tensor& x) { return pare::hardsigmoid(x); },
       [](double x) { return std::clamp(x / 6.0 + 0.5, 0.0, 1.0); },
       {-3.0, 3.0}},
      {"tanh",
       [](const Tensor& x) { return pare::tanh(x); },
       [](double x) { return std::tanh(x); },
       {}},
      {"silu",
       [](const Tensor& x) { return pare::silu(x); },
       [](double x) { return x * sigmoid_of(x); },
       {}},
      {"mish",
       [](const Tensor& x) { return pare::mish(x); },
       [](double x) { return x * std::tanh(softplus_of(x)); },
       {}},
      {"hardswish",
       [](const Tensor& x) { return pare::hardswish(x); },
       [](double x) { return x * std::clamp(x + 3.0, 0.0, 6.0) / 6.0; },
       {-3.0, 3.0}},
      {"elu",
       [](const Tensor& x) { return pare::elu(x); },
       [](double x) { return x > 0 ? x : std::expm1(x); },
       {0.0}},
      {"elu(0.7)",
       [](const Tensor& x) { return pare::elu(x, 0.7); },
       [](double x) { return x > 0 ? x : 0.7 * std::expm1(x); },
       {0.0}},
      {"celu(1.5)",
       [](const Tensor& x) { return pare::celu(x, 1.5); },
       [](double x) { return std::max(0.0, x) + std::min(0.0, 1.5 * std::expm1(x / 1.5)); },
       {0.0}},
      {"selu",
       [](const Tensor& x) { return pare::selu(x); },
       [=](double x) { return kSeluScale * (x > 0 ? x : kSeluAlpha * std::expm1(x)); },
       {0.0}},
      {"hardshrink",
       [](const Tensor& x) { return pare::hardshrink(x); },
       [](double x) { return std::abs(x) > 0.5 ? x : 0.0; },
       {-0.5, 0.5}},
      {"hardshrink(0.3)",
       [](const Tensor& x) { return pare::hardshrink(x, 0.3); },
       [](double x) { return std::abs(x) > 0.3 ? x : 0.0; },
       {-0.3, 0.3}},
      {"leaky_relu",
       [](const Tensor& x) { return pare::leaky_relu(x); },
       [](double x) { return x > 0 ? x : 0.01 * x; },
       {0.0}},
      {"leaky_relu(0.2)",
       [](const Tensor& x) { return pare::leaky_relu(x, 0.2); },
       [](double x) { return x > 0 ? x : 0.2 * x; },
       {0.0}},
      {"logsigmoid",
       [](const Tensor& x) { return pare::logsigmoid(x); },
       [](double x) { return -softplus_of(-x); },
       {}},
      {"softplus", [](const Tensor& x) { return pare::softplus(x); }, softplus_of, {}},
      {"softplus(2, 3)",
       [](const Tensor& x) { return pare::softplus(x, 2.0, 3.0); },
       [](double x) { return 2.0 * x > 3.0 ? x : softplus_of(2.0 * x) / 2.0; },
       {1.5}},
      {"softsign",
       [](const Tensor& x) { return pare::softsign(x); },
       [](double x) { return x / (1.0 + std::abs(x)); },
       {}},
      {"tanhshrink",
       [](const Tensor& x) { return pare::tanhshrink(x); },
       [](double x) { return x - std::tanh(x); },
       {}},
      {"gelu",
       [](const Tensor& x) { return pare::gelu(x); },
       [](double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); },
       {}},
      {"gelu(tanh)",
       [](const Tensor& x) { return pare::gelu(x, "tanh"); },
       [=](double x) {
         return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / kPi) * (x + 0.044715 * x * x * x)));
       },
       {}},
  };
}

// Seeded inputs in [-limit, limit), nudged away from the kinks so that finite differences are
// valid there.
std::vector<float> inputs_away_from(const std::vector<double>& kinks, size_t count, uint32_t seed,
                                    float limit = 5.0f) {
  std::vector<float> values = random_floats(count, seed, -limit, limit);
  for (float& value : values) {
    for (double kink : kinks) {
      if (std::abs(value - kink) < 0.05) value = static_cast<float>(kink + 0.1);
    }
  }
  return values;
}

// Forward values and the input gradient for a seeded output gradient.
struct ForwardBackward {
  std::vector<float> output;
  std::vector<float> grad;
};

ForwardBackward run_with_grad(const std::function<Tensor(const Tensor&)>& op,
                              const std::vector<float>& values, const pare::Shape& shape) {
  Tensor x = pare::tensor(values, shape).set_requires_grad(true);
  Tensor y = op(x);
  y.backward(pare::tensor(random_floats(values.size(), 99), shape));
  return {pare::to_float_vector(y), pare::to_float_vector(x.grad())};
}

TEST_CASE("activations match PyTorch's formulas") {
  const std::vector<float> points = {-7.0f, -3.5f, -2.0f, -1.2f, -0.4f, -0.1f, 0.0f,
                                     0.2f,  0.45f, 1.0f,  1.7f,  2.5f,  4.0f,  8.0f};
  for (const ActivationCase& c : all_cases()) {
    CAPTURE(c.name);
    Tensor y = c.op(pare::tensor(points, {2, 7}));
    REQUIRE(y.sizes() == pare::Shape{2, 7});
    std::vector<float> got = pare::to_float_vector(y);
    for (size_t i = 0; i < points.size(); ++i) {
      CAPTURE(points[i]);
      CHECK(got[i] == doctest::Approx(c.value(points[i])).epsilon(1e-5).scale(1.0));
    }
  }
}

TEST_CASE("activations: a few values written out by hand") {
  auto values = [](const Tensor& y) { return pare::to_float_vector(y); };
  const Tensor x = pare::tensor({-2.0f, 0.0f, 1.0f, 7.0f});
  CHECK(values(pare::relu(x)) == std::vector<float>{0.0f, 0.0f, 1.0f, 7.0f});
  CHECK(values(pare::relu6(x)) == std::vector<float>{0.0f, 0.0f, 1.0f, 6.0f});
  CHECK(values(pare::hardtanh(x)) == std::vector<float>{-1.0f, 0.0f, 1.0f, 1.0f});
  std::vector<float> leaky = values(pare::leaky_relu(x, 0.2));
  CHECK(leaky[0] == doctest::Approx(-0.4));
  CHECK(leaky[3] == 7.0f);
  std::vector<float> hardswish = values(pare::hardswish(x));
  CHECK(hardswish[0] == doctest::Approx(-2.0 * 1.0 / 6.0));
  CHECK(hardswish[2] == doctest::Approx(4.0 / 6.0));
  CHECK(values(pare::hardsigmoid(x))[1] == doctest::Approx(0.5));
  CHECK(values(pare::sigmoid(x))[1] == doctest::Approx(0.5));
  CHECK(values(pare::softsign(x))[0] == doctest::Approx(-2.0 / 3.0));
  CHECK(values(pare::selu(x))[2] == doctest::Approx(1.0507009873554805));
  CHECK(values(pare::hardshrink(x, 1.5))[2] == 0.0f);
  CHECK(values(pare::gelu(x))[2] == doctest::Approx(0.8413447460685429));
  // Tensor's methods go through the same ops.
  CHECK(values(x.relu()) == values(pare::relu(x)));
  CHECK(values(x.sigmoid()) == values(pare::sigmoid(x)));
  CHECK(values(x.tanh()) == values(pare::tanh(x)));
}

TEST_CASE("activations take PyTorch's gradient at the kinks") {
  auto grad_at = [](const std::function<Tensor(const Tensor&)>& op, float point) {
    Tensor x = pare::tensor({point}).set_requires_grad(true);
    op(x).sum().backward();
    return x.grad().item<float>();
  };
  CHECK(grad_at([](const Tensor& x) { return pare::relu(x); }, 0.0f) == 0.0f);
  CHECK(grad_at([](const Tensor& x) { return pare::hardtanh(x); }, 1.0f) == 0.0f);
  CHECK(grad_at([](const Tensor& x) { return pare::hardtanh(x); }, -1.0f) == 0.0f);
  CHECK(grad_at([](const Tensor& x) { return pare::relu6(x); }, 6.0f) == 0.0f);
  CHECK(grad_at([](const Tensor& x) { return pare::leaky_relu(x, 0.2); }, 0.0f) ==
        doctest::Approx(0.2));
  CHECK(grad_at([](const Tensor& x) { return pare::hardshrink(x); }, 0.5f) == 0.0f);
}

TEST_CASE("activations: oneDNN path matches the reference kernels") {
  const pare::Shape shape = {5, 41};
  for (const ActivationCase& c : all_cases()) {
    CAPTURE(c.name);
    std::vector<float> values = inputs_away_from(c.kinks, 5 * 41, 3);
    ForwardBackward fast = run_with_grad(c.op, values, shape);
    ForwardBackward reference;
    {
      ReferenceKernels use_reference;
      reference = run_with_grad(c.op, values, shape);
    }
    CHECK(pare::testing::allclose(fast.output, reference.output, 1e-5, 1e-5));
    CHECK(pare::testing::allclose(fast.grad, reference.grad, 1e-5, 1e-5));
  }
}

TEST_CASE("activations: gradients match finite differences") {
  for (const ActivationCase& c : all_cases()) {
    CAPTURE(c.name);
    // Away from the large-|x| tails, where float32 differences lose every digit.
    std::vector<float> values = inputs_away_from(c.kinks, 24, 5, 4.0f);
    Tensor x = pare::tensor(values, {4, 6}).set_requires_grad(true);
    auto op = c.op;
    CHECK(gradcheck([op](const std::vector<Tensor>& in) { return op(in[0]); }, {x}));
  }
}

TEST_CASE("activations keep any shape and read strided inputs") {
  Tensor base = pare::tensor(random_floats(24, 11, -2.0f, 2.0f), {2, 3, 4});
  Tensor strided = base.transpose(0, 2);
  Tensor y = pare::gelu(strided);
  CHECK(y.sizes() == pare::Shape{4, 3, 2});
  CHECK(pare::to_float_vector(y) == pare::to_float_vector(pare::gelu(strided.contiguous())));
  Tensor scalar = pare::scalar_tensor(-1.0);
  CHECK(pare::elu(scalar).dim() == 0);
  CHECK(pare::elu(scalar).item<float>() == doctest::Approx(std::expm1(-1.0)));
  CHECK(pare::relu(pare::zeros({0, 3})).sizes() == pare::Shape{0, 3});
}

TEST_CASE("activation argument errors name the op") {
  Tensor x = pare::tensor({1.0f, -1.0f});
  CHECK_THROWS_WITH_AS(pare::gelu(x, "erf"), doctest::Contains("gelu"), pare::Error);
  CHECK_THROWS_WITH_AS(pare::hardtanh(x, 1.0, -1.0), doctest::Contains("hardtanh"), pare::Error);
  CHECK_THROWS_WITH_AS(pare::relu(pare::tensor(std::vector<int64_t>{1, 2})),
                       doctest::Contains("relu"), pare::Error);
}

TEST_CASE("pare::activation: the kernels' activation, its gradient, and its report") {
  using pare::kernels::Activation;
  const Tensor x = pare::tensor({-2.0f, -0.5f, 0.0f, 1.5f}).requires_grad_();
  pare::testing::RecordingObserver recorder;
  Tensor y;
  {
    pare::ObserverGuard guard(&recorder);
    y = pare::activation(x, pare::kernels::activation_params(Activation::leaky_relu, 0.25),
                         {{"negative_slope", 0.25}});
  }
  CHECK(pare::testing::values(y) == std::vector<float>{-0.5f, -0.125f, 0.0f, 1.5f});
  y.sum().backward();
  // leaky_relu tests x > 0: the kink takes the slope.
  CHECK(pare::testing::values(x.grad()) == std::vector<float>{0.25f, 0.25f, 0.25f, 1.0f});
  REQUIRE(recorder.calls.size() == 1);
  CHECK(recorder.calls[0].name == "leaky_relu");
  CHECK(recorder.calls[0].attrs == pare::Attrs{{"negative_slope", 0.25}});
  CHECK(recorder.calls[0].input_count == 1);

  // Both GELU kinds report as "gelu"; the arguments are the caller's.
  recorder.calls.clear();
  {
    pare::ObserverGuard guard(&recorder);
    pare::activation(x, pare::kernels::default_activation_params(Activation::gelu_tanh),
                     {{"approximate", std::string("tanh")}});
  }
  REQUIRE(recorder.calls.size() == 1);
  CHECK(recorder.calls[0].name == "gelu");
  CHECK(recorder.calls[0].attrs == pare::Attrs{{"approximate", std::string("tanh")}});

  // Out-of-domain numbers are refused with the op's name.
  CHECK_THROWS_WITH_AS(pare::activation(x, pare::kernels::activation_params(Activation::celu, 0.0)),
                       doctest::Contains("celu"), pare::Error);
}

TEST_CASE("prelu broadcasts its weight over dim 1") {
  // x [2, 3, 2]: channel c uses weight[c] where x <= 0.
  std::vector<float> values = {-1, 2, -3, 4, -5, 6, 7, -8, 9, -10, 11, -12};
  Tensor x = pare::tensor(values, {2, 3, 2});
  Tensor weight = pare::tensor({0.1f, 0.2f, 0.3f});
  std::vector<float> expected = {-0.1f, 2, -0.6f, 4, -1.5f, 6, 7, -0.8f, 9, -2.0f, 11, -3.6f};
  std::vector<float> got = pare::to_float_vector(pare::prelu(x, weight));
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(expected[i]));

  std::vector<float> shared = pare::to_float_vector(pare::prelu(x, pare::tensor({0.5f})));
  CHECK(shared[0] == doctest::Approx(-0.5));
  CHECK(shared[11] == doctest::Approx(-6.0));
  // Rank < 2: a single channel, so only a one-element weight fits (as in PyTorch).
  std::vector<float> flat =
      pare::to_float_vector(pare::prelu(pare::tensor({-2.0f, 3.0f}), pare::tensor({0.25f})));
  CHECK(flat == std::vector<float>{-0.5f, 3.0f});
}

TEST_CASE("prelu gradients for input and weight") {
  std::vector<float> values = inputs_away_from({0.0}, 2 * 3 * 4, 21);
  Tensor x = pare::tensor(values, {2, 3, 4}).set_requires_grad(true);
  Tensor weight = pare::tensor({0.1f, -0.3f, 0.7f}).set_requires_grad(true);
  auto op = [](const std::vector<Tensor>& in) { return pare::prelu(in[0], in[1]); };
  CHECK(gradcheck(op, {x, weight}));
  Tensor shared = pare::tensor({0.4f}).set_requires_grad(true);
  CHECK(gradcheck(op, {x, shared}));

  // Hand-computed: d/dw sums x * dy over x <= 0 in the channel.
  Tensor small = pare::tensor({-1.0f, 2.0f, -3.0f, 4.0f}, {1, 2, 2});
  Tensor w = pare::tensor({0.5f, 0.5f}).set_requires_grad(true);
  Tensor xs = small.detach().set_requires_grad(true);
  pare::prelu(xs, w).sum().backward();
  CHECK(pare::to_float_vector(w.grad()) == std::vector<float>{-1.0f, -3.0f});
  CHECK(pare::to_float_vector(xs.grad()) == std::vector<float>{0.5f, 1.0f, 0.5f, 1.0f});
}

TEST_CASE("prelu: oneDNN path matches the reference kernels") {
  std::vector<float> values = random_floats(3 * 5 * 7, 8, -2.0f, 2.0f);
  std::vector<float> weights = random_floats(5, 9, -0.5f, 0.5f);
  auto run = [&]() {
    Tensor x = pare::tensor(values, {3, 5, 7}).set_requires_grad(true);
    Tensor w = pare::tensor(weights).set_requires_grad(true);
    Tensor y = pare::prelu(x, w);
    y.backward(pare::tensor(random_floats(values.size(), 10), {3, 5, 7}));
    return std::vector<std::vector<float>>{
        pare::to_float_vector(y), pare::to_float_vector(x.grad()), pare::to_float_vector(w.grad())};
  };
  auto fast = run();
  std::vector<std::vector<float>> reference;
  {
    ReferenceKernels use_reference;
    reference = run();
  }
  for (size_t i = 0; i < fast.size(); ++i) {
    CHECK(pare::testing::allclose(fast[i], reference[i], 1e-5, 1e-5));
  }
}

TEST_CASE("prelu rejects a weight that fits no channel count") {
  Tensor x = pare::zeros({2, 3, 4});
  try {
    pare::prelu(x, pare::ones({4}));
    FAIL("expected pare::Error");
  } catch (const pare::Error& error) {
    std::string message = error.what();
    CHECK(message.find("prelu") != std::string::npos);
    CHECK(message.find("[4]") != std::string::npos);
    CHECK(message.find("[2, 3, 4]") != std::string::npos);
  }
  CHECK_THROWS_AS(pare::prelu(pare::zeros({3}), pare::ones({3})), pare::Error);
  CHECK_THROWS_AS(pare::prelu(x, pare::ones({3, 1})), pare::Error);
}

TEST_CASE("rrelu in training draws one slope per element in [lower, upper)") {
  std::vector<float> values = inputs_away_from({0.0}, 2000, 12);
  Tensor x = pare::tensor(values, {40, 50});
  pare::manual_seed(1);
  std::vector<float> first = pare::to_float_vector(pare::rrelu(x, 0.1, 0.3, true));
  pare::manual_seed(1);
  std::vector<float> again = pare::to_float_vector(pare::rrelu(x, 0.1, 0.3, true));
  std::vector<float> next = pare::to_float_vector(pare::rrelu(x, 0.1, 0.3, true));
  CHECK(first == again);
  CHECK(first != next);
  double slope_sum = 0.0;
  int negatives = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] > 0) {
      CHECK(first[i] == values[i]);
    } else {
      const double slope = first[i] / values[i];
      CHECK(slope >= 0.1 - 1e-6);
      CHECK(slope < 0.3 + 1e-6);
      slope_sum += slope;
      ++negatives;
    }
  }
  REQUIRE(negatives > 500);
  CHECK(slope_sum / negatives == doctest::Approx(0.2).epsilon(0.02));
}

TEST_CASE("rrelu in training: gradient is the drawn slope, same on both kernel paths") {
  std::vector<float> values = inputs_away_from({0.0}, 60, 13);
  auto op = [](const Tensor& x) {
    pare::manual_seed(5);
    return pare::rrelu(x, 0.05, 0.4, true);
  };
  ForwardBackward fast = run_with_grad(op, values, {6, 10});
  ForwardBackward reference;
  {
    ReferenceKernels use_reference;
    reference = run_with_grad(op, values, {6, 10});
  }
  CHECK(fast.output == reference.output);
  CHECK(fast.grad == reference.grad);

  Tensor x = pare::tensor(values, {6, 10}).set_requires_grad(true);
  CHECK(gradcheck([op](const std::vector<Tensor>& in) { return op(in[0]); }, {x}));
}

TEST_CASE("flatten and reshape are views with torch's semantics") {
  Tensor x = pare::tensor(random_floats(2 * 3 * 4 * 5, 14), {2, 3, 4, 5});
  CHECK(pare::flatten(x).sizes() == pare::Shape{120});
  CHECK(pare::flatten(x, 1).sizes() == pare::Shape{2, 60});
  CHECK(pare::flatten(x, 1, 2).sizes() == pare::Shape{2, 12, 5});
  CHECK(pare::flatten(x, -2).sizes() == pare::Shape{2, 3, 20});
  CHECK(pare::reshape(x, {6, -1}).sizes() == pare::Shape{6, 20});
  CHECK(pare::flatten(x, 1).storage().data() == x.storage().data());
  CHECK(pare::to_float_vector(pare::reshape(x, {-1})) == pare::to_float_vector(x));
  CHECK_THROWS_AS(pare::reshape(x, {7, -1}), pare::Error);

  Tensor leaf = pare::tensor(random_floats(12, 15), {2, 3, 2}).set_requires_grad(true);
  CHECK(gradcheck([](const std::vector<Tensor>& in) { return pare::flatten(in[0], 1); }, {leaf}));
  CHECK(gradcheck(
      [](const std::vector<Tensor>& in) {
        return pare::reshape(in[0], {3, 4});
      },
      {leaf}));
}

}  // namespace
