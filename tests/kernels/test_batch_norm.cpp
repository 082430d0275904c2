#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "pare/error.h"
#include "pare/kernels/batch_norm.h"
#include "test_util.h"

namespace {

namespace kernels = pare::kernels;
using kernels::BatchNormParams;
using pare::testing::allclose;
using pare::testing::max_abs_diff;
using pare::testing::random_floats;

BatchNormParams make_params(int64_t batch, int64_t channels, int64_t spatial, float eps = 1e-5f) {
  BatchNormParams p;
  p.batch = batch;
  p.channels = channels;
  p.spatial = spatial;
  p.eps = eps;
  return p;
}

int64_t element_count(const BatchNormParams& p) { return p.batch * p.channels * p.spatial; }

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

const float* or_null(bool present, const std::vector<float>& values) {
  return present ? values.data() : nullptr;
}

float* or_null(bool present, std::vector<float>& values) {
  return present ? values.data() : nullptr;
}

}  // namespace

TEST_CASE("batch_norm validation rejects bad sizes and eps") {
  CHECK_THROWS_AS(make_params(0, 2, 1).validate(), pare::Error);
  CHECK_THROWS_AS(make_params(2, 0, 1).validate(), pare::Error);
  CHECK_THROWS_AS(make_params(2, 2, 0).validate(), pare::Error);
  CHECK_THROWS_AS(make_params(2, 2, 1, -1.0f).validate(), pare::Error);
  CHECK_NOTHROW(make_params(1, 2, 1).validate());

  // One value per channel: training statistics are undefined, inference is fine.
  const BatchNormParams single = make_params(1, 2, 1);
  std::vector<float> src = {1, 2}, dst(2), stats(2, 1.0f);
  CHECK_THROWS_AS(kernels::ref::batch_norm_forward_training(single, src.data(), nullptr, nullptr,
                                                            dst.data(), nullptr, nullptr),
                  pare::Error);
  CHECK_THROWS_AS(kernels::cpu::batch_norm_forward_training(single, src.data(), nullptr, nullptr,
                                                            dst.data(), nullptr, nullptr),
                  pare::Error);
  CHECK_NOTHROW(kernels::cpu::batch_norm_forward_inference(single, src.data(), nullptr, nullptr,
                                                           stats.data(), stats.data(), dst.data()));
}

TEST_CASE("ref batch_norm matches hand-computed values") {
  // [batch 2, channels 2, spatial 2]: channel 0 holds 1, 2, 3, 4 (mean 2.5, variance 1.25),
  // channel 1 holds 5 four times (variance 0).
  const BatchNormParams p = make_params(2, 2, 2, 0.25f);
  const std::vector<float> src = {1, 2, 5, 5, 3, 4, 5, 5};
  const std::vector<float> gamma = {2, 3}, beta = {1, -1};
  std::vector<float> dst(8), mean(2), var(2);
  kernels::ref::batch_norm_forward_training(p, src.data(), gamma.data(), beta.data(), dst.data(),
                                            mean.data(), var.data());
  CHECK(mean == std::vector<float>{2.5f, 5.0f});
  CHECK(var == std::vector<float>{1.25f, 0.0f});
  const float rstd = 0.816496581f;  // 1 / sqrt(1.25 + 0.25)
  CHECK(allclose(dst,
                 {2 * -1.5f * rstd + 1, 2 * -0.5f * rstd + 1, -1, -1, 2 * 0.5f * rstd + 1,
                  2 * 1.5f * rstd + 1, -1, -1},
                 1e-6, 1e-6));

  // Running statistics (1, 0) and (3, 15) with eps 1: scales 1/2 and 1/4.
  const std::vector<float> running_mean = {1, 0}, running_var = {3, 15};
  kernels::ref::batch_norm_forward_inference(make_params(2, 2, 2, 1.0f), src.data(), nullptr,
                                             nullptr, running_mean.data(), running_var.data(),
                                             dst.data());
  CHECK(dst == std::vector<float>{0, 0.5f, 1.25f, 1.25f, 1, 1.5f, 1.25f, 1.25f});

  // A constant upstream gradient moves nothing; diff_beta counts the values per channel.
  const std::vector<float> ones(8, 1.0f);
  std::vector<float> diff_src(8), diff_gamma(2), diff_beta(2);
  kernels::ref::batch_norm_backward(p, src.data(), ones.data(), gamma.data(), mean.data(),
                                    var.data(), diff_src.data(), diff_gamma.data(),
                                    diff_beta.data());
  CHECK(max_abs_diff(diff_src, std::vector<float>(8, 0.0f)) <= 1e-6);
  CHECK(max_abs_diff(diff_gamma, std::vector<float>{0, 0}) <= 1e-6);
  CHECK(diff_beta == std::vector<float>{4, 4});
}

TEST_CASE("cpu batch_norm matches ref over shapes and optional arguments") {
  const std::vector<BatchNormParams> shapes = {make_params(2, 3, 1), make_params(4, 3, 5),
                                               make_params(2, 8, 49), make_params(1, 4, 7),
                                               make_params(16, 5, 1, 1e-3f)};
  for (const BatchNormParams& p : shapes) {
    const int64_t count = element_count(p), channels = p.channels;
    const auto src = random_floats(count, 91, -2.0f, 3.0f);
    const auto gamma = random_floats(channels, 92, 0.5f, 1.5f);
    const auto beta = random_floats(channels, 93);
    const auto diff_dst = random_floats(count, 94);
    const auto running_mean = random_floats(channels, 95);
    const auto running_var = random_floats(channels, 96, 0.5f, 2.0f);
    for (int mask = 0; mask < 8; ++mask) {
      const bool with_gamma = mask & 1, with_beta = mask & 2, with_stats = mask & 4;
      CAPTURE(p.batch);
      CAPTURE(p.channels);
      CAPTURE(p.spatial);
      CAPTURE(with_gamma);
      CAPTURE(with_beta);
      CAPTURE(with_stats);
      std::vector<float> ref_dst(count), cpu_dst(count), ref_mean(channels), ref_var(channels),
          cpu_mean(channels, -7.0f), cpu_var(channels, -7.0f);
      kernels::ref::batch_norm_forward_training(p, src.data(), or_null(with_gamma, gamma),
                                                or_null(with_beta, beta), ref_dst.data(),
                                                ref_mean.data(), ref_var.data());
      kernels::cpu::batch_norm_forward_training(
          p, src.data(), or_null(with_gamma, gamma), or_null(with_beta, beta), cpu_dst.data(),
          or_null(with_stats, cpu_mean), or_null(with_stats, cpu_var));
      CHECK(allclose(cpu_dst, ref_dst, 1e-5, 1e-5));
      if (with_stats) {
        CHECK(allclose(cpu_mean, ref_mean, 1e-5, 1e-6));
        CHECK(allclose(cpu_var, ref_var, 1e-5, 1e-6));
      }

      kernels::ref::batch_norm_forward_inference(p, src.data(), or_null(with_gamma, gamma),
                                                 or_null(with_beta, beta), running_mean.data(),
                                                 running_var.data(), ref_dst.data());
      kernels::cpu::batch_norm_forward_inference(p, src.data(), or_null(with_gamma, gamma),
                                                 or_null(with_beta, beta), running_mean.data(),
                                                 running_var.data(), cpu_dst.data());
      CHECK(allclose(cpu_dst, ref_dst, 1e-5, 1e-5));

      const bool want_diff_gamma = mask & 2, want_diff_beta = mask & 4;
      CAPTURE(want_diff_gamma);
      CAPTURE(want_diff_beta);
      std::vector<float> ref_diff_src(count), cpu_diff_src(count), ref_diff_gamma(channels),
          cpu_diff_gamma(channels), ref_diff_beta(channels), cpu_diff_beta(channels);
      kernels::ref::batch_norm_backward(p, src.data(), diff_dst.data(), or_null(with_gamma, gamma),
                                        ref_mean.data(), ref_var.data(), ref_diff_src.data(),
                                        ref_diff_gamma.data(), ref_diff_beta.data());
      kernels::cpu::batch_norm_backward(p, src.data(), diff_dst.data(), or_null(with_gamma, gamma),
                                        ref_mean.data(), ref_var.data(), cpu_diff_src.data(),
                                        or_null(want_diff_gamma, cpu_diff_gamma),
                                        or_null(want_diff_beta, cpu_diff_beta));
      CHECK(allclose(cpu_diff_src, ref_diff_src, 1e-4, 1e-5));
      if (want_diff_gamma) CHECK(allclose(cpu_diff_gamma, ref_diff_gamma, 1e-4, 1e-5));
      if (want_diff_beta) CHECK(allclose(cpu_diff_beta, ref_diff_beta, 1e-4, 1e-5));
    }
  }
}

TEST_CASE("ref batch_norm backward matches finite differences of ref forward") {
  const BatchNormParams p = make_params(3, 2, 4);
  const int64_t count = element_count(p);
  const auto src = random_floats(count, 101, -2.0f, 2.0f);
  const auto gamma = random_floats(2, 102, 0.5f, 1.5f);
  const auto beta = random_floats(2, 103);
  const auto upstream = random_floats(count, 104);
  std::vector<float> dst(count), mean(2), var(2);
  kernels::ref::batch_norm_forward_training(p, src.data(), gamma.data(), beta.data(), dst.data(),
                                            mean.data(), var.data());
  std::vector<float> diff_src(count), diff_gamma(2), diff_beta(2);
  kernels::ref::batch_norm_backward(p, src.data(), upstream.data(), gamma.data(), mean.data(),
                                    var.data(), diff_src.data(), diff_gamma.data(),
                                    diff_beta.data());

  auto run = [&](const std::vector<float>& x, const float* g, const float* b) {
    std::vector<float> out(count);
    kernels::ref::batch_norm_forward_training(p, x.data(), g, b, out.data(), nullptr, nullptr);
    return out;
  };
  check_matches_numeric(
      diff_src,
      numeric_gradient(
          [&](const std::vector<float>& x) { return run(x, gamma.data(), beta.data()); }, src,
          upstream, 1e-2f),
      1e-3);
  check_matches_numeric(
      diff_gamma,
      numeric_gradient([&](const std::vector<float>& g) { return run(src, g.data(), beta.data()); },
                       gamma, upstream, 1e-2f),
      1e-3);
  check_matches_numeric(
      diff_beta,
      numeric_gradient(
          [&](const std::vector<float>& b) { return run(src, gamma.data(), b.data()); }, beta,
          upstream, 1e-2f),
      1e-3);

  std::vector<float> unit_diff_src(count);
  kernels::ref::batch_norm_backward(p, src.data(), upstream.data(), nullptr, mean.data(),
                                    var.data(), unit_diff_src.data(), nullptr, nullptr);
  check_matches_numeric(
      unit_diff_src,
      numeric_gradient([&](const std::vector<float>& x) { return run(x, nullptr, nullptr); }, src,
                       upstream, 1e-2f),
      1e-3);
}
