// Prepared primitives bind their memories once and re-point only the caller's buffers per call,
// skipping an address that did not move (an arena buffer) where the layout has no padding. These
// tests check that each call still computes that call's data: a src at a new address, a dst at a
// new address, and a padded blocked buffer at the same address whose bytes (padding included)
// were overwritten in between, as a reused arena region is. The reference is the naive kernel.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "pare/kernels/conv2d.h"
#include "pare/kernels/memory_layout.h"
#include "pare/kernels/prepared_conv2d.h"
#include "test_util.h"

namespace {

using pare::kernels::Conv2dParams;
using pare::kernels::cpu::PreparedConv2d;
using pare::kernels::cpu::PreparedConv2dOptions;
using pare::testing::max_abs_diff;
using pare::testing::random_floats;

Conv2dParams conv3x3(int64_t in_channels, int64_t out_channels, int64_t size) {
  Conv2dParams p;
  p.batch = 2;
  p.in_channels = in_channels;
  p.out_channels = out_channels;
  p.in_h = p.in_w = size;
  p.kernel_h = p.kernel_w = 3;
  p.pad_h = p.pad_w = 1;
  return p;
}

// conv1 (3 -> 10 channels, written in 16-channel blocks: 6 channels of padding) then conv2
// (10 -> 4, reading that blocked buffer, writing plain NCHW), with the naive kernel's answer.
struct TwoConvs {
  static constexpr int64_t kSize = 6;
  Conv2dParams p1 = conv3x3(3, 10, kSize), p2 = conv3x3(10, 4, kSize);
  std::vector<float> w1 = random_floats(10 * 3 * 9, 1), b1 = random_floats(10, 2);
  std::vector<float> w2 = random_floats(4 * 10 * 9, 3), b2 = random_floats(4, 4);
  PreparedConv2d conv1, conv2;

  TwoConvs() : conv1(p1, w1.data(), b1.data(), first_options()), conv2(make_second()) {}

  PreparedConv2dOptions first_options() const {
    PreparedConv2dOptions options;
    options.dst_layout = PreparedConv2d::winograd_layout({p1.batch, 10, kSize, kSize});
    return options;
  }
  PreparedConv2d make_second() const {
    PreparedConv2dOptions options;
    options.src_layout = conv1.dst_layout();
    return PreparedConv2d(p2, w2.data(), b2.data(), options);
  }

  size_t src_count() const { return static_cast<size_t>(p1.batch * 3 * kSize * kSize); }
  size_t dst_count() const { return static_cast<size_t>(p2.batch * 4 * kSize * kSize); }

  std::vector<float> reference(const std::vector<float>& x) const {
    std::vector<float> mid(static_cast<size_t>(p1.batch * 10 * kSize * kSize)), y(dst_count());
    pare::kernels::ref::conv2d_forward(p1, x.data(), w1.data(), b1.data(), mid.data());
    pare::kernels::ref::conv2d_forward(p2, mid.data(), w2.data(), b2.data(), y.data());
    return y;
  }

  std::vector<float> run(const std::vector<float>& x, std::vector<std::byte>& mid) {
    std::vector<float> y(dst_count());
    conv1.run(x.data(), mid.data());
    conv2.run(mid.data(), y.data());
    return y;
  }
};

TEST_CASE("prepared convs compute each call's data, whatever moved or was overwritten") {
  TwoConvs convs;
  const size_t mid_bytes = convs.conv1.dst_layout().bytes();
  // The blocked buffer holds 16 channels per pixel for 10 real ones.
  REQUIRE(mid_bytes == 16 *
                           static_cast<size_t>(convs.p1.batch * TwoConvs::kSize * TwoConvs::kSize) *
                           sizeof(float));
  const std::vector<float> x1 = random_floats(convs.src_count(), 10);
  const std::vector<float> x2 = random_floats(convs.src_count(), 11);
  const std::vector<float> want1 = convs.reference(x1), want2 = convs.reference(x2);
  REQUIRE(max_abs_diff(want1, want2) > 0.1);
  std::vector<std::byte> mid(mid_bytes), other_mid(mid_bytes);

  CHECK(max_abs_diff(convs.run(x1, mid), want1) <= 1e-4);
  SUBCASE("a src at another address") { CHECK(max_abs_diff(convs.run(x2, mid), want2) <= 1e-4); }
  SUBCASE("the same src address holding other values") {
    std::vector<float> x = x1;
    CHECK(max_abs_diff(convs.run(x, mid), want1) <= 1e-4);
    x = x2;  // same size: the same buffer
    CHECK(max_abs_diff(convs.run(x, mid), want2) <= 1e-4);
  }
  SUBCASE("the blocked buffer at another address") {
    CHECK(max_abs_diff(convs.run(x2, other_mid), want2) <= 1e-4);
    CHECK(max_abs_diff(convs.run(x1, mid), want1) <= 1e-4);
  }
  SUBCASE("the blocked buffer at the same address, overwritten with NaN, padding included") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    auto* floats = reinterpret_cast<float*>(mid.data());
    for (size_t i = 0; i < mid_bytes / sizeof(float); ++i) floats[i] = nan;
    CHECK(max_abs_diff(convs.run(x2, mid), want2) <= 1e-4);
  }
}

}  // namespace
