// Batched matrix product on raw float buffers: c[b] = op(a[b]) * op(b[b]).
//
//   pare::kernels::MatmulParams params;
//   params.batch = 4;
//   params.m = 32;
//   params.k = 64;
//   params.n = 16;
//   params.b_batch_stride = 0;  // one [64, 16] matrix shared by all four batches
//   pare::kernels::cpu::matmul(params, a.data(), b.data(), c.data());  // c: [4, 32, 16]
#pragma once

#include <cstdint>

namespace pare::kernels {

// Describes c[b] = op(a[b]) * op(b[b]) for b in [0, batch).
// a[b] is m x k row-major, or k x m when transpose_a (op transposes it back); b[b] is k x n, or
// n x k when transpose_b. c is dense and batch-contiguous: batch x m x n.
// A batch stride is the distance in floats between consecutive matrices of an operand: -1 means
// dense (m * k for a, k * n for b), 0 broadcasts the one matrix over the batch, and any value of
// at least the matrix size skips the gap between matrices.
struct MatmulParams {
  int64_t batch = 1, m = 0, k = 0, n = 0;
  bool transpose_a = false, transpose_b = false;
  int64_t a_batch_stride = -1, b_batch_stride = -1;

  // Throws pare::Error naming matmul and the sizes unless every size is positive and each batch
  // stride is -1, 0 or at least its matrix size.
  void validate() const;
};

namespace ref {
void matmul(const MatmulParams& params, const float* a, const float* b, float* c);
}  // namespace ref

namespace cpu {
// oneDNN matmul; the primitive is created once per distinct params.
void matmul(const MatmulParams& params, const float* a, const float* b, float* c);
}  // namespace cpu

}  // namespace pare::kernels
