#include "pare/kernels/matmul.h"

#include <vector>

#include "pare/error.h"

namespace pare::kernels {

void MatmulParams::validate() const {
  PARE_CHECK(batch > 0 && m > 0 && k > 0 && n > 0,
             "matmul: sizes must be positive, got [batch, m, k, n] = ",
             std::vector<int64_t>{batch, m, k, n});
  PARE_CHECK(a_batch_stride == -1 || a_batch_stride == 0 || a_batch_stride >= m * k,
             "matmul: a_batch_stride must be -1, 0 or at least m * k = ", m * k, ", got ",
             a_batch_stride);
  PARE_CHECK(b_batch_stride == -1 || b_batch_stride == 0 || b_batch_stride >= k * n,
             "matmul: b_batch_stride must be -1, 0 or at least k * n = ", k * n, ", got ",
             b_batch_stride);
}

namespace ref {

void matmul(const MatmulParams& params, const float* a, const float* b, float* c) {
  params.validate();
  const int64_t m = params.m, k = params.k, n = params.n;
  const int64_t a_stride = params.a_batch_stride == -1 ? m * k : params.a_batch_stride;
  const int64_t b_stride = params.b_batch_stride == -1 ? k * n : params.b_batch_stride;
  for (int64_t batch_index = 0; batch_index < params.batch; ++batch_index) {
    const float* a_matrix = a + batch_index * a_stride;
    const float* b_matrix = b + batch_index * b_stride;
    float* c_matrix = c + batch_index * m * n;
    for (int64_t row = 0; row < m; ++row) {
      for (int64_t col = 0; col < n; ++col) {
        double sum = 0.0;
        for (int64_t inner = 0; inner < k; ++inner) {
          const float a_value =
              params.transpose_a ? a_matrix[inner * m + row] : a_matrix[row * k + inner];
          const float b_value =
              params.transpose_b ? b_matrix[col * k + inner] : b_matrix[inner * n + col];
          sum += static_cast<double>(a_value) * b_value;
        }
        c_matrix[row * n + col] = static_cast<float>(sum);
      }
    }
  }
}

}  // namespace ref
}  // namespace pare::kernels
