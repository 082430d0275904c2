// keep_along_axes against index_select applied axis by axis (the generic path it replaces in the
// group pruner) on random shapes, dtypes and index lists: the results must be equal element for
// element, with the same shape.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "pare/pare.h"
#include "pare/passes/pruning/keep_along_axes.h"
#include "test_util.h"

namespace {

using pare::Shape;
using pare::Tensor;
using Kept = std::map<int64_t, std::vector<int64_t>>;

Tensor axis_by_axis(Tensor value, const Kept& kept) {
  for (const auto& [axis, indices] : kept)
    value = pare::index_select(value, axis,
                               pare::tensor(indices, {static_cast<int64_t>(indices.size())}));
  return value.contiguous();
}

// A sorted subset (what pruning keeps) or, for `any_order`, indices in any order with repeats.
std::vector<int64_t> random_indices(int64_t size, bool any_order, std::mt19937& generator) {
  std::vector<int64_t> indices;
  if (any_order) {
    std::uniform_int_distribution<int64_t> count(1, 2 * size), index(0, size - 1);
    for (int64_t n = count(generator); n > 0; --n) indices.push_back(index(generator));
    return indices;
  }
  std::bernoulli_distribution keep(0.6);
  for (int64_t i = 0; i < size; ++i)
    if (keep(generator)) indices.push_back(i);
  if (indices.empty()) indices.push_back(size - 1);
  return indices;
}

void check_same(const Tensor& value, const Kept& kept) {
  const Tensor expected = axis_by_axis(value, kept);
  const Tensor actual = pare::pruning::keep_along_axes(value, kept);
  REQUIRE(actual.sizes() == expected.sizes());
  REQUIRE(actual.dtype() == expected.dtype());
  if (value.dtype() == pare::kInt64) {
    CHECK(pare::to_int64_vector(actual) == pare::to_int64_vector(expected));
  } else {
    CHECK(pare::to_float_vector(actual) == pare::to_float_vector(expected));
  }
}

}  // namespace

TEST_CASE("keep_along_axes equals index_select axis by axis on random shapes and index lists") {
  std::mt19937 generator(3);
  std::uniform_int_distribution<int64_t> rank(1, 4), extent(1, 9);
  std::vector<Shape> shapes = {{64, 32, 3, 3}, {48, 16, 1, 1}, {10, 20}, {7}, {6, 4, 2, 5}};
  for (int n = 0; n < 60; ++n) {
    Shape shape(static_cast<size_t>(rank(generator)));
    for (int64_t& size : shape) size = extent(generator);
    shapes.push_back(shape);
  }
  uint32_t seed = 1;
  for (const Shape& shape : shapes) {
    const Tensor value = pare::testing::random_tensor(shape, seed++);
    const int64_t rank_of = static_cast<int64_t>(shape.size());
    // Every non-empty subset of the axes, kept as pruning keeps and in any order.
    for (int64_t mask = 1; mask < (int64_t{1} << rank_of); ++mask)
      for (bool any_order : {false, true}) {
        Kept kept;
        for (int64_t axis = 0; axis < rank_of; ++axis)
          if (mask & (int64_t{1} << axis))
            kept[axis] = random_indices(shape[axis], any_order, generator);
        const std::string where = pare::str_cat(shape, " mask ", mask, " any order ", any_order);
        CAPTURE(where);
        check_same(value, kept);
      }
  }
}

TEST_CASE("keep_along_axes copies int64 tensors and non-contiguous views, and keeps no history") {
  std::vector<int64_t> counts(60);
  for (size_t i = 0; i < counts.size(); ++i) counts[i] = static_cast<int64_t>(i * i);
  check_same(pare::tensor(counts, {5, 12}), {{0, {0, 3, 4}}, {1, {1, 2, 11}}});
  const Tensor base = pare::testing::random_tensor({6, 8, 3}, 4);
  check_same(base.transpose(0, 1), {{0, {0, 5, 7}}, {2, {2}}});

  Tensor parameter = pare::testing::random_tensor({4, 3}, 5);
  parameter.set_requires_grad(true);
  const Tensor kept = pare::pruning::keep_along_axes(parameter, {{0, {1, 2}}});
  CHECK_FALSE(kept.requires_grad());
  CHECK(kept.is_leaf());
  CHECK(pare::pruning::keep_along_axes(parameter, {}).sizes() == Shape{4, 3});
}

TEST_CASE("keep_along_axes with no index left along an axis gives an empty tensor") {
  const Tensor value = pare::testing::random_tensor({4, 3}, 6);
  CHECK(pare::pruning::keep_along_axes(value, {{1, {}}}).sizes() == Shape{4, 0});
}

TEST_CASE("keep_along_axes refuses an axis or an index out of range") {
  using pare::testing::contains;
  using pare::testing::error_of;
  const Tensor value = pare::testing::random_tensor({4, 3}, 7);
  CHECK(contains(error_of([&] {
                   pare::pruning::keep_along_axes(value, {{2, {0}}});
                 }),
                 "keep_along_axes: axis 2 is out of range for shape [4, 3]"));
  CHECK(contains(error_of([&] {
                   pare::pruning::keep_along_axes(value, {{-1, {0}}});
                 }),
                 "keep_along_axes: axis -1 is out of range"));
  CHECK(contains(error_of([&] {
                   pare::pruning::keep_along_axes(value, {{1, {0, 3}}});
                 }),
                 "keep_along_axes: index 3 is out of range for axis 1 of shape [4, 3]"));
}
