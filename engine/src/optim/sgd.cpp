#include "pare/optim/sgd.h"

#include "pare/autograd.h"
#include "pare/creation.h"

namespace pare::optim {

SGD::SGD(std::vector<Tensor> params, const SGDOptions& options)
    : SGD(std::vector<ParamGroup>{{std::move(params), {}}}, options) {}

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& defaults)
    : Optimizer(std::move(groups)) {
  name_ = "SGD";
  fill_defaults(defaults);
  for (ParamGroup& group : param_groups()) {
    PARE_CHECK(group.lr() >= 0, "SGD: invalid learning rate ", group.lr());
    PARE_CHECK(group.option("momentum") >= 0, "SGD: invalid momentum ", group.option("momentum"));
    PARE_CHECK(!(group.option("nesterov") != 0 &&
                 (group.option("momentum") <= 0 || group.option("dampening") != 0)),
               "SGD: Nesterov momentum requires a momentum and zero dampening");
  }
}

void SGD::step() {
  NoGradGuard no_grad;
  for (ParamGroup& group : param_groups()) {
    const float lr = static_cast<float>(group.option("lr"));
    const float momentum = static_cast<float>(group.option("momentum"));
    const float dampening = static_cast<float>(group.option("dampening"));
    const float weight_decay = static_cast<float>(group.option("weight_decay"));
    const bool nesterov = group.option("nesterov") != 0;
    for (Tensor& parameter : group.params) {
      const Tensor& grad_tensor = parameter.grad();
      if (!grad_tensor.defined()) continue;
      Tensor grad_dense = grad_tensor.contiguous();
      PARE_CHECK(parameter.is_contiguous(), "SGD: parameter of shape ", parameter.sizes(),
                 " is not contiguous");
      float* p = parameter.data_ptr<float>();
      const float* g = grad_dense.data_ptr<float>();
      const int64_t count = parameter.numel();
      float* buffer = nullptr;
      bool first_step = false;
      if (momentum != 0) {
        Tensor& slot = state_of(parameter)["momentum_buffer"];
        first_step = !slot.defined();
        if (first_step) slot = empty_like(parameter);
        buffer = slot.data_ptr<float>();
      }
      for (int64_t i = 0; i < count; ++i) {
        float d_p = g[i] + weight_decay * p[i];
        if (buffer) {
          buffer[i] = first_step ? d_p : momentum * buffer[i] + (1 - dampening) * d_p;
          d_p = nesterov ? d_p + momentum * buffer[i] : buffer[i];
        }
        p[i] -= lr * d_p;
      }
    }
  }
}

}  // namespace pare::optim
