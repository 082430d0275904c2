// layer_norm and batch_norm with PyTorch's statistics, running-stat updates and gradients.
#include <cmath>
#include <initializer_list>
#include <optional>
#include <vector>

#include "../kernel_dispatch.h"
#include "float_input.h"
#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/functional.h"
#include "pare/kernels/batch_norm.h"
#include "pare/kernels/layer_norm.h"
#include "pare/norm_geometry.h"
#include "pare/observer.h"

namespace pare {

namespace {

const float* data_or_null(const Tensor& tensor) {
  return tensor.defined() ? tensor.data_ptr<float>() : nullptr;
}

float* mutable_data_or_null(const Tensor& tensor) {
  return tensor.defined() ? tensor.data_ptr<float>() : nullptr;
}

// An optional tensor as shapes alone (pare/norm_geometry.h), absent when undefined.
std::optional<OperandMeta> meta_of(const Tensor& tensor) {
  if (!tensor.defined()) return std::nullopt;
  return OperandMeta{tensor.sizes(), tensor.dtype()};
}

// An optional operand the geometry has checked, as a contiguous buffer without history
// (undefined stays undefined).
Tensor dense_or_undefined(const Tensor& tensor) {
  return tensor.defined() ? tensor.detach().contiguous() : Tensor();
}

Tensor layer_norm_impl(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                       const Tensor& bias, double eps) {
  PARE_CHECK(x.defined(), "layer_norm: input is undefined");
  const kernels::LayerNormParams params = layer_norm_geometry(
      x.sizes(), x.dtype(), normalized_shape, meta_of(weight), meta_of(bias), eps);
  Tensor src = detail::dense_float_input(x, "layer_norm", "input");
  Tensor gamma = dense_or_undefined(weight);
  Tensor beta = dense_or_undefined(bias);
  const bool has_elements = params.rows > 0 && params.cols > 0;

  Tensor result = empty(src.sizes());
  Tensor mean = empty({params.rows});
  Tensor rstd = empty({params.rows});
  if (has_elements) {
    PARE_KERNEL(layer_norm_forward)
    (params, src.data_ptr<float>(), data_or_null(gamma), data_or_null(beta),
     result.data_ptr<float>(), mean.data_ptr<float>(), rstd.data_ptr<float>());
  }
  const bool has_weight = weight.defined();
  const bool has_bias = bias.defined();
  autograd::record("layer_norm", {x, weight, bias}, {result},
                   [params, src, gamma, mean, rstd, normalized_shape, has_weight, has_bias,
                    has_elements](const std::vector<Tensor>& grads) {
                     if (!grads[0].defined())
                       return std::vector<Tensor>{Tensor(), Tensor(), Tensor()};
                     Tensor grad = detail::dense_gradient(grads[0]);
                     Tensor grad_input = empty(src.sizes());
                     Tensor grad_weight = has_weight ? zeros(normalized_shape) : Tensor();
                     Tensor grad_bias = has_bias ? zeros(normalized_shape) : Tensor();
                     if (has_elements) {
                       PARE_KERNEL(layer_norm_backward)
                       (params, src.data_ptr<float>(), grad.data_ptr<float>(), data_or_null(gamma),
                        mean.data_ptr<float>(), rstd.data_ptr<float>(),
                        grad_input.data_ptr<float>(), mutable_data_or_null(grad_weight),
                        mutable_data_or_null(grad_bias));
                     }
                     return std::vector<Tensor>{grad_input, grad_weight, grad_bias};
                   });
  return result;
}

// PyTorch's running-statistics update, in place: new = (1 - momentum) * old + momentum * batch,
// where the variance enters unbiased (times n / (n - 1)).
void update_running_stats(const Tensor& running_mean, const Tensor& running_var,
                          const Tensor& batch_mean, const Tensor& batch_var, int64_t count,
                          double momentum) {
  NoGradGuard no_grad;
  const double unbiased_scale = static_cast<double>(count) / static_cast<double>(count - 1);
  auto blend = [momentum](const Tensor& running, const Tensor& batch, double batch_scale) {
    std::vector<float> values = to_float_vector(running);
    const float* batch_values = batch.data_ptr<float>();
    for (size_t c = 0; c < values.size(); ++c) {
      values[c] = static_cast<float>((1.0 - momentum) * values[c] +
                                     momentum * batch_scale * batch_values[c]);
    }
    Tensor(running).copy_(tensor(values, running.sizes()));
  };
  if (running_mean.defined()) blend(running_mean, batch_mean, 1.0);
  if (running_var.defined()) blend(running_var, batch_var, unbiased_scale);
}

// The gradients of evaluation mode, where the statistics are constants:
// dx = dy * gamma * invstd, dgamma = sum(dy * (x - mean) * invstd), dbeta = sum(dy).
void batch_norm_backward_inference(const kernels::BatchNormParams& params, const float* src,
                                   const float* diff_dst, const float* gamma,
                                   const float* running_mean, const float* running_var,
                                   float* diff_src, float* diff_gamma, float* diff_beta) {
#pragma omp parallel for if (params.batch * params.channels * params.spatial > (1 << 16))
  for (int64_t c = 0; c < params.channels; ++c) {
    const float invstd = 1.0f / std::sqrt(running_var[c] + params.eps);
    const float scale = (gamma != nullptr ? gamma[c] : 1.0f) * invstd;
    double gamma_sum = 0.0, beta_sum = 0.0;
    for (int64_t n = 0; n < params.batch; ++n) {
      const int64_t offset = (n * params.channels + c) * params.spatial;
      for (int64_t s = 0; s < params.spatial; ++s) {
        const float dy = diff_dst[offset + s];
        diff_src[offset + s] = dy * scale;
        gamma_sum += static_cast<double>(dy) * (src[offset + s] - running_mean[c]) * invstd;
        beta_sum += dy;
      }
    }
    if (diff_gamma != nullptr) diff_gamma[c] = static_cast<float>(gamma_sum);
    if (diff_beta != nullptr) diff_beta[c] = static_cast<float>(beta_sum);
  }
}

Tensor batch_norm_impl(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                       const Tensor& weight, const Tensor& bias, bool training, double momentum,
                       double eps) {
  PARE_CHECK(x.defined(), "batch_norm: input is undefined");
  const kernels::BatchNormParams params = batch_norm_geometry(
      x.sizes(), x.dtype(),
      {meta_of(running_mean), meta_of(running_var), meta_of(weight), meta_of(bias)}, training, eps);
  const int64_t channels = params.channels;
  const int64_t values_per_channel = params.batch * params.spatial;
  Tensor src = detail::dense_float_input(x, "batch_norm", "input");
  Tensor mean_in = dense_or_undefined(running_mean);
  Tensor var_in = dense_or_undefined(running_var);
  Tensor gamma = dense_or_undefined(weight);
  Tensor beta = dense_or_undefined(bias);
  const bool has_elements = src.numel() > 0;

  Tensor result = empty(src.sizes());
  const bool has_weight = weight.defined();
  const bool has_bias = bias.defined();
  const Shape weight_shape = has_weight ? weight.sizes() : Shape{};
  const Shape bias_shape = has_bias ? bias.sizes() : Shape{};
  if (training) {
    Tensor batch_mean = empty({channels});
    Tensor batch_var = empty({channels});
    if (has_elements) {
      PARE_KERNEL(batch_norm_forward_training)
      (params, src.data_ptr<float>(), data_or_null(gamma), data_or_null(beta),
       result.data_ptr<float>(), batch_mean.data_ptr<float>(), batch_var.data_ptr<float>());
      update_running_stats(running_mean, running_var, batch_mean, batch_var, values_per_channel,
                           momentum);
    }
    autograd::record("batch_norm", {x, weight, bias}, {result},
                     [params, src, gamma, batch_mean, batch_var, weight_shape, bias_shape,
                      has_weight, has_bias, has_elements](const std::vector<Tensor>& grads) {
                       if (!grads[0].defined())
                         return std::vector<Tensor>{Tensor(), Tensor(), Tensor()};
                       Tensor grad = detail::dense_gradient(grads[0]);
                       Tensor grad_input = empty(src.sizes());
                       Tensor grad_weight = has_weight ? zeros(weight_shape) : Tensor();
                       Tensor grad_bias = has_bias ? zeros(bias_shape) : Tensor();
                       if (has_elements) {
                         PARE_KERNEL(batch_norm_backward)
                         (params, src.data_ptr<float>(), grad.data_ptr<float>(),
                          data_or_null(gamma), batch_mean.data_ptr<float>(),
                          batch_var.data_ptr<float>(), grad_input.data_ptr<float>(),
                          mutable_data_or_null(grad_weight), mutable_data_or_null(grad_bias));
                       }
                       return std::vector<Tensor>{grad_input, grad_weight, grad_bias};
                     });
    return result;
  }

  if (has_elements) {
    PARE_KERNEL(batch_norm_forward_inference)
    (params, src.data_ptr<float>(), data_or_null(gamma), data_or_null(beta),
     mean_in.data_ptr<float>(), var_in.data_ptr<float>(), result.data_ptr<float>());
  }
  if (!autograd::needs_grad({x, weight, bias})) return result;
  // The running statistics may change in place before backward runs; keep this step's values.
  Tensor saved_mean = mean_in.clone();
  Tensor saved_var = var_in.clone();
  autograd::record("batch_norm", {x, weight, bias}, {result},
                   [params, src, gamma, saved_mean, saved_var, weight_shape, bias_shape, has_weight,
                    has_bias](const std::vector<Tensor>& grads) {
                     if (!grads[0].defined())
                       return std::vector<Tensor>{Tensor(), Tensor(), Tensor()};
                     Tensor grad = detail::dense_gradient(grads[0]);
                     Tensor grad_input = empty(src.sizes());
                     Tensor grad_weight = has_weight ? zeros(weight_shape) : Tensor();
                     Tensor grad_bias = has_bias ? zeros(bias_shape) : Tensor();
                     batch_norm_backward_inference(
                         params, src.data_ptr<float>(), grad.data_ptr<float>(), data_or_null(gamma),
                         saved_mean.data_ptr<float>(), saved_var.data_ptr<float>(),
                         grad_input.data_ptr<float>(), mutable_data_or_null(grad_weight),
                         mutable_data_or_null(grad_bias));
                     return std::vector<Tensor>{grad_input, grad_weight, grad_bias};
                   });
  return result;
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  OpScope scope;
  Tensor result = layer_norm_impl(x, normalized_shape, weight, bias, eps);
  if (scope.should_report()) {
    // Undefined tensors stay in place (None in the graph) so weight and bias keep their slots.
    notify_function("layer_norm", {x, weight, bias},
                    {{"normalized_shape", normalized_shape}, {"eps", eps}}, {result});
  }
  return result;
}

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum,
                  double eps) {
  OpScope scope;
  Tensor result =
      batch_norm_impl(x, running_mean, running_var, weight, bias, training, momentum, eps);
  if (scope.should_report()) {
    notify_function("batch_norm", {x, running_mean, running_var, weight, bias},
                    {{"training", training}, {"momentum", momentum}, {"eps", eps}}, {result});
  }
  return result;
}

}  // namespace pare
