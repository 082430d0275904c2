// The engine's shape rules restated on shapes (TensorMeta), shared by the op definitions in
// ir/ops/ and by shape inference's module rules, so that Linear the module and linear the
// function are checked by one rule. Internal to pare_ir.
#pragma once

#include <string_view>
#include <vector>

#include "pare/functional.h"
#include "pare/ir/graph.h"
#include "pare/kernels/pooling.h"

namespace pare::ir::ops {

bool is_whole(double value);
// The dtype two tensor operands are computed in (elementwise.h: same dtype, or float32 when one
// of them is float32).
DType promote(const TensorMeta& a, const TensorMeta& b, std::string_view op);
// The dtype of `tensor op scalar` for add, sub and mul: integer tensors stay integer with a
// whole scalar; bool and fractional scalars give float32.
DType scalar_dtype(DType tensor_dtype, double scalar);
void require_float(const TensorMeta& meta, std::string_view op, std::string_view role);

Shape linear_shape(const TensorMeta& x, const TensorMeta& weight, const TensorMeta* bias);

struct ConvGeometry {
  IntPair stride = 1;
  IntPair padding = 0;
  IntPair dilation = 1;
  int64_t groups = 1;
};

Shape conv2d_shape(const TensorMeta& x, const TensorMeta& weight, const TensorMeta* bias,
                   const ConvGeometry& geometry);

// The pools' output shapes (pare/pool_geometry.h's rule).
Shape pool2d_shape(const TensorMeta& x, const kernels::Pool2dParams& window, const char* op);
Shape adaptive_pool2d_shape(const TensorMeta& x, IntPair output_size, const char* op);

// The LSTM's (output, h_n, c_n) shapes (functional.h's lstm contract). `weights` holds per layer
// w_ih, w_hh[, b_ih, b_hh].
std::vector<Shape> lstm_shapes(const TensorMeta& x, const TensorMeta* h0, const TensorMeta* c0,
                               const std::vector<TensorMeta>& weights, bool has_biases,
                               int64_t num_layers, bool batch_first);

}  // namespace pare::ir::ops
