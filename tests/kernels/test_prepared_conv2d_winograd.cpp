// The prepared convolution with oneDNN's Winograd algorithm (PreparedConv2dOptions::winograd)
// against the naive reference kernel on ResNet-18's 3x3 stride-1 shapes: plain and blocked
// layouts, the fused residual add and ReLU, and which params and layouts have a Winograd kernel.
// Winograd transforms the input and output tiles, so it rounds differently from the direct
// kernel: the checks bound its error relative to the output's largest magnitude.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "pare/error.h"
#include "pare/kernels/conv2d.h"
#include "pare/kernels/memory_layout.h"
#include "pare/kernels/prepared_conv2d.h"
#include "test_util.h"

namespace {

using pare::kernels::Conv2dParams;
using pare::kernels::LayoutReorder;
using pare::kernels::MemoryLayout;
using pare::kernels::cpu::PreparedConv2d;
using pare::kernels::cpu::PreparedConv2dOptions;
using pare::testing::random_floats;

Conv2dParams conv3x3(int64_t batch, int64_t in_channels, int64_t out_channels, int64_t size) {
  Conv2dParams p;
  p.batch = batch;
  p.in_channels = in_channels;
  p.out_channels = out_channels;
  p.in_h = p.in_w = size;
  p.kernel_h = p.kernel_w = 3;
  p.pad_h = p.pad_w = 1;
  return p;
}

std::vector<int64_t> src_dims(const Conv2dParams& p) {
  return {p.batch, p.in_channels, p.in_h, p.in_w};
}
std::vector<int64_t> dst_dims(const Conv2dParams& p) {
  return {p.batch, p.out_channels, p.out_h(), p.out_w()};
}
size_t count(const std::vector<int64_t>& dims) {
  size_t n = 1;
  for (int64_t d : dims) n *= static_cast<size_t>(d);
  return n;
}

// A conv layer's values as a trained network has them: weights scaled by He's rule, so that the
// outputs stay of order one whatever the channel count (the relative error is then comparable
// across shapes).
struct ConvData {
  std::vector<float> src, weight, bias;
  explicit ConvData(const Conv2dParams& p, uint32_t seed)
      : src(random_floats(count(src_dims(p)), seed)),
        weight(random_floats(p.out_channels * p.in_channels * 9, seed + 1)),
        bias(random_floats(p.out_channels, seed + 2, -0.1f, 0.1f)) {
    const float scale = std::sqrt(6.0f / static_cast<float>(p.in_channels * 9));
    for (float& w : weight) w *= scale;
  }
};

// max |actual - expected| / max |expected|.
double relative_error(const std::vector<float>& actual, const std::vector<float>& expected) {
  double largest = 0.0;
  for (float v : expected) largest = std::max(largest, static_cast<double>(std::fabs(v)));
  return pare::testing::max_abs_diff(actual, expected) / largest;
}

std::vector<float> reference(const Conv2dParams& p, const ConvData& data) {
  std::vector<float> expected(count(dst_dims(p)));
  pare::kernels::ref::conv2d_forward(p, data.src.data(), data.weight.data(), data.bias.data(),
                                     expected.data());
  return expected;
}

// Winograd's error against the reference on ResNet-18's shapes was measured at 0.5e-6 to 2.1e-6
// of the largest output (oneDNN 2.6, AVX-512), the direct kernel's at 1.2e-6 to 2.1e-6 (the
// reference accumulates in float too). The bound leaves room for other CPUs' rounding and stays
// far below anything a wrong tile or transform would give.
constexpr double kWinogradRelativeTolerance = 1e-5;

}  // namespace

TEST_CASE("Winograd prepared conv matches the reference kernel on ResNet-18's 3x3 shapes") {
  // The four stages' stride-1 convs; batch 1 gets oneDNN's F(2x2, 3x3) kernel on some and
  // F(4x4, 3x3) on others, batch 3 the latter on the 14x14 stage.
  const std::vector<Conv2dParams> shapes = {conv3x3(1, 64, 64, 56), conv3x3(1, 128, 128, 28),
                                            conv3x3(1, 256, 256, 14), conv3x3(3, 256, 256, 14),
                                            conv3x3(1, 512, 512, 7)};
  for (const Conv2dParams& p : shapes) {
    CAPTURE(p.batch);
    CAPTURE(p.in_channels);
    CAPTURE(p.in_h);
    if (!PreparedConv2d::winograd_supported(p)) {
      MESSAGE("no Winograd convolution from oneDNN on this CPU: skipped");
      return;
    }
    const ConvData data(p, 11);
    const std::vector<float> expected = reference(p, data);
    PreparedConv2dOptions options;
    options.winograd = true;
    PreparedConv2d winograd(p, data.weight.data(), data.bias.data(), options);
    CHECK(winograd.src_layout().is_plain());  // converted inside run(), as asked
    CHECK(winograd.dst_layout().is_plain());
    std::vector<float> actual(expected.size(), -7.0f);
    winograd.run(data.src.data(), actual.data());
    PreparedConv2d direct(p, data.weight.data(), data.bias.data(), {});
    std::vector<float> direct_out(expected.size(), -7.0f);
    direct.run(data.src.data(), direct_out.data());
    const double winograd_error = relative_error(actual, expected);
    MESSAGE("relative error: winograd ", winograd_error, ", direct ",
            relative_error(direct_out, expected));
    CHECK(winograd_error <= kWinogradRelativeTolerance);
    CHECK(relative_error(direct_out, expected) <= kWinogradRelativeTolerance);
  }
}

TEST_CASE("Winograd prepared conv in its blocked layout, with the residual add and ReLU fused") {
  const Conv2dParams p = conv3x3(2, 64, 64, 14);
  if (!PreparedConv2d::winograd_supported(p)) {
    MESSAGE("no Winograd convolution from oneDNN on this CPU: skipped");
    return;
  }
  const ConvData data(p, 21);
  const std::vector<float> shortcut = random_floats(count(dst_dims(p)), 24, -2.0f, 2.0f);
  std::vector<float> expected = reference(p, data);
  for (size_t i = 0; i < expected.size(); ++i)
    expected[i] = std::max(0.0f, expected[i] + shortcut[i]);

  const MemoryLayout blocked_src = PreparedConv2d::winograd_layout(src_dims(p));
  const MemoryLayout blocked_dst = PreparedConv2d::winograd_layout(dst_dims(p));
  CHECK_FALSE(blocked_src.is_plain());
  PreparedConv2dOptions options;
  options.winograd = true;
  options.src_layout = blocked_src;
  options.dst_layout = blocked_dst;
  options.accumulate = true;
  options.activation = pare::kernels::default_activation_params(pare::kernels::Activation::relu);
  REQUIRE(PreparedConv2d::winograd_implemented(p, options));
  PreparedConv2d conv(p, data.weight.data(), data.bias.data(), options);
  CHECK(conv.src_layout() == blocked_src);  // taken as it is: no conversion in run()
  CHECK(conv.dst_layout() == blocked_dst);

  const MemoryLayout plain_src = MemoryLayout::plain(src_dims(p));
  const MemoryLayout plain_dst = MemoryLayout::plain(dst_dims(p));
  std::vector<std::byte> x(blocked_src.bytes()), y(blocked_dst.bytes());
  LayoutReorder(plain_src, blocked_src).run(data.src.data(), x.data());
  LayoutReorder(plain_dst, blocked_dst).run(shortcut.data(), y.data());
  conv.run(x.data(), y.data());
  std::vector<float> actual(expected.size(), -7.0f);
  LayoutReorder(blocked_dst, plain_dst).run(y.data(), actual.data());
  CHECK(relative_error(actual, expected) <= kWinogradRelativeTolerance);
}

TEST_CASE("Winograd is offered for 3x3 stride-1 convs only, and asked elsewhere throws") {
  const Conv2dParams base = conv3x3(1, 32, 32, 8);
  if (!PreparedConv2d::winograd_supported(base)) {
    MESSAGE("no Winograd convolution from oneDNN on this CPU: skipped");
    return;
  }
  Conv2dParams strided = base;
  strided.stride_h = strided.stride_w = 2;
  Conv2dParams pointwise = base;
  pointwise.kernel_h = pointwise.kernel_w = 1;
  pointwise.pad_h = pointwise.pad_w = 0;
  Conv2dParams grouped = base;
  grouped.groups = 2;
  Conv2dParams dilated = base;
  dilated.dilation_h = dilated.dilation_w = 2;
  dilated.pad_h = dilated.pad_w = 2;
  for (const Conv2dParams& p : {strided, pointwise, grouped, dilated}) {
    CHECK_FALSE(PreparedConv2d::winograd_supported(p));
    const std::vector<float> weight(p.out_channels * (p.in_channels / p.groups) * p.kernel_h *
                                    p.kernel_w);
    PreparedConv2dOptions options;
    options.winograd = true;
    const std::string error =
        pare::testing::error_of([&] { PreparedConv2d(p, weight.data(), nullptr, options); });
    CHECK(pare::testing::contains(error, "PreparedConv2d: oneDNN has no Winograd convolution"));
    CHECK(pare::testing::contains(error, "winograd_supported"));
  }
  // Accumulating into a plain NCHW dst: Winograd writes only its blocked layout.
  PreparedConv2dOptions plain_sum;
  plain_sum.accumulate = true;
  plain_sum.dst_layout = MemoryLayout::plain(dst_dims(base));
  CHECK_FALSE(PreparedConv2d::winograd_implemented(base, plain_sum));
  plain_sum.dst_layout = PreparedConv2d::winograd_layout(dst_dims(base));
  CHECK(PreparedConv2d::winograd_implemented(base, plain_sum));
}
