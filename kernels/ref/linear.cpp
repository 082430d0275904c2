#include "pare/kernels/linear.h"

#include <vector>

#include "pare/error.h"

namespace pare::kernels {

void LinearParams::validate() const {
  PARE_CHECK(rows > 0 && in_features > 0 && out_features > 0,
             "linear: sizes must be positive, got [rows, in_features, out_features] = ",
             std::vector<int64_t>{rows, in_features, out_features});
}

namespace ref {

void linear_forward(const LinearParams& params, const float* src, const float* weight,
                    const float* bias, float* dst) {
  params.validate();
  const int64_t in = params.in_features, out = params.out_features;
  for (int64_t row = 0; row < params.rows; ++row) {
    for (int64_t o = 0; o < out; ++o) {
      double sum = bias ? bias[o] : 0.0;
      for (int64_t i = 0; i < in; ++i) {
        sum += static_cast<double>(src[row * in + i]) * weight[o * in + i];
      }
      dst[row * out + o] = static_cast<float>(sum);
    }
  }
}

void linear_backward_data(const LinearParams& params, const float* diff_dst, const float* weight,
                          float* diff_src) {
  params.validate();
  const int64_t in = params.in_features, out = params.out_features;
  for (int64_t row = 0; row < params.rows; ++row) {
    for (int64_t i = 0; i < in; ++i) {
      double sum = 0.0;
      for (int64_t o = 0; o < out; ++o) {
        sum += static_cast<double>(diff_dst[row * out + o]) * weight[o * in + i];
      }
      diff_src[row * in + i] = static_cast<float>(sum);
    }
  }
}

void linear_backward_weights(const LinearParams& params, const float* src, const float* diff_dst,
                             float* diff_weight, float* diff_bias) {
  params.validate();
  const int64_t in = params.in_features, out = params.out_features;
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t i = 0; i < in; ++i) {
      double sum = 0.0;
      for (int64_t row = 0; row < params.rows; ++row) {
        sum += static_cast<double>(diff_dst[row * out + o]) * src[row * in + i];
      }
      diff_weight[o * in + i] = static_cast<float>(sum);
    }
    if (diff_bias) {
      double sum = 0.0;
      for (int64_t row = 0; row < params.rows; ++row) sum += diff_dst[row * out + o];
      diff_bias[o] = static_cast<float>(sum);
    }
  }
}

}  // namespace ref
}  // namespace pare::kernels
