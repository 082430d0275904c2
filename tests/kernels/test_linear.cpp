#include <doctest/doctest.h>

#include <functional>
#include <vector>

#include "pare/error.h"
#include "pare/kernels/linear.h"
#include "test_util.h"

using pare::kernels::LinearParams;
using pare::testing::allclose;
using pare::testing::random_floats;

namespace {

struct LinearBuffers {
  std::vector<float> src, weight, bias, diff_dst;

  LinearBuffers(const LinearParams& p, uint32_t seed)
      : src(random_floats(p.rows * p.in_features, seed)),
        weight(random_floats(p.out_features * p.in_features, seed + 1)),
        bias(random_floats(p.out_features, seed + 2)),
        diff_dst(random_floats(p.rows * p.out_features, seed + 3)) {}
};

void check_cpu_matches_ref(const LinearParams& p, bool with_bias, uint32_t seed) {
  CAPTURE(p.rows);
  CAPTURE(p.in_features);
  CAPTURE(p.out_features);
  CAPTURE(with_bias);
  const LinearBuffers in(p, seed);
  const float* bias = with_bias ? in.bias.data() : nullptr;
  const size_t dst_size = p.rows * p.out_features;

  std::vector<float> expected(dst_size), actual(dst_size, -7.0f);
  pare::kernels::ref::linear_forward(p, in.src.data(), in.weight.data(), bias, expected.data());
  pare::kernels::cpu::linear_forward(p, in.src.data(), in.weight.data(), bias, actual.data());
  CHECK(allclose(actual, expected, 1e-4, 1e-4));

  std::vector<float> expected_diff_src(in.src.size()), diff_src(in.src.size(), -7.0f);
  pare::kernels::ref::linear_backward_data(p, in.diff_dst.data(), in.weight.data(),
                                           expected_diff_src.data());
  pare::kernels::cpu::linear_backward_data(p, in.diff_dst.data(), in.weight.data(),
                                           diff_src.data());
  CHECK(allclose(diff_src, expected_diff_src, 1e-4, 1e-4));

  std::vector<float> expected_diff_weight(in.weight.size()), diff_weight(in.weight.size(), -7.0f);
  std::vector<float> expected_diff_bias(p.out_features), diff_bias(p.out_features, -7.0f);
  pare::kernels::ref::linear_backward_weights(p, in.src.data(), in.diff_dst.data(),
                                              expected_diff_weight.data(),
                                              with_bias ? expected_diff_bias.data() : nullptr);
  pare::kernels::cpu::linear_backward_weights(p, in.src.data(), in.diff_dst.data(),
                                              diff_weight.data(),
                                              with_bias ? diff_bias.data() : nullptr);
  CHECK(allclose(diff_weight, expected_diff_weight, 1e-4, 1e-4));
  if (with_bias) {
    CHECK(allclose(diff_bias, expected_diff_bias, 1e-4, 1e-4));
  } else {
    CHECK(diff_bias == std::vector<float>(p.out_features, -7.0f));
  }
}

// Central differences of loss(x) = sum(ref forward(x) * diff_dst) with respect to every element
// of `values`. The loss is linear in each input, so the differences are exact up to rounding.
std::vector<float> numeric_gradient(std::vector<float>& values,
                                    const std::function<double()>& loss) {
  const float step = 0.25f;
  std::vector<float> gradient(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const float saved = values[i];
    values[i] = saved + step;
    const double plus = loss();
    values[i] = saved - step;
    const double minus = loss();
    values[i] = saved;
    gradient[i] = static_cast<float>((plus - minus) / (2.0 * step));
  }
  return gradient;
}

}  // namespace

TEST_CASE("ref::linear_forward matches hand-computed values") {
  // x = [[1, 2, 3]], W = [[1, 0, -1], [2, 1, 0]], b = [0.5, -1] -> y = [[-1.5, 3]]
  const LinearParams p{1, 3, 2};
  const std::vector<float> src{1, 2, 3}, weight{1, 0, -1, 2, 1, 0}, bias{0.5f, -1.0f};
  std::vector<float> dst(2);
  pare::kernels::ref::linear_forward(p, src.data(), weight.data(), bias.data(), dst.data());
  CHECK(dst == std::vector<float>{-1.5f, 3.0f});
  pare::kernels::ref::linear_forward(p, src.data(), weight.data(), nullptr, dst.data());
  CHECK(dst == std::vector<float>{-2.0f, 4.0f});
}

TEST_CASE("ref linear backward matches finite differences of ref forward") {
  const LinearParams p{3, 5, 4};
  LinearBuffers in(p, 100);
  const auto loss = [&] {
    std::vector<float> dst(p.rows * p.out_features);
    pare::kernels::ref::linear_forward(p, in.src.data(), in.weight.data(), in.bias.data(),
                                       dst.data());
    double total = 0.0;
    for (size_t i = 0; i < dst.size(); ++i) total += static_cast<double>(dst[i]) * in.diff_dst[i];
    return total;
  };

  std::vector<float> diff_src(in.src.size());
  pare::kernels::ref::linear_backward_data(p, in.diff_dst.data(), in.weight.data(),
                                           diff_src.data());
  CHECK(allclose(diff_src, numeric_gradient(in.src, loss), 1e-4, 1e-4));

  std::vector<float> diff_weight(in.weight.size()), diff_bias(in.bias.size());
  pare::kernels::ref::linear_backward_weights(p, in.src.data(), in.diff_dst.data(),
                                              diff_weight.data(), diff_bias.data());
  CHECK(allclose(diff_weight, numeric_gradient(in.weight, loss), 1e-4, 1e-4));
  CHECK(allclose(diff_bias, numeric_gradient(in.bias, loss), 1e-4, 1e-4));
}

TEST_CASE("cpu linear kernels match ref") {
  uint32_t seed = 200;
  for (bool with_bias : {true, false}) {
    check_cpu_matches_ref({1, 3, 2}, with_bias, seed += 10);
    check_cpu_matches_ref({5, 17, 9}, with_bias, seed += 10);
    check_cpu_matches_ref({7, 1, 1}, with_bias, seed += 10);
    check_cpu_matches_ref({64, 128, 48}, with_bias, seed += 10);
    check_cpu_matches_ref({1, 256, 10}, with_bias, seed += 10);
  }
  // A second call with the same sizes reuses the cached primitives with new buffers.
  check_cpu_matches_ref({5, 17, 9}, true, seed += 10);
}

TEST_CASE("linear rejects non-positive sizes") {
  CHECK_THROWS_AS((LinearParams{0, 3, 2}.validate()), pare::Error);
  CHECK_THROWS_AS((LinearParams{1, 0, 2}.validate()), pare::Error);
  const std::vector<float> buffer(8);
  std::vector<float> out(8);
  CHECK_THROWS_WITH_AS(pare::kernels::cpu::linear_forward({2, 3, -1}, buffer.data(), buffer.data(),
                                                          nullptr, out.data()),
                       doctest::Contains("linear"), pare::Error);
}
