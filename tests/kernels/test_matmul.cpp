#include <doctest/doctest.h>

#include <vector>

#include "pare/error.h"
#include "pare/kernels/matmul.h"
#include "test_util.h"

using pare::kernels::MatmulParams;
using pare::testing::allclose;
using pare::testing::random_floats;

namespace {

MatmulParams make_params(int64_t batch, int64_t m, int64_t k, int64_t n, bool transpose_a,
                         bool transpose_b, int64_t a_batch_stride = -1,
                         int64_t b_batch_stride = -1) {
  MatmulParams params;
  params.batch = batch;
  params.m = m;
  params.k = k;
  params.n = n;
  params.transpose_a = transpose_a;
  params.transpose_b = transpose_b;
  params.a_batch_stride = a_batch_stride;
  params.b_batch_stride = b_batch_stride;
  return params;
}

// Floats an operand occupies given its batch stride (the last matrix ends the buffer).
size_t operand_size(int64_t batch, int64_t matrix_size, int64_t batch_stride) {
  if (batch_stride == 0) return matrix_size;
  const int64_t stride = batch_stride == -1 ? matrix_size : batch_stride;
  return (batch - 1) * stride + matrix_size;
}

void check_cpu_matches_ref(const MatmulParams& params, uint32_t seed) {
  const auto a =
      random_floats(operand_size(params.batch, params.m * params.k, params.a_batch_stride), seed);
  const auto b = random_floats(
      operand_size(params.batch, params.k * params.n, params.b_batch_stride), seed + 1);
  std::vector<float> expected(params.batch * params.m * params.n);
  std::vector<float> actual(expected.size(), -7.0f);
  pare::kernels::ref::matmul(params, a.data(), b.data(), expected.data());
  pare::kernels::cpu::matmul(params, a.data(), b.data(), actual.data());
  CHECK(allclose(actual, expected, 1e-4, 1e-4));
}

}  // namespace

TEST_CASE("ref::matmul matches hand-computed products") {
  // [[1, 2], [3, 4]] * [[5, 6], [7, 8]] = [[19, 22], [43, 50]]
  const std::vector<float> a{1, 2, 3, 4};
  const std::vector<float> b{5, 6, 7, 8};
  std::vector<float> c(4);
  pare::kernels::ref::matmul(make_params(1, 2, 2, 2, false, false), a.data(), b.data(), c.data());
  CHECK(c == std::vector<float>{19, 22, 43, 50});

  // a^T * b^T = [[1, 3], [2, 4]] * [[5, 7], [6, 8]] = [[23, 31], [34, 46]]
  pare::kernels::ref::matmul(make_params(1, 2, 2, 2, true, true), a.data(), b.data(), c.data());
  CHECK(c == std::vector<float>{23, 31, 34, 46});

  // A 1 x 3 row times a 3 x 1 column, broadcast b over two batches of a.
  const std::vector<float> rows{1, 2, 3, -1, 0, 1};
  const std::vector<float> column{4, 5, 6};
  std::vector<float> dots(2);
  pare::kernels::ref::matmul(make_params(2, 1, 3, 1, false, false, -1, 0), rows.data(),
                             column.data(), dots.data());
  CHECK(dots == std::vector<float>{32, 2});
}

TEST_CASE("cpu::matmul matches ref for shapes and transposes") {
  uint32_t seed = 10;
  for (bool transpose_a : {false, true}) {
    for (bool transpose_b : {false, true}) {
      CAPTURE(transpose_a);
      CAPTURE(transpose_b);
      check_cpu_matches_ref(make_params(1, 5, 7, 3, transpose_a, transpose_b), seed++);
      check_cpu_matches_ref(make_params(3, 4, 6, 5, transpose_a, transpose_b), seed++);
      check_cpu_matches_ref(make_params(2, 17, 33, 10, transpose_a, transpose_b), seed++);
      check_cpu_matches_ref(make_params(1, 1, 1, 1, transpose_a, transpose_b), seed++);
    }
  }
  check_cpu_matches_ref(make_params(2, 64, 128, 96, false, false), seed++);
}

TEST_CASE("cpu::matmul matches ref with broadcast and padded batch strides") {
  check_cpu_matches_ref(make_params(3, 4, 5, 6, false, false, 0, -1), 30);
  check_cpu_matches_ref(make_params(3, 4, 5, 6, false, true, -1, 0), 31);
  check_cpu_matches_ref(make_params(4, 6, 5, 3, true, false, 0, -1), 32);
  check_cpu_matches_ref(make_params(3, 2, 3, 4, true, true, 0, 0), 33);
  check_cpu_matches_ref(make_params(3, 4, 5, 6, false, false, 4 * 5 + 7, 5 * 6 + 3), 34);
  check_cpu_matches_ref(make_params(2, 4, 5, 6, true, true, 29, 0), 35);
}

TEST_CASE("cpu::matmul reuses its cached primitive with new buffers") {
  const MatmulParams params = make_params(2, 8, 9, 7, false, true);
  check_cpu_matches_ref(params, 40);
  check_cpu_matches_ref(params, 41);
}

TEST_CASE("matmul rejects bad sizes and strides") {
  const std::vector<float> buffer(64);
  std::vector<float> out(64);
  CHECK_THROWS_AS(make_params(1, 0, 2, 2, false, false).validate(), pare::Error);
  CHECK_THROWS_AS(make_params(0, 2, 2, 2, false, false).validate(), pare::Error);
  CHECK_THROWS_AS(make_params(2, 2, 3, 2, false, false, 5).validate(), pare::Error);
  CHECK_THROWS_AS(make_params(2, 2, 3, 2, false, false, -1, -2).validate(), pare::Error);
  CHECK_THROWS_WITH_AS(pare::kernels::cpu::matmul(make_params(1, 2, -3, 2, false, false),
                                                  buffer.data(), buffer.data(), out.data()),
                       doctest::Contains("matmul"), pare::Error);
  CHECK_NOTHROW(make_params(2, 2, 3, 2, false, false, 6, 0).validate());
}
