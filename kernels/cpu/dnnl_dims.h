// Internal to kernels/cpu: convolution and pooling parameters in PyTorch's conventions turned into
// oneDNN's (dims, dilation counted from 0, an explicit right padding). The cached kernels
// (conv2d.cpp, pooling.cpp) and the prepared ones (prepared_conv2d.cpp, prepared_pool2d.cpp) share
// these so that both build the same primitives and accept the same shapes. Never include this
// from a public header.
//
//   const ConvDims dims = conv_dims(params);
//   const auto desc = conv_forward_desc(dnnl::prop_kind::forward_inference, src, weight,
//                                       /*bias=*/nullptr, dst, dims);
#pragma once

#include <algorithm>
#include <cstdint>
#include <oneapi/dnnl/dnnl.hpp>

#include "pare/kernels/conv2d.h"
#include "pare/kernels/pooling.h"

namespace pare::kernels::cpu {

// The dims of one 2-D convolution; padding is the same on both sides.
struct ConvDims {
  dnnl::memory::dims src, weight, dst;
  dnnl::memory::format_tag weight_tag;  // PyTorch's layout of the weight
  dnnl::memory::dims strides, dilates, padding;
};

inline ConvDims conv_dims(const Conv2dParams& p) {
  using dnnl::memory;
  ConvDims dims;
  dims.src = {p.batch, p.in_channels, p.in_h, p.in_w};
  dims.dst = {p.batch, p.out_channels, p.out_h(), p.out_w()};
  // PyTorch's [O, I/g, kh, kw] weight is goihw with g = groups when split into groups.
  dims.weight = p.groups == 1 ? memory::dims{p.out_channels, p.in_channels, p.kernel_h, p.kernel_w}
                              : memory::dims{p.groups, p.out_channels / p.groups,
                                             p.in_channels / p.groups, p.kernel_h, p.kernel_w};
  dims.weight_tag = p.groups == 1 ? memory::format_tag::oihw : memory::format_tag::goihw;
  dims.strides = {p.stride_h, p.stride_w};
  dims.dilates = {p.dilation_h - 1, p.dilation_w - 1};  // oneDNN counts dilation from 0
  dims.padding = {p.pad_h, p.pad_w};
  return dims;
}

// A direct forward convolution over the given descriptors; `bias` null = no bias.
// `algorithm`: convolution_direct, or convolution_winograd (3x3, stride 1; prepared_conv2d.h).
inline dnnl::convolution_forward::desc conv_forward_desc(
    dnnl::prop_kind prop, const dnnl::memory::desc& src, const dnnl::memory::desc& weight,
    const dnnl::memory::desc* bias, const dnnl::memory::desc& dst, const ConvDims& dims,
    dnnl::algorithm algorithm = dnnl::algorithm::convolution_direct) {
  return bias ? dnnl::convolution_forward::desc(prop, algorithm, src, weight, *bias, dst,
                                                dims.strides, dims.dilates, dims.padding,
                                                dims.padding)
              : dnnl::convolution_forward::desc(prop, algorithm, src, weight, dst, dims.strides,
                                                dims.dilates, dims.padding, dims.padding);
}

// Window geometry of one oneDNN pooling call in PyTorch's terms (dilation 1 = dense).
struct PoolingGeometry {
  int64_t batch, channels, in_h, in_w, out_h, out_w, kernel_h, kernel_w, stride_h, stride_w, pad_h,
      pad_w, dilation_h, dilation_w;
};

inline PoolingGeometry pooling_geometry(const Pool2dParams& p) {
  return {p.batch,    p.channels, p.in_h,     p.in_w,  p.out_h(), p.out_w(),    p.kernel_h,
          p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w,   p.dilation_h, p.dilation_w};
}

// oneDNN derives the output size from both paddings, so the right padding is whatever makes
// PyTorch's output size come out: larger than the left one in ceil_mode, negative when floor
// division drops trailing input rows.
inline int64_t pooling_right_padding(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                     int64_t pad, int64_t dilation) {
  return (out - 1) * stride + (kernel - 1) * dilation + 1 - in - pad;
}

// An inference pooling over the given descriptors (dims [batch, channels, h, w]).
inline dnnl::pooling_v2_forward::desc pooling_forward_desc(dnnl::algorithm algorithm,
                                                           const dnnl::memory::desc& src,
                                                           const dnnl::memory::desc& dst,
                                                           const PoolingGeometry& g) {
  return dnnl::pooling_v2_forward::desc(
      dnnl::prop_kind::forward_inference, algorithm, src, dst, {g.stride_h, g.stride_w},
      {g.kernel_h, g.kernel_w}, {g.dilation_h - 1, g.dilation_w - 1}, {g.pad_h, g.pad_w},
      {pooling_right_padding(g.in_h, g.out_h, g.kernel_h, g.stride_h, g.pad_h, g.dilation_h),
       pooling_right_padding(g.in_w, g.out_w, g.kernel_w, g.stride_w, g.pad_w, g.dilation_w)});
}

// With dilation a window can skip over the whole input; PyTorch then yields -inf where oneDNN
// yields the lowest finite float.
inline bool every_window_touches_input(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                       int64_t pad, int64_t dilation) {
  for (int64_t o = 0; o < out; ++o) {
    const int64_t origin = o * stride - pad;
    const int64_t end = std::min(origin + (kernel - 1) * dilation + 1, in);
    int64_t first = origin;
    while (first < 0) first += dilation;
    if (first >= end) return false;
  }
  return true;
}

// True when oneDNN's max pooling reproduces PyTorch's for `p` (see every_window_touches_input).
inline bool onednn_max_pool_matches(const Pool2dParams& p) {
  return every_window_touches_input(p.in_h, p.out_h(), p.kernel_h, p.stride_h, p.pad_h,
                                    p.dilation_h) &&
         every_window_touches_input(p.in_w, p.out_w(), p.kernel_w, p.stride_w, p.pad_w,
                                    p.dilation_w);
}

// PyTorch's divisor with count_include_pad is the window clipped to the padded input; oneDNN
// always divides by the full kernel, so the two agree unless a ceil_mode window overhangs the
// right padding. Assumes dilation 1.
inline bool windows_stay_in_padded_input(const Pool2dParams& p) {
  return pooling_right_padding(p.in_h, p.out_h(), p.kernel_h, p.stride_h, p.pad_h, 1) <= p.pad_h &&
         pooling_right_padding(p.in_w, p.out_w(), p.kernel_w, p.stride_w, p.pad_w, 1) <= p.pad_w;
}

}  // namespace pare::kernels::cpu
