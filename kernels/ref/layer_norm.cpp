#include "pare/kernels/layer_norm.h"

#include <cmath>
#include <vector>

#include "pare/error.h"

namespace pare::kernels {

void LayerNormParams::validate() const {
  PARE_CHECK(rows > 0 && cols > 0, "layer_norm: sizes must be positive, got [rows, cols] = ",
             std::vector<int64_t>{rows, cols});
  PARE_CHECK(eps >= 0.0f && std::isfinite(eps),
             "layer_norm: eps must be finite and non-negative, got ", eps);
}

namespace ref {

void layer_norm_forward(const LayerNormParams& p, const float* src, const float* gamma,
                        const float* beta, float* dst, float* mean, float* rstd) {
  p.validate();
  for (int64_t r = 0; r < p.rows; ++r) {
    const float* x = src + r * p.cols;
    double sum = 0.0;
    for (int64_t c = 0; c < p.cols; ++c) sum += x[c];
    const double row_mean = sum / p.cols;
    double squares = 0.0;
    for (int64_t c = 0; c < p.cols; ++c) squares += (x[c] - row_mean) * (x[c] - row_mean);
    const double row_rstd = 1.0 / std::sqrt(squares / p.cols + p.eps);
    for (int64_t c = 0; c < p.cols; ++c) {
      double y = (x[c] - row_mean) * row_rstd;
      if (gamma != nullptr) y *= gamma[c];
      if (beta != nullptr) y += beta[c];
      dst[r * p.cols + c] = static_cast<float>(y);
    }
    if (mean != nullptr) mean[r] = static_cast<float>(row_mean);
    if (rstd != nullptr) rstd[r] = static_cast<float>(row_rstd);
  }
}

void layer_norm_backward(const LayerNormParams& p, const float* src, const float* diff_dst,
                         const float* gamma, const float* mean, const float* rstd, float* diff_src,
                         float* diff_gamma, float* diff_beta) {
  p.validate();
  std::vector<double> gamma_sum(p.cols, 0.0), beta_sum(p.cols, 0.0), scaled_dy(p.cols),
      normalized(p.cols);
  for (int64_t r = 0; r < p.rows; ++r) {
    const float* x = src + r * p.cols;
    const float* dy = diff_dst + r * p.cols;
    double dy_sum = 0.0, dy_normalized_sum = 0.0;
    for (int64_t c = 0; c < p.cols; ++c) {
      normalized[c] = (static_cast<double>(x[c]) - mean[r]) * rstd[r];
      scaled_dy[c] = gamma != nullptr ? static_cast<double>(dy[c]) * gamma[c] : dy[c];
      dy_sum += scaled_dy[c];
      dy_normalized_sum += scaled_dy[c] * normalized[c];
      gamma_sum[c] += dy[c] * normalized[c];
      beta_sum[c] += dy[c];
    }
    for (int64_t c = 0; c < p.cols; ++c) {
      diff_src[r * p.cols + c] = static_cast<float>(
          rstd[r] * (scaled_dy[c] - dy_sum / p.cols - normalized[c] * dy_normalized_sum / p.cols));
    }
  }
  for (int64_t c = 0; c < p.cols; ++c) {
    if (diff_gamma != nullptr) diff_gamma[c] = static_cast<float>(gamma_sum[c]);
    if (diff_beta != nullptr) diff_beta[c] = static_cast<float>(beta_sum[c]);
  }
}

}  // namespace ref
}  // namespace pare::kernels
