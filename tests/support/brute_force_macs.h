// The multiply-accumulates of linear, conv2d and lstm counted by brute force: the inner-loop
// iterations of a naive loop nest on a case's shapes (model_stats.h's convention), the oracle of
// the MAC rules (test_layer_macs.cpp, test_layer_definitions.cpp).
//
//   CHECK(pare::ir::module_macs(linear, {{2, 5}, pare::kFloat32}) ==
//         pare::testing::brute_force_linear({{2, 5}, 3, true}));
#pragma once

#include <cstdint>

#include "pare/pare.h"

namespace pare::testing {

// ---- linear: y[r, o] += x[r, i] * w[o, i] ----

struct LinearCase {
  Shape input;
  int64_t out_features;
  bool bias;
};

inline int64_t brute_force_linear(const LinearCase& c) {
  const int64_t in_features = c.input.back();
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < c.input.size(); ++d) rows *= c.input[d];
  int64_t count = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < c.out_features; ++o)
      for (int64_t i = 0; i < in_features; ++i) ++count;
  return count;
}

// ---- conv2d: y[n, o, oh, ow] += x[n, c, ih, iw] * w[o, c, kh, kw] over the group's channels ----

struct ConvCase {
  Shape input;  // [N, C, H, W] or unbatched [C, H, W]
  int64_t out_channels;
  IntPair kernel, stride, padding, dilation;
  int64_t groups;
};

// The window origins along one dim: every start from -padding, stepping by stride, whose last tap
// stays inside the padded input.
inline int64_t window_count(int64_t size, int64_t kernel, int64_t stride, int64_t padding,
                            int64_t dilation) {
  int64_t count = 0;
  for (int64_t start = -padding; start + dilation * (kernel - 1) <= size - 1 + padding;
       start += stride)
    ++count;
  return count;
}

// Every weight tap of every output, padding taps included (the MAC convention of
// model_stats.h).
inline int64_t brute_force_conv2d(const ConvCase& c) {
  const size_t rank = c.input.size();
  const int64_t batch = rank == 4 ? c.input[0] : 1;
  const int64_t in_per_group = c.input[rank - 3] / c.groups;
  const int64_t out_per_group = c.out_channels / c.groups;
  const int64_t out_h = window_count(c.input[rank - 2], c.kernel.first, c.stride.first,
                                     c.padding.first, c.dilation.first);
  const int64_t out_w = window_count(c.input[rank - 1], c.kernel.second, c.stride.second,
                                     c.padding.second, c.dilation.second);
  int64_t count = 0;
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t g = 0; g < c.groups; ++g)
      for (int64_t o = 0; o < out_per_group; ++o)
        for (int64_t oh = 0; oh < out_h; ++oh)
          for (int64_t ow = 0; ow < out_w; ++ow)
            for (int64_t ic = 0; ic < in_per_group; ++ic)
              for (int64_t kh = 0; kh < c.kernel.first; ++kh)
                for (int64_t kw = 0; kw < c.kernel.second; ++kw) ++count;
  return count;
}

// ---- lstm: per layer, step and sequence, the 4H gate rows each dot x_t and h_{t-1} ----

struct LstmCase {
  Shape input;  // [T, N, in], [N, T, in] with batch_first, or unbatched [T, in]
  int64_t hidden;
  int64_t num_layers;
  bool batch_first;
  bool bias;
};

inline int64_t brute_force_lstm(const LstmCase& c) {
  const bool batched = c.input.size() == 3;
  const int64_t steps = batched && c.batch_first ? c.input[1] : c.input[0];
  const int64_t batch = batched ? (c.batch_first ? c.input[0] : c.input[1]) : 1;
  int64_t count = 0;
  for (int64_t layer = 0; layer < c.num_layers; ++layer) {
    const int64_t layer_input = layer == 0 ? c.input.back() : c.hidden;
    for (int64_t t = 0; t < steps; ++t)
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t row = 0; row < 4 * c.hidden; ++row) {
          for (int64_t k = 0; k < layer_input; ++k) ++count;  // w_ih x_t
          for (int64_t k = 0; k < c.hidden; ++k) ++count;     // w_hh h_{t-1}
        }
  }
  return count;
}

}  // namespace pare::testing
