// index_select, cat, stack, split, chunk, nonzero, masked_fill, gather_rows: hand-computed
// values, gradients (by hand and by finite differences) and error messages.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "gradcheck.h"
#include "pare/pare.h"
#include "test_util.h"

using pare::Shape;
using pare::Tensor;
using pare::testing::gradcheck;
using pare::testing::random_floats;

namespace {

Tensor leaf(const Shape& shape, uint32_t seed) {
  Tensor t = pare::tensor(random_floats(pare::shape_numel(shape), seed), shape);
  t.set_requires_grad(true);
  return t;
}

Tensor indices(std::vector<int64_t> values) { return pare::tensor(values); }

std::vector<float> values_of(const Tensor& t) { return pare::to_float_vector(t); }

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const pare::Error& error) {
    return error.what();
  }
  return "no error";
}

// 0, 1, 2, ... as float32 in `shape`.
Tensor iota(const Shape& shape) {
  std::vector<float> values(pare::shape_numel(shape));
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i);
  return pare::tensor(values, shape);
}

}  // namespace

TEST_CASE("index_select along any dim, with repeats and non-contiguous input") {
  Tensor x = iota({3, 4});
  Tensor rows = pare::index_select(x, 0, indices({2, 0, 2}));
  CHECK(rows.sizes() == Shape{3, 4});
  CHECK(values_of(rows) == std::vector<float>{8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11});
  Tensor columns = pare::index_select(x, -1, indices({3, 1}));
  CHECK(columns.sizes() == Shape{3, 2});
  CHECK(values_of(columns) == std::vector<float>{3, 1, 7, 5, 11, 9});
  CHECK(values_of(x.index_select(1, indices({0}))) == std::vector<float>{0, 4, 8});
  Tensor transposed = pare::index_select(x.t(), 0, indices({1, 3}));
  CHECK(values_of(transposed) == std::vector<float>{1, 5, 9, 3, 7, 11});
  Tensor middle = pare::index_select(iota({2, 3, 2}), 1, indices({2, 1}));
  CHECK(values_of(middle) == std::vector<float>{4, 5, 2, 3, 10, 11, 8, 9});
  Tensor labels = pare::tensor(std::vector<int64_t>{5, 6, 7});
  CHECK(pare::to_int64_vector(pare::index_select(labels, 0, indices({2, 2, 0}))) ==
        std::vector<int64_t>{7, 7, 5});
  CHECK(pare::index_select(x, 0, pare::zeros({0}, pare::kInt64)).sizes() == Shape{0, 4});
}

TEST_CASE("index_select bounds and dtype errors") {
  Tensor x = pare::zeros({3, 4});
  std::string message = error_of([&] { pare::index_select(x, 0, indices({0, 3})); });
  CHECK(message == "index_select: index 3 is out of range for dim 0 with size 3");
  message = error_of([&] { pare::index_select(x, 1, indices({-1})); });
  CHECK(message == "index_select: index -1 is out of range for dim 1 with size 4");
  CHECK_THROWS_AS(pare::index_select(x, 2, indices({0})), pare::Error);
  message = error_of([&] { pare::index_select(x, 0, pare::zeros({2})); });
  CHECK(message.find("index must be int64") != std::string::npos);
  CHECK_THROWS_AS(pare::index_select(x, 0, pare::zeros({1, 1}, pare::kInt64)), pare::Error);
}

TEST_CASE("index_select backward adds repeated rows") {
  Tensor x = pare::tensor({1, 2, 3});
  x.set_requires_grad(true);
  pare::sum(pare::index_select(x, 0, indices({0, 0, 2}))).backward();
  CHECK(values_of(x.grad()) == std::vector<float>{2, 0, 1});
  CHECK(gradcheck(
      [](const auto& in) {
        return pare::index_select(in[0], 1, indices({2, 0, 2}));
      },
      {leaf({2, 3, 2}, 1)}));
  CHECK(gradcheck([](const auto& in) { return pare::index_select(in[0].t(), 0, indices({1})); },
                  {leaf({3, 2}, 2)}));
}

TEST_CASE("cat along dims 0, 1 and -1, with a non-contiguous part") {
  Tensor a = iota({2, 2});
  Tensor b = pare::tensor({10, 11, 12, 13, 14, 15}, {2, 3});
  Tensor joined = pare::cat({a, b}, 1);
  CHECK(joined.sizes() == Shape{2, 5});
  CHECK(values_of(joined) == std::vector<float>{0, 1, 10, 11, 12, 2, 3, 13, 14, 15});
  CHECK(values_of(pare::cat({a, a.t()}, -1)) == std::vector<float>{0, 1, 0, 2, 2, 3, 1, 3});
  Tensor stacked_rows = pare::cat({a, pare::tensor({7, 8}, {1, 2})});
  CHECK(stacked_rows.sizes() == Shape{3, 2});
  CHECK(values_of(stacked_rows) == std::vector<float>{0, 1, 2, 3, 7, 8});
  // PyTorch skips legacy 1-d empty tensors.
  CHECK(pare::cat({pare::zeros({0}), a}).sizes() == Shape{2, 2});
  Tensor ints =
      pare::cat({pare::tensor(std::vector<int64_t>{1}), pare::tensor(std::vector<int64_t>{2, 3})});
  CHECK(pare::to_int64_vector(ints) == std::vector<int64_t>{1, 2, 3});
}

TEST_CASE("cat errors name the shapes") {
  std::string message = error_of([] { pare::cat({pare::zeros({2, 3}), pare::zeros({3, 4})}, 0); });
  CHECK(message ==
        "cat: sizes must match except in dim 0, got shapes [2, 3] (position 0) and [3, 4] "
        "(position 1)");
  message = error_of([] { pare::cat({pare::zeros({2, 3}), pare::zeros({2, 3, 1})}, 1); });
  CHECK(message.find("[2, 3, 1]") != std::string::npos);
  CHECK_THROWS_AS(pare::cat({}, 0), pare::Error);
  CHECK_THROWS_AS(pare::cat({pare::zeros({2}), pare::zeros({2}, pare::kInt64)}), pare::Error);
  CHECK_THROWS_AS(pare::cat({pare::zeros({2})}, 1), pare::Error);
  CHECK_THROWS_AS(pare::cat({pare::scalar_tensor(1.0)}), pare::Error);
}

TEST_CASE("cat gradients are the slices of the output gradient") {
  Tensor a = pare::zeros({2, 1});
  Tensor b = pare::zeros({2, 2});
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  pare::cat({a, b}, 1).backward(iota({2, 3}));
  CHECK(values_of(a.grad()) == std::vector<float>{0, 3});
  CHECK(values_of(b.grad()) == std::vector<float>{1, 2, 4, 5});
  CHECK(gradcheck(
      [](const auto& in) {
        return pare::cat({in[0], in[1], in[0]}, 0);
      },
      {leaf({1, 3}, 3), leaf({2, 3}, 4)}));
  CHECK(gradcheck(
      [](const auto& in) {
        return pare::cat({in[0].t(), in[1]}, -1);
      },
      {leaf({2, 3}, 5), leaf({3, 1}, 6)}));
}

TEST_CASE("stack adds a dim") {
  Tensor a = pare::tensor({1, 2});
  Tensor b = pare::tensor({3, 4});
  Tensor rows = pare::stack({a, b});
  CHECK(rows.sizes() == Shape{2, 2});
  CHECK(values_of(rows) == std::vector<float>{1, 2, 3, 4});
  Tensor columns = pare::stack({a, b}, -1);
  CHECK(columns.sizes() == Shape{2, 2});
  CHECK(values_of(columns) == std::vector<float>{1, 3, 2, 4});
  std::string message = error_of([&] { pare::stack({a, pare::zeros({3})}); });
  CHECK(message ==
        "stack: expects each tensor to be equal size, but got [2] at entry 0 and [3] "
        "at entry 1");
  CHECK_THROWS_AS(pare::stack({a, b}, 2), pare::Error);
  CHECK(gradcheck(
      [](const auto& in) {
        return pare::stack({in[0], in[1]}, 1);
      },
      {leaf({2, 3}, 7), leaf({2, 3}, 8)}));
}

TEST_CASE("split and chunk return views") {
  Tensor x = iota({5, 2});
  std::vector<Tensor> pieces = pare::split(x, 2);
  REQUIRE(pieces.size() == 3);
  CHECK(pieces[0].sizes() == Shape{2, 2});
  CHECK(pieces[2].sizes() == Shape{1, 2});
  CHECK(values_of(pieces[1]) == std::vector<float>{4, 5, 6, 7});
  CHECK(pieces[1].storage().data() == x.storage().data());
  CHECK(pieces[1].storage_offset() == 4);
  std::vector<Tensor> columns = pare::split(x, 1, -1);
  REQUIRE(columns.size() == 2);
  CHECK(values_of(columns[1]) == std::vector<float>{1, 3, 5, 7, 9});

  std::vector<Tensor> chunks = pare::chunk(x, 3);
  REQUIRE(chunks.size() == 3);
  CHECK(chunks[0].size(0) == 2);
  CHECK(chunks[2].size(0) == 1);
  // PyTorch's rule: pieces of ceil(6 / 4) = 2, so only three chunks.
  CHECK(pare::chunk(iota({6}), 4).size() == 3);
  CHECK(pare::chunk(iota({2}), 5).size() == 2);
  CHECK_THROWS_AS(pare::split(x, 0), pare::Error);
  CHECK_THROWS_AS(pare::chunk(x, 0), pare::Error);
  CHECK_THROWS_AS(pare::split(x, 1, 2), pare::Error);

  CHECK(gradcheck([](const auto& in) { return pare::split(in[0], 2, 1)[1]; }, {leaf({2, 5}, 9)}));
  CHECK(gradcheck([](const auto& in) { return pare::chunk(in[0], 2, 0)[0]; }, {leaf({3, 2}, 10)}));
}

TEST_CASE("nonzero returns the int64 positions of a 1-d tensor's non-zero entries") {
  Tensor found = pare::nonzero(pare::bool_tensor({0, 1, 1, 0, 1}));
  CHECK(found.dtype() == pare::kInt64);
  CHECK(found.sizes() == Shape{3});
  CHECK(pare::to_int64_vector(found) == std::vector<int64_t>{1, 2, 4});
  CHECK(pare::to_int64_vector(pare::nonzero(pare::tensor({0, -2.5f, 0}))) ==
        std::vector<int64_t>{1});
  Tensor column = pare::tensor({1, 0, 0, 0, 3, 5}, {3, 2}).select(1, 0);
  CHECK(pare::to_int64_vector(pare::nonzero(column)) == std::vector<int64_t>{0, 2});
  CHECK(pare::nonzero(pare::zeros({4})).sizes() == Shape{0});
  std::string message = error_of([] { pare::nonzero(pare::zeros({2, 2})); });
  CHECK(message == "nonzero: expected a 1-d tensor, got shape [2, 2]");
}

TEST_CASE("masked_fill broadcasts the mask and zeroes the gradient where masked") {
  Tensor x = iota({2, 3});
  Tensor filled = pare::masked_fill(x, pare::bool_tensor({1, 0, 1}), -1.0);
  CHECK(values_of(filled) == std::vector<float>{-1, 1, -1, -1, 4, -1});
  Tensor by_row = pare::masked_fill(x, pare::bool_tensor({0, 1}, {2, 1}), 9.0);
  CHECK(values_of(by_row) == std::vector<float>{0, 1, 2, 9, 9, 9});
  Tensor wider =
      pare::masked_fill(pare::tensor({1, 2}), pare::bool_tensor({1, 0, 0, 1}, {2, 2}), 0);
  CHECK(wider.sizes() == Shape{2, 2});
  CHECK(values_of(wider) == std::vector<float>{0, 2, 1, 0});
  Tensor ints =
      pare::masked_fill(pare::tensor(std::vector<int64_t>{4, 5}), pare::bool_tensor({0, 1}), 7);
  CHECK(pare::to_int64_vector(ints) == std::vector<int64_t>{4, 7});

  Tensor leaf_x = pare::ones({2, 3});
  leaf_x.set_requires_grad(true);
  pare::masked_fill(leaf_x, pare::bool_tensor({1, 0, 1}), 5.0).backward(iota({2, 3}));
  CHECK(values_of(leaf_x.grad()) == std::vector<float>{0, 1, 0, 0, 4, 0});

  Tensor mask = pare::bool_tensor({0, 1, 1, 0, 0, 1}, {2, 3});
  CHECK(gradcheck([&](const auto& in) { return pare::masked_fill(in[0], mask, 2.0); },
                  {leaf({2, 3}, 11)}));
  CHECK(gradcheck([&](const auto& in) { return pare::masked_fill(in[0], mask, 2.0); },
                  {leaf({3}, 12)}));

  std::string message = error_of([] { pare::masked_fill(pare::zeros({2}), pare::zeros({2}), 1); });
  CHECK(message.find("masked_fill: mask must be bool") != std::string::npos);
  message = error_of([] { pare::masked_fill(pare::zeros({2}), pare::bool_tensor({1, 0, 1}), 1); });
  CHECK(message == "masked_fill: shapes [2] and [3] do not broadcast");
}

TEST_CASE("gather_rows picks one column per row and scatters the gradient back") {
  Tensor x = iota({3, 4});
  Tensor picked = pare::gather_rows(x, indices({3, 0, 2}));
  CHECK(picked.sizes() == Shape{3});
  CHECK(values_of(picked) == std::vector<float>{3, 4, 10});
  CHECK(values_of(pare::gather_rows(x.t(), indices({1, 2, 0, 2}))) ==
        std::vector<float>{4, 9, 2, 11});

  Tensor leaf_x = pare::zeros({2, 3});
  leaf_x.set_requires_grad(true);
  pare::gather_rows(leaf_x, indices({2, 1})).backward(pare::tensor({5, 7}));
  CHECK(values_of(leaf_x.grad()) == std::vector<float>{0, 0, 5, 0, 7, 0});
  CHECK(gradcheck(
      [](const auto& in) {
        return pare::gather_rows(in[0], indices({1, 1, 0}));
      },
      {leaf({3, 2}, 13)}));

  std::string message = error_of([&] { pare::gather_rows(x, indices({0, 4, 1})); });
  CHECK(message == "gather_rows: index 4 is out of range for dim 1 with size 4");
  message = error_of([&] { pare::gather_rows(x, indices({0, 1})); });
  CHECK(message.find("index shape [2] for input shape [3, 4]") != std::string::npos);
  CHECK_THROWS_AS(pare::gather_rows(iota({3}), indices({0, 1, 2})), pare::Error);
}
