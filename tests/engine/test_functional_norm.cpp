// softmax / log_softmax, layer_norm, batch_norm and dropout: values against hand-computed ones and
// naive double-precision loops written here, oneDNN (default) against the reference kernels,
// finite differences for every differentiable input, running statistics and error messages.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "gradcheck.h"
#include "pare/pare.h"
#include "test_util.h"

namespace {

using pare::Shape;
using pare::Tensor;
using pare::testing::contains;
using pare::testing::error_of;
using pare::testing::gradcheck;
using pare::testing::random_floats;

// Routes every op to kernels/ref for its lifetime.
class ReferenceKernels {
 public:
  ReferenceKernels() { pare::set_reference_kernels(true); }
  ~ReferenceKernels() { pare::set_reference_kernels(false); }
};

std::vector<float> values_of(const Tensor& tensor) { return pare::to_float_vector(tensor); }

Tensor leaf(const std::vector<float>& values, const Shape& shape) {
  return pare::tensor(values, shape).set_requires_grad(true);
}

// Runs `op` on fresh leaves built from `values`, back-propagates a seeded gradient and returns
// the output followed by every input's gradient (empty where an input got none).
std::vector<std::vector<float>> outputs_and_grads(
    const std::function<Tensor(const std::vector<Tensor>&)>& op,
    const std::vector<std::vector<float>>& values, const std::vector<Shape>& shapes) {
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < values.size(); ++i) inputs.push_back(leaf(values[i], shapes[i]));
  Tensor y = op(inputs);
  y.backward(pare::tensor(random_floats(y.numel(), 77), y.sizes()));
  std::vector<std::vector<float>> result = {values_of(y)};
  for (const Tensor& input : inputs) {
    result.push_back(input.grad().defined() ? values_of(input.grad()) : std::vector<float>{});
  }
  return result;
}

// The same computation on the oneDNN path and on the reference kernels must agree.
void check_paths_agree(const std::function<Tensor(const std::vector<Tensor>&)>& op,
                       const std::vector<std::vector<float>>& values,
                       const std::vector<Shape>& shapes, double tolerance = 1e-5) {
  auto fast = outputs_and_grads(op, values, shapes);
  std::vector<std::vector<float>> reference;
  {
    ReferenceKernels use_reference;
    reference = outputs_and_grads(op, values, shapes);
  }
  REQUIRE(fast.size() == reference.size());
  for (size_t i = 0; i < fast.size(); ++i) {
    CAPTURE(i);
    CHECK(pare::testing::allclose(fast[i], reference[i], tolerance, tolerance));
  }
}

// ----------------------------------------------------------------------------------- softmax

// Softmax over `dim` of a contiguous tensor, in double.
std::vector<double> naive_softmax(const std::vector<float>& x, const Shape& shape, int64_t dim,
                                  bool log) {
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < dim; ++i) outer *= shape[i];
  for (size_t i = dim + 1; i < shape.size(); ++i) inner *= shape[i];
  const int64_t axis = shape[dim];
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t a) { return (o * axis + a) * inner + i; };
      double largest = x[at(0)];
      for (int64_t a = 1; a < axis; ++a) largest = std::max(largest, double{x[at(a)]});
      double total = 0.0;
      for (int64_t a = 0; a < axis; ++a) total += std::exp(x[at(a)] - largest);
      for (int64_t a = 0; a < axis; ++a) {
        const double shifted = x[at(a)] - largest;
        y[at(a)] = log ? shifted - std::log(total) : std::exp(shifted) / total;
      }
    }
  }
  return y;
}

TEST_CASE("softmax and log_softmax: hand-computed values") {
  Tensor x = pare::tensor({1.0f, 2.0f, 3.0f});
  std::vector<float> probabilities = values_of(pare::softmax(x, 0));
  CHECK(probabilities[0] == doctest::Approx(0.09003057317));
  CHECK(probabilities[1] == doctest::Approx(0.24472847105));
  CHECK(probabilities[2] == doctest::Approx(0.66524095577));
  std::vector<float> log_probabilities = values_of(pare::log_softmax(x, -1));
  CHECK(log_probabilities[0] == doctest::Approx(-2.40760596444));
  CHECK(log_probabilities[2] == doctest::Approx(-0.40760596444));
  // Large logits must not overflow.
  std::vector<float> large = values_of(pare::softmax(pare::tensor({1000.0f, 1000.0f}), 0));
  CHECK(large[0] == doctest::Approx(0.5));
  CHECK(pare::softmax(pare::scalar_tensor(3.0), 0).item<float>() == doctest::Approx(1.0));
}

TEST_CASE("softmax and log_softmax over every dim match a naive loop") {
  const Shape shape = {3, 4, 5};
  std::vector<float> values = random_floats(60, 31, -3.0f, 3.0f);
  for (bool log : {false, true}) {
    for (int64_t dim = 0; dim < 3; ++dim) {
      CAPTURE(log);
      CAPTURE(dim);
      Tensor x = pare::tensor(values, shape);
      // Negative dims count from the end.
      Tensor y = log ? pare::log_softmax(x, dim - 3) : pare::softmax(x, dim - 3);
      std::vector<double> expected = naive_softmax(values, shape, dim, log);
      std::vector<float> got = values_of(y);
      for (size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i] == doctest::Approx(expected[i]).epsilon(1e-5).scale(1.0));
      }
    }
  }
}

TEST_CASE("softmax and log_softmax: oneDNN path matches the reference kernels") {
  const Shape shape = {4, 7, 6};
  std::vector<float> values = random_floats(4 * 7 * 6, 32, -4.0f, 4.0f);
  for (int64_t dim : {0, 1, 2}) {
    CAPTURE(dim);
    check_paths_agree([dim](const std::vector<Tensor>& in) { return pare::softmax(in[0], dim); },
                      {values}, {shape});
    check_paths_agree(
        [dim](const std::vector<Tensor>& in) { return pare::log_softmax(in[0], dim); }, {values},
        {shape});
  }
}

TEST_CASE("softmax and log_softmax gradients match finite differences") {
  for (int64_t dim : {0, 1, -1}) {
    CAPTURE(dim);
    Tensor x = leaf(random_floats(24, 33, -2.0f, 2.0f), {2, 3, 4});
    CHECK(
        gradcheck([dim](const std::vector<Tensor>& in) { return pare::softmax(in[0], dim); }, {x}));
    CHECK(gradcheck([dim](const std::vector<Tensor>& in) { return pare::log_softmax(in[0], dim); },
                    {x}));
  }
}

TEST_CASE("softmax reads strided inputs and rejects a bad dim") {
  Tensor base = pare::tensor(random_floats(12, 34), {3, 4});
  Tensor transposed = base.t();
  CHECK(values_of(pare::softmax(transposed, 1)) ==
        values_of(pare::softmax(transposed.contiguous(), 1)));
  CHECK_THROWS_WITH_AS(pare::softmax(base, 2), doctest::Contains("softmax"), pare::Error);
  CHECK_THROWS_WITH_AS(pare::log_softmax(base, -3), doctest::Contains("log_softmax"), pare::Error);
}

// -------------------------------------------------------------------------------- layer_norm

// Layer norm of each row of [rows, cols] in double; weight/bias may be empty.
std::vector<double> naive_layer_norm(const std::vector<float>& x, int64_t cols,
                                     const std::vector<float>& weight,
                                     const std::vector<float>& bias, double eps) {
  const int64_t rows = static_cast<int64_t>(x.size()) / cols;
  std::vector<double> y(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0.0, variance = 0.0;
    for (int64_t c = 0; c < cols; ++c) mean += x[r * cols + c];
    mean /= cols;
    for (int64_t c = 0; c < cols; ++c) variance += std::pow(x[r * cols + c] - mean, 2);
    variance /= cols;
    for (int64_t c = 0; c < cols; ++c) {
      double value = (x[r * cols + c] - mean) / std::sqrt(variance + eps);
      if (!weight.empty()) value *= weight[c];
      if (!bias.empty()) value += bias[c];
      y[r * cols + c] = value;
    }
  }
  return y;
}

TEST_CASE("layer_norm: hand-computed values") {
  // mean 2.5, biased variance 1.25.
  Tensor x = pare::tensor({1.0f, 2.0f, 3.0f, 4.0f}, {1, 4});
  std::vector<float> y = values_of(pare::layer_norm(x, {4}));
  const double rstd = 1.0 / std::sqrt(1.25 + 1e-5);
  CHECK(y[0] == doctest::Approx(-1.5 * rstd));
  CHECK(y[3] == doctest::Approx(1.5 * rstd));
  Tensor weight = pare::tensor({1.0f, 2.0f, 3.0f, 4.0f});
  Tensor bias = pare::tensor({0.5f, 0.5f, 0.5f, 0.5f});
  std::vector<float> affine = values_of(pare::layer_norm(x, {4}, weight, bias, 0.0));
  CHECK(affine[1] == doctest::Approx(-0.5 / std::sqrt(1.25) * 2.0 + 0.5));
}

TEST_CASE("layer_norm over trailing dims with any leading dims matches a naive loop") {
  const Shape shape = {2, 3, 4, 5};
  std::vector<float> values = random_floats(120, 41, -2.0f, 3.0f);
  std::vector<float> weight = random_floats(20, 42, 0.5f, 1.5f);
  std::vector<float> bias = random_floats(20, 43);
  Tensor y = pare::layer_norm(pare::tensor(values, shape), {4, 5}, pare::tensor(weight, {4, 5}),
                              pare::tensor(bias, {4, 5}), 1e-3);
  CHECK(y.sizes() == shape);
  std::vector<double> expected = naive_layer_norm(values, 20, weight, bias, 1e-3);
  std::vector<float> got = values_of(y);
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i] == doctest::Approx(expected[i]).epsilon(1e-5).scale(1.0));
  }
  std::vector<double> plain = naive_layer_norm(values, 5, {}, {}, 1e-5);
  std::vector<float> got_plain = values_of(pare::layer_norm(pare::tensor(values, shape), {5}));
  for (size_t i = 0; i < got_plain.size(); ++i) {
    CHECK(got_plain[i] == doctest::Approx(plain[i]).epsilon(1e-5).scale(1.0));
  }
}

TEST_CASE("layer_norm: oneDNN path matches the reference kernels") {
  const Shape shape = {6, 4, 8};
  std::vector<float> values = random_floats(6 * 4 * 8, 44, -3.0f, 3.0f);
  std::vector<float> weight = random_floats(32, 45, 0.5f, 1.5f);
  std::vector<float> bias = random_floats(32, 46);
  check_paths_agree(
      [](const std::vector<Tensor>& in) {
        return pare::layer_norm(in[0], {4, 8}, in[1], in[2]);
      },
      {values, weight, bias}, {shape, {4, 8}, {4, 8}}, 1e-4);
  check_paths_agree([](const std::vector<Tensor>& in) { return pare::layer_norm(in[0], {8}); },
                    {values}, {shape}, 1e-4);
}

TEST_CASE("layer_norm gradients for input, weight and bias match finite differences") {
  Tensor x = leaf(random_floats(2 * 3 * 4, 47, -2.0f, 2.0f), {2, 3, 4});
  Tensor weight = leaf(random_floats(12, 48, 0.5f, 1.5f), {3, 4});
  Tensor bias = leaf(random_floats(12, 49), {3, 4});
  CHECK(gradcheck(
      [](const std::vector<Tensor>& in) {
        return pare::layer_norm(in[0], {3, 4}, in[1], in[2]);
      },
      {x, weight, bias}));
  Tensor x_only = leaf(random_floats(15, 50, -2.0f, 2.0f), {3, 5});
  CHECK(gradcheck([](const std::vector<Tensor>& in) { return pare::layer_norm(in[0], {5}); },
                  {x_only}));
  Tensor row_weight = leaf(random_floats(5, 51, 0.5f, 1.5f), {5});
  CHECK(gradcheck([](const std::vector<Tensor>& in) { return pare::layer_norm(in[0], {5}, in[1]); },
                  {x_only, row_weight}));
}

TEST_CASE("layer_norm errors name the op and the shapes") {
  Tensor x = pare::zeros({2, 3, 4});
  std::string wrong_weight = error_of([&] { pare::layer_norm(x, {4}, pare::ones({3})); });
  CHECK(contains(wrong_weight, "layer_norm"));
  CHECK(contains(wrong_weight, "[3]"));
  CHECK(contains(wrong_weight, "[4]"));
  std::string wrong_shape = error_of([&] { pare::layer_norm(x, {3}); });
  CHECK(contains(wrong_shape, "layer_norm"));
  CHECK(contains(wrong_shape, "[2, 3, 4]"));
  CHECK(contains(error_of([&] { pare::layer_norm(x, {4}, Tensor(), pare::ones({5})); }), "bias"));
}

// -------------------------------------------------------------------------------- batch_norm

struct NaiveBatchNorm {
  std::vector<double> output, mean, biased_var;
};

// Batch norm of [batch, channels, spatial] with either the batch's or the given statistics.
NaiveBatchNorm naive_batch_norm(const std::vector<float>& x, int64_t batch, int64_t channels,
                                const std::vector<float>& weight, const std::vector<float>& bias,
                                const std::vector<float>& given_mean,
                                const std::vector<float>& given_var, double eps) {
  const int64_t spatial = static_cast<int64_t>(x.size()) / (batch * channels);
  NaiveBatchNorm result{std::vector<double>(x.size()), std::vector<double>(channels),
                        std::vector<double>(channels)};
  for (int64_t c = 0; c < channels; ++c) {
    auto index = [&](int64_t n, int64_t s) { return (n * channels + c) * spatial + s; };
    double mean = 0.0, variance = 0.0;
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t s = 0; s < spatial; ++s) mean += x[index(n, s)];
    mean /= batch * spatial;
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t s = 0; s < spatial; ++s) variance += std::pow(x[index(n, s)] - mean, 2);
    variance /= batch * spatial;
    result.mean[c] = mean;
    result.biased_var[c] = variance;
    const double use_mean = given_mean.empty() ? mean : given_mean[c];
    const double use_var = given_var.empty() ? variance : given_var[c];
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t s = 0; s < spatial; ++s) {
        result.output[index(n, s)] =
            (x[index(n, s)] - use_mean) / std::sqrt(use_var + eps) * weight[c] + bias[c];
      }
    }
  }
  return result;
}

TEST_CASE("batch_norm training: hand-computed values and running statistics") {
  // Channel 0 holds {1, 3, 5}: mean 3, biased variance 8/3, unbiased 4.
  // Channel 1 holds {2, 2, 8}: mean 4, biased variance 8, unbiased 12.
  Tensor x = pare::tensor({1.0f, 2.0f, 3.0f, 2.0f, 5.0f, 8.0f}, {3, 2});
  Tensor running_mean = pare::tensor({1.0f, -1.0f});
  Tensor running_var = pare::tensor({2.0f, 0.5f});
  Tensor weight = pare::tensor({1.0f, 2.0f});
  Tensor bias = pare::tensor({0.0f, 1.0f});
  std::vector<float> y =
      values_of(pare::batch_norm(x, running_mean, running_var, weight, bias, true, 0.1, 0.0));
  CHECK(y[0] == doctest::Approx(-2.0 / std::sqrt(8.0 / 3.0)));
  CHECK(y[4] == doctest::Approx(2.0 / std::sqrt(8.0 / 3.0)));
  CHECK(y[1] == doctest::Approx(-2.0 / std::sqrt(8.0) * 2.0 + 1.0));
  CHECK(y[5] == doctest::Approx(4.0 / std::sqrt(8.0) * 2.0 + 1.0));
  std::vector<float> new_mean = values_of(running_mean);
  std::vector<float> new_var = values_of(running_var);
  CHECK(new_mean[0] == doctest::Approx(0.9 * 1.0 + 0.1 * 3.0));
  CHECK(new_mean[1] == doctest::Approx(0.9 * -1.0 + 0.1 * 4.0));
  CHECK(new_var[0] == doctest::Approx(0.9 * 2.0 + 0.1 * 4.0));
  CHECK(new_var[1] == doctest::Approx(0.9 * 0.5 + 0.1 * 12.0));
}

TEST_CASE("batch_norm evaluation uses the running statistics and leaves them alone") {
  Tensor x = pare::tensor({1.0f, 2.0f, 3.0f, 2.0f}, {2, 2});
  Tensor running_mean = pare::tensor({1.0f, -1.0f});
  Tensor running_var = pare::tensor({4.0f, 0.25f});
  std::vector<float> y =
      values_of(pare::batch_norm(x, running_mean, running_var, pare::tensor({2.0f, 1.0f}),
                                 pare::tensor({0.0f, 0.5f}), false, 0.1, 0.0));
  CHECK(y[0] == doctest::Approx(0.0));
  CHECK(y[2] == doctest::Approx(2.0 / 2.0 * 2.0));
  CHECK(y[1] == doctest::Approx(3.0 / 0.5 + 0.5));
  CHECK(values_of(running_mean) == std::vector<float>{1.0f, -1.0f});
  CHECK(values_of(running_var) == std::vector<float>{4.0f, 0.25f});
}

TEST_CASE("batch_norm on [N, C, H, W] matches a naive loop in both modes") {
  const int64_t batch = 3, channels = 4;
  const Shape shape = {batch, channels, 2, 3};
  std::vector<float> values = random_floats(3 * 4 * 6, 61, -2.0f, 3.0f);
  std::vector<float> weight = random_floats(4, 62, 0.5f, 1.5f);
  std::vector<float> bias = random_floats(4, 63);
  std::vector<float> mean = random_floats(4, 64);
  std::vector<float> var = random_floats(4, 65, 0.5f, 2.0f);
  for (bool training : {true, false}) {
    CAPTURE(training);
    Tensor running_mean = pare::tensor(mean);
    Tensor running_var = pare::tensor(var);
    Tensor y = pare::batch_norm(pare::tensor(values, shape), running_mean, running_var,
                                pare::tensor(weight), pare::tensor(bias), training, 0.3, 1e-4);
    NaiveBatchNorm expected = naive_batch_norm(values, batch, channels, weight, bias,
                                               training ? std::vector<float>{} : mean,
                                               training ? std::vector<float>{} : var, 1e-4);
    std::vector<float> got = values_of(y);
    for (size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i] == doctest::Approx(expected.output[i]).epsilon(1e-5).scale(1.0));
    }
    if (training) {
      const double unbiased = 18.0 / 17.0;
      std::vector<float> new_var = values_of(running_var);
      for (int64_t c = 0; c < channels; ++c) {
        CHECK(new_var[c] ==
              doctest::Approx(0.7 * var[c] + 0.3 * expected.biased_var[c] * unbiased));
      }
    }
  }
}

TEST_CASE("batch_norm: oneDNN path matches the reference kernels") {
  const Shape shape = {5, 3, 4, 4};
  std::vector<float> values = random_floats(5 * 3 * 16, 66, -3.0f, 3.0f);
  std::vector<float> weight = random_floats(3, 67, 0.5f, 1.5f);
  std::vector<float> bias = random_floats(3, 68);
  for (bool training : {true, false}) {
    CAPTURE(training);
    check_paths_agree(
        [training](const std::vector<Tensor>& in) {
          Tensor running_mean = pare::tensor({0.1f, -0.2f, 0.3f});
          Tensor running_var = pare::tensor({1.5f, 0.7f, 1.1f});
          return pare::batch_norm(in[0], running_mean, running_var, in[1], in[2], training);
        },
        {values, weight, bias}, {shape, {3}, {3}}, 1e-4);
  }
}

TEST_CASE("batch_norm gradients for input, weight and bias match finite differences") {
  Tensor running_mean = pare::tensor({0.2f, -0.1f, 0.4f});
  Tensor running_var = pare::tensor({0.8f, 1.3f, 2.0f});
  for (bool training : {true, false}) {
    CAPTURE(training);
    Tensor x = leaf(random_floats(2 * 3 * 5, 69, -2.0f, 2.0f), {2, 3, 5});
    Tensor weight = leaf(random_floats(3, 70, 0.5f, 1.5f), {3});
    Tensor bias = leaf(random_floats(3, 71), {3});
    CHECK(gradcheck(
        [&](const std::vector<Tensor>& in) {
          return pare::batch_norm(in[0], running_mean, running_var, in[1], in[2], training);
        },
        {x, weight, bias}));
    Tensor x_only = leaf(random_floats(4 * 2, 72, -2.0f, 2.0f), {4, 2});
    CHECK(gradcheck(
        [&](const std::vector<Tensor>& in) {
          return pare::batch_norm(in[0], running_mean.narrow(0, 0, 2), running_var.narrow(0, 0, 2),
                                  Tensor(), Tensor(), training);
        },
        {x_only}));
  }
}

TEST_CASE("batch_norm in evaluation mode: dx = weight * invstd * dy") {
  Tensor x = leaf({1.0f, 2.0f, 3.0f, 4.0f}, {2, 2});
  Tensor weight = leaf({3.0f, -1.0f}, {2});
  Tensor running_var = pare::tensor({3.0f, 0.0f});
  pare::batch_norm(x, pare::zeros({2}), running_var, weight, Tensor(), false, 0.1, 1.0)
      .sum()
      .backward();
  std::vector<float> grad = values_of(x.grad());
  CHECK(grad[0] == doctest::Approx(3.0 / 2.0));
  CHECK(grad[1] == doctest::Approx(-1.0));
  CHECK(grad[2] == doctest::Approx(3.0 / 2.0));
  // dweight = sum over the batch of (x - mean) * invstd.
  CHECK(values_of(weight.grad())[0] == doctest::Approx((1.0 + 3.0) / 2.0));
}

TEST_CASE("batch_norm errors name the op and the shapes") {
  Tensor x = pare::zeros({2, 3, 5});
  std::string wrong_weight = error_of([&] {
    pare::batch_norm(x, pare::zeros({3}), pare::ones({3}), pare::ones({4}), Tensor(), false);
  });
  CHECK(contains(wrong_weight, "batch_norm"));
  CHECK(contains(wrong_weight, "weight"));
  CHECK(contains(wrong_weight, "[4]"));
  CHECK(contains(wrong_weight, "[2, 3, 5]"));
  std::string wrong_stats = error_of(
      [&] { pare::batch_norm(x, pare::zeros({2}), pare::ones({3}), Tensor(), Tensor(), true); });
  CHECK(contains(wrong_stats, "running_mean"));
  std::string single = error_of([&] {
    pare::batch_norm(pare::zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true);
  });
  CHECK(contains(single, "more than 1 value per channel"));
  CHECK(contains(
      error_of([&] { pare::batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false); }),
      "evaluation"));
}

// ----------------------------------------------------------------------------------- dropout

TEST_CASE("dropout is the identity when not training or p = 0") {
  Tensor x = pare::tensor(random_floats(10, 81), {2, 5});
  CHECK(pare::dropout(x, 0.5, false).is_same(x));
  CHECK(pare::dropout(x, 0.0, true).is_same(x));
}

TEST_CASE("dropout with p = 1 zeroes everything and passes a zero gradient") {
  Tensor x = leaf(random_floats(10, 82), {2, 5});
  Tensor y = pare::dropout(x, 1.0, true);
  CHECK(values_of(y) == std::vector<float>(10, 0.0f));
  y.sum().backward();
  CHECK(values_of(x.grad()) == std::vector<float>(10, 0.0f));
}

TEST_CASE("dropout drops with probability p, rescales the rest, and is seeded") {
  const int64_t count = 100000;
  std::vector<float> values = random_floats(count, 83, 0.5f, 1.5f);
  Tensor x = leaf(values, {count});
  pare::manual_seed(3);
  Tensor y = pare::dropout(x, 0.3, true);
  y.backward(pare::ones({count}));
  std::vector<float> out = values_of(y);
  std::vector<float> grad = values_of(x.grad());
  int64_t dropped = 0;
  for (int64_t i = 0; i < count; ++i) {
    if (out[i] == 0.0f) {
      ++dropped;
      CHECK(grad[i] == 0.0f);
    } else {
      CHECK(out[i] == doctest::Approx(values[i] / 0.7));
      CHECK(grad[i] == doctest::Approx(1.0 / 0.7));
    }
  }
  CHECK(static_cast<double>(dropped) / count == doctest::Approx(0.3).epsilon(0.03));
  pare::manual_seed(3);
  CHECK(values_of(pare::dropout(x, 0.3, true)) == out);
  CHECK(values_of(pare::dropout(x, 0.3, true)) != out);
}

TEST_CASE("dropout gradient matches finite differences with a fixed mask") {
  Tensor x = leaf(random_floats(30, 84), {5, 6});
  CHECK(gradcheck(
      [](const std::vector<Tensor>& in) {
        pare::manual_seed(11);
        return pare::dropout(in[0], 0.4, true);
      },
      {x}));
}

TEST_CASE("dropout rejects p outside [0, 1]") {
  Tensor x = pare::zeros({2, 3});
  CHECK_THROWS_WITH_AS(pare::dropout(x, 1.5), doctest::Contains("dropout"), pare::Error);
  CHECK_THROWS_WITH_AS(pare::dropout(x, -0.1), doctest::Contains("[2, 3]"), pare::Error);
}

}  // namespace
