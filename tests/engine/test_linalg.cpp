// matmul / mm / bmm against hand-computed values and a naive triple loop over every rank
// combination and layout (both kernel backends), gradients by finite differences, errors.
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

Tensor random_tensor(const Shape& shape, uint32_t seed) {
  return pare::tensor(random_floats(pare::shape_numel(shape), seed), shape);
}

Tensor leaf(const Shape& shape, uint32_t seed) {
  Tensor t = random_tensor(shape, seed);
  t.set_requires_grad(true);
  return t;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const pare::Error& error) {
    return error.what();
  }
  return "no error";
}

struct Expected {
  Shape shape;
  std::vector<float> values;
};

// torch.matmul written out with loops: promote 1-d operands, broadcast the batch dims, multiply
// each pair of matrices with a triple loop, drop the promoted dims.
Expected naive_matmul(const Tensor& a, const Tensor& b) {
  Shape a_shape = a.sizes(), b_shape = b.sizes();
  if (a_shape.size() == 1) a_shape.insert(a_shape.begin(), 1);
  if (b_shape.size() == 1) b_shape.push_back(1);
  const std::vector<float> a_values = pare::to_float_vector(a);
  const std::vector<float> b_values = pare::to_float_vector(b);
  const int64_t m = a_shape[a_shape.size() - 2], k = a_shape.back(), n = b_shape.back();
  const Shape a_batch(a_shape.begin(), a_shape.end() - 2),
      b_batch(b_shape.begin(), b_shape.end() - 2);
  const size_t rank = std::max(a_batch.size(), b_batch.size());
  auto padded = [rank](const Shape& batch) {
    Shape result(rank - batch.size(), 1);
    result.insert(result.end(), batch.begin(), batch.end());
    return result;
  };
  const Shape pa = padded(a_batch), pb = padded(b_batch);
  Shape batch(rank);
  for (size_t i = 0; i < rank; ++i) batch[i] = std::max(pa[i], pb[i]);
  const int64_t batch_count = pare::shape_numel(batch);
  std::vector<float> result(batch_count * m * n);
  for (int64_t flat = 0; flat < batch_count; ++flat) {
    int64_t rest = flat, a_index = 0, b_index = 0, a_scale = 1, b_scale = 1;
    for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0; --d) {
      const int64_t position = rest % batch[d];
      rest /= batch[d];
      a_index += (pa[d] == 1 ? 0 : position) * a_scale;
      b_index += (pb[d] == 1 ? 0 : position) * b_scale;
      a_scale *= pa[d];
      b_scale *= pb[d];
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0.0;
        for (int64_t p = 0; p < k; ++p)
          sum += static_cast<double>(a_values[(a_index * m + i) * k + p]) *
                 b_values[(b_index * k + p) * n + j];
        result[(flat * m + i) * n + j] = static_cast<float>(sum);
      }
  }
  Shape shape = batch;
  if (a.dim() > 1) shape.push_back(m);
  if (b.dim() > 1) shape.push_back(n);
  return {shape, result};
}

void check_against_naive(const Tensor& a, const Tensor& b) {
  CAPTURE(pare::to_string(a.sizes()));
  CAPTURE(pare::to_string(b.sizes()));
  const Expected expected = naive_matmul(a, b);
  for (bool reference : {false, true}) {
    CAPTURE(reference);
    pare::set_reference_kernels(reference);
    Tensor c = pare::matmul(a, b);
    CHECK(c.sizes() == expected.shape);
    CHECK(pare::testing::allclose(pare::to_float_vector(c), expected.values, 1e-4, 1e-5));
  }
  pare::set_reference_kernels(false);
}

}  // namespace

TEST_CASE("matmul: hand-computed products") {
  Tensor a = pare::tensor({1, 2, 3, 4}, {2, 2});
  Tensor b = pare::tensor({5, 6, 7, 8}, {2, 2});
  CHECK(pare::to_float_vector(pare::matmul(a, b)) == std::vector<float>{19, 22, 43, 50});
  CHECK(pare::to_float_vector(a.matmul(b.t())) == std::vector<float>{17, 23, 39, 53});
  Tensor dot = pare::matmul(pare::tensor({1, 2, 3}), pare::tensor({4, 5, 6}));
  CHECK(dot.dim() == 0);
  CHECK(dot.item<float>() == 32.0f);
  Tensor row = pare::matmul(pare::tensor({1, 1}), a);
  CHECK(row.sizes() == Shape{2});
  CHECK(pare::to_float_vector(row) == std::vector<float>{4, 6});
  Tensor column = pare::matmul(a, pare::tensor({1, -1}));
  CHECK(pare::to_float_vector(column) == std::vector<float>{-1, -1});
}

TEST_CASE("matmul matches a naive loop for every rank combination") {
  const std::vector<std::pair<Shape, Shape>> cases = {{{3}, {3}},
                                                      {{2, 3}, {3}},
                                                      {{3}, {3, 4}},
                                                      {{2, 3}, {3, 4}},
                                                      {{4}, {2, 4, 3}},
                                                      {{2, 3, 4}, {4}},
                                                      {{2, 3, 4}, {4, 5}},
                                                      {{3, 4}, {2, 4, 5}},
                                                      {{2, 3, 4}, {2, 4, 5}},
                                                      {{2, 1, 3, 4}, {5, 4, 2}},
                                                      {{1, 3, 4}, {2, 1, 4, 2}},
                                                      {{3, 2, 1, 2, 3}, {2, 3, 3, 1}}};
  uint32_t seed = 1;
  for (const auto& [a_shape, b_shape] : cases) {
    check_against_naive(random_tensor(a_shape, seed), random_tensor(b_shape, seed + 1));
    seed += 2;
  }
}

TEST_CASE("matmul reads transposed, broadcast and strided operands correctly") {
  Tensor x = random_tensor({3, 4}, 40);
  Tensor w = random_tensor({5, 4}, 41);
  check_against_naive(x, w.t());  // transpose flag
  check_against_naive(w.t().t(), x.t());
  Tensor batch = random_tensor({2, 4, 3}, 42);
  check_against_naive(batch.transpose(-1, -2), random_tensor({2, 4, 2}, 43));
  check_against_naive(random_tensor({2, 3, 4}, 44), random_tensor({2, 5, 4}, 45).transpose(1, 2));
  // A batch dim that is innermost in memory cannot be a kernel batch: copied.
  check_against_naive(random_tensor({3, 4, 2}, 46).permute({2, 0, 1}), random_tensor({4, 2}, 47));
  // Zero-stride (expanded) batch and a stepped slice.
  check_against_naive(random_tensor({1, 3, 4}, 48).expand({3, 3, 4}), random_tensor({3, 4, 2}, 49));
  check_against_naive(random_tensor({3, 8}, 50).slice(1, 0, 8, 2), random_tensor({4, 3}, 51));
  check_against_naive(random_tensor({6}, 52).slice(0, 0, 6, 2), random_tensor({3}, 53));
  check_against_naive(random_tensor({2, 3, 5}, 54).narrow(2, 1, 4), random_tensor({4, 2}, 55));
}

TEST_CASE("matmul with empty dims") {
  CHECK(pare::matmul(pare::zeros({0, 3}), pare::zeros({3, 4})).sizes() == Shape{0, 4});
  Tensor zero_inner = pare::matmul(pare::ones({2, 0}), pare::ones({0, 3}));
  CHECK(zero_inner.sizes() == Shape{2, 3});
  CHECK(pare::to_float_vector(zero_inner) == std::vector<float>(6, 0.0f));
  CHECK(pare::matmul(pare::zeros({0, 2, 3}), pare::zeros({3, 4})).sizes() == Shape{0, 2, 4});
}

TEST_CASE("mm and bmm check their ranks") {
  Tensor a = random_tensor({2, 3, 4}, 60);
  Tensor b = random_tensor({2, 4, 5}, 61);
  Expected expected = naive_matmul(a, b);
  CHECK(
      pare::testing::allclose(pare::to_float_vector(pare::bmm(a, b)), expected.values, 1e-4, 1e-5));
  expected = naive_matmul(a.select(0, 1), b.select(0, 0));
  CHECK(pare::testing::allclose(pare::to_float_vector(pare::mm(a.select(0, 1), b.select(0, 0))),
                                expected.values, 1e-4, 1e-5));
  CHECK(error_of([&] { pare::mm(a, b); }) ==
        "mm: expected 2-d tensors, got shapes [2, 3, 4] and [2, 4, 5]");
  CHECK(error_of([&] { pare::bmm(a.select(0, 0), b); }) ==
        "bmm: expected 3-d tensors, got shapes [3, 4] and [2, 4, 5]");
  CHECK(error_of([&] {
          pare::bmm(a, random_tensor({3, 4, 5}, 62));
        }) == "bmm: batch sizes differ, got shapes [2, 3, 4] and [3, 4, 5]");
  CHECK(error_of([&] { pare::mm(a.select(0, 0), a.select(0, 0)); }) ==
        "mm: shapes [3, 4] and [3, 4] cannot be multiplied (4 != 3)");
}

TEST_CASE("matmul errors name the shapes") {
  CHECK(error_of([] {
          pare::matmul(pare::zeros({2, 3}), pare::zeros({4, 5}));
        }) == "matmul: shapes [2, 3] and [4, 5] cannot be multiplied (3 != 4)");
  CHECK(error_of([] { pare::matmul(pare::zeros({3}), pare::zeros({2})); }) ==
        "matmul: shapes [3] and [2] cannot be multiplied (3 != 2)");
  CHECK(error_of([] {
          pare::matmul(pare::zeros({2, 3, 4}), pare::zeros({3, 4, 5}));
        }) == "matmul: batch dims of shapes [2, 3, 4] and [3, 4, 5] do not broadcast");
  CHECK(error_of([] {
          pare::matmul(pare::scalar_tensor(1.0), pare::zeros({2}));
        }).find("matmul: both operands need at least 1 dim") != std::string::npos);
  CHECK(error_of([] {
          pare::matmul(pare::zeros({2}, pare::kInt64), pare::zeros({2}));
        }).find("matmul: expected float32 tensors") != std::string::npos);
}

TEST_CASE("matmul gradients by finite differences") {
  const std::vector<std::pair<Shape, Shape>> cases = {{{3}, {3}},
                                                      {{2, 3}, {3}},
                                                      {{3}, {3, 4}},
                                                      {{2, 3}, {3, 4}},
                                                      {{2, 3, 4}, {4, 2}},
                                                      {{3, 4}, {2, 4, 2}},
                                                      {{2, 1, 3, 4}, {5, 4, 2}},
                                                      {{4}, {2, 4, 3}},
                                                      {{2, 3, 4}, {4}}};
  uint32_t seed = 70;
  for (const auto& [a_shape, b_shape] : cases) {
    CAPTURE(pare::to_string(a_shape));
    CAPTURE(pare::to_string(b_shape));
    // gradcheck seeds a [1]-shaped gradient for a 0-d output, so the dot product is viewed as [1].
    CHECK(gradcheck([](const auto& in) { return pare::matmul(in[0], in[1]).reshape({-1}); },
                    {leaf(a_shape, seed++), leaf(b_shape, seed++)}));
  }
  // Transposed operands reach the kernel as flags; their gradients flow through the views.
  CHECK(gradcheck([](const auto& in) { return pare::matmul(in[0], in[1].t()); },
                  {leaf({3, 4}, 90), leaf({5, 4}, 91)}));
  CHECK(gradcheck([](const auto& in) { return pare::matmul(in[0].transpose(1, 2), in[1]); },
                  {leaf({2, 4, 3}, 92), leaf({2, 4, 2}, 93)}));
  CHECK(gradcheck([](const auto& in) { return pare::bmm(in[0], in[1]); },
                  {leaf({2, 3, 4}, 94), leaf({2, 4, 2}, 95)}));
  CHECK(gradcheck([](const auto& in) { return pare::mm(in[0], in[1]); },
                  {leaf({3, 4}, 96), leaf({4, 2}, 97)}));
  // Only one operand needs a gradient.
  Tensor constant = random_tensor({4, 2}, 98);
  CHECK(gradcheck([&](const auto& in) { return pare::matmul(in[0], constant); },
                  {leaf({2, 3, 4}, 99)}));
}
