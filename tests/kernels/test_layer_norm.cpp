#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "pare/error.h"
#include "pare/kernels/layer_norm.h"
#include "test_util.h"

namespace {

namespace kernels = pare::kernels;
using kernels::LayerNormParams;
using pare::testing::allclose;
using pare::testing::max_abs_diff;
using pare::testing::random_floats;

LayerNormParams make_params(int64_t rows, int64_t cols, float eps = 1e-5f) {
  LayerNormParams p;
  p.rows = rows;
  p.cols = cols;
  p.eps = eps;
  return p;
}

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

TEST_CASE("layer_norm validation rejects bad sizes and eps") {
  CHECK_THROWS_AS(make_params(0, 4).validate(), pare::Error);
  CHECK_THROWS_AS(make_params(2, 0).validate(), pare::Error);
  CHECK_THROWS_AS(make_params(2, 4, -1.0f).validate(), pare::Error);
  CHECK_NOTHROW(make_params(2, 4).validate());
}

TEST_CASE("ref layer_norm matches hand-computed values") {
  // Row (1, 2, 3, 4): mean 2.5, variance 1.25, rstd 1 / sqrt(1.25) = 0.894427191.
  // Row (2, 2, 2, 2) with eps 0.25: variance 0, rstd 2, output 0 (then beta).
  const std::vector<float> src = {1, 2, 3, 4, 2, 2, 2, 2};
  std::vector<float> dst(8), mean(2), rstd(2);
  kernels::ref::layer_norm_forward(make_params(1, 4, 0.0f), src.data(), nullptr, nullptr,
                                   dst.data(), mean.data(), rstd.data());
  CHECK(allclose({dst.begin(), dst.begin() + 4},
                 {-1.34164079f, -0.44721360f, 0.44721360f, 1.34164079f}, 1e-6, 1e-7));
  CHECK(mean[0] == 2.5f);
  CHECK(rstd[0] == doctest::Approx(0.894427191).epsilon(1e-7));

  const std::vector<float> gamma = {2, 2, 2, 2}, beta = {1, 0, 0, -1};
  kernels::ref::layer_norm_forward(make_params(2, 4, 0.25f), src.data(), gamma.data(), beta.data(),
                                   dst.data(), mean.data(), rstd.data());
  // Row 0 with eps 0.25: rstd = 1 / sqrt(1.5) = 0.816496581.
  CHECK(allclose(dst,
                 {2 * -1.5f * 0.816496581f + 1, 2 * -0.5f * 0.816496581f, 2 * 0.5f * 0.816496581f,
                  2 * 1.5f * 0.816496581f - 1, 1, 0, 0, -1},
                 1e-6, 1e-6));
  CHECK(rstd[1] == 2.0f);

  // A constant upstream gradient moves nothing: the output of a row always sums to sum(beta).
  const std::vector<float> ones(8, 1.0f);
  std::vector<float> diff_src(8), diff_gamma(4), diff_beta(4);
  kernels::ref::layer_norm_backward(make_params(2, 4, 0.25f), src.data(), ones.data(), nullptr,
                                    mean.data(), rstd.data(), diff_src.data(), diff_gamma.data(),
                                    diff_beta.data());
  CHECK(max_abs_diff(diff_src, std::vector<float>(8, 0.0f)) <= 1e-6);
  CHECK(diff_beta == std::vector<float>{2, 2, 2, 2});
  CHECK(allclose(
      diff_gamma,
      {-1.5f * 0.816496581f, -0.5f * 0.816496581f, 0.5f * 0.816496581f, 1.5f * 0.816496581f}, 1e-6,
      1e-6));
}

TEST_CASE("cpu layer_norm matches ref over shapes and optional arguments") {
  const std::vector<std::pair<int64_t, int64_t>> shapes = {
      {1, 4}, {3, 7}, {8, 64}, {5, 129}, {4, 1}};
  for (auto [rows, cols] : shapes) {
    const LayerNormParams p = make_params(rows, cols);
    const auto src = random_floats(rows * cols, 71, -3.0f, 3.0f);
    const auto gamma = random_floats(cols, 72, 0.5f, 1.5f);
    const auto beta = random_floats(cols, 73);
    const auto diff_dst = random_floats(rows * cols, 74);
    for (int mask = 0; mask < 8; ++mask) {
      const bool with_gamma = mask & 1, with_beta = mask & 2, with_stats = mask & 4;
      CAPTURE(rows);
      CAPTURE(cols);
      CAPTURE(with_gamma);
      CAPTURE(with_beta);
      CAPTURE(with_stats);
      std::vector<float> ref_dst(rows * cols), cpu_dst(rows * cols), ref_mean(rows), ref_rstd(rows),
          cpu_mean(rows, -7.0f), cpu_rstd(rows, -7.0f);
      kernels::ref::layer_norm_forward(p, src.data(), or_null(with_gamma, gamma),
                                       or_null(with_beta, beta), ref_dst.data(), ref_mean.data(),
                                       ref_rstd.data());
      kernels::cpu::layer_norm_forward(
          p, src.data(), or_null(with_gamma, gamma), or_null(with_beta, beta), cpu_dst.data(),
          or_null(with_stats, cpu_mean), or_null(with_stats, cpu_rstd));
      CHECK(allclose(cpu_dst, ref_dst, 1e-5, 1e-5));
      if (with_stats) {
        CHECK(allclose(cpu_mean, ref_mean, 1e-5, 1e-6));
        CHECK(allclose(cpu_rstd, ref_rstd, 1e-5, 1e-6));
      }

      const bool want_diff_gamma = mask & 2, want_diff_beta = mask & 4;
      CAPTURE(want_diff_gamma);
      CAPTURE(want_diff_beta);
      std::vector<float> ref_diff_src(rows * cols), cpu_diff_src(rows * cols), ref_diff_gamma(cols),
          cpu_diff_gamma(cols), ref_diff_beta(cols), cpu_diff_beta(cols);
      kernels::ref::layer_norm_backward(p, src.data(), diff_dst.data(), or_null(with_gamma, gamma),
                                        ref_mean.data(), ref_rstd.data(), ref_diff_src.data(),
                                        ref_diff_gamma.data(), ref_diff_beta.data());
      kernels::cpu::layer_norm_backward(p, src.data(), diff_dst.data(), or_null(with_gamma, gamma),
                                        ref_mean.data(), ref_rstd.data(), cpu_diff_src.data(),
                                        or_null(want_diff_gamma, cpu_diff_gamma),
                                        or_null(want_diff_beta, cpu_diff_beta));
      CHECK(allclose(cpu_diff_src, ref_diff_src, 1e-4, 1e-5));
      if (want_diff_gamma) CHECK(allclose(cpu_diff_gamma, ref_diff_gamma, 1e-4, 1e-5));
      if (want_diff_beta) CHECK(allclose(cpu_diff_beta, ref_diff_beta, 1e-4, 1e-5));
    }
  }
}

TEST_CASE("ref layer_norm backward matches finite differences of ref forward") {
  const LayerNormParams p = make_params(3, 5);
  const auto src = random_floats(15, 81, -2.0f, 2.0f);
  const auto gamma = random_floats(5, 82, 0.5f, 1.5f);
  const auto beta = random_floats(5, 83);
  const auto upstream = random_floats(15, 84);
  std::vector<float> dst(15), mean(3), rstd(3);
  kernels::ref::layer_norm_forward(p, src.data(), gamma.data(), beta.data(), dst.data(),
                                   mean.data(), rstd.data());
  std::vector<float> diff_src(15), diff_gamma(5), diff_beta(5);
  kernels::ref::layer_norm_backward(p, src.data(), upstream.data(), gamma.data(), mean.data(),
                                    rstd.data(), diff_src.data(), diff_gamma.data(),
                                    diff_beta.data());

  auto run = [&](const std::vector<float>& x, const std::vector<float>& g,
                 const std::vector<float>& b) {
    std::vector<float> out(15);
    kernels::ref::layer_norm_forward(p, x.data(), g.data(), b.data(), out.data(), nullptr, nullptr);
    return out;
  };
  check_matches_numeric(
      diff_src,
      numeric_gradient([&](const std::vector<float>& x) { return run(x, gamma, beta); }, src,
                       upstream, 1e-2f),
      1e-3);
  check_matches_numeric(
      diff_gamma,
      numeric_gradient([&](const std::vector<float>& g) { return run(src, g, beta); }, gamma,
                       upstream, 1e-2f),
      1e-3);
  check_matches_numeric(
      diff_beta,
      numeric_gradient([&](const std::vector<float>& b) { return run(src, gamma, b); }, beta,
                       upstream, 1e-2f),
      1e-3);

  // Without gamma the input gradient is that of the unscaled normalisation.
  std::vector<float> unit_diff_src(15);
  kernels::ref::layer_norm_backward(p, src.data(), upstream.data(), nullptr, mean.data(),
                                    rstd.data(), unit_diff_src.data(), nullptr, nullptr);
  check_matches_numeric(unit_diff_src,
                        numeric_gradient(
                            [&](const std::vector<float>& x) {
                              std::vector<float> out(15);
                              kernels::ref::layer_norm_forward(p, x.data(), nullptr, nullptr,
                                                               out.data(), nullptr, nullptr);
                              return out;
                            },
                            src, upstream, 1e-2f),
                        1e-3);
}
