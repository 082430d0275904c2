// Reductions: hand-computed values, a naive reference over every dim subset and layout,
// gradients by finite differences, and error messages.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gradcheck.h"
#include "pare/pare.h"
#include "test_util.h"

using pare::Shape;
using pare::Tensor;
using pare::testing::gradcheck;
using pare::testing::random_floats;

namespace {

Tensor leaf(const Shape& shape, uint32_t seed, float low = -1.0f, float high = 1.0f) {
  Tensor t = pare::tensor(random_floats(pare::shape_numel(shape), seed, low, high), shape);
  t.set_requires_grad(true);
  return t;
}

// Random magnitudes in [0.2, 1) with random signs: far enough from 0 for |x| and sign(x) to be
// smooth under finite differences.
Tensor leaf_away_from_zero(const Shape& shape, uint32_t seed) {
  std::vector<float> values = random_floats(pare::shape_numel(shape), seed, 0.2f, 1.0f);
  std::vector<float> signs = random_floats(values.size(), seed + 1);
  for (size_t i = 0; i < values.size(); ++i)
    if (signs[i] < 0) values[i] = -values[i];
  Tensor t = pare::tensor(values, shape);
  t.set_requires_grad(true);
  return t;
}

void check_values(const Tensor& actual, const std::vector<float>& expected, double tol = 1e-5) {
  std::vector<float> values = pare::to_float_vector(actual);
  REQUIRE(values.size() == expected.size());
  for (size_t i = 0; i < values.size(); ++i)
    CHECK(values[i] == doctest::Approx(expected[i]).epsilon(tol));
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const pare::Error& error) {
    return error.what();
  }
  return "no error";
}

// Naive sum of a [2, 3, 4] tensor's values (row-major) over the dims flagged in `reduced`, in
// kept-shape order.
std::vector<double> naive_sum_3d(const std::vector<float>& values, const Shape& sizes,
                                 const std::vector<bool>& reduced) {
  Shape kept = sizes;
  for (int d = 0; d < 3; ++d)
    if (reduced[d]) kept[d] = 1;
  std::vector<double> result(pare::shape_numel(kept), 0.0);
  for (int64_t i = 0; i < sizes[0]; ++i)
    for (int64_t j = 0; j < sizes[1]; ++j)
      for (int64_t k = 0; k < sizes[2]; ++k) {
        const int64_t oi = reduced[0] ? 0 : i, oj = reduced[1] ? 0 : j, ok = reduced[2] ? 0 : k;
        result[(oi * kept[1] + oj) * kept[2] + ok] += values[(i * sizes[1] + j) * sizes[2] + k];
      }
  return result;
}

}  // namespace

TEST_CASE("sum and mean: hand-computed values, keepdim, negative dims") {
  Tensor x = pare::tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor total = pare::sum(x);
  CHECK(total.dim() == 0);
  CHECK(total.item<float>() == 21.0f);
  check_values(pare::sum(x, {1}), {6, 15});
  check_values(pare::sum(x, {-2}), {5, 7, 9});
  Tensor kept = pare::sum(x, {1}, /*keepdim=*/true);
  CHECK(kept.sizes() == Shape{2, 1});
  check_values(kept, {6, 15});
  Tensor both = pare::sum(x, {0, -1}, true);
  CHECK(both.sizes() == Shape{1, 1});
  CHECK(both.item<float>() == 21.0f);
  CHECK(pare::mean(x).item<float>() == doctest::Approx(3.5));
  check_values(pare::mean(x, {0}), {2.5, 3.5, 4.5});
  check_values(pare::mean(x, {-1}, true), {2, 5});
  CHECK(pare::mean(x, {-1}, true).sizes() == Shape{2, 1});
  // A 0-d tensor reduces over dim 0 / -1 to itself.
  Tensor scalar = pare::scalar_tensor(4.0);
  CHECK(pare::sum(scalar, {-1}).item<float>() == 4.0f);
  CHECK(pare::sum(pare::zeros({0, 3})).item<float>() == 0.0f);
  check_values(pare::sum(pare::zeros({0, 3}), {0}), {0, 0, 0});
}

TEST_CASE("sum matches a naive loop for every dim subset, contiguous and permuted") {
  const Shape sizes{2, 3, 4};
  const std::vector<float> values = random_floats(24, 3);
  Tensor x = pare::tensor(values, sizes);
  // The same values seen through a permuted (non-contiguous) view.
  Tensor permuted = pare::tensor(values, sizes).permute({2, 0, 1}).contiguous().permute({1, 2, 0});
  REQUIRE(!permuted.is_contiguous());
  REQUIRE(pare::to_float_vector(permuted) == values);
  for (int mask = 1; mask < 8; ++mask) {
    std::vector<bool> reduced{(mask & 1) != 0, (mask & 2) != 0, (mask & 4) != 0};
    Shape dims;
    for (int d = 0; d < 3; ++d)
      if (reduced[d]) dims.push_back(d);
    const std::vector<double> expected = naive_sum_3d(values, sizes, reduced);
    for (const Tensor& input : {x, permuted}) {
      CAPTURE(mask);
      Tensor result = pare::sum(input, dims, /*keepdim=*/true);
      std::vector<float> actual = pare::to_float_vector(result);
      REQUIRE(actual.size() == expected.size());
      for (size_t i = 0; i < actual.size(); ++i) CHECK(actual[i] == doctest::Approx(expected[i]));
    }
  }
}

TEST_CASE("sum of long rows is accurate") {
  const int64_t count = 100000;
  Tensor x = pare::full({2, count}, 0.1);
  std::vector<float> sums = pare::to_float_vector(pare::sum(x, {1}));
  const double expected = count * static_cast<double>(0.1f);
  CHECK(std::fabs(sums[0] - expected) / expected < 2e-7);
  CHECK(std::fabs(pare::sum(x).item<double>() - 2 * expected) / (2 * expected) < 2e-7);
}

TEST_CASE("large reductions (the threaded paths) match a double loop") {
  const int64_t outer = 4, middle = 300, inner = 100;
  const std::vector<float> values = random_floats(outer * middle * inner, 5);
  Tensor x = pare::tensor(values, {outer, middle, inner});
  std::vector<float> over_middle = pare::to_float_vector(pare::mean(x, {1}));
  std::vector<float> over_last = pare::to_float_vector(pare::norm(x, 2.0, {2}));
  float largest_magnitude = 0.0f;
  for (float v : values) largest_magnitude = std::max(largest_magnitude, std::fabs(v));
  CHECK(pare::norm(x, INFINITY).item<float>() == largest_magnitude);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      double sum = 0.0;
      for (int64_t m = 0; m < middle; ++m) sum += values[(o * middle + m) * inner + i];
      CHECK(over_middle[o * inner + i] == doctest::Approx(sum / middle).epsilon(1e-5));
    }
    for (int64_t m = 0; m < middle; ++m) {
      double squares = 0.0;
      for (int64_t i = 0; i < inner; ++i) {
        const double v = values[(o * middle + m) * inner + i];
        squares += v * v;
      }
      CHECK(over_last[o * middle + m] == doctest::Approx(std::sqrt(squares)).epsilon(1e-5));
    }
  }
}

TEST_CASE("integer sums stay int64; mean needs float") {
  Tensor ints = pare::tensor(std::vector<int64_t>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor total = pare::sum(ints);
  CHECK(total.dtype() == pare::kInt64);
  CHECK(total.item<int64_t>() == 21);
  Tensor rows = pare::sum(ints, {1});
  CHECK(rows.dtype() == pare::kInt64);
  CHECK(pare::to_int64_vector(rows) == std::vector<int64_t>{6, 15});
  Tensor mask = pare::bool_tensor({1, 0, 1, 1});
  CHECK(pare::sum(mask).dtype() == pare::kInt64);
  CHECK(pare::sum(mask).item<int64_t>() == 3);
  const std::string message = error_of([&] { pare::mean(ints); });
  CHECK(message.find("mean") != std::string::npos);
  CHECK(message.find("int64") != std::string::npos);
}

TEST_CASE("reduction dim errors name the op and the dims") {
  Tensor x = pare::zeros({2, 3});
  std::string message = error_of([&] { pare::sum(x, {2}); });
  CHECK(message.find("sum") != std::string::npos);
  CHECK(message.find("dim 2") != std::string::npos);
  message = error_of([&] { pare::sum(x, {1, -1}); });
  CHECK(message.find("sum: dim 1 appears more than once") != std::string::npos);
  CHECK(message.find("[2, 3]") != std::string::npos);
  CHECK_THROWS_AS(pare::mean(x, {-3}), pare::Error);
  CHECK_THROWS_AS(pare::max(x, 2), pare::Error);
  CHECK_THROWS_AS(pare::norm(x, 2.0, {0, 0}), pare::Error);
  CHECK_THROWS_AS(pare::var(x, {5}), pare::Error);
  message = error_of([&] { pare::max(pare::zeros({0})); });
  CHECK(message.find("max: cannot reduce an empty tensor") != std::string::npos);
  CHECK_THROWS_AS(pare::max(pare::zeros({2, 0}), 1), pare::Error);
}

TEST_CASE("max and min over all elements, with ties sharing the gradient") {
  Tensor x = pare::tensor({1, 3, 3, 2});
  CHECK(pare::max(x).item<float>() == 3.0f);
  CHECK(pare::min(x).item<float>() == 1.0f);
  CHECK(pare::max(x).dim() == 0);
  CHECK(pare::max(pare::tensor(std::vector<int64_t>{4, -2, 9})).item<int64_t>() == 9);
  CHECK(pare::min(pare::tensor(std::vector<int64_t>{4, -2, 9})).item<int64_t>() == -2);

  x.set_requires_grad(true);
  pare::max(x).backward();
  check_values(x.grad(), {0, 0.5, 0.5, 0});
  Tensor y = pare::tensor({2, 1, 5, 1}, {2, 2});
  y.set_requires_grad(true);
  pare::min(y).backward();
  check_values(y.grad(), {0, 0.5, 0, 0.5});

  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK(std::isnan(pare::max(pare::tensor({1, nan, 3})).item<float>()));
}

TEST_CASE("max and min along a dim return the first extreme's index") {
  Tensor x = pare::tensor({1, 5, 5, 7, 2, 7}, {2, 3});
  auto [values, indices] = pare::max(x, 1);
  check_values(values, {5, 7});
  CHECK(indices.dtype() == pare::kInt64);
  CHECK(pare::to_int64_vector(indices) == std::vector<int64_t>{1, 0});
  auto [column_values, column_indices] = pare::max(x, -2);
  check_values(column_values, {7, 5, 7});
  CHECK(pare::to_int64_vector(column_indices) == std::vector<int64_t>{1, 0, 1});
  auto [kept_values, kept_indices] = pare::max(x, 1, /*keepdim=*/true);
  CHECK(kept_values.sizes() == Shape{2, 1});
  CHECK(kept_indices.sizes() == Shape{2, 1});
  auto [min_values, min_indices] = pare::min(x, 1);
  check_values(min_values, {1, 2});
  CHECK(pare::to_int64_vector(min_indices) == std::vector<int64_t>{0, 1});
  // Non-contiguous input: the columns of x^T are x's rows.
  auto [t_values, t_indices] = pare::max(x.t(), 0);
  check_values(t_values, {5, 7});
  CHECK(pare::to_int64_vector(t_indices) == std::vector<int64_t>{1, 0});

  CHECK(pare::to_int64_vector(pare::argmax(x, 1)) == std::vector<int64_t>{1, 0});
  CHECK(pare::to_int64_vector(pare::argmin(x, 0)) == std::vector<int64_t>{0, 1, 0});
  CHECK(pare::argmax(x, 1, true).sizes() == Shape{2, 1});
  Tensor labels = pare::tensor(std::vector<int64_t>{3, 9, 9, 1}, {2, 2});
  CHECK(pare::to_int64_vector(pare::argmax(labels, 1)) == std::vector<int64_t>{1, 0});
  auto [scalar_value, scalar_index] = pare::max(pare::scalar_tensor(2.5), 0);
  CHECK(scalar_value.dim() == 0);
  CHECK(scalar_index.item<int64_t>() == 0);
}

TEST_CASE("max along a dim sends the gradient to the returned index only") {
  Tensor x = pare::tensor({1, 5, 5, 7, 2, 7}, {2, 3});
  x.set_requires_grad(true);
  auto [values, indices] = pare::max(x, 1, /*keepdim=*/true);
  values.backward(pare::tensor({10, 20}, {2, 1}));
  check_values(x.grad(), {0, 10, 0, 20, 0, 0});
}

TEST_CASE("norms: hand-computed values for p = 1, 2, 3, inf, over all and along dims") {
  Tensor v = pare::tensor({3, -4});
  CHECK(pare::norm(v).item<float>() == doctest::Approx(5.0));
  CHECK(pare::norm(v, 1.0).item<float>() == doctest::Approx(7.0));
  CHECK(pare::norm(v, INFINITY).item<float>() == doctest::Approx(4.0));
  CHECK(pare::norm(v, 3.0).item<float>() == doctest::Approx(std::cbrt(91.0)));
  Tensor m = pare::tensor({3, 4, 6, -8}, {2, 2});
  check_values(pare::norm(m, 2.0, {1}), {5, 10});
  check_values(pare::norm(m, 1.0, {0}), {9, 12});
  Tensor kept = pare::norm(m, INFINITY, {-1}, true);
  CHECK(kept.sizes() == Shape{2, 1});
  check_values(kept, {4, 8});
  CHECK(pare::norm(m).item<float>() == doctest::Approx(std::sqrt(125.0)));
  std::string message = error_of([&] { pare::norm(m, 0.0); });
  CHECK(message.find("norm: p must be positive") != std::string::npos);
  CHECK_THROWS_AS(pare::norm(m, -1.0, {0}), pare::Error);
}

TEST_CASE("norm gradients: x / norm (0 at the origin), sign(x), and shared inf ties") {
  Tensor x = pare::tensor({3, -4});
  x.set_requires_grad(true);
  pare::norm(x).backward();
  check_values(x.grad(), {0.6f, -0.8f});
  Tensor zero = pare::zeros({3});
  zero.set_requires_grad(true);
  pare::norm(zero).backward();
  check_values(zero.grad(), {0, 0, 0});
  Tensor y = pare::tensor({2, -0.5f, 0});
  y.set_requires_grad(true);
  pare::norm(y, 1.0).backward();
  check_values(y.grad(), {1, -1, 0});
  Tensor tied = pare::tensor({-3, 1, 3});
  tied.set_requires_grad(true);
  pare::norm(tied, INFINITY).backward();
  check_values(tied.grad(), {-0.5f, 0, 0.5f});
}

TEST_CASE("var: unbiased and biased, along dims") {
  Tensor x = pare::tensor({1, 2, 3, 4});
  CHECK(pare::var(x, {}).item<float>() == doctest::Approx(5.0 / 3.0));
  CHECK(pare::var(x, {0}, /*unbiased=*/false).item<float>() == doctest::Approx(1.25));
  Tensor m = pare::tensor({1, 3, 2, 2, 0, 10}, {2, 3});
  check_values(pare::var(m, {1}), {1, 28});
  Tensor kept = pare::var(m, {0}, true, true);
  CHECK(kept.sizes() == Shape{1, 3});
  check_values(kept, {0.5, 4.5, 32});
  CHECK_THROWS_AS(pare::var(pare::tensor(std::vector<int64_t>{1, 2}), {0}), pare::Error);
}

// gradcheck seeds a [1]-shaped gradient for a 0-d output, so full reductions are viewed as [1].
TEST_CASE("gradcheck: sum, mean, var") {
  CHECK(gradcheck([](const auto& in) { return pare::sum(in[0]).reshape({1}); }, {leaf({3, 4}, 1)}));
  CHECK(gradcheck([](const auto& in) { return pare::sum(in[0], {1}); }, {leaf({3, 4}, 2)}));
  CHECK(gradcheck(
      [](const auto& in) {
        return pare::sum(in[0], {0, 2}, true);
      },
      {leaf({2, 3, 4}, 3)}));
  CHECK(gradcheck([](const auto& in) { return pare::sum(in[0].t(), {-1}); }, {leaf({3, 4}, 4)}));
  CHECK(
      gradcheck([](const auto& in) { return pare::mean(in[0]).reshape({1}); }, {leaf({3, 4}, 5)}));
  CHECK(gradcheck([](const auto& in) { return pare::mean(in[0], {-2}, true); },
                  {leaf({2, 3, 4}, 6)}));
  CHECK(gradcheck([](const auto& in) { return pare::var(in[0], {1}); }, {leaf({3, 5}, 7)}));
  CHECK(gradcheck(
      [](const auto& in) {
        return pare::var(in[0], {0, 2}, false, true);
      },
      {leaf({2, 3, 4}, 8)}));
}

TEST_CASE("gradcheck: max, min") {
  CHECK(
      gradcheck([](const auto& in) { return pare::max(in[0]).reshape({1}); }, {leaf({3, 4}, 11)}));
  CHECK(
      gradcheck([](const auto& in) { return pare::min(in[0]).reshape({1}); }, {leaf({3, 4}, 12)}));
  CHECK(gradcheck([](const auto& in) { return std::get<0>(pare::max(in[0], 1)); },
                  {leaf({3, 4}, 13)}));
  CHECK(gradcheck([](const auto& in) { return std::get<0>(pare::min(in[0], 0, true)); },
                  {leaf({3, 4}, 14)}));
  CHECK(gradcheck([](const auto& in) { return std::get<0>(pare::max(in[0].t(), -1)); },
                  {leaf({3, 4}, 15)}));
}

TEST_CASE("gradcheck: norms") {
  for (double p : {1.0, 2.0, 3.0, 0.5, static_cast<double>(INFINITY)}) {
    CAPTURE(p);
    CHECK(gradcheck([p](const auto& in) { return pare::norm(in[0], p).reshape({1}); },
                    {leaf_away_from_zero({3, 4}, 21)}));
    CHECK(gradcheck([p](const auto& in) { return pare::norm(in[0], p, {1}); },
                    {leaf_away_from_zero({3, 4}, 22)}));
    CHECK(gradcheck(
        [p](const auto& in) {
          return pare::norm(in[0], p, {0, 2}, true);
        },
        {leaf_away_from_zero({2, 3, 4}, 23)}));
  }
}
