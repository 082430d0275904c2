// Normalize, RandomCrop, RandomHorizontalFlip and Compose against hand-computed values and a
// naive zero-padded-window reference.
#include <doctest/doctest.h>

#include <set>
#include <vector>

#include "pare/creation.h"
#include "pare/data/fashion_mnist.h"
#include "pare/data/transforms.h"

namespace T = pare::data::transforms;

namespace {

std::vector<float> values_of(const pare::Tensor& tensor) { return pare::to_float_vector(tensor); }

// The size x size window at (top, left) of `image` (height x width, row-major) zero-padded by
// `padding`: the reference RandomCrop must match for some (top, left).
std::vector<float> padded_window(const std::vector<float>& image, int64_t height, int64_t width,
                                 int64_t padding, int64_t top, int64_t left, int64_t size) {
  std::vector<float> window;
  for (int64_t y = 0; y < size; ++y) {
    for (int64_t x = 0; x < size; ++x) {
      const int64_t row = top + y - padding;
      const int64_t column = left + x - padding;
      const bool inside = row >= 0 && row < height && column >= 0 && column < width;
      window.push_back(inside ? image[row * width + column] : 0.0f);
    }
  }
  return window;
}

}  // namespace

TEST_CASE("Normalize with one mean and std") {
  pare::Tensor image = pare::tensor({0.0f, 0.25f, 0.5f, 1.0f}, {1, 2, 2});
  pare::Tensor normalized = T::Normalize(0.5, 0.25)(image);
  CHECK(normalized.sizes() == pare::Shape{1, 2, 2});
  CHECK(values_of(normalized) == std::vector<float>{-2.0f, -1.0f, 0.0f, 2.0f});
  CHECK(values_of(image) == std::vector<float>{0.0f, 0.25f, 0.5f, 1.0f});  // input untouched

  // Fashion-MNIST's statistics: a black pixel becomes -0.2860 / 0.3530.
  pare::Tensor black = pare::zeros({1, 1, 1});
  T::Normalize fashion(pare::data::kFashionMnistMean, pare::data::kFashionMnistStd);
  CHECK(values_of(fashion(black))[0] == doctest::Approx(-0.810198).epsilon(1e-6));
}

TEST_CASE("Normalize per channel") {
  pare::Tensor image = pare::tensor({1.0f, 2.0f, 3.0f, 4.0f}, {2, 1, 2});
  pare::Generator generator(0);
  pare::Tensor normalized = T::Normalize({1.0, 2.0}, {1.0, 0.5})(image, generator);
  CHECK(values_of(normalized) == std::vector<float>{0.0f, 1.0f, 2.0f, 4.0f});
  CHECK_THROWS_AS(T::Normalize({0.0, 0.0, 0.0}, {1.0, 1.0, 1.0})(image), pare::Error);
  CHECK_THROWS_AS(T::Normalize({0.0}, {1.0, 1.0}), pare::Error);
  CHECK_THROWS_AS(T::Normalize(0.0, 0.0), pare::Error);
  CHECK_THROWS_AS(T::Normalize(0.0, 1.0)(pare::zeros({2}, pare::kInt64)), pare::Error);
}

TEST_CASE("RandomCrop with padding takes zero-padded windows at every offset") {
  // 1..9 in a 3x3 image, padding 1: the padded image is 5x5 and there are 3x3 offsets.
  const std::vector<float> pixels = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  pare::Tensor image = pare::tensor(pixels, {1, 3, 3});
  // Three windows by hand, to pin the reference down.
  CHECK(padded_window(pixels, 3, 3, 1, 0, 0, 3) == std::vector<float>{0, 0, 0, 0, 1, 2, 0, 4, 5});
  CHECK(padded_window(pixels, 3, 3, 1, 2, 2, 3) == std::vector<float>{5, 6, 0, 8, 9, 0, 0, 0, 0});
  CHECK(padded_window(pixels, 3, 3, 1, 1, 1, 3) == pixels);

  T::RandomCrop crop(3, 1);
  pare::Generator generator(1);
  std::set<std::pair<int64_t, int64_t>> offsets_seen;
  for (int draw = 0; draw < 300; ++draw) {
    pare::Tensor cropped = crop(image, generator);
    REQUIRE(cropped.sizes() == pare::Shape{1, 3, 3});
    const std::vector<float> window = values_of(cropped);
    bool matched = false;
    for (int64_t top = 0; top < 3; ++top) {
      for (int64_t left = 0; left < 3; ++left) {
        if (padded_window(pixels, 3, 3, 1, top, left, 3) == window) {
          offsets_seen.insert({top, left});
          matched = true;
        }
      }
    }
    CHECK(matched);
  }
  CHECK(offsets_seen.size() == 9);
  CHECK(values_of(image) == pixels);  // input untouched

  // The same generator state gives the same crop.
  pare::Generator a(42), b(42);
  CHECK(values_of(crop(image, a)) == values_of(crop(image, b)));
}

TEST_CASE("RandomCrop moves every channel by the same offset") {
  std::vector<float> two_channels;
  for (int c = 0; c < 2; ++c)
    for (int i = 1; i <= 16; ++i) two_channels.push_back(static_cast<float>(i + 100 * c));
  pare::Tensor image = pare::tensor(two_channels, {2, 4, 4});
  T::RandomCrop crop(4, 2);
  pare::Generator generator(3);
  for (int draw = 0; draw < 50; ++draw) {
    std::vector<float> out = values_of(crop(image, generator));
    REQUIRE(out.size() == 32);
    for (int i = 0; i < 16; ++i) {
      // Padding is 0 in both channels; image pixels differ by exactly 100.
      if (out[i] == 0.0f)
        CHECK(out[16 + i] == 0.0f);
      else
        CHECK(out[16 + i] - out[i] == 100.0f);
    }
  }
}

TEST_CASE("RandomCrop without padding, rectangular, and too large") {
  const std::vector<float> pixels = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  pare::Tensor image = pare::tensor(pixels, {3, 4});  // [H, W] works too
  pare::Generator generator(5);
  std::set<std::vector<float>> windows;
  for (int draw = 0; draw < 100; ++draw) {
    pare::Tensor cropped = T::RandomCrop(2, 3, 0)(image, generator);
    REQUIRE(cropped.sizes() == pare::Shape{2, 3});
    windows.insert(values_of(cropped));
  }
  // 2 x 2 offsets: rows {0,1} or {1,2}, columns {0..2} or {1..3}.
  CHECK(windows ==
        std::set<std::vector<float>>{
            {0, 1, 2, 4, 5, 6}, {1, 2, 3, 5, 6, 7}, {4, 5, 6, 8, 9, 10}, {5, 6, 7, 9, 10, 11}});
  CHECK_THROWS_AS(T::RandomCrop(5, 0)(image, generator), pare::Error);
  CHECK_THROWS_AS(T::RandomCrop(3, -1), pare::Error);
}

TEST_CASE("RandomHorizontalFlip mirrors each row with probability p") {
  pare::Tensor image = pare::tensor({1, 2, 3, 4, 5, 6}, {1, 2, 3});
  pare::Generator generator(9);
  CHECK(values_of(T::RandomHorizontalFlip(1.0)(image, generator)) ==
        std::vector<float>{3, 2, 1, 6, 5, 4});
  CHECK(values_of(T::RandomHorizontalFlip(0.0)(image, generator)) ==
        std::vector<float>{1, 2, 3, 4, 5, 6});
  int flipped = 0;
  T::RandomHorizontalFlip half(0.5);
  for (int draw = 0; draw < 400; ++draw) flipped += values_of(half(image, generator))[0] == 3.0f;
  CHECK(flipped > 140);  // about 200 of 400 (a fixed seed: this is not a flaky bound)
  CHECK(flipped < 260);
  CHECK(values_of(image) == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK_THROWS_AS(T::RandomHorizontalFlip(1.5), pare::Error);
}

TEST_CASE("Compose applies its transforms in order") {
  pare::Tensor image = pare::tensor({1, 2, 3}, {1, 1, 3});
  pare::Generator generator(0);
  // Flip first ({3, 2, 1}), then (x - 1) / 2.
  T::Compose flip_then_normalize({T::RandomHorizontalFlip(1.0), T::Normalize(1.0, 2.0)});
  CHECK(values_of(flip_then_normalize(image, generator)) == std::vector<float>{1.0f, 0.5f, 0.0f});
  // Order matters for non-commuting steps: (x + 1) * 2 versus x * 2 + 1.
  T::Normalize add_one(-1.0, 1.0), double_it(0.0, 0.5);
  CHECK(values_of(T::Compose({add_one, double_it})(image, generator)) ==
        std::vector<float>{4, 6, 8});
  CHECK(values_of(T::Compose({double_it, add_one})(image, generator)) ==
        std::vector<float>{3, 5, 7});
  T::Compose crop_then_normalize({T::RandomCrop(1, 1, 0), T::Normalize(0.0, 0.5)});
  float value = values_of(crop_then_normalize(image, generator))[0];
  CHECK((value == 2.0f || value == 4.0f || value == 6.0f));
  CHECK_THROWS_AS(T::Compose({pare::data::Transform()}), pare::Error);
}
