#include "pare/optim/adam.h"

#include <algorithm>
#include <cmath>

#include "pare/autograd.h"
#include "pare/creation.h"

namespace pare::optim {

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options)
    : Adam(std::vector<ParamGroup>{{std::move(params), {}}}, options, false) {}

Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& defaults)
    : Adam(std::move(groups), defaults, false) {}

Adam::Adam(std::vector<ParamGroup> groups, const OptimizerOptions& defaults,
           bool decoupled_weight_decay)
    : Optimizer(std::move(groups)), decoupled_weight_decay_(decoupled_weight_decay) {
  name_ = decoupled_weight_decay ? "AdamW" : "Adam";
  fill_defaults(defaults);
  for (ParamGroup& group : param_groups()) {
    PARE_CHECK(group.lr() >= 0, name_, ": invalid learning rate ", group.lr());
    PARE_CHECK(group.option("beta1") >= 0 && group.option("beta1") < 1 &&
                   group.option("beta2") >= 0 && group.option("beta2") < 1,
               name_, ": betas must be in [0, 1), got (", group.option("beta1"), ", ",
               group.option("beta2"), ")");
    PARE_CHECK(group.option("eps") >= 0, name_, ": invalid eps ", group.option("eps"));
  }
}

void Adam::step() {
  NoGradGuard no_grad;
  for (ParamGroup& group : param_groups()) {
    const double lr = group.option("lr");
    const double beta1 = group.option("beta1");
    const double beta2 = group.option("beta2");
    const float eps = static_cast<float>(group.option("eps"));
    const float weight_decay = static_cast<float>(group.option("weight_decay"));
    const bool amsgrad = group.option("amsgrad") != 0;
    for (Tensor& parameter : group.params) {
      const Tensor& grad_tensor = parameter.grad();
      if (!grad_tensor.defined()) continue;
      PARE_CHECK(parameter.is_contiguous(), name_, ": parameter of shape ", parameter.sizes(),
                 " is not contiguous");
      Tensor grad_dense = grad_tensor.contiguous();
      auto& state = state_of(parameter);
      if (!state.count("step")) {
        state["step"] = scalar_tensor(0.0);
        state["exp_avg"] = zeros_like(parameter);
        state["exp_avg_sq"] = zeros_like(parameter);
        if (amsgrad) state["max_exp_avg_sq"] = zeros_like(parameter);
      }
      float& step_count = *state["step"].data_ptr<float>();
      step_count += 1;
      const double bias_correction1 = 1.0 - std::pow(beta1, step_count);
      const double bias_correction2_sqrt = std::sqrt(1.0 - std::pow(beta2, step_count));
      const float step_size = static_cast<float>(lr / bias_correction1);
      const float inverse_bc2_sqrt = static_cast<float>(1.0 / bias_correction2_sqrt);
      const float decay_factor = static_cast<float>(1.0 - lr * weight_decay);
      const float b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);

      float* p = parameter.data_ptr<float>();
      const float* g = grad_dense.data_ptr<float>();
      float* m = state["exp_avg"].data_ptr<float>();
      float* v = state["exp_avg_sq"].data_ptr<float>();
      float* v_max = amsgrad ? state["max_exp_avg_sq"].data_ptr<float>() : nullptr;
      const int64_t count = parameter.numel();
      for (int64_t i = 0; i < count; ++i) {
        float grad = g[i];
        if (decoupled_weight_decay_) {
          p[i] *= decay_factor;
        } else {
          grad += weight_decay * p[i];
        }
        m[i] = b1 * m[i] + (1 - b1) * grad;
        v[i] = b2 * v[i] + (1 - b2) * grad * grad;
        float second = v[i];
        if (v_max) {
          v_max[i] = std::max(v_max[i], v[i]);
          second = v_max[i];
        }
        float denominator = std::sqrt(second) * inverse_bc2_sqrt + eps;
        p[i] -= step_size * m[i] / denominator;
      }
    }
  }
}

AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& options)
    : Adam(std::vector<ParamGroup>{{std::move(params), {}}}, options, true) {}

AdamW::AdamW(std::vector<ParamGroup> groups, const AdamWOptions& defaults)
    : Adam(std::move(groups), defaults, true) {}

}  // namespace pare::optim
