#include "pare/kernels/conv2d.h"

#include <string>
#include <vector>

#include "pare/checked_math.h"
#include "pare/error.h"

namespace pare::kernels {
namespace {

// PyTorch's floor((in + 2 * pad - dilation * (kernel - 1) - 1) / stride) + 1, which is 0 or less
// when the dilated kernel does not fit the padded input. Checked, because shape inference asks
// for it before validate() has bounded the parameters.
int64_t output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
  const char* what = "conv2d: output size";
  const int64_t padded = checked_add(in, checked_mul(2, pad, what), what);
  const int64_t extent = checked_mul(dilation, checked_sub(kernel, 1, what), what);
  const int64_t span = checked_sub(checked_sub(padded, extent, what), 1, what);
  return span < 0 || stride <= 0 ? 0 : span / stride + 1;
}

}  // namespace

int64_t Conv2dParams::out_h() const {
  return output_size(in_h, kernel_h, stride_h, pad_h, dilation_h);
}

int64_t Conv2dParams::out_w() const {
  return output_size(in_w, kernel_w, stride_w, pad_w, dilation_w);
}

void Conv2dParams::validate() const {
  const std::vector<int64_t> input_shape{batch, in_channels, in_h, in_w};
  const std::vector<int64_t> weight_shape{out_channels, groups > 0 ? in_channels / groups : 0,
                                          kernel_h, kernel_w};
  PARE_CHECK(batch > 0 && in_channels > 0 && in_h > 0 && in_w > 0 && out_channels > 0 &&
                 kernel_h > 0 && kernel_w > 0,
             "conv2d: sizes must be positive, got input ", input_shape, " and weight ",
             weight_shape);
  PARE_CHECK(
      stride_h > 0 && stride_w > 0 && dilation_h > 0 && dilation_w > 0 && pad_h >= 0 && pad_w >= 0,
      "conv2d: stride and dilation must be positive and padding not negative, got stride ",
      std::vector<int64_t>{stride_h, stride_w}, ", padding ", std::vector<int64_t>{pad_h, pad_w},
      ", dilation ", std::vector<int64_t>{dilation_h, dilation_w});
  PARE_CHECK(groups > 0 && in_channels % groups == 0 && out_channels % groups == 0,
             "conv2d: in_channels and out_channels must divide by groups, got in_channels ",
             in_channels, ", out_channels ", out_channels, ", groups ", groups);
  const std::string geometry = str_cat("conv2d: input ", input_shape, ", weight ", weight_shape,
                                       ", stride ", std::vector<int64_t>{stride_h, stride_w},
                                       ", padding ", std::vector<int64_t>{pad_h, pad_w},
                                       ", dilation ", std::vector<int64_t>{dilation_h, dilation_w});
  for (int64_t value : {batch, in_channels, in_h, in_w, out_channels, kernel_h, kernel_w, stride_h,
                        stride_w, pad_h, pad_w, dilation_h, dilation_w, groups}) {
    check_kernel_dim(value, geometry);
  }
  PARE_CHECK(out_h() >= 1 && out_w() >= 1, "conv2d: output would be empty for input ", input_shape,
             ", weight ", weight_shape, ", stride ", std::vector<int64_t>{stride_h, stride_w},
             ", padding ", std::vector<int64_t>{pad_h, pad_w}, ", dilation ",
             std::vector<int64_t>{dilation_h, dilation_w});
  // oneDNN 2.6 also multiplies a plane's height by its width in `int`.
  const std::vector<int64_t> output_plane{out_h(), out_w()};
  check_kernel_dim(in_h * in_w, geometry, ": input plane");
  check_kernel_dim(checked_mul(out_h(), out_w(), geometry), geometry, ": output plane ",
                   output_plane);
}

namespace ref {
namespace {

// Calls visit(src_index, weight_index, dst_index) for every product term of the convolution, so
// that the forward and both backward passes share one statement of the index arithmetic.
template <typename Visit>
void for_each_tap(const Conv2dParams& p, Visit&& visit) {
  const int64_t out_h = p.out_h(), out_w = p.out_w();
  const int64_t in_per_group = p.in_channels / p.groups;
  const int64_t out_per_group = p.out_channels / p.groups;
  for (int64_t n = 0; n < p.batch; ++n) {
    for (int64_t o = 0; o < p.out_channels; ++o) {
      const int64_t first_in_channel = (o / out_per_group) * in_per_group;
      for (int64_t oh = 0; oh < out_h; ++oh) {
        for (int64_t ow = 0; ow < out_w; ++ow) {
          const int64_t dst_index = ((n * p.out_channels + o) * out_h + oh) * out_w + ow;
          for (int64_t c = 0; c < in_per_group; ++c) {
            for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
              const int64_t ih = oh * p.stride_h - p.pad_h + kh * p.dilation_h;
              if (ih < 0 || ih >= p.in_h) continue;
              for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
                const int64_t iw = ow * p.stride_w - p.pad_w + kw * p.dilation_w;
                if (iw < 0 || iw >= p.in_w) continue;
                const int64_t src_index =
                    ((n * p.in_channels + first_in_channel + c) * p.in_h + ih) * p.in_w + iw;
                const int64_t weight_index =
                    ((o * in_per_group + c) * p.kernel_h + kh) * p.kernel_w + kw;
                visit(src_index, weight_index, dst_index);
              }
            }
          }
        }
      }
    }
  }
}

void store(const std::vector<double>& values, float* out) {
  for (size_t i = 0; i < values.size(); ++i) out[i] = static_cast<float>(values[i]);
}

}  // namespace

void conv2d_forward(const Conv2dParams& params, const float* src, const float* weight,
                    const float* bias, float* dst) {
  params.validate();
  const int64_t plane = params.out_h() * params.out_w();
  std::vector<double> sums(params.batch * params.out_channels * plane, 0.0);
  if (bias) {
    for (size_t i = 0; i < sums.size(); ++i) sums[i] = bias[(i / plane) % params.out_channels];
  }
  for_each_tap(params, [&](int64_t s, int64_t w, int64_t d) {
    sums[d] += static_cast<double>(src[s]) * weight[w];
  });
  store(sums, dst);
}

void conv2d_backward_data(const Conv2dParams& params, const float* diff_dst, const float* weight,
                          float* diff_src) {
  params.validate();
  std::vector<double> sums(params.batch * params.in_channels * params.in_h * params.in_w, 0.0);
  for_each_tap(params, [&](int64_t s, int64_t w, int64_t d) {
    sums[s] += static_cast<double>(diff_dst[d]) * weight[w];
  });
  store(sums, diff_src);
}

void conv2d_backward_weights(const Conv2dParams& params, const float* src, const float* diff_dst,
                             float* diff_weight, float* diff_bias) {
  params.validate();
  std::vector<double> sums(params.out_channels * (params.in_channels / params.groups) *
                               params.kernel_h * params.kernel_w,
                           0.0);
  for_each_tap(params, [&](int64_t s, int64_t w, int64_t d) {
    sums[w] += static_cast<double>(diff_dst[d]) * src[s];
  });
  store(sums, diff_weight);
  if (diff_bias) {
    const int64_t plane = params.out_h() * params.out_w();
    std::vector<double> bias_sums(params.out_channels, 0.0);
    for (int64_t i = 0; i < params.batch * params.out_channels * plane; ++i) {
      bias_sums[(i / plane) % params.out_channels] += diff_dst[i];
    }
    store(bias_sums, diff_bias);
  }
}

}  // namespace ref
}  // namespace pare::kernels
