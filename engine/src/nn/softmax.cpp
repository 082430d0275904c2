#include "pare/nn/softmax.h"

#include "pare/functional.h"

namespace pare::nn {

Tensor SoftmaxImpl::forward(const Tensor& input) { return softmax(input, options_.dim()); }

Tensor LogSoftmaxImpl::forward(const Tensor& input) { return log_softmax(input, options_.dim()); }

}  // namespace pare::nn
