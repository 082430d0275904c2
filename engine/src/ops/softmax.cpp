// softmax and log_softmax over any dim, on the kernels' [outer, axis, inner] view of a
// contiguous tensor. Both backward passes need only the forward output, as in PyTorch.
#include "pare/kernels/softmax.h"

#include "../kernel_dispatch.h"
#include "float_input.h"
#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/functional.h"
#include "pare/observer.h"
#include "pare/softmax_geometry.h"

namespace pare {

namespace {

Tensor softmax_impl(const Tensor& x, int64_t dim, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  PARE_CHECK(x.defined(), op, ": input is undefined");
  const kernels::SoftmaxParams params = softmax_geometry(x.sizes(), x.dtype(), dim, op);
  Tensor src = detail::dense_float_input(x, op, "input");
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
