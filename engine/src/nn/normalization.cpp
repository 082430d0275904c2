// nn::LayerNorm and nn::BatchNorm2d.
#include "pare/nn/normalization.h"

#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/functional.h"
#include "pare/nn/init.h"
#include "python_repr.h"

namespace pare::nn {

LayerNormImpl::LayerNormImpl(const LayerNormOptions& options) : options_(options) {
  PARE_CHECK(!options.normalized_shape().empty(),
             "LayerNorm: normalized_shape must have at least one dim");
  const bool affine = options.elementwise_affine();
  register_parameter("weight", affine ? empty(options.normalized_shape()) : Tensor());
  register_parameter("bias", affine ? empty(options.normalized_shape()) : Tensor());
  reset_parameters();
}

LayerNormImpl::LayerNormImpl(Shape normalized_shape)
    : LayerNormImpl(LayerNormOptions(std::move(normalized_shape))) {}

void LayerNormImpl::reset_parameters() {
  if (!options_.elementwise_affine()) return;
  init::ones_(get_parameter("weight"));
  init::zeros_(get_parameter("bias"));
}

Tensor LayerNormImpl::forward(const Tensor& input) {
  return layer_norm(input, options_.normalized_shape(), get_parameter("weight"),
                    get_parameter("bias"), options_.eps());
}

Attrs LayerNormImpl::config() const {
  return {{"normalized_shape", options_.normalized_shape()},
          {"eps", options_.eps()},
          {"elementwise_affine", options_.elementwise_affine()}};
}

std::string LayerNormImpl::extra_repr() const {
  return detail::python_repr(options_.normalized_shape()) +
         ", eps=" + detail::python_repr(options_.eps()) +
         ", elementwise_affine=" + detail::python_repr(options_.elementwise_affine());
}

BatchNorm2dImpl::BatchNorm2dImpl(const BatchNorm2dOptions& options) : options_(options) {
  const int64_t features = options.num_features();
  PARE_CHECK(features > 0, "BatchNorm2d: num_features must be positive, got ", features);
  register_parameter("weight", options.affine() ? empty({features}) : Tensor());
  register_parameter("bias", options.affine() ? empty({features}) : Tensor());
  const bool track = options.track_running_stats();
  register_buffer("running_mean", track ? zeros({features}) : Tensor());
  register_buffer("running_var", track ? ones({features}) : Tensor());
  register_buffer("num_batches_tracked", track ? scalar_tensor(0, kInt64) : Tensor());
  reset_parameters();
}

BatchNorm2dImpl::BatchNorm2dImpl(int64_t num_features)
    : BatchNorm2dImpl(BatchNorm2dOptions(num_features)) {}

void BatchNorm2dImpl::reset_running_stats() {
  if (!options_.track_running_stats()) return;
  NoGradGuard no_grad;
  get_buffer("running_mean").zero_();
  get_buffer("running_var").fill_(1.0);
  get_buffer("num_batches_tracked").data_ptr<int64_t>()[0] = 0;
}

void BatchNorm2dImpl::reset_parameters() {
  reset_running_stats();
  if (!options_.affine()) return;
  init::ones_(get_parameter("weight"));
  init::zeros_(get_parameter("bias"));
}

Tensor BatchNorm2dImpl::forward(const Tensor& input) {
  PARE_CHECK(input.defined() && input.dim() == 4, "BatchNorm2d: expected a 4-d input, got shape ",
             input.defined() ? input.sizes() : Shape{});
  Tensor running_mean, running_var;
  if (options_.track_running_stats()) {
    running_mean = get_buffer("running_mean");
    running_var = get_buffer("running_var");
  }
  // Without running statistics even evaluation normalises with the batch statistics.
  const bool use_batch_statistics = is_training() || !running_mean.defined();
  const bool updates_statistics = is_training() && options_.track_running_stats();
  int64_t* batches_tracked =
      updates_statistics ? get_buffer("num_batches_tracked").data_ptr<int64_t>() : nullptr;
  // momentum=None: the running statistics are the plain average of every batch so far, as in
  // PyTorch (this batch is number num_batches_tracked + 1 and weighs 1 / that).
  double momentum = options_.momentum().value_or(0.0);
  if (!options_.momentum() && batches_tracked != nullptr)
    momentum = 1.0 / static_cast<double>(*batches_tracked + 1);
  Tensor output = batch_norm(input, running_mean, running_var, get_parameter("weight"),
                             get_parameter("bias"), use_batch_statistics, momentum, options_.eps());
  if (batches_tracked != nullptr) *batches_tracked += 1;
  return output;
}

// momentum=None has no attribute value: config() leaves the key out, and a .pare reader takes
// a missing momentum for None.
Attrs BatchNorm2dImpl::config() const {
  Attrs attrs = {{"num_features", options_.num_features()}, {"eps", options_.eps()}};
  if (options_.momentum()) attrs.emplace_back("momentum", *options_.momentum());
  attrs.emplace_back("affine", options_.affine());
  attrs.emplace_back("track_running_stats", options_.track_running_stats());
  return attrs;
}

std::string BatchNorm2dImpl::extra_repr() const {
  const std::string momentum =
      options_.momentum() ? detail::python_repr(*options_.momentum()) : std::string("None");
  return std::to_string(options_.num_features()) + ", " +
         detail::keyword_repr({{"eps", options_.eps()}}) + ", momentum=" + momentum + ", " +
         detail::keyword_repr({{"affine", options_.affine()},
                               {"track_running_stats", options_.track_running_stats()}});
}

}  // namespace pare::nn
