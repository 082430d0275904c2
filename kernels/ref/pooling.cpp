#include "pare/kernels/pooling.h"

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "pare/checked_math.h"
#include "pare/error.h"

namespace pare::kernels {
namespace {

int64_t floor_div(int64_t numerator, int64_t denominator) {
  int64_t quotient = numerator / denominator;
  return (numerator % denominator != 0 && (numerator < 0) != (denominator < 0)) ? quotient - 1
                                                                                : quotient;
}

std::vector<int64_t> input_shape(const Pool2dParams& p) {
  return {p.batch, p.channels, p.in_h, p.in_w};
}

void check_avg_dilation(const char* op, const Pool2dParams& p) {
  PARE_CHECK(p.dilation_h == 1 && p.dilation_w == 1, op, ": dilation must be 1, got dilation ",
             std::vector<int64_t>{p.dilation_h, p.dilation_w});
}

// First row of an adaptive window: floor(i * in / out), without overflow-prone products.
int64_t adaptive_start(int64_t i, int64_t out, int64_t in) {
  return (i / out) * in + ((i % out) * in) / out;
}

// One past the last row: ceil((i + 1) * in / out).
int64_t adaptive_end(int64_t i, int64_t out, int64_t in) { return 1 + ((i + 1) * in - 1) / out; }

// Kernel and stride of one axis's adaptive windows when they are all one size, one stride apart.
struct AxisWindow {
  int64_t kernel = 0, stride = 0;
};

std::optional<AxisWindow> uniform_axis(int64_t in, int64_t out) {
  const int64_t kernel = adaptive_end(0, out, in);  // every window starts at 0 + i * stride
  const int64_t stride = out > 1 ? adaptive_start(1, out, in) : kernel;
  if (stride <= 0) return std::nullopt;  // out > in: some windows start on the same row
  for (int64_t i = 0; i < out; ++i)
    if (adaptive_start(i, out, in) != i * stride || adaptive_end(i, out, in) != i * stride + kernel)
      return std::nullopt;
  return AxisWindow{kernel, stride};
}

}  // namespace

std::optional<Pool2dParams> adaptive_pool_window(int64_t in_h, int64_t in_w, int64_t out_h,
                                                 int64_t out_w) {
  PARE_CHECK(in_h > 0 && in_w > 0 && out_h > 0 && out_w > 0,
             "adaptive_pool_window: sizes must be positive, got input ",
             std::vector<int64_t>{in_h, in_w}, " and output ", std::vector<int64_t>{out_h, out_w});
  const std::optional<AxisWindow> rows = uniform_axis(in_h, out_h);
  const std::optional<AxisWindow> columns = uniform_axis(in_w, out_w);
  if (!rows || !columns) return std::nullopt;
  Pool2dParams window;
  window.set_window(rows->kernel, columns->kernel, rows->stride, columns->stride, 0, 0);
  return window;
}

int64_t pool_output_size(int64_t in, int64_t kernel, int64_t pad, int64_t stride, int64_t dilation,
                         bool ceil_mode) {
  // Checked, because shape inference and the engine ask for it before validate() has bounded the
  // parameters.
  const char* what = "pool2d: output size";
  PARE_CHECK(stride > 0, "pool2d: stride must be positive, got ", stride);
  const int64_t padded = checked_add(in, checked_mul(2, pad, what), what);
  const int64_t extent = checked_mul(dilation, checked_sub(kernel, 1, what), what);
  const int64_t span = checked_sub(checked_sub(padded, extent, what), 1, what);
  int64_t out = floor_div(checked_add(span, ceil_mode ? stride - 1 : 0, what), stride) + 1;
  if (ceil_mode && checked_mul(out - 1, stride, what) >= checked_add(in, pad, what)) --out;
  return out;
}

int64_t Pool2dParams::out_h() const {
  return pool_output_size(in_h, kernel_h, pad_h, stride_h, dilation_h, ceil_mode);
}

int64_t Pool2dParams::out_w() const {
  return pool_output_size(in_w, kernel_w, pad_w, stride_w, dilation_w, ceil_mode);
}

void Pool2dParams::set_window(int64_t kernel_h_in, int64_t kernel_w_in, int64_t stride_h_in,
                              int64_t stride_w_in, int64_t pad_h_in, int64_t pad_w_in,
                              int64_t dilation_h_in, int64_t dilation_w_in) {
  kernel_h = kernel_h_in;
  kernel_w = kernel_w_in;
  stride_h = stride_h_in == 0 ? kernel_h_in : stride_h_in;
  stride_w = stride_w_in == 0 ? kernel_w_in : stride_w_in;
  pad_h = pad_h_in;
  pad_w = pad_w_in;
  dilation_h = dilation_h_in;
  dilation_w = dilation_w_in;
}

void Pool2dParams::validate() const {
  PARE_CHECK(batch > 0 && channels > 0 && in_h > 0 && in_w > 0,
             "pool2d: input sizes must be positive, got input shape ", input_shape(*this));
  PARE_CHECK(kernel_h > 0 && kernel_w > 0, "pool2d: kernel size must be positive, got kernel ",
             std::vector<int64_t>{kernel_h, kernel_w});
  PARE_CHECK(stride_h > 0 && stride_w > 0, "pool2d: stride must be positive, got stride ",
             std::vector<int64_t>{stride_h, stride_w});
  PARE_CHECK(dilation_h > 0 && dilation_w > 0, "pool2d: dilation must be positive, got dilation ",
             std::vector<int64_t>{dilation_h, dilation_w});
  PARE_CHECK(pad_h >= 0 && pad_w >= 0 && pad_h <= kernel_h / 2 && pad_w <= kernel_w / 2,
             "pool2d: padding must be between 0 and half the kernel size, got padding ",
             std::vector<int64_t>{pad_h, pad_w}, " for kernel ",
             std::vector<int64_t>{kernel_h, kernel_w});
  PARE_CHECK(out_h() >= 1 && out_w() >= 1, "pool2d: output size is too small, got input shape ",
             input_shape(*this), " and output size ", std::vector<int64_t>{out_h(), out_w()});
  const std::string geometry = str_cat("pool2d: input ", input_shape(*this), ", kernel ",
                                       std::vector<int64_t>{kernel_h, kernel_w}, ", stride ",
                                       std::vector<int64_t>{stride_h, stride_w}, ", padding ",
                                       std::vector<int64_t>{pad_h, pad_w}, ", dilation ",
                                       std::vector<int64_t>{dilation_h, dilation_w});
  for (int64_t value : {batch, channels, in_h, in_w, kernel_h, kernel_w, stride_h, stride_w, pad_h,
                        pad_w, dilation_h, dilation_w})
    check_kernel_dim(value, geometry);
  // oneDNN 2.6 also multiplies a plane's height by its width in `int`.
  check_kernel_dim(in_h * in_w, geometry, ": input plane");
  check_kernel_dim(checked_mul(out_h(), out_w(), geometry), geometry, ": output plane ",
                   std::vector<int64_t>{out_h(), out_w()});
}

void AdaptivePool2dParams::validate() const {
  PARE_CHECK(batch > 0 && channels > 0 && in_h > 0 && in_w > 0 && out_h > 0 && out_w > 0,
             "adaptive_pool2d: sizes must be positive, got input shape ",
             std::vector<int64_t>{batch, channels, in_h, in_w}, " and output size ",
             std::vector<int64_t>{out_h, out_w});
  const std::string geometry =
      str_cat("adaptive_pool2d: input shape ", std::vector<int64_t>{batch, channels, in_h, in_w},
              " and output size ", std::vector<int64_t>{out_h, out_w});
  for (int64_t value : {batch, channels, in_h, in_w, out_h, out_w})
    check_kernel_dim(value, geometry);
  check_kernel_dim(in_h * in_w, geometry, ": input plane");
  check_kernel_dim(out_h * out_w, geometry, ": output plane");
}

namespace ref {

void max_pool2d_forward(const Pool2dParams& p, const float* src, float* dst, int64_t* indices) {
  p.validate();
  const int64_t out_h = p.out_h(), out_w = p.out_w();
  for (int64_t plane = 0; plane < p.batch * p.channels; ++plane) {
    const float* in = src + plane * p.in_h * p.in_w;
    for (int64_t oh = 0; oh < out_h; ++oh) {
      for (int64_t ow = 0; ow < out_w; ++ow) {
        const int64_t h_origin = oh * p.stride_h - p.pad_h;
        const int64_t w_origin = ow * p.stride_w - p.pad_w;
        // PyTorch reports the first in-input tap when the window holds nothing larger than -inf.
        int64_t first_h = h_origin, first_w = w_origin;
        while (first_h < 0) first_h += p.dilation_h;
        while (first_w < 0) first_w += p.dilation_w;
        float best = -std::numeric_limits<float>::infinity();
        int64_t best_index = first_h * p.in_w + first_w;
        for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
          const int64_t h = h_origin + kh * p.dilation_h;
          if (h < 0 || h >= p.in_h) continue;
          for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
            const int64_t w = w_origin + kw * p.dilation_w;
            if (w < 0 || w >= p.in_w) continue;
            if (in[h * p.in_w + w] > best) {
              best = in[h * p.in_w + w];
              best_index = h * p.in_w + w;
            }
          }
        }
        const int64_t out_index = (plane * out_h + oh) * out_w + ow;
        dst[out_index] = best;
        if (indices != nullptr) indices[out_index] = best_index;
      }
    }
  }
}

void max_pool2d_backward(const Pool2dParams& p, const float* diff_dst, const int64_t* indices,
                         float* diff_src) {
  p.validate();
  const int64_t plane_in = p.in_h * p.in_w, plane_out = p.out_h() * p.out_w();
  std::fill(diff_src, diff_src + p.batch * p.channels * plane_in, 0.0f);
  for (int64_t plane = 0; plane < p.batch * p.channels; ++plane) {
    for (int64_t o = 0; o < plane_out; ++o) {
      const int64_t index = indices[plane * plane_out + o];
      PARE_CHECK(index >= 0 && index < plane_in, "max_pool2d_backward: index ", index,
                 " is outside the input plane ", std::vector<int64_t>{p.in_h, p.in_w});
      diff_src[plane * plane_in + index] += diff_dst[plane * plane_out + o];
    }
  }
}

void avg_pool2d_forward(const Pool2dParams& p, const float* src, float* dst) {
  p.validate();
  check_avg_dilation("avg_pool2d_forward", p);
  const int64_t out_h = p.out_h(), out_w = p.out_w();
  for (int64_t plane = 0; plane < p.batch * p.channels; ++plane) {
    const float* in = src + plane * p.in_h * p.in_w;
    for (int64_t oh = 0; oh < out_h; ++oh) {
      for (int64_t ow = 0; ow < out_w; ++ow) {
        double sum = 0.0;
        int64_t taps_in_input = 0, taps_in_padded_input = 0;
        for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
          const int64_t h = oh * p.stride_h - p.pad_h + kh;
          for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
            const int64_t w = ow * p.stride_w - p.pad_w + kw;
            // ceil_mode windows may reach past the right padding; PyTorch counts only taps
            // inside the padded input.
            if (h < p.in_h + p.pad_h && w < p.in_w + p.pad_w) ++taps_in_padded_input;
            if (h < 0 || h >= p.in_h || w < 0 || w >= p.in_w) continue;
            sum += in[h * p.in_w + w];
            ++taps_in_input;
          }
        }
        const int64_t divisor = p.count_include_pad ? taps_in_padded_input : taps_in_input;
        dst[(plane * out_h + oh) * out_w + ow] =
            taps_in_input == 0 ? 0.0f : static_cast<float>(sum / divisor);
      }
    }
  }
}

void avg_pool2d_backward(const Pool2dParams& p, const float* diff_dst, float* diff_src) {
  p.validate();
  check_avg_dilation("avg_pool2d_backward", p);
  const int64_t out_h = p.out_h(), out_w = p.out_w();
  std::fill(diff_src, diff_src + p.batch * p.channels * p.in_h * p.in_w, 0.0f);
  for (int64_t plane = 0; plane < p.batch * p.channels; ++plane) {
    float* grad_in = diff_src + plane * p.in_h * p.in_w;
    for (int64_t oh = 0; oh < out_h; ++oh) {
      for (int64_t ow = 0; ow < out_w; ++ow) {
        int64_t taps_in_input = 0, taps_in_padded_input = 0;
        for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
          const int64_t h = oh * p.stride_h - p.pad_h + kh;
          for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
            const int64_t w = ow * p.stride_w - p.pad_w + kw;
            if (h < p.in_h + p.pad_h && w < p.in_w + p.pad_w) ++taps_in_padded_input;
            if (h >= 0 && h < p.in_h && w >= 0 && w < p.in_w) ++taps_in_input;
          }
        }
        if (taps_in_input == 0) continue;
        const int64_t divisor = p.count_include_pad ? taps_in_padded_input : taps_in_input;
        const float share = diff_dst[(plane * out_h + oh) * out_w + ow] / divisor;
        for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
          const int64_t h = oh * p.stride_h - p.pad_h + kh;
          for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
            const int64_t w = ow * p.stride_w - p.pad_w + kw;
            if (h >= 0 && h < p.in_h && w >= 0 && w < p.in_w) grad_in[h * p.in_w + w] += share;
          }
        }
      }
    }
  }
}

void adaptive_avg_pool2d_forward(const AdaptivePool2dParams& p, const float* src, float* dst) {
  p.validate();
  for (int64_t plane = 0; plane < p.batch * p.channels; ++plane) {
    const float* in = src + plane * p.in_h * p.in_w;
    for (int64_t oh = 0; oh < p.out_h; ++oh) {
      const int64_t h_begin = adaptive_start(oh, p.out_h, p.in_h);
      const int64_t h_end = adaptive_end(oh, p.out_h, p.in_h);
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        const int64_t w_begin = adaptive_start(ow, p.out_w, p.in_w);
        const int64_t w_end = adaptive_end(ow, p.out_w, p.in_w);
        double sum = 0.0;
        for (int64_t h = h_begin; h < h_end; ++h) {
          for (int64_t w = w_begin; w < w_end; ++w) sum += in[h * p.in_w + w];
        }
        dst[(plane * p.out_h + oh) * p.out_w + ow] =
            static_cast<float>(sum / ((h_end - h_begin) * (w_end - w_begin)));
      }
    }
  }
}

void adaptive_avg_pool2d_backward(const AdaptivePool2dParams& p, const float* diff_dst,
                                  float* diff_src) {
  p.validate();
  std::fill(diff_src, diff_src + p.batch * p.channels * p.in_h * p.in_w, 0.0f);
  for (int64_t plane = 0; plane < p.batch * p.channels; ++plane) {
    float* grad_in = diff_src + plane * p.in_h * p.in_w;
    for (int64_t oh = 0; oh < p.out_h; ++oh) {
      const int64_t h_begin = adaptive_start(oh, p.out_h, p.in_h);
      const int64_t h_end = adaptive_end(oh, p.out_h, p.in_h);
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        const int64_t w_begin = adaptive_start(ow, p.out_w, p.in_w);
        const int64_t w_end = adaptive_end(ow, p.out_w, p.in_w);
        const float share = diff_dst[(plane * p.out_h + oh) * p.out_w + ow] /
                            ((h_end - h_begin) * (w_end - w_begin));
        for (int64_t h = h_begin; h < h_end; ++h) {
          for (int64_t w = w_begin; w < w_end; ++w) grad_in[h * p.in_w + w] += share;
        }
      }
    }
  }
}

void adaptive_max_pool2d_forward(const AdaptivePool2dParams& p, const float* src, float* dst,
                                 int64_t* indices) {
  p.validate();
  for (int64_t plane = 0; plane < p.batch * p.channels; ++plane) {
    const float* in = src + plane * p.in_h * p.in_w;
    for (int64_t oh = 0; oh < p.out_h; ++oh) {
      const int64_t h_begin = adaptive_start(oh, p.out_h, p.in_h);
      const int64_t h_end = adaptive_end(oh, p.out_h, p.in_h);
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        const int64_t w_begin = adaptive_start(ow, p.out_w, p.in_w);
        const int64_t w_end = adaptive_end(ow, p.out_w, p.in_w);
        float best = -std::numeric_limits<float>::infinity();
        int64_t best_index = h_begin * p.in_w + w_begin;
        for (int64_t h = h_begin; h < h_end; ++h) {
          for (int64_t w = w_begin; w < w_end; ++w) {
            if (in[h * p.in_w + w] > best) {
              best = in[h * p.in_w + w];
              best_index = h * p.in_w + w;
            }
          }
        }
        const int64_t out_index = (plane * p.out_h + oh) * p.out_w + ow;
        dst[out_index] = best;
        if (indices != nullptr) indices[out_index] = best_index;
      }
    }
  }
}

void adaptive_max_pool2d_backward(const AdaptivePool2dParams& p, const float* diff_dst,
                                  const int64_t* indices, float* diff_src) {
  p.validate();
  const int64_t plane_in = p.in_h * p.in_w, plane_out = p.out_h * p.out_w;
  std::fill(diff_src, diff_src + p.batch * p.channels * plane_in, 0.0f);
  for (int64_t plane = 0; plane < p.batch * p.channels; ++plane) {
    for (int64_t o = 0; o < plane_out; ++o) {
      const int64_t index = indices[plane * plane_out + o];
      PARE_CHECK(index >= 0 && index < plane_in, "adaptive_max_pool2d_backward: index ", index,
                 " is outside the input plane ", std::vector<int64_t>{p.in_h, p.in_w});
      diff_src[plane * plane_in + index] += diff_dst[plane * plane_out + o];
    }
  }
}

}  // namespace ref
}  // namespace pare::kernels
