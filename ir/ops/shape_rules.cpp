#include "shape_rules.h"

#include <algorithm>
#include <cmath>

#include "pare/checked_math.h"
#include "pare/conv_geometry.h"
#include "pare/error.h"
#include "pare/linear_geometry.h"
#include "pare/pool_geometry.h"

namespace pare::ir::ops {

bool is_whole(double value) { return std::isfinite(value) && std::trunc(value) == value; }

// The dtype two tensor operands are computed in (elementwise.h: same dtype, or float32 when one
// of them is float32).
DType promote(const TensorMeta& a, const TensorMeta& b, std::string_view op) {
  if (a.dtype == b.dtype) return a.dtype;
  PARE_CHECK(a.dtype == kFloat32 || b.dtype == kFloat32, op, ": cannot combine dtypes ",
             dtype_name(a.dtype), " and ", dtype_name(b.dtype), " (shapes ", a.shape, " and ",
             b.shape, ")");
  return kFloat32;
}

// The dtype of `tensor op scalar` for add, sub and mul: integer tensors stay integer with a
// whole scalar; bool and fractional scalars give float32.
DType scalar_dtype(DType tensor_dtype, double scalar) {
  if (tensor_dtype == kFloat32 || tensor_dtype == kBool) return kFloat32;
  return is_whole(scalar) ? tensor_dtype : kFloat32;
}

void require_float(const TensorMeta& meta, std::string_view op, std::string_view role) {
  PARE_CHECK(meta.dtype == kFloat32, op, ": expected a float32 ", role, ", got ",
             dtype_name(meta.dtype), " of shape ", meta.shape);
}

Shape linear_shape(const TensorMeta& x, const TensorMeta& weight, const TensorMeta* bias) {
  require_float(x, "linear", "input");
  require_float(weight, "linear", "weight");
  if (bias != nullptr) require_float(*bias, "linear", "bias");
  return linear_output_shape(x.shape, weight.shape, bias == nullptr ? nullptr : &bias->shape);
}

Shape conv2d_shape(const TensorMeta& x, const TensorMeta& weight, const TensorMeta* bias,
                   const ConvGeometry& geometry) {
  require_float(x, "conv2d", "input");
  require_float(weight, "conv2d", "weight");
  if (bias != nullptr) require_float(*bias, "conv2d", "bias");
  const kernels::Conv2dParams params =
      conv2d_geometry(x.shape, weight.shape, bias == nullptr ? nullptr : &bias->shape,
                      geometry.stride, geometry.padding, geometry.dilation, geometry.groups);
  return conv2d_output_shape(x.shape, params);
}

Shape pool2d_shape(const TensorMeta& x, const kernels::Pool2dParams& window, const char* op) {
  const kernels::Pool2dParams params = pool2d_geometry(x.shape, x.dtype, window, op);
  return pooled_shape(x.shape, params.out_h(), params.out_w());
}

Shape adaptive_pool2d_shape(const TensorMeta& x, IntPair output_size, const char* op) {
  adaptive_pool2d_geometry(x.shape, x.dtype, output_size, op);
  return pooled_shape(x.shape, output_size.first, output_size.second);
}

Shape flatten_shape(const Shape& shape, int64_t start_dim, int64_t end_dim) {
  if (shape.empty()) return {1};
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t start = wrap_dim(start_dim, rank, "flatten");
  const int64_t end = wrap_dim(end_dim, rank, "flatten");
  PARE_CHECK(start <= end, "flatten: start_dim ", start_dim, " is after end_dim ", end_dim,
             " for shape ", shape);
  Shape out(shape.begin(), shape.begin() + start);
  int64_t merged = 1;
  for (int64_t i = start; i <= end; ++i)
    merged = checked_mul(merged, shape[i], "flatten: shape ", shape);
  out.push_back(merged);
  out.insert(out.end(), shape.begin() + end + 1, shape.end());
  return out;
}

// reshape's target with its -1 resolved.
Shape reshape_shape(const Shape& shape, const Shape& wanted) {
  const int64_t numel = shape_numel(shape);
  Shape out = wanted;
  int64_t known = 1;
  int64_t infer_at = -1;
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (wanted[i] == -1) {
      PARE_CHECK(infer_at < 0, "reshape: only one dimension can be -1, got ", wanted);
      infer_at = static_cast<int64_t>(i);
    } else {
      PARE_CHECK(wanted[i] >= 0, "reshape: invalid size in shape ", wanted);
      known = checked_mul(known, wanted[i], "reshape: shape ", wanted);
    }
  }
  if (infer_at >= 0) {
    PARE_CHECK(known != 0 && numel % known == 0, "reshape: shape ", wanted,
               " is invalid for input of size ", numel, " (shape ", shape, ")");
    out[infer_at] = numel / known;
  } else {
    PARE_CHECK(known == numel, "reshape: shape ", wanted, " is invalid for input of size ", numel,
               " (shape ", shape, ")");
  }
  return out;
}

// The LSTM's (output, h_n, c_n) shapes (functional.h's lstm contract). `weights` holds per layer
// w_ih, w_hh[, b_ih, b_hh].
std::vector<Shape> lstm_shapes(const TensorMeta& x, const TensorMeta* h0, const TensorMeta* c0,
                               const std::vector<TensorMeta>& weights, bool has_biases,
                               int64_t num_layers, bool batch_first) {
  require_float(x, "lstm", "input");
  PARE_CHECK(x.shape.size() == 2 || x.shape.size() == 3,
             "lstm: expected a 2-d (unbatched) or 3-d (batched) input, got shape ", x.shape);
  const size_t per_layer = has_biases ? 4 : 2;
  PARE_CHECK(num_layers >= 1, "lstm: num_layers must be positive, got ", num_layers);
  PARE_CHECK(weights.size() == per_layer * static_cast<size_t>(num_layers), "lstm: expected ",
             per_layer * num_layers, " weight tensors for num_layers=", num_layers,
             " and has_biases=", has_biases, ", got ", weights.size());
  for (const TensorMeta& weight : weights) require_float(weight, "lstm", "weight");
  PARE_CHECK(weights[1].shape.size() == 2,
             "lstm: expected a 2-d w_hh [4 * hidden_size, hidden_size] in layer 0, got shape ",
             weights[1].shape);
  const int64_t hidden = weights[1].shape[1];
  for (int64_t l = 0; l < num_layers; ++l) {
    const TensorMeta* w = &weights[per_layer * l];
    const int64_t layer_input = l == 0 ? x.shape.back() : hidden;
    PARE_CHECK(w[0].shape == Shape({4 * hidden, layer_input}), "lstm: layer ", l,
               " expected w_ih of shape ", Shape{4 * hidden, layer_input}, " (hidden_size ", hidden,
               ", input size ", layer_input, "), got ", w[0].shape);
    PARE_CHECK(w[1].shape == Shape({4 * hidden, hidden}), "lstm: layer ", l,
               " expected w_hh of shape ", Shape{4 * hidden, hidden}, ", got ", w[1].shape);
    for (size_t b = 2; b < per_layer; ++b) {
      PARE_CHECK(w[b].shape == Shape({4 * hidden}), "lstm: layer ", l, " expected biases of shape ",
                 Shape{4 * hidden}, ", got ", w[b].shape);
    }
  }
  const bool batched = x.shape.size() == 3;
  const int64_t steps = batched && batch_first ? x.shape[1] : x.shape[0];
  const int64_t batch = batched ? (batch_first ? x.shape[0] : x.shape[1]) : 1;
  const Shape state = batched ? Shape{num_layers, batch, hidden} : Shape{num_layers, hidden};
  for (const auto& [given, name] : {std::pair{h0, "h0"}, std::pair{c0, "c0"}}) {
    if (given == nullptr) continue;
    require_float(*given, "lstm", name);
    PARE_CHECK(given->shape == state, "lstm: expected ", name, " of shape ", state, ", got ",
               given->shape);
  }
  PARE_CHECK(steps > 0 && batch > 0 && x.shape.back() > 0 && hidden > 0,
             "lstm: expected non-empty sizes, got input of shape ", x.shape, " and hidden size ",
             hidden);
  Shape output;
  if (!batched) {
    output = {steps, hidden};
  } else {
    output = batch_first ? Shape{batch, steps, hidden} : Shape{steps, batch, hidden};
  }
  return {output, state, state};
}

// The channel vectors of batch_norm: running_mean, running_var, weight, bias (any may be absent).
Shape batch_norm_shape(const TensorMeta& x, const std::vector<const TensorMeta*>& vectors,
                       bool training) {
  require_float(x, "batch_norm", "input");
  PARE_CHECK(x.shape.size() >= 2,
             "batch_norm: expected an input of rank >= 2 ([N, C, ...]), got shape ", x.shape);
  const int64_t channels = x.shape[1];
  const char* roles[] = {"running_mean", "running_var", "weight", "bias"};
  for (size_t i = 0; i < vectors.size(); ++i) {
    if (vectors[i] == nullptr) continue;
    require_float(*vectors[i], "batch_norm", roles[i]);
    PARE_CHECK(shape_numel(vectors[i]->shape) == channels, "batch_norm: ", roles[i],
               " should contain ", channels, " elements (the channels of the input of shape ",
               x.shape, "), got shape ", vectors[i]->shape);
  }
  const bool has_mean = vectors.size() > 0 && vectors[0] != nullptr;
  const bool has_var = vectors.size() > 1 && vectors[1] != nullptr;
  PARE_CHECK(has_mean == has_var,
             "batch_norm: running_mean and running_var must be both defined or both undefined");
  PARE_CHECK(training || has_mean,
             "batch_norm: running_mean and running_var must be defined in evaluation mode");
  PARE_CHECK(!training || (channels > 0 && shape_numel(x.shape) / channels > 1),
             "batch_norm: expected more than 1 value per channel when training, got input of "
             "shape ",
             x.shape);
  return x.shape;
}

}  // namespace pare::ir::ops
