// Matrix products (matmul with torch.matmul's rules, mm, bmm) on the matmul kernel, and their
// gradients dA = dC B^T, dB = A^T dC summed over broadcast batch dims. Each reports itself to the
// tracer under its torch name with the two operands as inputs.
//
// Operands reach the kernel without copies whenever their matrices are row-major or transposed
// row-major (w.t() goes in as a transpose flag) and their batch dims are strided at least one
// matrix apart or broadcast; the trailing batch dims that share one stride per operand become
// the kernel's batch, the rest are looped over.
#include "pare/linalg.h"

#include <optional>

#include "kernel_dispatch.h"
#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/kernels/matmul.h"
#include "pare/matmul_geometry.h"
#include "pare/observer.h"
#include "strided_loop.h"

namespace pare {

namespace {

// One operand as the kernel reads it: float data, transposed storage or not, and the stride
// (in floats) of its matrices along each output batch dim (0 where it broadcasts).
struct KernelOperand {
  Tensor holder;
  const float* data = nullptr;
  bool transposed = false;
  Shape batch_strides;
};

std::optional<KernelOperand> describe_in_place(const Tensor& t, const Shape& batch_shape) {
  const int64_t rank = t.dim();
  const int64_t rows = t.size(-2), cols = t.size(-1);
  const int64_t row_stride = t.stride(-2), col_stride = t.stride(-1);
  const bool row_major = (cols == 1 || col_stride == 1) && (rows == 1 || row_stride == cols);
  const bool column_major = (rows == 1 || row_stride == 1) && (cols == 1 || col_stride == rows);
  if (!row_major && !column_major) return std::nullopt;
  KernelOperand operand;
  operand.holder = t;
  operand.data = t.data_ptr<float>();
  operand.transposed = !row_major;
  const int64_t lead = static_cast<int64_t>(batch_shape.size()) - (rank - 2);
  for (int64_t j = 0; j < static_cast<int64_t>(batch_shape.size()); ++j) {
    const int64_t own_dim = j - lead;
    const bool broadcast = own_dim < 0 || t.size(own_dim) == 1;
    const int64_t stride = broadcast ? 0 : t.stride(own_dim);
    if (stride != 0 && stride < rows * cols) return std::nullopt;
    operand.batch_strides.push_back(stride);
  }
  return operand;
}

KernelOperand describe(const Tensor& t, const Shape& batch_shape) {
  if (auto operand = describe_in_place(t, batch_shape)) return *operand;
  return *describe_in_place(t.contiguous(), batch_shape);
}

// c = a @ b for float32 a [..., m, k] and b [..., k, n] (ranks >= 2, no history), broadcasting
// the batch dims. The result is contiguous.
Tensor batched_product(const Tensor& a, const Tensor& b, const char* op) {
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  const Shape batch = matmul_batch_shape(a.sizes(), b.sizes(), op);
  Shape result_shape = batch;
  result_shape.push_back(m);
  result_shape.push_back(n);
  if (k == 0) return zeros(result_shape);
  Tensor result = empty(result_shape);
  if (result.numel() == 0) return result;
  // Row-major [..., m, k] matrices times one [k, n] matrix are a single taller product.
  if (b.dim() == 2 && a.dim() > 2 && a.is_contiguous())
    return batched_product(a.view({-1, k}), b, op).view(result_shape);

  const KernelOperand left = describe(a, batch);
  const KernelOperand right = describe(b, batch);
  const Shape result_strides = contiguous_strides(result_shape);
  Shape sizes, left_strides, right_strides, out_strides;
  for (size_t j = 0; j < batch.size(); ++j) {
    if (batch[j] == 1) continue;
    sizes.push_back(batch[j]);
    left_strides.push_back(left.batch_strides[j]);
    right_strides.push_back(right.batch_strides[j]);
    out_strides.push_back(result_strides[j]);
  }
  // Merge the trailing batch dims along which both operands step uniformly into one kernel call.
  int64_t group = 1, left_step = 0, right_step = 0;
  size_t looped = sizes.size();
  if (looped > 0) {
    --looped;
    group = sizes[looped];
    left_step = left_strides[looped];
    right_step = right_strides[looped];
    while (looped > 0 && left_strides[looped - 1] == left_step * group &&
           right_strides[looped - 1] == right_step * group) {
      --looped;
      group *= sizes[looped];
    }
  }
  sizes.resize(looped);
  left_strides.resize(looped);
  right_strides.resize(looped);
  out_strides.resize(looped);

  kernels::MatmulParams params;
  params.batch = group;
  params.m = m;
  params.k = k;
  params.n = n;
  params.transpose_a = left.transposed;
  params.transpose_b = right.transposed;
  params.a_batch_stride = group > 1 ? left_step : -1;
  params.b_batch_stride = group > 1 ? right_step : -1;
  const auto kernel = PARE_KERNEL(matmul);
  float* out = result.data_ptr<float>();
  detail::for_each_offsets<3>(sizes, {&left_strides, &right_strides, &out_strides},
                              [&](const std::array<int64_t, 3>& o) {
                                kernel(params, left.data + o[0], right.data + o[1], out + o[2]);
                              });
  return result;
}

// 1-d operands become a row (left) or a column (right) matrix.
Tensor as_left_matrix(const Tensor& a) { return a.dim() == 1 ? a.unsqueeze(0) : a; }
Tensor as_right_matrix(const Tensor& b) { return b.dim() == 1 ? b.unsqueeze(1) : b; }

Tensor product(const Tensor& a, const Tensor& b, MatrixProduct kind) {
  const char* op = product_name(kind);
  PARE_CHECK(a.defined() && b.defined(), op, ": an operand is undefined");
  const MatmulGeometry geometry = matmul_geometry(kind, a.sizes(), a.dtype(), b.sizes(), b.dtype());
  const Tensor a_values = a.detach();
  const Tensor b_values = b.detach();
  Tensor full = batched_product(as_left_matrix(a_values), as_right_matrix(b_values), op);
  Tensor result = full.view(geometry.shape);

  const bool left_needs_grad = a.requires_grad();
  const bool right_needs_grad = b.requires_grad();
  const Shape full_shape = full.sizes();
  autograd::record(
      op, {a, b}, {result},
      [a_values, b_values, left_needs_grad, right_needs_grad, full_shape,
       op](const std::vector<Tensor>& grads) {
        std::vector<Tensor> result(2);
        if (!grads[0].defined()) return result;
        const Tensor left = as_left_matrix(a_values);
        const Tensor right = as_right_matrix(b_values);
        const Tensor grad = grads[0].reshape(full_shape);
        if (left_needs_grad) {
          Tensor full_grad = batched_product(grad, right.transpose(-1, -2), op);
          result[0] = autograd::reduce_to_shape(full_grad, left.sizes()).reshape(a_values.sizes());
        }
        if (right_needs_grad) {
          Tensor right_grad;
          if (right.dim() == 2 && left.dim() > 2 && left.is_contiguous()) {
            // Summing A_i^T dC_i over the batch is one product of the stacked rows.
            const int64_t k = left.size(-1), n = right.size(-1);
            right_grad = batched_product(left.reshape({-1, k}).t(), grad.reshape({-1, n}), op);
          } else {
            right_grad = autograd::reduce_to_shape(
                batched_product(left.transpose(-1, -2), grad, op), right.sizes());
          }
          result[1] = right_grad.reshape(b_values.sizes());
        }
        return result;
      });
  return result;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  OpScope scope;
  Tensor result = product(a, b, MatrixProduct::matmul);
  if (scope.should_report()) notify_function("matmul", {a, b}, {}, {result});
  return result;
}

Tensor mm(const Tensor& a, const Tensor& b) {
  OpScope scope;
  Tensor result = product(a, b, MatrixProduct::mm);
  if (scope.should_report()) notify_function("mm", {a, b}, {}, {result});
  return result;
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  OpScope scope;
  Tensor result = product(a, b, MatrixProduct::bmm);
  if (scope.should_report()) notify_function("bmm", {a, b}, {}, {result});
  return result;
}

}  // namespace pare
