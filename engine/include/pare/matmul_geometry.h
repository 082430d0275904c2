// The shapes of the matrix products matmul, mm and bmm from shapes alone, with torch.matmul's
// rules: a 1-d left operand is a row and a 1-d right operand a column (their added dim removed
// from the result), and the batch dims in front of the matrices broadcast. The engine's products
// (linalg.cpp) and the IR's shape rule (ir/ops/linalg.cpp) both take them from here, so their
// checks, messages and sizes are one rule.
//
//   const auto g = pare::matmul_geometry(pare::MatrixProduct::matmul, {5, 1, 2, 3}, pare::kFloat32,
//                                        {4, 3, 6}, pare::kFloat32);
//   // g.batch [5, 4]; g.m 2, g.k 3, g.n 6; g.shape [5, 4, 2, 6]
//   pare::matmul_geometry(pare::MatrixProduct::matmul, {3}, pare::kFloat32, {3, 6},
//                         pare::kFloat32).shape;   // [6]
#pragma once

#include "pare/dtype.h"
#include "pare/tensor.h"

namespace pare {

// Which product: matmul takes any ranks >= 1, mm two 2-d operands, bmm two 3-d operands with
// equal batches.
enum class MatrixProduct { matmul, mm, bmm };
const char* product_name(MatrixProduct product);

struct MatmulGeometry {
  Shape batch;  // the broadcast batch dims
  int64_t m = 0, k = 0, n = 0;
  Shape shape;  // the result's: batch, then m unless a is 1-d, then n unless b is 1-d
};

// Checks float32 operands of at least 1 dim whose inner sizes agree and whose batch dims
// broadcast (plus mm's and bmm's ranks and bmm's equal batches).
MatmulGeometry matmul_geometry(MatrixProduct product, const Shape& a, DType a_dtype, const Shape& b,
                               DType b_dtype);

// The broadcast batch dims of two stacks of matrices (ranks >= 2) [..., m, k] and [..., k, n].
Shape matmul_batch_shape(const Shape& left, const Shape& right, const char* op);

}  // namespace pare
