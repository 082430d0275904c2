// softmax and log_softmax over any dim, on the kernels' [outer, axis, inner] view of a
// contiguous tensor. Both backward passes need only the forward output, as in PyTorch.
#include "pare/kernels/softmax.h"

#include <vector>

#include "../kernel_dispatch.h"
#include "float_input.h"
#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/functional.h"
#include "pare/observer.h"

namespace pare {

namespace {

kernels::SoftmaxParams axis_view(const Shape& sizes, int64_t dim, const char* op) {
  const int64_t rank = static_cast<int64_t>(sizes.size());
  const int64_t axis = wrap_dim(dim, rank, op);
  kernels::SoftmaxParams params;
  if (rank == 0) {
    params.outer = params.axis = params.inner = 1;
    return params;
  }
  params.outer = shape_numel(Shape(sizes.begin(), sizes.begin() + axis));
  params.axis = sizes[axis];
  params.inner = shape_numel(Shape(sizes.begin() + axis + 1, sizes.end()));
  return params;
}

Tensor softmax_impl(const Tensor& x, int64_t dim, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  Tensor src = detail::dense_float_input(x, op, "input");
  const kernels::SoftmaxParams params = axis_view(src.sizes(), dim, op);
  Tensor result = empty(src.sizes());
  if (src.numel() > 0) {
    auto forward = log ? PARE_KERNEL(log_softmax_forward) : PARE_KERNEL(softmax_forward);
    forward(params, src.data_ptr<float>(), result.data_ptr<float>());
  }
  Tensor saved_result = result.detach();
  autograd::record(
      op, {x}, {result}, [params, saved_result, log](const std::vector<Tensor>& grads) {
        if (!grads[0].defined()) return std::vector<Tensor>{Tensor()};
        Tensor grad = detail::dense_gradient(grads[0]);
        Tensor grad_input = empty(saved_result.sizes());
        if (saved_result.numel() > 0) {
          auto backward = log ? PARE_KERNEL(log_softmax_backward) : PARE_KERNEL(softmax_backward);
          backward(params, saved_result.data_ptr<float>(), grad.data_ptr<float>(),
                   grad_input.data_ptr<float>());
        }
        return std::vector<Tensor>{grad_input};
      });
  return result;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) {
  OpScope scope;
  Tensor result = softmax_impl(x, dim, /*log=*/false);
  if (scope.should_report()) notify_function("softmax", {x}, {{"dim", dim}}, {result});
  return result;
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  OpScope scope;
  Tensor result = softmax_impl(x, dim, /*log=*/true);
  if (scope.should_report()) notify_function("log_softmax", {x}, {{"dim", dim}}, {result});
  return result;
}

}  // namespace pare
