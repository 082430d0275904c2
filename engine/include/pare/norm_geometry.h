// The checks and kernel sizes of layer_norm and batch_norm from shapes alone. The engine's ops
// (normalization.cpp) and the IR's shape rules (ir/ops/normalization.cpp) both take them from
// here, so their checks, messages and sizes are one rule; both ops return the input's shape.
//
//   const pare::OperandMeta gamma{{4}, pare::kFloat32};
//   pare::layer_norm_geometry({2, 3, 4}, pare::kFloat32, {4}, gamma, std::nullopt, 1e-5);
//   // rows 6, cols 4
//   pare::BatchNormOperands stats;
//   stats.running_mean = stats.running_var = pare::OperandMeta{{16}, pare::kFloat32};
//   pare::batch_norm_geometry({8, 16, 5, 5}, pare::kFloat32, stats, /*training=*/false, 1e-5);
//   // batch 8, channels 16, spatial 25
#pragma once

#include <optional>

#include "pare/dtype.h"
#include "pare/kernels/batch_norm.h"
#include "pare/kernels/layer_norm.h"
#include "pare/tensor.h"

namespace pare {

// An operand as shapes alone: its shape and dtype.
struct OperandMeta {
  Shape shape;
  DType dtype = kFloat32;
};

// Checks a float32 input that ends with normalized_shape (at least one dim), weight and bias
// (when given) float32 of normalized_shape, and eps >= 0.
kernels::LayerNormParams layer_norm_geometry(const Shape& input, DType dtype,
                                             const Shape& normalized_shape,
                                             const std::optional<OperandMeta>& weight,
                                             const std::optional<OperandMeta>& bias, double eps);

// batch_norm's optional per-channel tensors.
struct BatchNormOperands {
  std::optional<OperandMeta> running_mean, running_var, weight, bias;
};

// Checks a float32 input [N, C, ...], per-channel tensors of C elements (PyTorch checks only the
// count), running statistics both given or both absent and given in evaluation mode, eps >= 0,
// and more than one value per channel when training.
kernels::BatchNormParams batch_norm_geometry(const Shape& input, DType dtype,
                                             const BatchNormOperands& operands, bool training,
                                             double eps);

}  // namespace pare
