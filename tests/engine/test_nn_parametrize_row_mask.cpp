// Row masks on Linear and Conv2d: with grad mode off a layer whose weight's only parametrization
// is a row mask runs on the stored weight and clears the masked outputs. That must give the
// materialised path's output bit for bit, fall back to it wherever the two could differ (a
// non-finite masked row or input, a bias of the layer's own), and leave training (grad mode on)
// going through the parametrization. Also: register_parametrization's unsafe flag.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "pare/memory_stats.h"
#include "pare/pare.h"
#include "test_util.h"

namespace {

namespace nn = pare::nn;
using pare::Shape;
using pare::Tensor;

// weight = mask[:, None, ...] * original, as the structured sparsifier's parametrization
// computes it, and says so through row_mask().
class BoolRowMask : public nn::Parametrization {
 public:
  explicit BoolRowMask(const std::vector<uint8_t>& mask) : nn::Parametrization("BoolRowMask") {
    register_buffer("mask", pare::bool_tensor(mask, {static_cast<int64_t>(mask.size())}));
  }
  Tensor apply(const Tensor& original) override {
    Shape per_row(original.dim(), 1);
    per_row[0] = original.size(0);
    return get_buffer("mask").to(pare::kFloat32).reshape(per_row) * original;
  }
  Tensor row_mask() const override { return get_buffer("mask"); }
};

std::vector<uint8_t> every_third_kept(int64_t rows) {
  std::vector<uint8_t> mask;
  for (int64_t row = 0; row < rows; ++row) mask.push_back(row % 3 == 1 ? 1 : 0);
  return mask;
}

// Equal bit for bit, so that +0 and -0 (and NaN payloads) count as different.
bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.sizes() != b.sizes() || a.dtype() != b.dtype()) return false;
  const Tensor left = a.detach().contiguous();
  const Tensor right = b.detach().contiguous();
  return std::memcmp(left.raw_data(), right.raw_data(), left.nbytes()) == 0;
}

// Storage allocated above what was alive before `action`.
int64_t extra_storage_bytes(const std::function<void()>& action) {
  const int64_t before = pare::storage_bytes().live;
  pare::reset_peak_storage_bytes();
  action();
  return pare::storage_bytes().peak - before;
}

void set_value(Tensor tensor, int64_t flat_index, float value) {
  pare::NoGradGuard no_grad;
  Tensor flat = tensor.view({-1});
  flat.data_ptr<float>()[flat_index] = value;
}

}  // namespace

TEST_CASE("unsafe registration does not evaluate the parametrization, and may change the shape") {
  nn::Linear fc(4, 3);
  int calls = 0;
  auto counting = nn::make_parametrization("Counting", [&calls](const Tensor& w) {
    ++calls;
    return w * 2.0;
  });
  nn::register_parametrization(fc.ptr(), "weight", counting, /*unsafe=*/true);
  CHECK(calls == 0);
  // The default still evaluates the chain once, PyTorch's check.
  nn::register_parametrization(fc.ptr(), "weight",
                               nn::make_parametrization("Same", [](const Tensor& w) { return w; }));
  CHECK(calls == 1);

  nn::Linear narrowed(4, 3);
  auto drop_row = nn::make_parametrization(
      "DropRow", [](const Tensor& w) { return w.narrow(0, 0, w.size(0) - 1); });
  nn::register_parametrization(narrowed.ptr(), "weight", drop_row, /*unsafe=*/true);
  CHECK(narrowed->weight().sizes() == Shape{2, 4});
  CHECK(narrowed->parametrization("weight")->original().sizes() == Shape{3, 4});
}

TEST_CASE("a row-masked Linear without grad equals the materialised weight bit for bit") {
  const std::vector<Shape> input_shapes = {{1, 48}, {5, 48}, {2, 3, 48}, {48}};
  for (size_t index = 0; index < input_shapes.size(); ++index) {
    CAPTURE(index);
    const Shape& input_shape = input_shapes[index];
    nn::Linear fc(nn::LinearOptions(48, 30).bias(false));
    pare::testing::fill_parameters(*fc, 3);
    nn::register_parametrization(fc.ptr(), "weight",
                                 std::make_shared<BoolRowMask>(every_third_kept(30)));
    const Tensor x = pare::testing::random_tensor(input_shape, 11, -4.0f, 4.0f);
    pare::NoGradGuard no_grad;
    const Tensor expected = pare::linear(x, fc->weight(), Tensor());
    CHECK(same_bits(fc(x), expected));
  }
}

TEST_CASE("a row-masked Conv2d without grad equals the materialised weight bit for bit") {
  struct Case {
    nn::Conv2dOptions options;
    Shape input;
  };
  const std::vector<Case> cases = {
      {nn::Conv2dOptions(4, 12, 3).bias(false), {2, 4, 9, 9}},
      {nn::Conv2dOptions(4, 12, 3).stride(2).padding(1).bias(false), {1, 4, 10, 7}},
      {nn::Conv2dOptions(6, 12, 3).padding(2).dilation(2).groups(3).bias(false), {2, 6, 8, 8}},
      {nn::Conv2dOptions(4, 9, 1).bias(false), {4, 5, 5}},  // unbatched
  };
  for (size_t index = 0; index < cases.size(); ++index) {
    CAPTURE(index);
    const Case& test = cases[index];
    nn::Conv2d conv(test.options);
    pare::testing::fill_parameters(*conv, 5);
    nn::register_parametrization(
        conv.ptr(), "weight",
        std::make_shared<BoolRowMask>(every_third_kept(test.options.out_channels())));
    const Tensor x = pare::testing::random_tensor(test.input, 13, -4.0f, 4.0f);
    pare::NoGradGuard no_grad;
    const Tensor expected =
        pare::conv2d(x, conv->weight(), Tensor(), test.options.stride(), test.options.padding(),
                     test.options.dilation(), test.options.groups());
    CHECK(same_bits(conv(x), expected));
  }
}

TEST_CASE("the masked layer without grad allocates no copy of its weight") {
  nn::Linear fc(nn::LinearOptions(256, 512).bias(false));
  nn::register_parametrization(fc.ptr(), "weight",
                               std::make_shared<BoolRowMask>(every_third_kept(512)));
  nn::Conv2d conv(nn::Conv2dOptions(64, 128, 3).bias(false));
  nn::register_parametrization(conv.ptr(), "weight",
                               std::make_shared<BoolRowMask>(every_third_kept(128)));
  const Tensor x = pare::testing::random_tensor({1, 256}, 17);
  const Tensor image = pare::testing::random_tensor({1, 64, 4, 4}, 19);
  pare::NoGradGuard no_grad;
  const int64_t weight_bytes = 512 * 256 * 4;  // both weights are 512 KiB
  // What remains is the input check, the output and the cleared output (a few KiB).
  CHECK(extra_storage_bytes([&] { fc(x); }) < weight_bytes / 8);
  CHECK(extra_storage_bytes([&] { conv(image); }) < weight_bytes / 8);
}

TEST_CASE("non-finite values and a layer's own bias keep the materialised path's results") {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<uint8_t> mask = every_third_kept(6);  // rows 1 and 4 kept
  auto masked_linear = [&](bool bias) {
    nn::Linear fc(nn::LinearOptions(5, 6).bias(bias));
    pare::testing::fill_parameters(*fc, 23);
    nn::register_parametrization(fc.ptr(), "weight", std::make_shared<BoolRowMask>(mask));
    return fc;
  };
  const Tensor finite = pare::testing::random_tensor({3, 5}, 29);
  pare::NoGradGuard no_grad;

  SUBCASE("an inf in a masked row makes that output NaN, as 0 * inf does") {
    nn::Linear fc = masked_linear(false);
    set_value(fc->parametrization("weight")->original(), 2 * 5 + 1, inf);  // row 2: masked
    const Tensor y = fc(finite);
    CHECK(same_bits(y, pare::linear(finite, fc->weight(), Tensor())));
    CHECK(std::isnan(pare::to_float_vector(y.select(1, 2))[0]));
  }
  SUBCASE("an inf or NaN in the input reaches the masked outputs as NaN") {
    nn::Linear fc = masked_linear(false);
    for (float bad : {inf, nan}) {
      Tensor x = finite.clone();
      set_value(x, 5 + 3, bad);  // sample 1
      const Tensor y = fc(x);
      CHECK(same_bits(y, pare::linear(x, fc->weight(), Tensor())));
      CHECK(std::isnan(pare::to_float_vector(y.select(0, 1))[0]));  // masked row 0, sample 1
    }
  }
  SUBCASE("a layer with its own bias adds it as the materialised path does") {
    nn::Linear fc = masked_linear(true);
    CHECK(same_bits(fc(finite), pare::linear(finite, fc->weight(), fc->bias())));
  }
}

TEST_CASE("with grad on, a row-masked layer trains through the parametrization") {
  nn::Linear fc(nn::LinearOptions(8, 6).bias(false));
  pare::testing::fill_parameters(*fc, 31);
  nn::register_parametrization(fc.ptr(), "weight",
                               std::make_shared<BoolRowMask>(every_third_kept(6)));
  const Tensor original = fc->parametrization("weight")->original();
  const Tensor x = pare::testing::random_tensor({4, 8}, 37);
  Tensor without_grad;
  {
    pare::NoGradGuard no_grad;
    without_grad = fc(x);
  }
  const Tensor y = fc(x);
  CHECK(y.requires_grad());
  CHECK(same_bits(y, without_grad));
  y.sum().backward();
  // d sum(y) / dW[i][j] = mask[i] * sum_n x[n][j]: zero in masked rows.
  const std::vector<float> column_sums = pare::to_float_vector(x.sum({0}));
  const std::vector<float> grad = pare::to_float_vector(original.grad());
  for (int64_t row = 0; row < 6; ++row)
    for (int64_t column = 0; column < 8; ++column) {
      const float expected = row % 3 == 1 ? column_sums[static_cast<size_t>(column)] : 0.0f;
      CHECK(grad[static_cast<size_t>(row * 8 + column)] == doctest::Approx(expected));
    }
}
