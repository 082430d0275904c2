#include "pare/kernels/softmax.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "pare/error.h"

namespace pare::kernels {

void SoftmaxParams::validate() const {
  PARE_CHECK(outer > 0 && axis > 0 && inner > 0,
             "softmax: sizes must be positive, got [outer, axis, inner] = ",
             std::vector<int64_t>{outer, axis, inner});
}

namespace ref {
namespace {

// Calls body(offset) for the first element of every line along the softmax axis; elements of
// one line are `inner` apart.
template <typename Body>
void for_each_line(const SoftmaxParams& p, Body&& body) {
  for (int64_t o = 0; o < p.outer; ++o) {
    for (int64_t i = 0; i < p.inner; ++i) body(o * p.axis * p.inner + i);
  }
}

// Writes x - max - log(sum(exp(x - max))) for one line, in double.
void log_softmax_line(const SoftmaxParams& p, const float* src, std::vector<double>& line) {
  double max_value = -INFINITY;
  for (int64_t a = 0; a < p.axis; ++a) max_value = std::max<double>(max_value, src[a * p.inner]);
  double sum = 0.0;
  for (int64_t a = 0; a < p.axis; ++a) sum += std::exp(src[a * p.inner] - max_value);
  const double log_sum = std::log(sum);
  for (int64_t a = 0; a < p.axis; ++a) line[a] = src[a * p.inner] - max_value - log_sum;
}

}  // namespace

void softmax_forward(const SoftmaxParams& p, const float* src, float* dst) {
  p.validate();
  std::vector<double> line(p.axis);
  for_each_line(p, [&](int64_t offset) {
    log_softmax_line(p, src + offset, line);
    for (int64_t a = 0; a < p.axis; ++a) dst[offset + a * p.inner] = std::exp(line[a]);
  });
}

void log_softmax_forward(const SoftmaxParams& p, const float* src, float* dst) {
  p.validate();
  std::vector<double> line(p.axis);
  for_each_line(p, [&](int64_t offset) {
    log_softmax_line(p, src + offset, line);
    for (int64_t a = 0; a < p.axis; ++a) dst[offset + a * p.inner] = line[a];
  });
}

void softmax_backward(const SoftmaxParams& p, const float* dst, const float* diff_dst,
                      float* diff_src) {
  p.validate();
  for_each_line(p, [&](int64_t offset) {
    double dot = 0.0;
    for (int64_t a = 0; a < p.axis; ++a) {
      const int64_t index = offset + a * p.inner;
      dot += static_cast<double>(diff_dst[index]) * dst[index];
    }
    for (int64_t a = 0; a < p.axis; ++a) {
      const int64_t index = offset + a * p.inner;
      diff_src[index] = static_cast<float>(dst[index] * (diff_dst[index] - dot));
    }
  });
}

void log_softmax_backward(const SoftmaxParams& p, const float* dst, const float* diff_dst,
                          float* diff_src) {
  p.validate();
  for_each_line(p, [&](int64_t offset) {
    double sum = 0.0;
    for (int64_t a = 0; a < p.axis; ++a) sum += diff_dst[offset + a * p.inner];
    for (int64_t a = 0; a < p.axis; ++a) {
      const int64_t index = offset + a * p.inner;
      diff_src[index] = static_cast<float>(diff_dst[index] - std::exp(dst[index]) * sum);
    }
  });
}

}  // namespace ref
}  // namespace pare::kernels
