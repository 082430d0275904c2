// per_index_power_sums / per_index_products against three plain loops in the order the header
// promises (the axes before `axis` outer, the axes after it inner, from 0.0 in double): the sums
// must be bit-identical, since pruning decisions and reports compare scores exactly. Random shapes
// cover index counts that are and are not multiples of the kernel's lane count, inner runs of one
// (1x1 convs, Linear columns) and longer, and outer counts of one (output rows).
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "pare/pare.h"
#include "pare/passes/pruning/axis_sums.h"
#include "test_util.h"

namespace {

using pare::Shape;
using pare::Tensor;

// sum over o (axes before `axis`), then k (axes after it), of term(x[o][i][k]).
template <typename Term>
std::vector<double> plain_sums(const Shape& shape, int64_t axis, Term term) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
  for (int64_t d = axis + 1; d < static_cast<int64_t>(shape.size()); ++d) inner *= shape[d];
  std::vector<double> sums(static_cast<size_t>(shape[axis]), 0.0);
  for (int64_t i = 0; i < shape[axis]; ++i)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < inner; ++k) sums[i] += term((o * shape[axis] + i) * inner + k);
  return sums;
}

std::vector<Shape> random_shapes(uint32_t seed, int count) {
  std::mt19937 generator(seed);
  std::uniform_int_distribution<int64_t> rank(1, 4), extent(1, 19);
  std::vector<Shape> shapes = {{37}, {20, 1}, {1, 17}, {16, 8, 3, 3}, {9, 13, 1, 1}};
  for (int n = 0; n < count; ++n) {
    Shape shape(static_cast<size_t>(rank(generator)));
    for (int64_t& size : shape) size = extent(generator);
    shapes.push_back(shape);
  }
  return shapes;
}

}  // namespace

TEST_CASE("per_index_power_sums equals plain loops bit for bit, for p = 1, 2 and 3") {
  uint32_t seed = 1;
  for (const Shape& shape : random_shapes(11, 40)) {
    const Tensor value = pare::testing::random_tensor(shape, seed++, -3.0f, 3.0f);
    const std::vector<float> data = pare::to_float_vector(value);
    for (int64_t axis = 0; axis < static_cast<int64_t>(shape.size()); ++axis)
      for (double p : {1.0, 2.0, 3.0}) {
        const std::string where = pare::str_cat(shape, " axis ", axis, " p ", p);
        CAPTURE(where);
        const std::vector<double> expected = plain_sums(shape, axis, [&](int64_t at) {
          const double x = std::abs(static_cast<double>(data[at]));
          return p == 1.0 ? x : p == 2.0 ? x * x : std::pow(x, p);
        });
        CHECK(pare::pruning::per_index_power_sums(value, axis, p) == expected);
      }
  }
}

TEST_CASE("per_index_products equals plain loops bit for bit") {
  uint32_t seed = 100;
  for (const Shape& shape : random_shapes(12, 30)) {
    const Tensor value = pare::testing::random_tensor(shape, seed++);
    const Tensor other = pare::testing::random_tensor(shape, seed++);
    const std::vector<float> w = pare::to_float_vector(value), g = pare::to_float_vector(other);
    for (int64_t axis = 0; axis < static_cast<int64_t>(shape.size()); ++axis) {
      const std::string where = pare::str_cat(shape, " axis ", axis);
      CAPTURE(where);
      const std::vector<double> expected =
          plain_sums(shape, axis, [&](int64_t at) { return static_cast<double>(w[at]) * g[at]; });
      CHECK(pare::pruning::per_index_products(value, other, axis) == expected);
    }
  }
}

TEST_CASE("per_index_power_sums reads a non-contiguous tensor by its logical layout") {
  const Tensor base = pare::testing::random_tensor({6, 11, 3}, 5);
  const Tensor transposed = base.transpose(0, 1);  // [11, 6, 3], not contiguous
  for (int64_t axis = 0; axis < 3; ++axis)
    CHECK(pare::pruning::per_index_power_sums(transposed, axis, 2.0) ==
          pare::pruning::per_index_power_sums(transposed.contiguous(), axis, 2.0));
}

TEST_CASE("per-index sums match the tensor ops' sums of |x| and x^2 to rounding") {
  const Tensor value = pare::testing::random_tensor({12, 10, 3, 3}, 9);
  const std::vector<double> l1 = pare::pruning::per_index_power_sums(value, 1, 1.0);
  const std::vector<double> l2 = pare::pruning::per_index_power_sums(value, 0, 2.0);
  const std::vector<float> ops_l1 = pare::to_float_vector(pare::sum(pare::abs(value), {0, 2, 3}));
  const std::vector<float> ops_l2 = pare::to_float_vector(pare::sum(value * value, {1, 2, 3}));
  for (size_t i = 0; i < l1.size(); ++i) CHECK(l1[i] == doctest::Approx(ops_l1[i]).epsilon(1e-5));
  for (size_t i = 0; i < l2.size(); ++i) CHECK(l2[i] == doctest::Approx(ops_l2[i]).epsilon(1e-5));
}

TEST_CASE("per-index sums refuse a non-float tensor, a wrong axis and mismatched shapes") {
  using pare::testing::contains;
  using pare::testing::error_of;
  const Tensor value = pare::testing::random_tensor({4, 3}, 1);
  CHECK(contains(
      error_of([&] {
        pare::pruning::per_index_power_sums(pare::tensor(std::vector<int64_t>{1, 2}), 0, 2.0);
      }),
      "per_index_power_sums: expected a float32 tensor"));
  CHECK(contains(error_of([&] { pare::pruning::per_index_power_sums(value, 2, 2.0); }),
                 "axis 2 is out of range for shape [4, 3]"));
  CHECK(contains(
      error_of([&] {
        pare::pruning::per_index_products(value, pare::testing::random_tensor({3, 4}, 2), 0);
      }),
      "shapes [4, 3] and [3, 4] differ"));
}
