#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "pare/error.h"
#include "pare/kernels/pooling.h"
#include "test_util.h"

namespace {

namespace kernels = pare::kernels;
using kernels::AdaptivePool2dParams;
using kernels::Pool2dParams;
using pare::testing::max_abs_diff;
using pare::testing::random_floats;

struct Window {
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h = 1, dilation_w = 1;
};

Pool2dParams make_params(std::vector<int64_t> input, const Window& window, bool ceil_mode = false,
                         bool count_include_pad = true) {
  Pool2dParams p;
  p.batch = input[0];
  p.channels = input[1];
  p.in_h = input[2];
  p.in_w = input[3];
  p.kernel_h = window.kernel_h;
  p.kernel_w = window.kernel_w;
  p.stride_h = window.stride_h;
  p.stride_w = window.stride_w;
  p.pad_h = window.pad_h;
  p.pad_w = window.pad_w;
  p.dilation_h = window.dilation_h;
  p.dilation_w = window.dilation_w;
  p.ceil_mode = ceil_mode;
  p.count_include_pad = count_include_pad;
  return p;
}

AdaptivePool2dParams make_adaptive(std::vector<int64_t> input, int64_t out_h, int64_t out_w) {
  AdaptivePool2dParams p;
  p.batch = input[0];
  p.channels = input[1];
  p.in_h = input[2];
  p.in_w = input[3];
  p.out_h = out_h;
  p.out_w = out_w;
  return p;
}

bool is_valid(const Pool2dParams& p) {
  try {
    p.validate();
    return true;
  } catch (const pare::Error&) {
    return false;
  }
}

int64_t input_size(const Pool2dParams& p) { return p.batch * p.channels * p.in_h * p.in_w; }
int64_t output_size(const Pool2dParams& p) { return p.batch * p.channels * p.out_h() * p.out_w(); }
int64_t input_size(const AdaptivePool2dParams& p) { return p.batch * p.channels * p.in_h * p.in_w; }
int64_t output_size(const AdaptivePool2dParams& p) {
  return p.batch * p.channels * p.out_h * p.out_w;
}

// Distinct values 0.05 apart in shuffled order, so that a finite-difference step never changes
// which element wins a max window.
std::vector<float> distinct_values(size_t count, uint32_t seed) {
  std::vector<float> values(count);
  for (size_t i = 0; i < count; ++i) values[i] = 0.05f * static_cast<float>(i) - 1.0f;
  std::shuffle(values.begin(), values.end(), std::mt19937(seed));
  return values;
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

const std::vector<std::vector<int64_t>> kInputs = {{2, 3, 7, 9}, {1, 2, 8, 6}};
const std::vector<std::pair<int64_t, int64_t>> kKernels = {{2, 2}, {3, 3}, {3, 2}, {1, 3}};
const std::vector<std::pair<int64_t, int64_t>> kStrides = {{1, 1}, {2, 2}, {3, 2}};
const std::vector<std::pair<int64_t, int64_t>> kPads = {{0, 0}, {1, 1}, {1, 0}};

// Calls `body` for every valid combination of the shapes above, ceil_mode and the dilations.
void for_each_window(
    const std::vector<std::pair<int64_t, int64_t>>& dilations,
    const std::function<void(const std::vector<int64_t>&, const Window&, bool)>& body) {
  for (const auto& input : kInputs) {
    for (auto [kernel_h, kernel_w] : kKernels) {
      for (auto [stride_h, stride_w] : kStrides) {
        for (auto [pad_h, pad_w] : kPads) {
          for (auto [dilation_h, dilation_w] : dilations) {
            for (bool ceil_mode : {false, true}) {
              Window window{kernel_h, kernel_w, stride_h,   stride_w,
                            pad_h,    pad_w,    dilation_h, dilation_w};
              if (!is_valid(make_params(input, window, ceil_mode))) continue;
              body(input, window, ceil_mode);
            }
          }
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("pool2d output sizes follow PyTorch, including the ceil_mode rule") {
  auto sizes = [](int64_t in, Window window, bool ceil_mode) {
    return make_params({1, 1, in, in}, window, ceil_mode).out_h();
  };
  CHECK(sizes(5, {2, 2, 2, 2, 0, 0}, false) == 2);
  CHECK(sizes(5, {2, 2, 2, 2, 0, 0}, true) == 3);
  CHECK(sizes(4, {2, 2, 2, 2, 0, 0}, true) == 2);
  CHECK(sizes(6, {3, 3, 2, 2, 1, 1}, true) == 4);
  // ceil would give 4, but that window would start in the right padding.
  CHECK(sizes(5, {3, 3, 2, 2, 1, 1}, true) == 3);
  CHECK(sizes(7, {3, 3, 1, 1, 0, 0, 2, 2}, false) == 3);
  CHECK(make_params({1, 1, 9, 4}, {3, 2, 3, 2, 0, 0}).out_w() == 2);
}

TEST_CASE("pool2d validation rejects what PyTorch rejects") {
  CHECK_THROWS_AS(make_params({1, 1, 8, 8}, {3, 3, 1, 1, 2, 2}).validate(), pare::Error);
  CHECK_THROWS_AS(make_params({1, 1, 2, 2}, {3, 3, 1, 1, 0, 0}).validate(), pare::Error);
  CHECK_THROWS_AS(make_params({1, 1, 8, 8}, {3, 3, 0, 1, 0, 0}).validate(), pare::Error);
  CHECK_THROWS_AS(make_params({0, 1, 8, 8}, {3, 3, 1, 1, 0, 0}).validate(), pare::Error);
  CHECK_NOTHROW(make_params({1, 1, 8, 8}, {3, 3, 1, 1, 1, 1}).validate());
  CHECK_THROWS_AS(make_adaptive({1, 1, 4, 4}, 0, 2).validate(), pare::Error);

  Pool2dParams dilated = make_params({1, 1, 8, 8}, {2, 2, 1, 1, 0, 0, 2, 2});
  std::vector<float> src(64), dst(output_size(dilated));
  CHECK_THROWS_AS(kernels::ref::avg_pool2d_forward(dilated, src.data(), dst.data()), pare::Error);
  CHECK_THROWS_AS(kernels::cpu::avg_pool2d_forward(dilated, src.data(), dst.data()), pare::Error);
}

TEST_CASE("ref pooling matches hand-computed values") {
  std::vector<float> ramp(16);
  std::iota(ramp.begin(), ramp.end(), 0.0f);

  SUBCASE("max pool values and indices") {
    Pool2dParams p = make_params({1, 1, 4, 4}, {2, 2, 2, 2, 0, 0});
    std::vector<float> dst(4);
    std::vector<int64_t> indices(4);
    kernels::ref::max_pool2d_forward(p, ramp.data(), dst.data(), indices.data());
    CHECK(dst == std::vector<float>{5, 7, 13, 15});
    CHECK(indices == std::vector<int64_t>{5, 7, 13, 15});
  }
  SUBCASE("max pool ties pick the first element of the window") {
    Pool2dParams p = make_params({1, 1, 4, 4}, {2, 2, 2, 2, 0, 0});
    std::vector<float> ones(16, 1.0f), dst(4);
    std::vector<int64_t> indices(4);
    kernels::ref::max_pool2d_forward(p, ones.data(), dst.data(), indices.data());
    CHECK(indices == std::vector<int64_t>{0, 2, 8, 10});
    kernels::cpu::max_pool2d_forward(p, ones.data(), dst.data(), indices.data());
    CHECK(indices == std::vector<int64_t>{0, 2, 8, 10});
  }
  SUBCASE("a dilated window whose taps all miss the input yields -inf") {
    Pool2dParams p = make_params({1, 1, 2, 2}, {2, 2, 1, 1, 1, 1, 3, 3});
    REQUIRE(p.out_h() == 1);
    std::vector<float> src = {1, 2, 3, 4}, ref_dst(1), cpu_dst(1);
    kernels::ref::max_pool2d_forward(p, src.data(), ref_dst.data(), nullptr);
    kernels::cpu::max_pool2d_forward(p, src.data(), cpu_dst.data(), nullptr);
    CHECK(ref_dst[0] == -std::numeric_limits<float>::infinity());
    CHECK(cpu_dst[0] == -std::numeric_limits<float>::infinity());
  }
  SUBCASE("avg pool in ceil_mode divides by the window clipped to the input") {
    std::vector<float> src = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    std::vector<float> dst(4);
    for (bool include_pad : {true, false}) {
      Pool2dParams p = make_params({1, 1, 3, 3}, {2, 2, 2, 2, 0, 0}, true, include_pad);
      kernels::ref::avg_pool2d_forward(p, src.data(), dst.data());
      CHECK(dst == std::vector<float>{3.0f, 4.5f, 7.5f, 9.0f});
    }
  }
  SUBCASE("avg pool counts the padding only with count_include_pad") {
    std::vector<float> src = {1, 2, 3, 4};
    std::vector<float> dst(9);
    Pool2dParams p = make_params({1, 1, 2, 2}, {2, 2, 1, 1, 1, 1}, false, true);
    kernels::ref::avg_pool2d_forward(p, src.data(), dst.data());
    CHECK(dst == std::vector<float>{0.25f, 0.75f, 0.5f, 1.0f, 2.5f, 1.5f, 0.75f, 1.75f, 1.0f});
    p.count_include_pad = false;
    kernels::ref::avg_pool2d_forward(p, src.data(), dst.data());
    CHECK(dst == std::vector<float>{1.0f, 1.5f, 2.0f, 2.0f, 2.5f, 3.0f, 3.0f, 3.5f, 4.0f});
  }
  SUBCASE("avg pool backward spreads each gradient over its window") {
    Pool2dParams p = make_params({1, 1, 3, 3}, {2, 2, 2, 2, 0, 0}, true, true);
    std::vector<float> diff_dst = {4, 2, 2, 1}, diff_src(9);
    kernels::ref::avg_pool2d_backward(p, diff_dst.data(), diff_src.data());
    CHECK(diff_src == std::vector<float>{1, 1, 1, 1, 1, 1, 1, 1, 1});
  }
  SUBCASE("adaptive windows overlap when the output does not divide the input") {
    std::vector<float> src = {1, 2, 3, 4, 5};
    AdaptivePool2dParams p = make_adaptive({1, 1, 1, 5}, 1, 3);
    std::vector<float> dst(3);
    std::vector<int64_t> indices(3);
    kernels::ref::adaptive_avg_pool2d_forward(p, src.data(), dst.data());
    CHECK(dst == std::vector<float>{1.5f, 3.0f, 4.5f});
    kernels::ref::adaptive_max_pool2d_forward(p, src.data(), dst.data(), indices.data());
    CHECK(dst == std::vector<float>{2, 4, 5});
    CHECK(indices == std::vector<int64_t>{1, 3, 4});
  }
}

TEST_CASE("cpu max pooling matches ref over shapes, strides, padding, dilation and ceil_mode") {
  int combinations = 0;
  for_each_window({{1, 1}, {2, 2}, {2, 1}}, [&](const std::vector<int64_t>& input,
                                                const Window& window, bool ceil_mode) {
    Pool2dParams p = make_params(input, window, ceil_mode);
    CAPTURE(input);
    CAPTURE(window.kernel_h);
    CAPTURE(window.kernel_w);
    CAPTURE(window.stride_h);
    CAPTURE(window.stride_w);
    CAPTURE(window.pad_h);
    CAPTURE(window.pad_w);
    CAPTURE(window.dilation_h);
    CAPTURE(window.dilation_w);
    CAPTURE(ceil_mode);
    ++combinations;
    auto src = random_floats(input_size(p), 11);
    std::vector<float> ref_dst(output_size(p)), cpu_dst(output_size(p)), plain_dst(output_size(p));
    std::vector<int64_t> ref_indices(output_size(p)), cpu_indices(output_size(p));
    kernels::ref::max_pool2d_forward(p, src.data(), ref_dst.data(), ref_indices.data());
    kernels::cpu::max_pool2d_forward(p, src.data(), cpu_dst.data(), cpu_indices.data());
    kernels::cpu::max_pool2d_forward(p, src.data(), plain_dst.data(), nullptr);
    CHECK(cpu_dst == ref_dst);
    CHECK(plain_dst == ref_dst);
    CHECK(cpu_indices == ref_indices);

    auto diff_dst = random_floats(output_size(p), 12);
    std::vector<float> ref_diff_src(input_size(p)), cpu_diff_src(input_size(p), 7.0f);
    kernels::ref::max_pool2d_backward(p, diff_dst.data(), ref_indices.data(), ref_diff_src.data());
    kernels::cpu::max_pool2d_backward(p, diff_dst.data(), ref_indices.data(), cpu_diff_src.data());
    CHECK(max_abs_diff(cpu_diff_src, ref_diff_src) <= 1e-6);
  });
  CHECK(combinations > 150);
}

TEST_CASE("cpu avg pooling matches ref over shapes, strides, padding, ceil_mode and divisor") {
  int combinations = 0;
  for_each_window(
      {{1, 1}}, [&](const std::vector<int64_t>& input, const Window& window, bool ceil_mode) {
        for (bool include_pad : {true, false}) {
          Pool2dParams p = make_params(input, window, ceil_mode, include_pad);
          CAPTURE(input);
          CAPTURE(window.kernel_h);
          CAPTURE(window.kernel_w);
          CAPTURE(window.stride_h);
          CAPTURE(window.stride_w);
          CAPTURE(window.pad_h);
          CAPTURE(window.pad_w);
          CAPTURE(ceil_mode);
          CAPTURE(include_pad);
          ++combinations;
          auto src = random_floats(input_size(p), 21);
          std::vector<float> ref_dst(output_size(p)), cpu_dst(output_size(p));
          kernels::ref::avg_pool2d_forward(p, src.data(), ref_dst.data());
          kernels::cpu::avg_pool2d_forward(p, src.data(), cpu_dst.data());
          CHECK(max_abs_diff(cpu_dst, ref_dst) <= 1e-6);

          auto diff_dst = random_floats(output_size(p), 22);
          std::vector<float> ref_diff_src(input_size(p)), cpu_diff_src(input_size(p), 7.0f);
          kernels::ref::avg_pool2d_backward(p, diff_dst.data(), ref_diff_src.data());
          kernels::cpu::avg_pool2d_backward(p, diff_dst.data(), cpu_diff_src.data());
          CHECK(max_abs_diff(cpu_diff_src, ref_diff_src) <= 1e-6);
        }
      });
  CHECK(combinations > 100);
}

TEST_CASE("cpu adaptive pooling matches ref for sizes that do and do not divide the input") {
  const std::vector<std::vector<int64_t>> inputs = {{2, 3, 8, 8}, {1, 2, 7, 5}, {2, 1, 3, 4}};
  const std::vector<std::pair<int64_t, int64_t>> outputs = {{1, 1}, {2, 2}, {4, 4}, {3, 2},
                                                            {5, 3}, {7, 7}, {2, 5}};
  for (const auto& input : inputs) {
    for (auto [out_h, out_w] : outputs) {
      AdaptivePool2dParams p = make_adaptive(input, out_h, out_w);
      CAPTURE(input);
      CAPTURE(out_h);
      CAPTURE(out_w);
      auto src = random_floats(input_size(p), 31);
      auto diff_dst = random_floats(output_size(p), 32);
      std::vector<float> ref_dst(output_size(p)), cpu_dst(output_size(p)),
          plain_dst(output_size(p));
      std::vector<float> ref_diff_src(input_size(p)), cpu_diff_src(input_size(p), 7.0f);

      kernels::ref::adaptive_avg_pool2d_forward(p, src.data(), ref_dst.data());
      kernels::cpu::adaptive_avg_pool2d_forward(p, src.data(), cpu_dst.data());
      CHECK(max_abs_diff(cpu_dst, ref_dst) <= 1e-6);
      kernels::ref::adaptive_avg_pool2d_backward(p, diff_dst.data(), ref_diff_src.data());
      kernels::cpu::adaptive_avg_pool2d_backward(p, diff_dst.data(), cpu_diff_src.data());
      CHECK(max_abs_diff(cpu_diff_src, ref_diff_src) <= 1e-6);

      std::vector<int64_t> ref_indices(output_size(p)), cpu_indices(output_size(p));
      kernels::ref::adaptive_max_pool2d_forward(p, src.data(), ref_dst.data(), ref_indices.data());
      kernels::cpu::adaptive_max_pool2d_forward(p, src.data(), cpu_dst.data(), cpu_indices.data());
      kernels::cpu::adaptive_max_pool2d_forward(p, src.data(), plain_dst.data(), nullptr);
      CHECK(cpu_dst == ref_dst);
      CHECK(plain_dst == ref_dst);
      CHECK(cpu_indices == ref_indices);
      std::fill(cpu_diff_src.begin(), cpu_diff_src.end(), 7.0f);
      kernels::ref::adaptive_max_pool2d_backward(p, diff_dst.data(), ref_indices.data(),
                                                 ref_diff_src.data());
      kernels::cpu::adaptive_max_pool2d_backward(p, diff_dst.data(), ref_indices.data(),
                                                 cpu_diff_src.data());
      CHECK(max_abs_diff(cpu_diff_src, ref_diff_src) <= 1e-6);
    }
  }
}

// The windows of an adaptive pool along one axis by PyTorch's rule, in doubles: cell i covers
// [floor(i * in / out), ceil((i + 1) * in / out)).
std::vector<std::pair<int64_t, int64_t>> adaptive_windows(int64_t in, int64_t out) {
  std::vector<std::pair<int64_t, int64_t>> windows;
  for (int64_t i = 0; i < out; ++i)
    windows.emplace_back(static_cast<int64_t>(std::floor(static_cast<double>(i) * in / out)),
                         static_cast<int64_t>(std::ceil(static_cast<double>(i + 1) * in / out)));
  return windows;
}

TEST_CASE("adaptive_pool_window is the plain window exactly where the adaptive windows are one") {
  int uniform = 0, overlapping = 0, refused = 0;
  for (int64_t in = 1; in <= 12; ++in) {
    for (int64_t out = 1; out <= 12; ++out) {
      CAPTURE(in);
      CAPTURE(out);
      const auto windows = adaptive_windows(in, out);
      // Brute force: one size, one stride apart.
      const int64_t size = windows[0].second - windows[0].first;
      const int64_t stride = out > 1 ? windows[1].first - windows[0].first : size;
      bool expected = stride > 0;
      for (int64_t i = 0; i < out; ++i)
        expected = expected && windows[i].first == i * stride &&
                   windows[i].second - windows[i].first == size;
      const auto window = kernels::adaptive_pool_window(in, 5, out, 5);
      REQUIRE(window.has_value() == expected);
      if (!window) {
        ++refused;
        continue;
      }
      ++uniform;
      if (size > stride) ++overlapping;
      CHECK(window->kernel_h == size);
      CHECK(window->stride_h == stride);
      CHECK(window->kernel_w == 1);
      CHECK(window->stride_w == 1);
      CHECK(window->pad_h == 0);
      // The plain pools compute what the adaptive ones do, on random data (ref kernels).
      AdaptivePool2dParams adaptive = make_adaptive({2, 3, in, 5}, out, 5);
      Pool2dParams plain = *window;
      plain.batch = 2;
      plain.channels = 3;
      plain.in_h = in;
      plain.in_w = 5;
      plain.count_include_pad = false;
      REQUIRE(plain.out_h() == out);
      REQUIRE(plain.out_w() == 5);
      const auto src = random_floats(input_size(adaptive), 33);
      std::vector<float> adaptive_dst(output_size(adaptive)), plain_dst(output_size(adaptive));
      kernels::ref::adaptive_avg_pool2d_forward(adaptive, src.data(), adaptive_dst.data());
      kernels::ref::avg_pool2d_forward(plain, src.data(), plain_dst.data());
      CHECK(max_abs_diff(plain_dst, adaptive_dst) <= 1e-6);
      kernels::ref::adaptive_max_pool2d_forward(adaptive, src.data(), adaptive_dst.data(), nullptr);
      kernels::ref::max_pool2d_forward(plain, src.data(), plain_dst.data(), nullptr);
      CHECK(plain_dst == adaptive_dst);
    }
  }
  // Dividing sizes, overlapping windows (7 -> 3: 3 every 2) and uneven ones (7 -> 4) all occur.
  CHECK(overlapping > 0);
  CHECK(uniform > overlapping);
  CHECK(refused > 0);
  const auto seven_to_three = kernels::adaptive_pool_window(7, 7, 3, 3);
  REQUIRE(seven_to_three.has_value());
  CHECK(seven_to_three->kernel_h == 3);
  CHECK(seven_to_three->stride_w == 2);
  CHECK_FALSE(kernels::adaptive_pool_window(7, 7, 4, 4).has_value());
  CHECK_THROWS_AS(kernels::adaptive_pool_window(0, 7, 3, 3), pare::Error);
}

TEST_CASE("cpu pooling matches ref on shapes large enough to run on several threads") {
  const std::vector<int64_t> input = {4, 16, 33, 33};
  const Pool2dParams max_params = make_params(input, {3, 3, 2, 2, 1, 1, 2, 1}, true);
  // 2 x 2 windows with stride 2 over 33 columns: the last ceil_mode window overhangs the input.
  const Pool2dParams avg_params = make_params(input, {2, 2, 2, 2, 0, 0}, true, true);
  const AdaptivePool2dParams adaptive_params = make_adaptive(input, 7, 5);
  const auto src = random_floats(input_size(max_params), 35);
  std::vector<float> ref_diff_src(src.size()), cpu_diff_src(src.size());

  for (bool is_max : {true, false}) {
    const Pool2dParams& p = is_max ? max_params : avg_params;
    CAPTURE(is_max);
    std::vector<float> ref_dst(output_size(p)), cpu_dst(output_size(p));
    std::vector<int64_t> ref_indices(output_size(p)), cpu_indices(output_size(p));
    const auto diff_dst = random_floats(output_size(p), 36);
    if (is_max) {
      kernels::ref::max_pool2d_forward(p, src.data(), ref_dst.data(), ref_indices.data());
      kernels::cpu::max_pool2d_forward(p, src.data(), cpu_dst.data(), cpu_indices.data());
      CHECK(cpu_indices == ref_indices);
      kernels::ref::max_pool2d_backward(p, diff_dst.data(), ref_indices.data(),
                                        ref_diff_src.data());
      kernels::cpu::max_pool2d_backward(p, diff_dst.data(), ref_indices.data(),
                                        cpu_diff_src.data());
    } else {
      kernels::ref::avg_pool2d_forward(p, src.data(), ref_dst.data());
      kernels::cpu::avg_pool2d_forward(p, src.data(), cpu_dst.data());
      kernels::ref::avg_pool2d_backward(p, diff_dst.data(), ref_diff_src.data());
      kernels::cpu::avg_pool2d_backward(p, diff_dst.data(), cpu_diff_src.data());
    }
    CHECK(max_abs_diff(cpu_dst, ref_dst) <= 1e-6);
    CHECK(max_abs_diff(cpu_diff_src, ref_diff_src) <= 1e-6);
  }

  const AdaptivePool2dParams& p = adaptive_params;
  std::vector<float> ref_dst(output_size(p)), cpu_dst(output_size(p));
  std::vector<int64_t> ref_indices(output_size(p)), cpu_indices(output_size(p));
  const auto diff_dst = random_floats(output_size(p), 37);
  kernels::ref::adaptive_avg_pool2d_forward(p, src.data(), ref_dst.data());
  kernels::cpu::adaptive_avg_pool2d_forward(p, src.data(), cpu_dst.data());
  CHECK(max_abs_diff(cpu_dst, ref_dst) <= 1e-6);
  kernels::ref::adaptive_avg_pool2d_backward(p, diff_dst.data(), ref_diff_src.data());
  kernels::cpu::adaptive_avg_pool2d_backward(p, diff_dst.data(), cpu_diff_src.data());
  CHECK(max_abs_diff(cpu_diff_src, ref_diff_src) <= 1e-6);
  kernels::ref::adaptive_max_pool2d_forward(p, src.data(), ref_dst.data(), ref_indices.data());
  kernels::cpu::adaptive_max_pool2d_forward(p, src.data(), cpu_dst.data(), cpu_indices.data());
  CHECK(cpu_dst == ref_dst);
  CHECK(cpu_indices == ref_indices);
  kernels::ref::adaptive_max_pool2d_backward(p, diff_dst.data(), ref_indices.data(),
                                             ref_diff_src.data());
  kernels::cpu::adaptive_max_pool2d_backward(p, diff_dst.data(), ref_indices.data(),
                                             cpu_diff_src.data());
  CHECK(max_abs_diff(cpu_diff_src, ref_diff_src) <= 1e-6);
}

TEST_CASE("max pool backward rejects indices outside the input plane") {
  Pool2dParams p = make_params({1, 1, 4, 4}, {2, 2, 2, 2, 0, 0});
  std::vector<float> diff_dst(4, 1.0f), diff_src(16);
  std::vector<int64_t> indices = {0, 2, 16, 10};
  CHECK_THROWS_AS(
      kernels::ref::max_pool2d_backward(p, diff_dst.data(), indices.data(), diff_src.data()),
      pare::Error);
  CHECK_THROWS_AS(
      kernels::cpu::max_pool2d_backward(p, diff_dst.data(), indices.data(), diff_src.data()),
      pare::Error);
}

TEST_CASE("ref pooling backward matches finite differences of ref forward") {
  const std::vector<int64_t> input = {1, 2, 5, 6};
  const std::vector<Window> windows = {
      {2, 2, 2, 2, 0, 0}, {3, 3, 2, 2, 1, 1}, {3, 2, 2, 1, 1, 1}, {2, 3, 1, 2, 1, 0}};
  for (const Window& window : windows) {
    for (bool ceil_mode : {false, true}) {
      for (bool include_pad : {true, false}) {
        Pool2dParams p = make_params(input, window, ceil_mode, include_pad);
        CAPTURE(window.kernel_h);
        CAPTURE(window.stride_h);
        CAPTURE(window.pad_h);
        CAPTURE(ceil_mode);
        CAPTURE(include_pad);
        auto x = random_floats(input_size(p), 41);
        auto upstream = random_floats(output_size(p), 42);
        std::vector<float> analytic(input_size(p));
        kernels::ref::avg_pool2d_backward(p, upstream.data(), analytic.data());
        auto numeric = numeric_gradient(
            [&](const std::vector<float>& in) {
              std::vector<float> out(output_size(p));
              kernels::ref::avg_pool2d_forward(p, in.data(), out.data());
              return out;
            },
            x, upstream, 1e-2f);
        check_matches_numeric(analytic, numeric, 1e-3);
      }
    }
  }

  Pool2dParams dilated = make_params(input, {2, 2, 1, 2, 1, 1, 2, 2}, true);
  for (const Pool2dParams& p : {make_params(input, windows[1], true), dilated}) {
    auto x = distinct_values(input_size(p), 43);
    auto upstream = random_floats(output_size(p), 44);
    std::vector<float> dst(output_size(p)), analytic(input_size(p));
    std::vector<int64_t> indices(output_size(p));
    kernels::ref::max_pool2d_forward(p, x.data(), dst.data(), indices.data());
    kernels::ref::max_pool2d_backward(p, upstream.data(), indices.data(), analytic.data());
    auto numeric = numeric_gradient(
        [&](const std::vector<float>& in) {
          std::vector<float> out(output_size(p));
          kernels::ref::max_pool2d_forward(p, in.data(), out.data(), nullptr);
          return out;
        },
        x, upstream, 1e-2f);
    check_matches_numeric(analytic, numeric, 1e-3);
  }

  for (auto [out_h, out_w] : std::vector<std::pair<int64_t, int64_t>>{{3, 4}, {2, 3}, {7, 4}}) {
    AdaptivePool2dParams p = make_adaptive(input, out_h, out_w);
    auto x = distinct_values(input_size(p), 45);
    auto upstream = random_floats(output_size(p), 46);
    std::vector<float> dst(output_size(p)), analytic(input_size(p));
    kernels::ref::adaptive_avg_pool2d_backward(p, upstream.data(), analytic.data());
    auto numeric_avg = numeric_gradient(
        [&](const std::vector<float>& in) {
          std::vector<float> out(output_size(p));
          kernels::ref::adaptive_avg_pool2d_forward(p, in.data(), out.data());
          return out;
        },
        x, upstream, 1e-2f);
    check_matches_numeric(analytic, numeric_avg, 1e-3);

    std::vector<int64_t> indices(output_size(p));
    kernels::ref::adaptive_max_pool2d_forward(p, x.data(), dst.data(), indices.data());
    kernels::ref::adaptive_max_pool2d_backward(p, upstream.data(), indices.data(), analytic.data());
    auto numeric_max = numeric_gradient(
        [&](const std::vector<float>& in) {
          std::vector<float> out(output_size(p));
          kernels::ref::adaptive_max_pool2d_forward(p, in.data(), out.data(), nullptr);
          return out;
        },
        x, upstream, 1e-2f);
    check_matches_numeric(analytic, numeric_max, 1e-3);
  }
}
