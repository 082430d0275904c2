// The 2-d pools (max, average, adaptive average, adaptive max) on the pooling kernels. An
// unbatched [C, H, W] input runs as a batch of one; max pools keep their int64 indices (flat
// h * W + w within each plane, as PyTorch returns them) for the backward.
#include "pare/kernels/pooling.h"

#include "../kernel_dispatch.h"
#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/functional.h"
#include "pare/observer.h"
#include "pare/pool_geometry.h"

namespace pare {

namespace {

void check_pool_input(const Tensor& x, const char* op) {
  PARE_CHECK(x.defined(), op, ": the input is undefined");
  check_pool2d_input(x.sizes(), x.dtype(), op);
}

kernels::Pool2dParams make_pool_params(const Tensor& x, const IntPair& kernel_size,
                                       const IntPair& stride, const IntPair& padding,
                                       const IntPair& dilation, bool ceil_mode, const char* op) {
  check_pool_input(x, op);
  kernels::Pool2dParams window;
  window.set_window(kernel_size.first, kernel_size.second, stride.first, stride.second,
                    padding.first, padding.second, dilation.first, dilation.second);
  window.ceil_mode = ceil_mode;
  return pool2d_geometry(x.sizes(), x.dtype(), window, op);
}

kernels::AdaptivePool2dParams make_adaptive_params(const Tensor& x, const IntPair& output_size,
                                                   const char* op) {
  check_pool_input(x, op);
  return adaptive_pool2d_geometry(x.sizes(), x.dtype(), output_size, op);
}

Shape pooled_shape(const Tensor& x, int64_t out_h, int64_t out_w) {
  return pare::pooled_shape(x.sizes(), out_h, out_w);
}

// Max pools route the gradient to the recorded argmax of each window.
template <typename Backward>
void record_max_pool_backward(const char* name, const Tensor& x, const Tensor& y,
                              const Tensor& indices, Backward backward) {
  const Shape input_shape = x.sizes();
  autograd::record(name, {x}, {y}, [=](const std::vector<Tensor>& grads) {
    if (!grads[0].defined()) return std::vector<Tensor>(1);
    Tensor grad_y = grads[0].contiguous();
    Tensor grad_x = empty(input_shape);
    if (grad_x.numel() > 0)
      backward(grad_y.data_ptr<float>(), indices.data_ptr<int64_t>(), grad_x.data_ptr<float>());
    return std::vector<Tensor>{grad_x};
  });
}

Attrs max_pool_attrs(const kernels::Pool2dParams& params, const IntPair& padding,
                     const IntPair& dilation, bool ceil_mode) {
  return {{"kernel_size", std::vector<int64_t>{params.kernel_h, params.kernel_w}},
          {"stride", std::vector<int64_t>{params.stride_h, params.stride_w}},
          {"padding", padding.vec()},
          {"dilation", dilation.vec()},
          {"ceil_mode", ceil_mode}};
}

// Shared by max_pool2d and max_pool2d_with_indices; indices are computed only when returned or
// needed for the backward.
std::tuple<Tensor, Tensor> max_pool2d_impl(const Tensor& x, const kernels::Pool2dParams& params,
                                           bool want_indices) {
  Tensor x_data = x.detach().contiguous();
  Tensor y = empty(pooled_shape(x, params.out_h(), params.out_w()));
  const bool keep_indices = want_indices || autograd::needs_grad({x});
  Tensor indices = keep_indices ? empty(y.sizes(), kInt64) : Tensor();
  if (x.numel() > 0) {  // an empty batch: nothing to pool
    PARE_KERNEL(max_pool2d_forward)
    (params, x_data.data_ptr<float>(), y.data_ptr<float>(),
     keep_indices ? indices.data_ptr<int64_t>() : nullptr);
  }
  if (keep_indices) {
    record_max_pool_backward("max_pool2d", x, y, indices.detach(),
                             [params](const float* grad_y, const int64_t* index, float* grad_x) {
                               PARE_KERNEL(max_pool2d_backward)(params, grad_y, index, grad_x);
                             });
  }
  return {y, indices};
}

}  // namespace

Tensor max_pool2d(const Tensor& x, IntPair kernel_size, IntPair stride, IntPair padding,
                  IntPair dilation, bool ceil_mode) {
  OpScope scope;
  const kernels::Pool2dParams params =
      make_pool_params(x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d");
  Tensor y = std::get<0>(max_pool2d_impl(x, params, /*want_indices=*/false));
  if (scope.should_report()) {
    notify_function("max_pool2d", {x}, max_pool_attrs(params, padding, dilation, ceil_mode), {y});
  }
  return y;
}

std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, IntPair kernel_size,
                                                   IntPair stride, IntPair padding,
                                                   IntPair dilation, bool ceil_mode) {
  OpScope scope;
  const kernels::Pool2dParams params = make_pool_params(x, kernel_size, stride, padding, dilation,
                                                        ceil_mode, "max_pool2d_with_indices");
  auto [y, indices] = max_pool2d_impl(x, params, /*want_indices=*/true);
  if (scope.should_report()) {
    notify_function("max_pool2d_with_indices", {x},
                    max_pool_attrs(params, padding, dilation, ceil_mode), {y, indices});
  }
  return {y, indices};
}

Tensor avg_pool2d(const Tensor& x, IntPair kernel_size, IntPair stride, IntPair padding,
                  bool ceil_mode, bool count_include_pad) {
  OpScope scope;
  kernels::Pool2dParams params =
      make_pool_params(x, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d");
  params.count_include_pad = count_include_pad;
  Tensor x_data = x.detach().contiguous();
  Tensor y = empty(pooled_shape(x, params.out_h(), params.out_w()));
  if (x.numel() > 0) {  // an empty batch: nothing to pool
    PARE_KERNEL(avg_pool2d_forward)(params, x_data.data_ptr<float>(), y.data_ptr<float>());
  }
  const Shape input_shape = x.sizes();
  autograd::record("avg_pool2d", {x}, {y}, [=](const std::vector<Tensor>& grads) {
    if (!grads[0].defined()) return std::vector<Tensor>(1);
    Tensor grad_y = grads[0].contiguous();
    Tensor grad_x = empty(input_shape);
    if (grad_x.numel() > 0) {
      PARE_KERNEL(avg_pool2d_backward)(params, grad_y.data_ptr<float>(), grad_x.data_ptr<float>());
    }
    return std::vector<Tensor>{grad_x};
  });
  if (scope.should_report()) {
    notify_function("avg_pool2d", {x},
                    {{"kernel_size", std::vector<int64_t>{params.kernel_h, params.kernel_w}},
                     {"stride", std::vector<int64_t>{params.stride_h, params.stride_w}},
                     {"padding", padding.vec()},
                     {"ceil_mode", ceil_mode},
                     {"count_include_pad", count_include_pad}},
                    {y});
  }
  return y;
}

Tensor adaptive_avg_pool2d(const Tensor& x, IntPair output_size) {
  OpScope scope;
  const kernels::AdaptivePool2dParams params =
      make_adaptive_params(x, output_size, "adaptive_avg_pool2d");
  Tensor x_data = x.detach().contiguous();
  Tensor y = empty(pooled_shape(x, params.out_h, params.out_w));
  if (x.numel() > 0) {  // an empty batch: nothing to pool
    PARE_KERNEL(adaptive_avg_pool2d_forward)
    (params, x_data.data_ptr<float>(), y.data_ptr<float>());
  }
  const Shape input_shape = x.sizes();
  autograd::record("adaptive_avg_pool2d", {x}, {y}, [=](const std::vector<Tensor>& grads) {
    if (!grads[0].defined()) return std::vector<Tensor>(1);
    Tensor grad_y = grads[0].contiguous();
    Tensor grad_x = empty(input_shape);
    if (grad_x.numel() > 0) {
      PARE_KERNEL(adaptive_avg_pool2d_backward)
      (params, grad_y.data_ptr<float>(), grad_x.data_ptr<float>());
    }
    return std::vector<Tensor>{grad_x};
  });
  if (scope.should_report()) {
    notify_function("adaptive_avg_pool2d", {x}, {{"output_size", output_size.vec()}}, {y});
  }
  return y;
}

Tensor adaptive_max_pool2d(const Tensor& x, IntPair output_size) {
  OpScope scope;
  const kernels::AdaptivePool2dParams params =
      make_adaptive_params(x, output_size, "adaptive_max_pool2d");
  Tensor x_data = x.detach().contiguous();
  Tensor y = empty(pooled_shape(x, params.out_h, params.out_w));
  const bool keep_indices = autograd::needs_grad({x});
  Tensor indices = keep_indices ? empty(y.sizes(), kInt64) : Tensor();
  if (x.numel() > 0) {  // an empty batch: nothing to pool
    PARE_KERNEL(adaptive_max_pool2d_forward)
    (params, x_data.data_ptr<float>(), y.data_ptr<float>(),
     keep_indices ? indices.data_ptr<int64_t>() : nullptr);
  }
  if (keep_indices) {
    record_max_pool_backward("adaptive_max_pool2d", x, y, indices,
                             [params](const float* grad_y, const int64_t* index, float* grad_x) {
                               PARE_KERNEL(adaptive_max_pool2d_backward)
                               (params, grad_y, index, grad_x);
                             });
  }
  if (scope.should_report()) {
    notify_function("adaptive_max_pool2d", {x}, {{"output_size", output_size.vec()}}, {y});
  }
  return y;
}

}  // namespace pare
