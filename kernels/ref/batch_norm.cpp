#include "pare/kernels/batch_norm.h"

#include <cmath>
#include <vector>

#include "pare/error.h"

namespace pare::kernels {

void BatchNormParams::validate() const {
  PARE_CHECK(batch > 0 && channels > 0 && spatial > 0,
             "batch_norm: sizes must be positive, got [batch, channels, spatial] = ",
             std::vector<int64_t>{batch, channels, spatial});
  PARE_CHECK(eps >= 0.0f && std::isfinite(eps),
             "batch_norm: eps must be finite and non-negative, got ", eps);
}

namespace ref {
namespace {

void check_training_size(const char* op, const BatchNormParams& p) {
  PARE_CHECK(p.batch * p.spatial > 1, op,
             ": expected more than 1 value per channel when training, got [batch, channels, "
             "spatial] = ",
             std::vector<int64_t>{p.batch, p.channels, p.spatial});
}

// Calls body(offset) for the first element of every run of `spatial` values of channel c.
template <typename Body>
void for_each_run(const BatchNormParams& p, int64_t c, Body&& body) {
  for (int64_t n = 0; n < p.batch; ++n) body((n * p.channels + c) * p.spatial);
}

void normalize(const BatchNormParams& p, const float* src, const float* gamma, const float* beta,
               int64_t c, double mean, double variance, float* dst) {
  const double scale = (gamma != nullptr ? gamma[c] : 1.0) / std::sqrt(variance + p.eps);
  const double shift = beta != nullptr ? beta[c] : 0.0;
  for_each_run(p, c, [&](int64_t offset) {
    for (int64_t s = 0; s < p.spatial; ++s) {
      dst[offset + s] = static_cast<float>((src[offset + s] - mean) * scale + shift);
    }
  });
}

}  // namespace

void batch_norm_forward_training(const BatchNormParams& p, const float* src, const float* gamma,
                                 const float* beta, float* dst, float* save_mean, float* save_var) {
  p.validate();
  check_training_size("batch_norm_forward_training", p);
  const double count = static_cast<double>(p.batch * p.spatial);
  for (int64_t c = 0; c < p.channels; ++c) {
    double sum = 0.0;
    for_each_run(p, c, [&](int64_t offset) {
      for (int64_t s = 0; s < p.spatial; ++s) sum += src[offset + s];
    });
    const double mean = sum / count;
    double squares = 0.0;
    for_each_run(p, c, [&](int64_t offset) {
      for (int64_t s = 0; s < p.spatial; ++s) {
        squares += (src[offset + s] - mean) * (src[offset + s] - mean);
      }
    });
    const double variance = squares / count;
    normalize(p, src, gamma, beta, c, mean, variance, dst);
    if (save_mean != nullptr) save_mean[c] = static_cast<float>(mean);
    if (save_var != nullptr) save_var[c] = static_cast<float>(variance);
  }
}

void batch_norm_forward_inference(const BatchNormParams& p, const float* src, const float* gamma,
                                  const float* beta, const float* running_mean,
                                  const float* running_var, float* dst) {
  p.validate();
  for (int64_t c = 0; c < p.channels; ++c) {
    normalize(p, src, gamma, beta, c, running_mean[c], running_var[c], dst);
  }
}

void batch_norm_backward(const BatchNormParams& p, const float* src, const float* diff_dst,
                         const float* gamma, const float* save_mean, const float* save_var,
                         float* diff_src, float* diff_gamma, float* diff_beta) {
  p.validate();
  const double count = static_cast<double>(p.batch * p.spatial);
  for (int64_t c = 0; c < p.channels; ++c) {
    const double mean = save_mean[c];
    const double inverse_std = 1.0 / std::sqrt(static_cast<double>(save_var[c]) + p.eps);
    double dy_sum = 0.0, dy_normalized_sum = 0.0;
    for_each_run(p, c, [&](int64_t offset) {
      for (int64_t s = 0; s < p.spatial; ++s) {
        dy_sum += diff_dst[offset + s];
        dy_normalized_sum += diff_dst[offset + s] * (src[offset + s] - mean) * inverse_std;
      }
    });
    const double scale = (gamma != nullptr ? gamma[c] : 1.0) * inverse_std;
    for_each_run(p, c, [&](int64_t offset) {
      for (int64_t s = 0; s < p.spatial; ++s) {
        const double normalized = (src[offset + s] - mean) * inverse_std;
        diff_src[offset + s] = static_cast<float>(scale * (diff_dst[offset + s] - dy_sum / count -
                                                           normalized * dy_normalized_sum / count));
      }
    });
    if (diff_gamma != nullptr) diff_gamma[c] = static_cast<float>(dy_normalized_sum);
    if (diff_beta != nullptr) diff_beta[c] = static_cast<float>(dy_sum);
  }
}

}  // namespace ref
}  // namespace pare::kernels
