// layer_norm and batch_norm with PyTorch's statistics, running-stat updates and gradients.
#include <cmath>
#include <initializer_list>
#include <vector>

#include "../kernel_dispatch.h"
#include "float_input.h"
#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/functional.h"
#include "pare/kernels/batch_norm.h"
#include "pare/kernels/layer_norm.h"
#include "pare/observer.h"

namespace pare {

namespace {

const float* data_or_null(const Tensor& tensor) {
  return tensor.defined() ? tensor.data_ptr<float>() : nullptr;
}

float* mutable_data_or_null(const Tensor& tensor) {
  return tensor.defined() ? tensor.data_ptr<float>() : nullptr;
}

// An optional per-feature parameter (undefined stays undefined), checked against `shape`.
Tensor dense_parameter(const Tensor& parameter, const char* op, const char* role,
                       const Shape& expected_shape, const Shape& input_shape) {
  if (!parameter.defined()) return Tensor();
  Tensor dense = detail::dense_float_input(parameter, op, role);
  PARE_CHECK(parameter.sizes() == expected_shape, op, ": expected ", role, " of shape ",
             expected_shape, ", got ", parameter.sizes(), " for input of shape ", input_shape);
  return dense;
}

Tensor layer_norm_impl(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                       const Tensor& bias, double eps) {
  Tensor src = detail::dense_float_input(x, "layer_norm", "input");
  const int64_t feature_dims = static_cast<int64_t>(normalized_shape.size());
  PARE_CHECK(feature_dims >= 1, "layer_norm: normalized_shape must have at least one dim, got ",
             normalized_shape);
  PARE_CHECK(x.dim() >= feature_dims &&
                 Shape(x.sizes().end() - feature_dims, x.sizes().end()) == normalized_shape,
             "layer_norm: input of shape ", x.sizes(), " does not end with normalized_shape ",
             normalized_shape);
  Tensor gamma = dense_parameter(weight, "layer_norm", "weight", normalized_shape, x.sizes());
  Tensor beta = dense_parameter(bias, "layer_norm", "bias", normalized_shape, x.sizes());

  kernels::LayerNormParams params;
  params.cols = shape_numel(normalized_shape);
  params.rows = params.cols > 0 ? src.numel() / params.cols : 0;
  params.eps = static_cast<float>(eps);
  PARE_CHECK(eps >= 0.0, "layer_norm: eps must be non-negative, got ", eps);
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

// An optional per-channel tensor of batch_norm (undefined stays undefined); PyTorch checks only
// its element count.
Tensor dense_channel_vector(const Tensor& vector, const char* role, int64_t channels,
                            const Shape& input_shape) {
  if (!vector.defined()) return Tensor();
  Tensor dense = detail::dense_float_input(vector, "batch_norm", role);
  PARE_CHECK(vector.numel() == channels, "batch_norm: ", role, " should contain ", channels,
             " elements (the channels of the input of shape ", input_shape, "), got shape ",
             vector.sizes());
  return dense;
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
  Tensor src = detail::dense_float_input(x, "batch_norm", "input");
  PARE_CHECK(x.dim() >= 2, "batch_norm: expected an input of rank >= 2 ([N, C, ...]), got shape ",
             x.sizes());
  const int64_t channels = x.size(1);
  Tensor mean_in = dense_channel_vector(running_mean, "running_mean", channels, x.sizes());
  Tensor var_in = dense_channel_vector(running_var, "running_var", channels, x.sizes());
  Tensor gamma = dense_channel_vector(weight, "weight", channels, x.sizes());
  Tensor beta = dense_channel_vector(bias, "bias", channels, x.sizes());
  PARE_CHECK(running_mean.defined() == running_var.defined(),
             "batch_norm: running_mean and running_var must be both defined or both undefined");
  PARE_CHECK(training || running_mean.defined(),
             "batch_norm: running_mean and running_var must be defined in evaluation mode");
  PARE_CHECK(eps >= 0.0, "batch_norm: eps must be non-negative, got ", eps);

  kernels::BatchNormParams params;
  params.batch = x.size(0);
  params.channels = channels;
  params.spatial = shape_numel(Shape(x.sizes().begin() + 2, x.sizes().end()));
  params.eps = static_cast<float>(eps);
  const int64_t values_per_channel = params.batch * params.spatial;
  PARE_CHECK(!training || values_per_channel > 1,
             "batch_norm: expected more than 1 value per channel when training, got input of "
             "shape ",
             x.sizes());
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
