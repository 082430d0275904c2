#include "pare/nn/functional.h"

#include "pare/autograd.h"

namespace pare::nn::functional::detail {

Tensor apply_inplace(const Tensor& input, const Tensor& result, bool inplace, const char* op) {
  if (!inplace) return result;
  // Writing into a tensor autograd reads would give wrong gradients: pare keeps no in-place
  // history, so such an input is refused rather than silently mis-differentiated.
  PARE_CHECK(!(grad_mode_enabled() && input.requires_grad()), op,
             ": inplace(true) on an input of shape ", input.sizes(),
             " that requires grad; drop inplace (pare's activations are out of place) or run "
             "under pare::NoGradGuard");
  Tensor target = input;
  NoGradGuard no_grad;
  target.copy_(result);
  return target;
}

}  // namespace pare::nn::functional::detail
