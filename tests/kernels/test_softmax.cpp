#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "pare/error.h"
#include "pare/kernels/softmax.h"
#include "test_util.h"

namespace {

namespace kernels = pare::kernels;
using kernels::SoftmaxParams;
using pare::testing::allclose;
using pare::testing::random_floats;

SoftmaxParams make_params(int64_t outer, int64_t axis, int64_t inner) {
  SoftmaxParams p;
  p.outer = outer;
  p.axis = axis;
  p.inner = inner;
  return p;
}

int64_t element_count(const SoftmaxParams& p) { return p.outer * p.axis * p.inner; }

// d(sum(upstream * forward(x))) / dx by central differences, accumulated in double.
std::vector<double> numeric_gradient(
    const std::function<std::vector<float>(const std::vector<float>&)>& forward,
    std::vector<float> x, const std::vector<float>& upstream, float step) {
  auto loss = [&](const std::vector<float>& input) {
    std::vector<float> y = forward(input);
    double total = 0.0;
    for (size_t i = 0; i < y.size(); ++i) total += static_cast<double>(upstream[i]) * y[i];
    return total;
  };
  std::vector<double> gradient(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const float original = x[i];
    x[i] = original + step;
    const double plus = loss(x);
    x[i] = original - step;
    const double minus = loss(x);
    x[i] = original;
    gradient[i] = (plus - minus) / (2.0 * static_cast<double>(step));
  }
  return gradient;
}

void check_matches_numeric(const std::vector<float>& analytic, const std::vector<double>& numeric,
                           double tolerance) {
  REQUIRE(analytic.size() == numeric.size());
  for (size_t i = 0; i < analytic.size(); ++i) {
    CHECK(std::abs(analytic[i] - numeric[i]) <= tolerance * (1.0 + std::abs(numeric[i])));
  }
}

using ForwardKernel = void (*)(const SoftmaxParams&, const float*, float*);
using BackwardKernel = void (*)(const SoftmaxParams&, const float*, const float*, float*);

}  // namespace

TEST_CASE("softmax validation rejects empty or negative sizes") {
  CHECK_THROWS_AS(make_params(0, 3, 1).validate(), pare::Error);
  CHECK_THROWS_AS(make_params(2, 0, 1).validate(), pare::Error);
  CHECK_THROWS_AS(make_params(2, 3, 0).validate(), pare::Error);
  CHECK_NOTHROW(make_params(2, 3, 1).validate());
}

TEST_CASE("ref softmax matches hand-computed values") {
  // exp(1, 2, 3) / (e + e^2 + e^3), and its logarithm.
  const std::vector<float> src = {1, 2, 3};
  const std::vector<float> expected_softmax = {0.09003057f, 0.24472847f, 0.66524096f};
  const std::vector<float> expected_log = {-2.40760596f, -1.40760596f, -0.40760596f};
  std::vector<float> dst(3);
  kernels::ref::softmax_forward(make_params(1, 3, 1), src.data(), dst.data());
  CHECK(allclose(dst, expected_softmax, 1e-6, 1e-7));
  kernels::ref::log_softmax_forward(make_params(1, 3, 1), src.data(), dst.data());
  CHECK(allclose(dst, expected_log, 1e-6, 1e-7));

  // The same three values laid out along a strided axis ([1, 3, 2], second column constant).
  const std::vector<float> strided = {1, 5, 2, 5, 3, 5};
  std::vector<float> strided_dst(6);
  kernels::ref::softmax_forward(make_params(1, 3, 2), strided.data(), strided_dst.data());
  CHECK(allclose(
      strided_dst,
      {expected_softmax[0], 1.0f / 3, expected_softmax[1], 1.0f / 3, expected_softmax[2], 1.0f / 3},
      1e-6, 1e-7));

  // Large logits must not overflow.
  const std::vector<float> large = {1000, 1000};
  std::vector<float> halves(2);
  kernels::ref::softmax_forward(make_params(1, 2, 1), large.data(), halves.data());
  CHECK(halves == std::vector<float>{0.5f, 0.5f});

  // softmax backward with dst = (0.5, 0.5), diff_dst = (1, 0): 0.5 * (1 - 0.5), 0.5 * (0 - 0.5).
  const std::vector<float> diff_dst = {1, 0};
  std::vector<float> diff_src(2);
  kernels::ref::softmax_backward(make_params(1, 2, 1), halves.data(), diff_dst.data(),
                                 diff_src.data());
  CHECK(diff_src == std::vector<float>{0.25f, -0.25f});
}

TEST_CASE("cpu softmax and log_softmax match ref over shapes and axes") {
  const std::vector<SoftmaxParams> shapes = {
      make_params(1, 3, 1),  make_params(4, 10, 1), make_params(3, 7, 5),   make_params(2, 1, 4),
      make_params(5, 33, 1), make_params(2, 16, 3), make_params(1, 1000, 1)};
  struct Variant {
    std::string name;
    ForwardKernel ref_forward, cpu_forward;
    BackwardKernel ref_backward, cpu_backward;
  };
  const std::vector<Variant> variants = {
      {"softmax", kernels::ref::softmax_forward, kernels::cpu::softmax_forward,
       kernels::ref::softmax_backward, kernels::cpu::softmax_backward},
      {"log_softmax", kernels::ref::log_softmax_forward, kernels::cpu::log_softmax_forward,
       kernels::ref::log_softmax_backward, kernels::cpu::log_softmax_backward}};
  for (const Variant& variant : variants) {
    for (const SoftmaxParams& p : shapes) {
      CAPTURE(variant.name);
      CAPTURE(p.outer);
      CAPTURE(p.axis);
      CAPTURE(p.inner);
      const int64_t count = element_count(p);
      auto src = random_floats(count, 51, -5.0f, 5.0f);
      std::vector<float> ref_dst(count), cpu_dst(count);
      variant.ref_forward(p, src.data(), ref_dst.data());
      variant.cpu_forward(p, src.data(), cpu_dst.data());
      CAPTURE(pare::testing::max_abs_diff(cpu_dst, ref_dst));
      CHECK(allclose(cpu_dst, ref_dst, 1e-5, 1e-5));

      auto diff_dst = random_floats(count, 52);
      std::vector<float> ref_diff_src(count), cpu_diff_src(count);
      variant.ref_backward(p, ref_dst.data(), diff_dst.data(), ref_diff_src.data());
      variant.cpu_backward(p, ref_dst.data(), diff_dst.data(), cpu_diff_src.data());
      CHECK(allclose(cpu_diff_src, ref_diff_src, 1e-5, 1e-5));
    }
  }
}

TEST_CASE("ref softmax backward matches finite differences of ref forward") {
  for (const SoftmaxParams& p : {make_params(2, 5, 1), make_params(2, 4, 3)}) {
    const int64_t count = element_count(p);
    auto x = random_floats(count, 61, -2.0f, 2.0f);
    auto upstream = random_floats(count, 62);
    std::vector<float> dst(count), analytic(count);
    for (bool log : {false, true}) {
      CAPTURE(log);
      CAPTURE(p.inner);
      ForwardKernel forward =
          log ? kernels::ref::log_softmax_forward : kernels::ref::softmax_forward;
      BackwardKernel backward =
          log ? kernels::ref::log_softmax_backward : kernels::ref::softmax_backward;
      forward(p, x.data(), dst.data());
      backward(p, dst.data(), upstream.data(), analytic.data());
      auto numeric = numeric_gradient(
          [&](const std::vector<float>& in) {
            std::vector<float> out(count);
            forward(p, in.data(), out.data());
            return out;
          },
          x, upstream, 1e-2f);
      check_matches_numeric(analytic, numeric, 1e-3);
    }
  }
}
