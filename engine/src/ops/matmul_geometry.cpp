#include "pare/matmul_geometry.h"

#include <algorithm>

#include "pare/error.h"

namespace pare {

const char* product_name(MatrixProduct product) {
  switch (product) {
    case MatrixProduct::mm:
      return "mm";
    case MatrixProduct::bmm:
      return "bmm";
    case MatrixProduct::matmul:
      break;
  }
  return "matmul";
}

Shape matmul_batch_shape(const Shape& left, const Shape& right, const char* op) {
  const Shape batch_a(left.begin(), left.end() - 2), batch_b(right.begin(), right.end() - 2);
  const size_t rank = std::max(batch_a.size(), batch_b.size());
  Shape result(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t size_a = i + batch_a.size() >= rank ? batch_a[i + batch_a.size() - rank] : 1;
    const int64_t size_b = i + batch_b.size() >= rank ? batch_b[i + batch_b.size() - rank] : 1;
    PARE_CHECK(size_a == size_b || size_a == 1 || size_b == 1, op, ": batch dims of shapes ", left,
               " and ", right, " do not broadcast");
    result[i] = size_a == 1 ? size_b : size_a;
  }
  return result;
}

MatmulGeometry matmul_geometry(MatrixProduct product, const Shape& a, DType a_dtype, const Shape& b,
                               DType b_dtype) {
  const char* op = product_name(product);
  const size_t required_rank = product == MatrixProduct::mm    ? 2
                               : product == MatrixProduct::bmm ? 3
                                                               : 0;
  if (required_rank > 0) {
    PARE_CHECK(a.size() == required_rank && b.size() == required_rank, op, ": expected ",
               required_rank, "-d tensors, got shapes ", a, " and ", b);
  }
  if (product == MatrixProduct::bmm) {
    PARE_CHECK(a[0] == b[0], "bmm: batch sizes differ, got shapes ", a, " and ", b);
  }
  PARE_CHECK(a_dtype == kFloat32 && b_dtype == kFloat32, op, ": expected float32 tensors, got ",
             dtype_name(a_dtype), " ", a, " and ", dtype_name(b_dtype), " ", b);
  PARE_CHECK(!a.empty() && !b.empty(), op, ": both operands need at least 1 dim, got shapes ", a,
             " and ", b);
  // 1-d operands as a row (left) and a column (right) matrix.
  const Shape left = a.size() == 1 ? Shape{1, a[0]} : a;
  const Shape right = b.size() == 1 ? Shape{b[0], 1} : b;
  MatmulGeometry geometry;
  geometry.m = left[left.size() - 2];
  geometry.k = left.back();
  geometry.n = right.back();
  const int64_t k_right = right[right.size() - 2];
  PARE_CHECK(geometry.k == k_right, op, ": shapes ", a, " and ", b, " cannot be multiplied (",
             geometry.k, " != ", k_right, ")");
  geometry.batch = matmul_batch_shape(left, right, op);
  geometry.shape = geometry.batch;
  if (a.size() > 1) geometry.shape.push_back(geometry.m);
  if (b.size() > 1) geometry.shape.push_back(geometry.n);
  return geometry;
}

}  // namespace pare
