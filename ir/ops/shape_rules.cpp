#include "shape_rules.h"

#include <cmath>

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

}  // namespace pare::ir::ops
