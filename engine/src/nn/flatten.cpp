// nn::Flatten.
#include "pare/nn/flatten.h"

#include "pare/functional.h"
#include "python_repr.h"

namespace pare::nn {

Tensor FlattenImpl::forward(const Tensor& input) { return flatten(input, start_dim_, end_dim_); }

Attrs FlattenImpl::config() const { return {{"start_dim", start_dim_}, {"end_dim", end_dim_}}; }

std::string FlattenImpl::extra_repr() const { return detail::keyword_repr(config()); }

}  // namespace pare::nn
