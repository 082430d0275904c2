// nn::Linear.
#include "pare/nn/linear.h"

#include <cmath>

#include "pare/creation.h"
#include "pare/functional.h"
#include "pare/nn/init.h"
#include "pare/nn/parametrize.h"
#include "pare/reduction.h"
#include "python_repr.h"

namespace pare::nn {

LinearImpl::LinearImpl(const LinearOptions& options) : options_(options) {
  PARE_CHECK(options.in_features() >= 0 && options.out_features() >= 0,
             "Linear: in_features and out_features must be non-negative, got ",
             options.in_features(), " and ", options.out_features());
  register_parameter("weight", empty({options.out_features(), options.in_features()}));
  register_parameter("bias", options.bias() ? empty({options.out_features()}) : Tensor());
  reset_parameters();
}

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features)
    : LinearImpl(LinearOptions(in_features, out_features)) {}

void LinearImpl::reset_parameters() {
  Tensor weight = get_parameter("weight");
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  Tensor bias = get_parameter("bias");
  if (bias.defined()) {
    const int64_t fan_in = init::calculate_fan_in_and_fan_out(weight).first;
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}

Tensor LinearImpl::forward(const Tensor& input) {
  const Tensor bias = get_parameter("bias");
  // A row-masked weight (a pruner's mask) runs on the stored weight: reading it would
  // materialise a full masked copy of the layer. Only without a bias of the layer's own, since a
  // kernel may add the bias inside its accumulation, and only for a finite input, whose products
  // with a masked row's zeros are zeros (an inf or NaN input makes them NaN).
  if (auto masked = row_masked_parameter(*this, "weight");
      masked && !bias.defined() && all_finite(input))
    return clear_masked_channels(linear(input, masked->stored, Tensor()), masked->mask, -1);
  return linear(input, get_parameter("weight"), bias);
}

Attrs LinearImpl::config() const {
  return {{"in_features", options_.in_features()},
          {"out_features", options_.out_features()},
          {"bias", options_.bias()}};
}

std::string LinearImpl::extra_repr() const { return detail::keyword_repr(config()); }

}  // namespace pare::nn
