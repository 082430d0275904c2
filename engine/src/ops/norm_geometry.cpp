#include "pare/norm_geometry.h"

#include <utility>

#include "pare/checked_math.h"
#include "pare/error.h"

namespace pare {

namespace {

void check_float(const Shape& shape, DType dtype, const char* op, const char* role) {
  PARE_CHECK(dtype == kFloat32, op, ": expected a float32 ", role, ", got ", dtype_name(dtype),
             " of shape ", shape);
}

}  // namespace

kernels::LayerNormParams layer_norm_geometry(const Shape& input, DType dtype,
                                             const Shape& normalized_shape,
                                             const std::optional<OperandMeta>& weight,
                                             const std::optional<OperandMeta>& bias, double eps) {
  check_float(input, dtype, "layer_norm", "input");
  const int64_t feature_dims = static_cast<int64_t>(normalized_shape.size());
  PARE_CHECK(feature_dims >= 1, "layer_norm: normalized_shape must have at least one dim, got ",
             normalized_shape);
  PARE_CHECK(static_cast<int64_t>(input.size()) >= feature_dims &&
                 Shape(input.end() - feature_dims, input.end()) == normalized_shape,
             "layer_norm: input of shape ", input, " does not end with normalized_shape ",
             normalized_shape);
  for (const auto& [parameter, role] : {std::pair{&weight, "weight"}, std::pair{&bias, "bias"}}) {
    if (!parameter->has_value()) continue;
    const OperandMeta& meta = **parameter;
    check_float(meta.shape, meta.dtype, "layer_norm", role);
    PARE_CHECK(meta.shape == normalized_shape, "layer_norm: expected ", role, " of shape ",
               normalized_shape, ", got ", meta.shape, " for input of shape ", input);
  }
  PARE_CHECK(eps >= 0.0, "layer_norm: eps must be non-negative, got ", eps);
  kernels::LayerNormParams params;
  params.cols = shape_numel(normalized_shape);
  params.rows = params.cols > 0 ? shape_numel(input) / params.cols : 0;
  params.eps = static_cast<float>(eps);
  return params;
}

kernels::BatchNormParams batch_norm_geometry(const Shape& input, DType dtype,
                                             const BatchNormOperands& operands, bool training,
                                             double eps) {
  check_float(input, dtype, "batch_norm", "input");
  PARE_CHECK(input.size() >= 2,
             "batch_norm: expected an input of rank >= 2 ([N, C, ...]), got shape ", input);
  const int64_t channels = input[1];
  for (const auto& [vector, role] :
       {std::pair{&operands.running_mean, "running_mean"},
        std::pair{&operands.running_var, "running_var"}, std::pair{&operands.weight, "weight"},
        std::pair{&operands.bias, "bias"}}) {
    if (!vector->has_value()) continue;
    const OperandMeta& meta = **vector;
    check_float(meta.shape, meta.dtype, "batch_norm", role);
    PARE_CHECK(shape_numel(meta.shape) == channels, "batch_norm: ", role, " should contain ",
               channels, " elements (the channels of the input of shape ", input, "), got shape ",
               meta.shape);
  }
  const bool has_mean = operands.running_mean.has_value();
  PARE_CHECK(has_mean == operands.running_var.has_value(),
             "batch_norm: running_mean and running_var must be both defined or both undefined");
  PARE_CHECK(training || has_mean,
             "batch_norm: running_mean and running_var must be defined in evaluation mode");
  PARE_CHECK(eps >= 0.0, "batch_norm: eps must be non-negative, got ", eps);
  kernels::BatchNormParams params;
  params.batch = input[0];
  params.channels = channels;
  params.spatial = shape_numel(Shape(input.begin() + 2, input.end()));
  params.eps = static_cast<float>(eps);
  // Shapes without storage (shape inference) can be huge when there are no channels.
  const int64_t values_per_channel =
      checked_mul(params.batch, params.spatial, "batch_norm: input of shape ", input);
  PARE_CHECK(!training || values_per_channel > 1,
             "batch_norm: expected more than 1 value per channel when training, got input of "
             "shape ",
             input);
  return params;
}

}  // namespace pare
