// nn::Dropout.
#include "pare/nn/dropout.h"

#include "pare/functional.h"
#include "python_repr.h"

namespace pare::nn {

DropoutImpl::DropoutImpl(double p) : p_(p) {
  PARE_CHECK(p >= 0.0 && p <= 1.0, "Dropout: probability must be between 0 and 1, got ", p);
}

Tensor DropoutImpl::forward(const Tensor& input) { return dropout(input, p_, is_training()); }

Attrs DropoutImpl::config() const { return {{"p", p_}}; }

// PyTorch also prints its in-place flag, which pare does not have.
std::string DropoutImpl::extra_repr() const {
  return "p=" + detail::python_repr(p_) + ", inplace=False";
}

}  // namespace pare::nn
