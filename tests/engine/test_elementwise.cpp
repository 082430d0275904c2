// Elementwise ops: hand-computed values (broadcasting, dtypes), finite-difference gradients,
// errors, the tracer hook and the in-place restriction.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gradcheck.h"
#include "pare/pare.h"
#include "test_util.h"

namespace {

using pare::Shape;
using pare::Tensor;
using pare::testing::gradcheck;

Tensor floats(const std::vector<float>& values, const Shape& shape = {}) {
  return pare::tensor(values, shape);
}

Tensor ints(const std::vector<int64_t>& values, const Shape& shape = {}) {
  return pare::tensor(values, shape);
}

Tensor bools(const std::vector<uint8_t>& values, const Shape& shape = {}) {
  return pare::bool_tensor(values, shape);
}

// A float32 leaf that requires grad, seeded uniform in [low, high).
Tensor leaf(const Shape& shape, uint32_t seed, float low = -1.0f, float high = 1.0f) {
  auto values = pare::testing::random_floats(pare::shape_numel(shape), seed, low, high);
  Tensor result = shape.empty() ? pare::scalar_tensor(values[0]) : pare::tensor(values, shape);
  return result.set_requires_grad(true);
}

// Values away from 0 (magnitude in [0.5, 1.5)) with seeded random signs.
Tensor leaf_away_from_zero(const Shape& shape, uint32_t seed) {
  auto magnitudes = pare::testing::random_floats(pare::shape_numel(shape), seed, 0.5f, 1.5f);
  auto signs = pare::testing::random_floats(pare::shape_numel(shape), seed + 1000);
  for (size_t i = 0; i < magnitudes.size(); ++i)
    if (signs[i] < 0) magnitudes[i] = -magnitudes[i];
  return pare::tensor(magnitudes, shape).set_requires_grad(true);
}

std::vector<float> values_of(const Tensor& tensor) { return pare::to_float_vector(tensor); }

std::vector<int64_t> int_values_of(const Tensor& tensor) { return pare::to_int64_vector(tensor); }

void check_values(const Tensor& actual, const std::vector<float>& expected, double tol = 1e-6) {
  REQUIRE(actual.numel() == static_cast<int64_t>(expected.size()));
  CHECK(pare::testing::max_abs_diff(values_of(actual), expected) <= tol);
}

// The message of the pare::Error that `action` throws ("" if it throws none).
template <typename Action>
std::string error_message(Action action) {
  try {
    action();
  } catch (const pare::Error& error) {
    return error.what();
  }
  return "";
}

template <typename Op>
bool gradcheck_op(Op op, std::vector<Tensor> inputs) {
  return gradcheck([op](const std::vector<Tensor>& in) { return op(in); }, std::move(inputs));
}

// Records what the tracer hook sees.
struct RecordingObserver : pare::OpObserver {
  struct Call {
    std::string name;
    size_t input_count;
    pare::Attrs attrs;
  };
  std::vector<Call> calls;
  void on_function(const std::string& name, const std::vector<Tensor>& inputs,
                   const pare::Attrs& attrs, const std::vector<Tensor>&) override {
    calls.push_back({name, inputs.size(), attrs});
  }
  void on_module(const pare::nn::Module&, const std::vector<Tensor>&,
                 const std::vector<Tensor>&) override {}
};

double attr_double(const pare::Attrs& attrs, const std::string& key) {
  for (const auto& [name, value] : attrs)
    if (name == key) return std::get<double>(value);
  FAIL("missing attr " << key);
  return 0.0;
}

}  // namespace

TEST_CASE("broadcast_shapes follows NumPy and names the op and shapes in errors") {
  CHECK(pare::broadcast_shapes({3, 1}, {4}, "add") == Shape{3, 4});
  CHECK(pare::broadcast_shapes({2, 3, 4}, {4}, "add") == Shape{2, 3, 4});
  CHECK(pare::broadcast_shapes({}, {2, 3}, "add") == Shape{2, 3});
  CHECK(pare::broadcast_shapes({5, 1, 3}, {1, 4, 1}, "add") == Shape{5, 4, 3});
  CHECK(pare::broadcast_shapes({0}, {1}, "add") == Shape{0});
  std::string message = error_message([] { pare::broadcast_shapes({3, 2}, {4}, "my_op"); });
  CHECK(message.find("my_op") != std::string::npos);
  CHECK(message.find("[3, 2]") != std::string::npos);
  CHECK(message.find("[4]") != std::string::npos);
}

TEST_CASE("binary ops broadcast [3,1] with [4], [2,3,4] with [4] and 0-d with anything") {
  Tensor column = floats({1, 2, 3}, {3, 1});
  Tensor row = floats({10, 20, 30, 40}, {4});
  Tensor sum = column + row;
  CHECK(sum.sizes() == Shape{3, 4});
  check_values(sum, {11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43});
  check_values(row - column, {9, 19, 29, 39, 8, 18, 28, 38, 7, 17, 27, 37});
  check_values(column * row, {10, 20, 30, 40, 20, 40, 60, 80, 30, 60, 90, 120});
  check_values(row / column, {10, 20, 30, 40, 5, 10, 15, 20, 10 / 3.0f, 20 / 3.0f, 10, 40 / 3.0f},
               1e-5);

  std::vector<float> cube_values(24);
  for (int i = 0; i < 24; ++i) cube_values[i] = static_cast<float>(i);
  Tensor cube = floats(cube_values, {2, 3, 4});
  Tensor scale = floats({1, -1, 2, 0.5f});
  Tensor product = pare::mul(cube, scale);
  CHECK(product.sizes() == Shape{2, 3, 4});
  std::vector<float> expected(24);
  const float factors[4] = {1, -1, 2, 0.5f};
  for (int i = 0; i < 24; ++i) expected[i] = cube_values[i] * factors[i % 4];
  check_values(product, expected);

  Tensor scalar = pare::scalar_tensor(2.0);
  CHECK((scalar * cube).sizes() == Shape{2, 3, 4});
  check_values(cube - scalar, [&] {
    std::vector<float> shifted(cube_values);
    for (float& v : shifted) v -= 2;
    return shifted;
  }());
  Tensor scalar_sum = scalar + pare::scalar_tensor(3.0);
  CHECK(scalar_sum.dim() == 0);
  CHECK(scalar_sum.item<float>() == 5.0f);
}

TEST_CASE("add and sub take alpha") {
  Tensor a = floats({1, 2, 3});
  Tensor b = floats({10, 20, 30});
  check_values(pare::add(a, b, 2.0), {21, 42, 63});
  check_values(pare::sub(a, b, 0.5), {-4, -8, -12});
  check_values(pare::sub(a, b), {-9, -18, -27});
}

TEST_CASE("non-contiguous and large inputs give the same values as a naive loop") {
  Tensor base = floats({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor transposed = base.transpose(0, 1);  // [3, 2]: 1 4 / 2 5 / 3 6
  check_values(transposed + floats({100, 200}), {101, 204, 102, 205, 103, 206});
  check_values(transposed * transposed, {1, 16, 4, 25, 9, 36});

  // Above the parallel threshold, dense and broadcast paths both.
  const int64_t rows = 300, cols = 257;
  auto left = pare::testing::random_floats(rows * cols, 11);
  auto bias = pare::testing::random_floats(cols, 12);
  Tensor a = floats(left, {rows, cols});
  Tensor b = floats(bias, {cols});
  std::vector<float> expected_sum(rows * cols), expected_product(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      expected_sum[r * cols + c] = left[r * cols + c] + bias[c];
      expected_product[r * cols + c] = left[r * cols + c] * left[r * cols + c];
    }
  }
  check_values(a + b, expected_sum);
  check_values(a * a, expected_product);
  // A transposed (strided) large operand through the broadcast path.
  Tensor at = a.t();
  Tensor doubled = at + at;
  std::vector<float> expected_doubled(rows * cols);
  for (int64_t c = 0; c < cols; ++c)
    for (int64_t r = 0; r < rows; ++r) expected_doubled[c * rows + r] = 2 * left[r * cols + c];
  check_values(doubled, expected_doubled);
}

TEST_CASE("int64 arithmetic stays int64, true division and mixing with float32 promote") {
  Tensor a = ints({7, -3, 4});
  Tensor b = ints({2, 2, -3});
  Tensor sum = a + b;
  CHECK(sum.dtype() == pare::kInt64);
  CHECK(int_values_of(sum) == std::vector<int64_t>{9, -1, 1});
  CHECK(int_values_of(a - b) == std::vector<int64_t>{5, -5, 7});
  CHECK(int_values_of(a * b) == std::vector<int64_t>{14, -6, -12});
  CHECK(int_values_of(pare::add(a, b, 3.0)) == std::vector<int64_t>{13, 3, -5});
  CHECK(int_values_of(pare::maximum(a, b)) == std::vector<int64_t>{7, 2, 4});
  CHECK(int_values_of(-a) == std::vector<int64_t>{-7, 3, -4});
  CHECK(int_values_of(pare::abs(a)) == std::vector<int64_t>{7, 3, 4});
  CHECK(int_values_of(pare::sign(a)) == std::vector<int64_t>{1, -1, 1});

  Tensor quotient = a / b;
  CHECK(quotient.dtype() == pare::kFloat32);
  check_values(quotient, {3.5f, -1.5f, -4.0f / 3.0f});

  Tensor plus_one = a + 1.0;
  CHECK(plus_one.dtype() == pare::kInt64);
  CHECK(int_values_of(plus_one) == std::vector<int64_t>{8, -2, 5});
  CHECK(int_values_of(a * 2.0) == std::vector<int64_t>{14, -6, 8});
  CHECK(int_values_of(10.0 - a) == std::vector<int64_t>{3, 13, 6});
  Tensor half = a * 0.5;
  CHECK(half.dtype() == pare::kFloat32);
  check_values(half, {3.5f, -1.5f, 2.0f});
  Tensor scaled = a / 2.0;
  CHECK(scaled.dtype() == pare::kFloat32);
  check_values(scaled, {3.5f, -1.5f, 2.0f});

  Tensor mixed = a + floats({0.5f, 0.5f, 0.5f});
  CHECK(mixed.dtype() == pare::kFloat32);
  check_values(mixed, {7.5f, -2.5f, 4.5f});
  Tensor mixed_reversed = floats({1, 1, 1}) * a;
  CHECK(mixed_reversed.dtype() == pare::kFloat32);
  check_values(mixed_reversed, {7, -3, 4});

  CHECK(int_values_of(pare::pow(a, 2.0)) == std::vector<int64_t>{49, 9, 16});
  CHECK(int_values_of(pare::pow(ints({2, 3, -2}), ints({10, 0, 3}))) ==
        std::vector<int64_t>{1024, 1, -8});
  CHECK(pare::pow(a, 0.5).dtype() == pare::kFloat32);
  CHECK(error_message([&] { pare::pow(a, -1.0); }).find("pow") != std::string::npos);
  CHECK(error_message([&] { pare::pow(a, ints({1, -1, 1})); }).find("pow") != std::string::npos);

  CHECK(int_values_of(pare::clamp(a, -1.0, 5.0)) == std::vector<int64_t>{5, -1, 4});
  CHECK(int_values_of(pare::clamp_min(a, 0.0)) == std::vector<int64_t>{7, 0, 4});
  CHECK(pare::clamp(a, -0.5, 5.0).dtype() == pare::kFloat32);

  Tensor exp_of_int = pare::exp(ints({0, 1}));
  CHECK(exp_of_int.dtype() == pare::kFloat32);
  check_values(exp_of_int, {1.0f, std::exp(1.0f)});
}

TEST_CASE("bool tensors: logical arithmetic, promotion with float32, comparisons and masks") {
  Tensor p = bools({1, 1, 0, 0});
  Tensor q = bools({1, 0, 1, 0});
  Tensor either = p + q;
  CHECK(either.dtype() == pare::kBool);
  CHECK(int_values_of(either) == std::vector<int64_t>{1, 1, 1, 0});
  CHECK(int_values_of(p * q) == std::vector<int64_t>{1, 0, 0, 0});
  CHECK(int_values_of(pare::maximum(p, q)) == std::vector<int64_t>{1, 1, 1, 0});
  CHECK(int_values_of(pare::minimum(p, q)) == std::vector<int64_t>{1, 0, 0, 0});
  CHECK(int_values_of(!p) == std::vector<int64_t>{0, 0, 1, 1});
  CHECK(int_values_of(p == q) == std::vector<int64_t>{1, 0, 0, 1});
  CHECK(error_message([&] { p - q; }).find("sub") != std::string::npos);
  CHECK(error_message([&] { -p; }).find("neg") != std::string::npos);

  Tensor x = floats({1.5f, -2.0f, 3.0f, 4.0f});
  Tensor masked = x * p;
  CHECK(masked.dtype() == pare::kFloat32);
  check_values(masked, {1.5f, -2.0f, 0.0f, 0.0f});
  Tensor scaled_mask = p * 2.0;
  CHECK(scaled_mask.dtype() == pare::kFloat32);
  check_values(scaled_mask, {2, 2, 0, 0});
  Tensor quotient = p / q;
  CHECK(quotient.dtype() == pare::kFloat32);

  CHECK(error_message([&] { ints({1, 2, 3, 4}) + p; }).find("add") != std::string::npos);
}

TEST_CASE("comparisons return bool, with tensors and with scalars") {
  Tensor x = floats({-1, 0, 1, 2}, {2, 2});
  Tensor threshold = floats({0, 1.5f}, {2});
  Tensor greater = x > threshold;
  CHECK(greater.dtype() == pare::kBool);
  CHECK(greater.sizes() == Shape{2, 2});
  CHECK(int_values_of(greater) == std::vector<int64_t>{0, 0, 1, 1});
  CHECK(int_values_of(x >= threshold) == std::vector<int64_t>{0, 0, 1, 1});
  CHECK(int_values_of(x < threshold) == std::vector<int64_t>{1, 1, 0, 0});
  CHECK(int_values_of(pare::le(x, threshold)) == std::vector<int64_t>{1, 1, 0, 0});
  CHECK(int_values_of(x == threshold) == std::vector<int64_t>{0, 0, 0, 0});
  CHECK(int_values_of(x != threshold) == std::vector<int64_t>{1, 1, 1, 1});

  CHECK(int_values_of(x > 0.0) == std::vector<int64_t>{0, 0, 1, 1});
  CHECK(int_values_of(x <= 0.0) == std::vector<int64_t>{1, 1, 0, 0});
  CHECK(int_values_of(x == 1.0) == std::vector<int64_t>{0, 0, 1, 0});
  CHECK(int_values_of(x != 1.0) == std::vector<int64_t>{1, 1, 0, 1});
  CHECK(int_values_of(x < 1.0) == std::vector<int64_t>{1, 1, 0, 0});
  CHECK(int_values_of(x >= 1.0) == std::vector<int64_t>{0, 0, 1, 1});
  // The scalar is rounded to float32 first, as PyTorch does.
  CHECK(int_values_of(floats({0.1f}) == 0.1) == std::vector<int64_t>{1});
  // Integer tensors compare exactly against a fractional scalar.
  CHECK(int_values_of(ints({0, 1}) > 0.5) == std::vector<int64_t>{0, 1});
  CHECK(int_values_of(ints({2, 3}) == ints({2, 4})) == std::vector<int64_t>{1, 0});
}

TEST_CASE("where picks from a or b, broadcasting all three") {
  Tensor condition = bools({1, 0, 1}, {3, 1});
  Tensor a = floats({1, 2}, {2});
  Tensor b = pare::scalar_tensor(-1.0);
  Tensor out = pare::where(condition, a, b);
  CHECK(out.sizes() == Shape{3, 2});
  check_values(out, {1, 2, -1, -1, 1, 2});
  Tensor x = floats({-2, -0.5f, 0, 3});
  check_values(pare::where(x > 0.0, x, x * 0.1), {-0.2f, -0.05f, 0.0f, 3.0f}, 1e-7);
  Tensor int_choice = pare::where(bools({1, 0}), ints({1, 2}), ints({10, 20}));
  CHECK(int_choice.dtype() == pare::kInt64);
  CHECK(int_values_of(int_choice) == std::vector<int64_t>{1, 20});
  std::string message = error_message([&] { pare::where(x, x, x); });
  CHECK(message.find("where") != std::string::npos);
  CHECK(message.find("bool") != std::string::npos);
}

TEST_CASE("maximum and minimum, with NaN propagation") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor a = floats({1, 5, nan, 2});
  Tensor b = floats({3, 4, 0, nan});
  std::vector<float> high = values_of(pare::maximum(a, b));
  std::vector<float> low = values_of(pare::minimum(a, b));
  CHECK(high[0] == 3);
  CHECK(high[1] == 5);
  CHECK(std::isnan(high[2]));
  CHECK(std::isnan(high[3]));
  CHECK(low[0] == 1);
  CHECK(low[1] == 4);
  CHECK(std::isnan(low[2]));
  CHECK(std::isnan(low[3]));
}

TEST_CASE("unary functions match hand-computed values") {
  Tensor x = floats({-2, -0.5f, 0, 0.5f, 3});
  check_values(-x, {2, 0.5f, 0, -0.5f, -3});
  check_values(pare::abs(x), {2, 0.5f, 0, 0.5f, 3});
  check_values(pare::sign(x), {-1, -1, 0, 1, 1});
  check_values(pare::clamp(x, -1.0, 1.0), {-1, -0.5f, 0, 0.5f, 1});
  check_values(pare::clamp_min(x, 0.25), {0.25f, 0.25f, 0.25f, 0.5f, 3});
  check_values(pare::clamp_max(x, 0.25), {-2, -0.5f, 0, 0.25f, 0.25f});
  check_values(pare::clamp(x, 2.0, 1.0), {1, 1, 1, 1, 1});  // min > max: all max, as PyTorch
  check_values(pare::pow(x, 2.0), {4, 0.25f, 0, 0.25f, 9});
  check_values(pare::pow(x, 3.0), {-8, -0.125f, 0, 0.125f, 27});
  CHECK(int_values_of(pare::logical_not(x)) == std::vector<int64_t>{0, 0, 1, 0, 0});

  Tensor positive = floats({0.25f, 1, 4});
  check_values(pare::exp(positive), {std::exp(0.25f), std::exp(1.0f), std::exp(4.0f)}, 1e-5);
  check_values(pare::log(positive), {std::log(0.25f), 0.0f, std::log(4.0f)});
  check_values(pare::sqrt(positive), {0.5f, 1, 2});
  check_values(pare::pow(positive, 0.5), {0.5f, 1, 2});
  check_values(pare::pow(positive, floats({2, 0, -1})), {0.0625f, 1, 0.25f});
  check_values(positive.pow(-2.0), {16, 1, 0.0625f});

  check_values(2.0 - positive, {1.75f, 1, -2});
  check_values(2.0 / positive, {8, 2, 0.5f});
  check_values(positive / 2.0, {0.125f, 0.5f, 2});
  check_values(1.0 + positive, {1.25f, 2, 5});
  check_values(3.0 * positive, {0.75f, 3, 12});
  check_values(positive - 1.0, {-0.75f, 0, 3});
  check_values(pare::add(positive, 1.0), {1.25f, 2, 5});
  check_values(pare::mul(positive, -2.0), {-0.5f, -2, -8});
}

TEST_CASE("allclose and equal") {
  Tensor a = floats({1, 2, 3});
  CHECK(pare::allclose(a, floats({1, 2, 3.00001f})));
  CHECK_FALSE(pare::allclose(a, floats({1, 2, 3.1f})));
  CHECK(pare::allclose(a, floats({1, 2, 3.1f}), 0.0, 0.2));
  CHECK_FALSE(pare::allclose(a, floats({1, 2, 3}, {3, 1})));
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(pare::allclose(floats({inf}), floats({inf})));
  CHECK_FALSE(pare::allclose(floats({inf}), floats({-inf})));
  CHECK_FALSE(pare::allclose(floats({std::nanf("")}), floats({std::nanf("")})));
  CHECK(pare::allclose(ints({1, 2}), floats({1, 2})));

  CHECK(pare::equal(a, floats({1, 2, 3})));
  CHECK_FALSE(pare::equal(a, floats({1, 2, 3.00001f})));
  CHECK_FALSE(pare::equal(a, ints({1, 2, 3})));
  CHECK(pare::equal(a.view({3, 1}).t(), floats({1, 2, 3}, {1, 3})));
}

TEST_CASE("errors name the op and both shapes") {
  Tensor a = pare::zeros({3, 2});
  Tensor b = pare::zeros({4});
  auto check_message = [](const std::string& message, const std::string& op) {
    CHECK(message.find(op) != std::string::npos);
    CHECK(message.find("[3, 2]") != std::string::npos);
    CHECK(message.find("[4]") != std::string::npos);
  };
  check_message(error_message([&] { a + b; }), "add");
  check_message(error_message([&] { a - b; }), "sub");
  check_message(error_message([&] { a* b; }), "mul");
  check_message(error_message([&] { a / b; }), "div");
  check_message(error_message([&] { pare::maximum(a, b); }), "maximum");
  check_message(error_message([&] { pare::pow(a, b); }), "pow");
  check_message(error_message([&] { a > b; }), "gt");
  check_message(error_message([&] { pare::where(a > 0.0, a, b); }), "where");
  CHECK_THROWS_AS(a + Tensor(), pare::Error);
}

TEST_CASE("gradients of the binary ops, including broadcasting") {
  SUBCASE("add and sub with alpha") {
    CHECK(gradcheck_op([](auto& in) { return pare::add(in[0], in[1], 2.5); },
                       {leaf({3, 1}, 1), leaf({4}, 2)}));
    CHECK(gradcheck_op([](auto& in) { return pare::sub(in[0], in[1], 0.5); },
                       {leaf({2, 3, 4}, 3), leaf({4}, 4)}));
    CHECK(gradcheck_op([](auto& in) { return in[0] - in[1]; }, {leaf({4}, 5), leaf({2, 3, 4}, 6)}));
    CHECK(gradcheck_op([](auto& in) { return in[0] + in[1]; }, {leaf({}, 7), leaf({2, 3}, 8)}));
  }
  SUBCASE("mul and div") {
    CHECK(gradcheck_op([](auto& in) { return in[0] * in[1]; }, {leaf({3, 1}, 9), leaf({4}, 10)}));
    CHECK(gradcheck_op([](auto& in) { return pare::mul(in[0], in[1]); },
                       {leaf({2, 3, 4}, 11), leaf({}, 12)}));
    CHECK(gradcheck_op([](auto& in) { return in[0] / in[1]; },
                       {leaf({2, 3, 4}, 13), leaf_away_from_zero({3, 1}, 14)}));
    CHECK(gradcheck_op([](auto& in) { return in[0] / in[1]; },
                       {leaf({}, 15), leaf_away_from_zero({2, 2}, 16)}));
  }
  SUBCASE("maximum and minimum") {
    CHECK(gradcheck_op([](auto& in) { return pare::maximum(in[0], in[1]); },
                       {leaf({3, 1}, 17), leaf({4}, 18)}));
    CHECK(gradcheck_op([](auto& in) { return pare::minimum(in[0], in[1]); },
                       {leaf({2, 3, 4}, 19), leaf({4}, 20)}));
  }
  SUBCASE("pow with a tensor exponent") {
    CHECK(gradcheck_op([](auto& in) { return pare::pow(in[0], in[1]); },
                       {leaf({3, 1}, 21, 0.5f, 2.0f), leaf({4}, 22, -2.0f, 2.0f)}));
  }
  SUBCASE("where") {
    Tensor condition = pare::bool_tensor({1, 0, 0}, {3, 1});
    CHECK(gradcheck_op([condition](auto& in) { return pare::where(condition, in[0], in[1]); },
                       {leaf({3, 4}, 23), leaf({4}, 24)}));
    Tensor mixed = pare::bool_tensor({1, 0, 1, 1}, {4});
    CHECK(gradcheck_op([mixed](auto& in) { return pare::where(mixed, in[0], in[1]); },
                       {leaf({}, 25), leaf({2, 1, 4}, 26)}));
  }
  SUBCASE("a float32 operand mixed with an int64 one still gets its gradient") {
    Tensor counts = ints({1, 2, 3});
    CHECK(gradcheck_op([counts](auto& in) { return in[0] * counts; }, {leaf({2, 3}, 27)}));
    CHECK(gradcheck_op([counts](auto& in) { return in[0] / counts; }, {leaf({3}, 28)}));
  }
}

TEST_CASE("gradients of the unary and scalar ops") {
  CHECK(gradcheck_op([](auto& in) { return -in[0]; }, {leaf({2, 3}, 31)}));
  CHECK(gradcheck_op([](auto& in) { return pare::abs(in[0]); }, {leaf_away_from_zero({2, 3}, 32)}));
  CHECK(gradcheck_op([](auto& in) { return pare::exp(in[0]); }, {leaf({2, 3}, 33)}));
  CHECK(gradcheck_op([](auto& in) { return pare::log(in[0]); }, {leaf({2, 3}, 34, 0.5f, 2.0f)}));
  CHECK(gradcheck_op([](auto& in) { return pare::sqrt(in[0]); }, {leaf({2, 3}, 35, 0.5f, 2.0f)}));
  CHECK(
      gradcheck_op([](auto& in) { return pare::sign(in[0]); }, {leaf_away_from_zero({2, 3}, 36)}));
  CHECK(gradcheck_op([](auto& in) { return pare::pow(in[0], 2.0); }, {leaf({2, 3}, 37)}));
  CHECK(gradcheck_op([](auto& in) { return pare::pow(in[0], 3.0); }, {leaf({2, 3}, 38)}));
  CHECK(gradcheck_op([](auto& in) { return pare::pow(in[0], -1.5); },
                     {leaf({2, 3}, 39, 0.5f, 2.0f)}));
  CHECK(gradcheck_op([](auto& in) { return in[0] + 2.0; }, {leaf({2, 3}, 40)}));
  CHECK(gradcheck_op([](auto& in) { return in[0] - 2.0; }, {leaf({2, 3}, 41)}));
  CHECK(gradcheck_op([](auto& in) { return 2.0 - in[0]; }, {leaf({2, 3}, 42)}));
  CHECK(gradcheck_op([](auto& in) { return 3.0 * in[0]; }, {leaf({2, 3}, 43)}));
  CHECK(gradcheck_op([](auto& in) { return in[0] / 4.0; }, {leaf({2, 3}, 44)}));
  CHECK(gradcheck_op([](auto& in) { return 2.0 / in[0]; }, {leaf_away_from_zero({2, 3}, 45)}));
  CHECK(gradcheck_op([](auto& in) { return pare::mul(in[0], -0.5); }, {leaf({2, 3}, 46)}));

  // Clamp bounds sit between the fixed inputs, away from the finite-difference steps.
  std::vector<float> spread = {-0.9f, -0.45f, -0.1f, 0.1f, 0.45f, 0.9f};
  auto spread_leaf = [&] { return pare::tensor(spread, {2, 3}).set_requires_grad(true); };
  CHECK(gradcheck_op([](auto& in) { return pare::clamp(in[0], -0.3, 0.3); }, {spread_leaf()}));
  CHECK(gradcheck_op([](auto& in) { return pare::clamp_min(in[0], 0.0); }, {spread_leaf()}));
  CHECK(gradcheck_op([](auto& in) { return pare::clamp_max(in[0], 0.2); }, {spread_leaf()}));
}

TEST_CASE("hand-computed gradients at ties, zeros and clamp bounds") {
  Tensor x = floats({1, 2, 3}).set_requires_grad(true);
  Tensor y = floats({1, 5, 0}).set_requires_grad(true);
  pare::maximum(x, y).backward(pare::ones({3}));
  check_values(x.grad(), {0.5f, 0, 1});
  check_values(y.grad(), {0.5f, 1, 0});

  Tensor u = floats({1, 2, 3}).set_requires_grad(true);
  Tensor v = floats({1, 5, 0}).set_requires_grad(true);
  pare::minimum(u, v).backward(pare::ones({3}));
  check_values(u.grad(), {0.5f, 1, 0});
  check_values(v.grad(), {0.5f, 0, 1});

  Tensor z = floats({-1, 0, 2}).set_requires_grad(true);
  pare::abs(z).backward(floats({3, 3, 3}));
  check_values(z.grad(), {-3, 0, 3});

  Tensor s = floats({-1, 0, 2}).set_requires_grad(true);
  pare::sign(s).backward(floats({3, 3, 3}));
  REQUIRE(s.grad().defined());
  check_values(s.grad(), {0, 0, 0});

  // The gradient passes where min <= x <= max, bounds included.
  Tensor c = floats({-1, 0, 0.5f, 1, 2}).set_requires_grad(true);
  pare::clamp(c, 0.0, 1.0).backward(pare::ones({5}));
  check_values(c.grad(), {0, 1, 1, 1, 0});

  Tensor p = floats({0, 2}).set_requires_grad(true);
  pare::pow(p, 0.0).backward(pare::ones({2}));
  check_values(p.grad(), {0, 0});

  Tensor w = floats({1, 2}).set_requires_grad(true);
  Tensor same = pare::mul(w, w);  // both inputs are w: gradients accumulate to 2w
  same.backward(pare::ones({2}));
  check_values(w.grad(), {2, 4});
}

TEST_CASE("in-place updates refuse a leaf that requires grad outside NoGradGuard") {
  Tensor w = floats({1, 2, 3}).set_requires_grad(true);
  Tensor delta = floats({1, 1, 1});
  std::string message = error_message([&] { w.add_(delta); });
  CHECK(message.find("add_") != std::string::npos);
  check_values(w, {1, 2, 3});
  {
    pare::NoGradGuard no_grad;
    w.add_(delta, -0.5);
  }
  check_values(w, {0.5f, 1.5f, 2.5f});
  // Not a leaf that needs grad: fine anywhere, and broadcasting through add_ works.
  Tensor plain = floats({1, 2, 3, 4}, {2, 2});
  plain.add_(floats({10, 20}));
  check_values(plain, {11, 22, 13, 24});
}

TEST_CASE("the tracer sees add/sub/mul/div with their attributes; allclose/equal stay silent") {
  Tensor a = floats({1, 2});
  Tensor b = floats({3, 4});
  RecordingObserver observer;
  {
    pare::ObserverGuard guard(&observer);
    (void)(a + b);
    (void)pare::add(a, b, 2.0);
    (void)pare::sub(a, b, 3.0);
    (void)(a * b);
    (void)(a / b);
    (void)(a - 1.5);
    (void)(a * 2.0);
    (void)pare::allclose(a, b);
    (void)pare::equal(a, b);
  }
  REQUIRE(observer.calls.size() == 7);
  CHECK(observer.calls[0].name == "add");
  CHECK(observer.calls[0].input_count == 2);
  CHECK(observer.calls[0].attrs.empty());
  CHECK(observer.calls[1].name == "add");
  CHECK(attr_double(observer.calls[1].attrs, "alpha") == 2.0);
  CHECK(observer.calls[2].name == "sub");
  CHECK(attr_double(observer.calls[2].attrs, "alpha") == 3.0);
  CHECK(observer.calls[3].name == "mul");
  CHECK(observer.calls[4].name == "div");
  CHECK(observer.calls[5].name == "sub");
  CHECK(observer.calls[5].input_count == 1);
  CHECK(attr_double(observer.calls[5].attrs, "other") == 1.5);
  CHECK(observer.calls[6].name == "mul");
  CHECK(attr_double(observer.calls[6].attrs, "other") == 2.0);
}
