#include <doctest/doctest.h>

#include <functional>
#include <vector>

#include "pare/error.h"
#include "pare/kernels/conv2d.h"
#include "test_util.h"

using pare::kernels::Conv2dParams;
using pare::testing::allclose;
using pare::testing::random_floats;

namespace {

size_t src_size(const Conv2dParams& p) { return p.batch * p.in_channels * p.in_h * p.in_w; }
size_t dst_size(const Conv2dParams& p) { return p.batch * p.out_channels * p.out_h() * p.out_w(); }
size_t weight_size(const Conv2dParams& p) {
  return p.out_channels * (p.in_channels / p.groups) * p.kernel_h * p.kernel_w;
}

struct ConvBuffers {
  std::vector<float> src, weight, bias, diff_dst;

  ConvBuffers(const Conv2dParams& p, uint32_t seed)
      : src(random_floats(src_size(p), seed)),
        weight(random_floats(weight_size(p), seed + 1)),
        bias(random_floats(p.out_channels, seed + 2)),
        diff_dst(random_floats(dst_size(p), seed + 3)) {}
};

void check_cpu_matches_ref(const Conv2dParams& p, bool with_bias, uint32_t seed) {
  const ConvBuffers in(p, seed);
  const float* bias = with_bias ? in.bias.data() : nullptr;

  std::vector<float> expected(dst_size(p)), actual(dst_size(p), -7.0f);
  pare::kernels::ref::conv2d_forward(p, in.src.data(), in.weight.data(), bias, expected.data());
  pare::kernels::cpu::conv2d_forward(p, in.src.data(), in.weight.data(), bias, actual.data());
  CHECK(allclose(actual, expected, 1e-4, 1e-4));

  std::vector<float> expected_diff_src(src_size(p)), diff_src(src_size(p), -7.0f);
  pare::kernels::ref::conv2d_backward_data(p, in.diff_dst.data(), in.weight.data(),
                                           expected_diff_src.data());
  pare::kernels::cpu::conv2d_backward_data(p, in.diff_dst.data(), in.weight.data(),
                                           diff_src.data());
  CHECK(allclose(diff_src, expected_diff_src, 1e-4, 1e-4));

  std::vector<float> expected_diff_weight(weight_size(p)), diff_weight(weight_size(p), -7.0f);
  std::vector<float> expected_diff_bias(p.out_channels), diff_bias(p.out_channels, -7.0f);
  pare::kernels::ref::conv2d_backward_weights(p, in.src.data(), in.diff_dst.data(),
                                              expected_diff_weight.data(),
                                              with_bias ? expected_diff_bias.data() : nullptr);
  pare::kernels::cpu::conv2d_backward_weights(p, in.src.data(), in.diff_dst.data(),
                                              diff_weight.data(),
                                              with_bias ? diff_bias.data() : nullptr);
  CHECK(allclose(diff_weight, expected_diff_weight, 1e-4, 1e-4));
  if (with_bias) {
    CHECK(allclose(diff_bias, expected_diff_bias, 1e-4, 1e-4));
  } else {
    CHECK(diff_bias == std::vector<float>(p.out_channels, -7.0f));
  }
}

// Central differences of loss = sum(ref forward * diff_dst) with respect to every element of
// `values`. The loss is linear in each input, so the differences are exact up to rounding.
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

TEST_CASE("Conv2dParams computes PyTorch's output size") {
  Conv2dParams p{.batch = 1,
                 .in_channels = 1,
                 .in_h = 7,
                 .in_w = 10,
                 .out_channels = 1,
                 .kernel_h = 3,
                 .kernel_w = 4,
                 .stride_h = 2,
                 .stride_w = 3,
                 .pad_h = 1,
                 .pad_w = 2,
                 .dilation_h = 2,
                 .dilation_w = 1};
  CHECK(p.out_h() == 3);  // floor((7 + 2 - 4 - 1) / 2) + 1
  CHECK(p.out_w() == 4);  // floor((10 + 4 - 3 - 1) / 3) + 1
  p.in_h = 2;
  p.pad_h = 0;
  CHECK(p.out_h() == 0);
  CHECK_THROWS_AS(p.validate(), pare::Error);
}

TEST_CASE("ref::conv2d_forward matches hand-computed values") {
  // 3 x 3 input 1..9 with a 2 x 2 kernel of ones: sums of each 2 x 2 window, plus bias 0.5.
  const Conv2dParams p{.batch = 1,
                       .in_channels = 1,
                       .in_h = 3,
                       .in_w = 3,
                       .out_channels = 1,
                       .kernel_h = 2,
                       .kernel_w = 2};
  const std::vector<float> src{1, 2, 3, 4, 5, 6, 7, 8, 9};
  const std::vector<float> ones(4, 1.0f);
  const std::vector<float> bias{0.5f};
  std::vector<float> dst(4);
  pare::kernels::ref::conv2d_forward(p, src.data(), ones.data(), bias.data(), dst.data());
  CHECK(dst == std::vector<float>{12.5f, 16.5f, 24.5f, 28.5f});

  // Stride 2 and padding 1: windows start at rows/cols -1 and 1, so the top-left output sees
  // only src(0, 0) under w(1, 1) and the bottom-right one sees src rows and cols 1..2 whole.
  // Weights 1, 10, 100, 1000 keep each product in its own decimal digit.
  const Conv2dParams strided{.batch = 1,
                             .in_channels = 1,
                             .in_h = 3,
                             .in_w = 3,
                             .out_channels = 1,
                             .kernel_h = 2,
                             .kernel_w = 2,
                             .stride_h = 2,
                             .stride_w = 2,
                             .pad_h = 1,
                             .pad_w = 1};
  const std::vector<float> weight{1, 10, 100, 1000};
  REQUIRE(strided.out_h() == 2);
  pare::kernels::ref::conv2d_forward(strided, src.data(), weight.data(), nullptr, dst.data());
  CHECK(dst == std::vector<float>{1000, 2 * 100 + 3 * 1000, 4 * 10 + 7 * 1000,
                                  5 + 6 * 10 + 8 * 100 + 9 * 1000});

  // Two groups of one channel each: output channel g sees only input channel g.
  const Conv2dParams grouped{.batch = 1,
                             .in_channels = 2,
                             .in_h = 1,
                             .in_w = 2,
                             .out_channels = 2,
                             .kernel_h = 1,
                             .kernel_w = 2,
                             .groups = 2};
  const std::vector<float> two_channels{1, 2, 3, 4};
  const std::vector<float> grouped_weight{1, -1, 2, 3};
  std::vector<float> grouped_dst(2);
  pare::kernels::ref::conv2d_forward(grouped, two_channels.data(), grouped_weight.data(), nullptr,
                                     grouped_dst.data());
  CHECK(grouped_dst == std::vector<float>{-1, 18});
}

TEST_CASE("ref conv2d backward matches finite differences of ref forward") {
  const Conv2dParams shapes[] = {
      {.batch = 2,
       .in_channels = 4,
       .in_h = 5,
       .in_w = 4,
       .out_channels = 6,
       .kernel_h = 3,
       .kernel_w = 2,
       .stride_h = 2,
       .stride_w = 1,
       .pad_h = 1,
       .pad_w = 1,
       .groups = 2},
      {.batch = 1,
       .in_channels = 3,
       .in_h = 6,
       .in_w = 5,
       .out_channels = 2,
       .kernel_h = 2,
       .kernel_w = 3,
       .pad_h = 2,
       .pad_w = 1,
       .dilation_h = 2,
       .dilation_w = 2},
  };
  uint32_t seed = 300;
  for (const Conv2dParams& p : shapes) {
    ConvBuffers in(p, seed += 10);
    const auto loss = [&] {
      std::vector<float> dst(dst_size(p));
      pare::kernels::ref::conv2d_forward(p, in.src.data(), in.weight.data(), in.bias.data(),
                                         dst.data());
      double total = 0.0;
      for (size_t i = 0; i < dst.size(); ++i) {
        total += static_cast<double>(dst[i]) * in.diff_dst[i];
      }
      return total;
    };

    std::vector<float> diff_src(src_size(p));
    pare::kernels::ref::conv2d_backward_data(p, in.diff_dst.data(), in.weight.data(),
                                             diff_src.data());
    CHECK(allclose(diff_src, numeric_gradient(in.src, loss), 1e-4, 1e-4));

    std::vector<float> diff_weight(weight_size(p)), diff_bias(p.out_channels);
    pare::kernels::ref::conv2d_backward_weights(p, in.src.data(), in.diff_dst.data(),
                                                diff_weight.data(), diff_bias.data());
    CHECK(allclose(diff_weight, numeric_gradient(in.weight, loss), 1e-4, 1e-4));
    CHECK(allclose(diff_bias, numeric_gradient(in.bias, loss), 1e-4, 1e-4));
  }
}

TEST_CASE("cpu conv2d kernels match ref") {
  struct Case {
    const char* name;
    Conv2dParams params;
    bool with_bias;
  };
  const Case cases[] = {
      {"3x3 pad 1, non-square input, batch 1",
       {.batch = 1,
        .in_channels = 3,
        .in_h = 5,
        .in_w = 7,
        .out_channels = 8,
        .kernel_h = 3,
        .kernel_w = 3,
        .pad_h = 1,
        .pad_w = 1},
       true},
      {"stride 2, 3x2 kernel, uneven padding, batch 3, no bias",
       {.batch = 3,
        .in_channels = 4,
        .in_h = 9,
        .in_w = 8,
        .out_channels = 6,
        .kernel_h = 3,
        .kernel_w = 2,
        .stride_h = 2,
        .stride_w = 2,
        .pad_h = 1,
        .pad_w = 0},
       false},
      {"depthwise",
       {.batch = 2,
        .in_channels = 8,
        .in_h = 6,
        .in_w = 6,
        .out_channels = 8,
        .kernel_h = 3,
        .kernel_w = 3,
        .pad_h = 1,
        .pad_w = 1,
        .groups = 8},
       true},
      {"depthwise stride 2, blocked channels, no bias",
       {.batch = 1,
        .in_channels = 16,
        .in_h = 10,
        .in_w = 9,
        .out_channels = 16,
        .kernel_h = 3,
        .kernel_w = 3,
        .stride_h = 2,
        .stride_w = 2,
        .pad_h = 1,
        .pad_w = 1,
        .groups = 16},
       false},
      {"groups 2 with dilation 2",
       {.batch = 1,
        .in_channels = 4,
        .in_h = 8,
        .in_w = 7,
        .out_channels = 6,
        .kernel_h = 3,
        .kernel_w = 3,
        .pad_h = 2,
        .pad_w = 2,
        .dilation_h = 2,
        .dilation_w = 2,
        .groups = 2},
       true},
      {"groups 2, 16 channels per group, batch 3",
       {.batch = 3,
        .in_channels = 32,
        .in_h = 6,
        .in_w = 5,
        .out_channels = 32,
        .kernel_h = 3,
        .kernel_w = 3,
        .pad_h = 1,
        .pad_w = 1,
        .groups = 2},
       true},
      {"blocked 3x3, 16 -> 32 channels",
       {.batch = 1,
        .in_channels = 16,
        .in_h = 14,
        .in_w = 14,
        .out_channels = 32,
        .kernel_h = 3,
        .kernel_w = 3,
        .pad_h = 1,
        .pad_w = 1},
       true},
      {"1x1, 16 -> 24 channels, batch 3",
       {.batch = 3,
        .in_channels = 16,
        .in_h = 7,
        .in_w = 5,
        .out_channels = 24,
        .kernel_h = 1,
        .kernel_w = 1},
       true},
      {"3x5 kernel, stride (1, 2), dilation (2, 1), no bias",
       {.batch = 2,
        .in_channels = 8,
        .in_h = 11,
        .in_w = 12,
        .out_channels = 8,
        .kernel_h = 3,
        .kernel_w = 5,
        .stride_h = 1,
        .stride_w = 2,
        .pad_h = 0,
        .pad_w = 2,
        .dilation_h = 2,
        .dilation_w = 1},
       false},
  };
  uint32_t seed = 400;
  for (const Case& test_case : cases) {
    CAPTURE(test_case.name);
    check_cpu_matches_ref(test_case.params, test_case.with_bias, seed += 10);
  }
  // The second call with the same params reuses the cached primitives, reorders and layout
  // buffers with new caller buffers.
  check_cpu_matches_ref(cases[6].params, true, seed += 10);
  check_cpu_matches_ref(cases[3].params, false, seed += 10);
}

TEST_CASE("conv2d rejects bad params") {
  const Conv2dParams good{.batch = 1,
                          .in_channels = 4,
                          .in_h = 5,
                          .in_w = 5,
                          .out_channels = 6,
                          .kernel_h = 3,
                          .kernel_w = 3,
                          .groups = 2};
  CHECK_NOTHROW(good.validate());
  Conv2dParams bad = good;
  bad.groups = 4;  // 6 output channels do not divide by 4
  CHECK_THROWS_WITH_AS(bad.validate(), doctest::Contains("groups"), pare::Error);
  bad = good;
  bad.kernel_h = 7;  // larger than the unpadded input
  CHECK_THROWS_WITH_AS(bad.validate(), doctest::Contains("conv2d"), pare::Error);
  bad = good;
  bad.stride_w = 0;
  CHECK_THROWS_AS(bad.validate(), pare::Error);
  bad = good;
  bad.pad_h = -1;
  CHECK_THROWS_AS(bad.validate(), pare::Error);
  bad = good;
  bad.dilation_h = 0;
  CHECK_THROWS_AS(bad.validate(), pare::Error);
  bad = good;
  bad.batch = 0;
  const std::vector<float> buffer(256);
  std::vector<float> out(256);
  CHECK_THROWS_AS(
      pare::kernels::cpu::conv2d_forward(bad, buffer.data(), buffer.data(), nullptr, out.data()),
      pare::Error);
}
