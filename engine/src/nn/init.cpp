// torch.nn.init's initialisers, on the default generator and outside autograd.
#include "pare/nn/init.h"

#include <cmath>

#include "pare/autograd.h"
#include "pare/error.h"
#include "pare/nn/skip_init.h"

namespace pare::nn::init {

namespace {

void check_defined(const Tensor& tensor, const char* op) {
  PARE_CHECK(tensor.defined(), "nn::init::", op, ": the tensor is undefined");
}

// PyTorch skips initialising a tensor with a zero-sized dim (its fans would be 0).
bool has_zero_sized_dim(const Tensor& tensor) { return tensor.numel() == 0; }

double kaiming_std(const Tensor& tensor, double a, FanMode mode, const std::string& nonlinearity) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  const int64_t fan = mode == FanMode::fan_in ? fan_in : fan_out;
  return calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan));
}

double xavier_std(const Tensor& tensor, double gain) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  return gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
}

}  // namespace

double calculate_gain(const std::string& nonlinearity, std::optional<double> param) {
  static const char* const kUnitGain[] = {
      "linear",           "conv1d",           "conv2d",           "conv3d",
      "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid"};
  for (const char* name : kUnitGain)
    if (nonlinearity == name) return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") {
    const double negative_slope = param.value_or(0.01);
    return std::sqrt(2.0 / (1.0 + negative_slope * negative_slope));
  }
  if (nonlinearity == "selu") return 3.0 / 4.0;
  throw Error(str_cat("nn::init::calculate_gain: unsupported nonlinearity '", nonlinearity, "'"));
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor) {
  check_defined(tensor, "calculate_fan_in_and_fan_out");
  PARE_CHECK(tensor.dim() >= 2,
             "nn::init: fan in and fan out cannot be computed for a tensor with fewer than 2 "
             "dims, got shape ",
             tensor.sizes());
  int64_t receptive_field = 1;
  for (int64_t d = 2; d < tensor.dim(); ++d) receptive_field *= tensor.size(d);
  return {tensor.size(1) * receptive_field, tensor.size(0) * receptive_field};
}

Tensor uniform_(Tensor tensor, double low, double high) {
  check_defined(tensor, "uniform_");
  if (skip_init_enabled()) return tensor;
  NoGradGuard no_grad;
  tensor.uniform_(low, high);
  return tensor;
}

Tensor normal_(Tensor tensor, double mean, double std) {
  check_defined(tensor, "normal_");
  if (skip_init_enabled()) return tensor;
  NoGradGuard no_grad;
  tensor.normal_(mean, std);
  return tensor;
}

Tensor constant_(Tensor tensor, double value) {
  check_defined(tensor, "constant_");
  if (skip_init_enabled()) return tensor;
  NoGradGuard no_grad;
  tensor.fill_(value);
  return tensor;
}

Tensor zeros_(Tensor tensor) { return constant_(std::move(tensor), 0.0); }

Tensor ones_(Tensor tensor) { return constant_(std::move(tensor), 1.0); }

Tensor kaiming_uniform_(Tensor tensor, double a, FanMode mode, const std::string& nonlinearity) {
  check_defined(tensor, "kaiming_uniform_");
  if (has_zero_sized_dim(tensor)) return tensor;
  const double bound = std::sqrt(3.0) * kaiming_std(tensor, a, mode, nonlinearity);
  return uniform_(std::move(tensor), -bound, bound);
}

Tensor kaiming_normal_(Tensor tensor, double a, FanMode mode, const std::string& nonlinearity) {
  check_defined(tensor, "kaiming_normal_");
  if (has_zero_sized_dim(tensor)) return tensor;
  return normal_(tensor, 0.0, kaiming_std(tensor, a, mode, nonlinearity));
}

Tensor xavier_uniform_(Tensor tensor, double gain) {
  check_defined(tensor, "xavier_uniform_");
  const double bound = std::sqrt(3.0) * xavier_std(tensor, gain);
  return uniform_(std::move(tensor), -bound, bound);
}

Tensor xavier_normal_(Tensor tensor, double gain) {
  check_defined(tensor, "xavier_normal_");
  return normal_(tensor, 0.0, xavier_std(tensor, gain));
}

}  // namespace pare::nn::init
