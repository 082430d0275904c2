// The multiply-accumulate counts of the layers that perform them (model_stats.h's convention), one
// rule per layer for both its function (the definitions' `macs`) and its module (model_stats).
// Internal to pare_ir.
#pragma once

#include <vector>

#include "pare/tensor.h"

namespace pare::ir::ops {

// rows * in_features * out_features, where rows * in_features is the input's size.
int64_t linear_macs(const Shape& input, const Shape& weight);
// Every output element times the weight taps it reads: out * (in_channels / groups) * kh * kw.
int64_t conv2d_macs(const Shape& output, const Shape& weight);
// T * N * (|w_ih| + |w_hh|) per layer, which is T * N * 4H * (layer_input + H). `layer_weights`
// holds each layer's w_ih and w_hh (no biases: their adds are not MACs).
int64_t lstm_macs(const Shape& input, bool batch_first, const std::vector<Shape>& layer_weights);

}  // namespace pare::ir::ops
