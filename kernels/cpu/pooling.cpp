#include "pare/kernels/pooling.h"

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "dnnl_context.h"
#include "dnnl_dims.h"
#include "pare/error.h"

namespace pare::kernels::cpu {
namespace {

using dnnl::memory;

// Loops with fewer element visits than this run on one thread: waking the OpenMP team costs
// more than it saves there.
constexpr int64_t kMinParallelWork = int64_t{1} << 15;

struct PoolingPrimitive {
  memory::desc src_desc, dst_desc;
  dnnl::pooling_v2_forward primitive;
};

void onednn_pooling(const char* op, dnnl::algorithm algorithm, const PoolingGeometry& g,
                    const float* src, float* dst) {
  with_dnnl_errors(op, [&] {
    const std::string key = str_cat(
        op, '/', static_cast<int>(algorithm), '/', g.batch, 'x', g.channels, 'x', g.in_h, 'x',
        g.in_w, "/o", g.out_h, 'x', g.out_w, "/k", g.kernel_h, 'x', g.kernel_w, "/s", g.stride_h,
        'x', g.stride_w, "/p", g.pad_h, 'x', g.pad_w, "/d", g.dilation_h, 'x', g.dilation_w);
    auto& entry = primitive_cache().get_or_create<PoolingPrimitive>(key, [&] {
      memory::desc src_desc({g.batch, g.channels, g.in_h, g.in_w}, memory::data_type::f32,
                            memory::format_tag::nchw);
      memory::desc dst_desc({g.batch, g.channels, g.out_h, g.out_w}, memory::data_type::f32,
                            memory::format_tag::nchw);
      dnnl::pooling_v2_forward::primitive_desc primitive_desc(
          pooling_forward_desc(algorithm, src_desc, dst_desc, g), cpu_engine());
      return std::make_shared<PoolingPrimitive>(
          PoolingPrimitive{src_desc, dst_desc, dnnl::pooling_v2_forward(primitive_desc)});
    });
    entry.primitive.execute(cpu_stream(), {{DNNL_ARG_SRC, wrap(entry.src_desc, src)},
                                           {DNNL_ARG_DST, wrap(entry.dst_desc, dst)}});
    cpu_stream().wait();
  });
}

// Adaptive pooling is plain pooling with kernel = stride = in / out when out divides in.
bool adaptive_is_uniform(const AdaptivePool2dParams& p) {
  return p.in_h % p.out_h == 0 && p.in_w % p.out_w == 0;
}

PoolingGeometry uniform_geometry(const AdaptivePool2dParams& p) {
  const int64_t window_h = p.in_h / p.out_h, window_w = p.in_w / p.out_w;
  return {p.batch,  p.channels, p.in_h,   p.in_w, p.out_h, p.out_w, window_h,
          window_w, window_h,   window_w, 0,      0,       1,       1};
}

// Element visits of an adaptive pooling pass: windows overlap by at most one row and column.
int64_t adaptive_work(const AdaptivePool2dParams& p) {
  return p.batch * p.channels * (p.in_h + p.out_h) * (p.in_w + p.out_w);
}

// First row of an adaptive window: floor(i * in / out).
int64_t adaptive_start(int64_t i, int64_t out, int64_t in) {
  return (i / out) * in + ((i % out) * in) / out;
}

// One past the last row: ceil((i + 1) * in / out).
int64_t adaptive_end(int64_t i, int64_t out, int64_t in) { return 1 + ((i + 1) * in - 1) / out; }

void max_pool_loops(const Pool2dParams& p, const float* src, float* dst, int64_t* indices) {
  const int64_t planes = p.batch * p.channels, out_h = p.out_h(), out_w = p.out_w();
  const bool parallel = planes * out_h * out_w * p.kernel_h * p.kernel_w >= kMinParallelWork;
#pragma omp parallel for collapse(2) if (parallel)
  for (int64_t plane = 0; plane < planes; ++plane) {
    for (int64_t oh = 0; oh < out_h; ++oh) {
      const float* in = src + plane * p.in_h * p.in_w;
      int64_t h_begin = oh * p.stride_h - p.pad_h;
      const int64_t h_end = std::min(h_begin + (p.kernel_h - 1) * p.dilation_h + 1, p.in_h);
      while (h_begin < 0) h_begin += p.dilation_h;
      for (int64_t ow = 0; ow < out_w; ++ow) {
        int64_t w_begin = ow * p.stride_w - p.pad_w;
        const int64_t w_end = std::min(w_begin + (p.kernel_w - 1) * p.dilation_w + 1, p.in_w);
        while (w_begin < 0) w_begin += p.dilation_w;
        float best = -std::numeric_limits<float>::infinity();
        int64_t best_index = h_begin * p.in_w + w_begin;
        for (int64_t h = h_begin; h < h_end; h += p.dilation_h) {
          for (int64_t w = w_begin; w < w_end; w += p.dilation_w) {
            const float value = in[h * p.in_w + w];
            if (value > best) {
              best = value;
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

void avg_pool_loops(const Pool2dParams& p, const float* src, float* dst) {
  const int64_t planes = p.batch * p.channels, out_h = p.out_h(), out_w = p.out_w();
  const bool parallel = planes * out_h * out_w * p.kernel_h * p.kernel_w >= kMinParallelWork;
#pragma omp parallel for collapse(2) if (parallel)
  for (int64_t plane = 0; plane < planes; ++plane) {
    for (int64_t oh = 0; oh < out_h; ++oh) {
      const float* in = src + plane * p.in_h * p.in_w;
      const int64_t padded_h_begin = oh * p.stride_h - p.pad_h;
      const int64_t padded_h_end = std::min(padded_h_begin + p.kernel_h, p.in_h + p.pad_h);
      const int64_t h_begin = std::max<int64_t>(padded_h_begin, 0);
      const int64_t h_end = std::min(padded_h_end, p.in_h);
      for (int64_t ow = 0; ow < out_w; ++ow) {
        const int64_t padded_w_begin = ow * p.stride_w - p.pad_w;
        const int64_t padded_w_end = std::min(padded_w_begin + p.kernel_w, p.in_w + p.pad_w);
        const int64_t w_begin = std::max<int64_t>(padded_w_begin, 0);
        const int64_t w_end = std::min(padded_w_end, p.in_w);
        float& out = dst[(plane * out_h + oh) * out_w + ow];
        if (h_begin >= h_end || w_begin >= w_end) {
          out = 0.0f;
          continue;
        }
        float sum = 0.0f;
        for (int64_t h = h_begin; h < h_end; ++h) {
          for (int64_t w = w_begin; w < w_end; ++w) sum += in[h * p.in_w + w];
        }
        const int64_t divisor =
            p.count_include_pad ? (padded_h_end - padded_h_begin) * (padded_w_end - padded_w_begin)
                                : (h_end - h_begin) * (w_end - w_begin);
        out = sum / static_cast<float>(divisor);
      }
    }
  }
}

// Shared by both max-pool backwards: each plane's gradient goes to the recorded argmax.
void scatter_to_indices(const char* op, int64_t planes, int64_t in_h, int64_t in_w,
                        int64_t plane_out, const float* diff_dst, const int64_t* indices,
                        float* diff_src) {
  const int64_t plane_in = in_h * in_w;
  bool index_out_of_range = false;
  const bool parallel = planes * (plane_in + plane_out) >= kMinParallelWork;
#pragma omp parallel for reduction(|| : index_out_of_range) if (parallel)
  for (int64_t plane = 0; plane < planes; ++plane) {
    float* grad_in = diff_src + plane * plane_in;
    std::fill(grad_in, grad_in + plane_in, 0.0f);
    for (int64_t o = 0; o < plane_out; ++o) {
      const int64_t index = indices[plane * plane_out + o];
      if (index < 0 || index >= plane_in) {
        index_out_of_range = true;
        continue;
      }
      grad_in[index] += diff_dst[plane * plane_out + o];
    }
  }
  PARE_CHECK(!index_out_of_range, op, ": an index is outside the input plane ",
             std::vector<int64_t>{in_h, in_w});
}

void check_avg_dilation(const char* op, const Pool2dParams& p) {
  PARE_CHECK(p.dilation_h == 1 && p.dilation_w == 1, op, ": dilation must be 1, got dilation ",
             std::vector<int64_t>{p.dilation_h, p.dilation_w});
}

}  // namespace

void max_pool2d_forward(const Pool2dParams& p, const float* src, float* dst, int64_t* indices) {
  p.validate();
  if (indices == nullptr && onednn_max_pool_matches(p)) {
    onednn_pooling("max_pool2d_forward", dnnl::algorithm::pooling_max, pooling_geometry(p), src,
                   dst);
  } else {
    max_pool_loops(p, src, dst, indices);
  }
}

void max_pool2d_backward(const Pool2dParams& p, const float* diff_dst, const int64_t* indices,
                         float* diff_src) {
  p.validate();
  scatter_to_indices("max_pool2d_backward", p.batch * p.channels, p.in_h, p.in_w,
                     p.out_h() * p.out_w(), diff_dst, indices, diff_src);
}

void avg_pool2d_forward(const Pool2dParams& p, const float* src, float* dst) {
  p.validate();
  check_avg_dilation("avg_pool2d_forward", p);
  if (!p.count_include_pad) {
    onednn_pooling("avg_pool2d_forward", dnnl::algorithm::pooling_avg_exclude_padding,
                   pooling_geometry(p), src, dst);
  } else if (windows_stay_in_padded_input(p)) {
    onednn_pooling("avg_pool2d_forward", dnnl::algorithm::pooling_avg_include_padding,
                   pooling_geometry(p), src, dst);
  } else {
    avg_pool_loops(p, src, dst);
  }
}

void avg_pool2d_backward(const Pool2dParams& p, const float* diff_dst, float* diff_src) {
  p.validate();
  check_avg_dilation("avg_pool2d_backward", p);
  const int64_t planes = p.batch * p.channels, out_h = p.out_h(), out_w = p.out_w();
  const bool parallel =
      planes * (p.in_h * p.in_w + out_h * out_w * p.kernel_h * p.kernel_w) >= kMinParallelWork;
#pragma omp parallel for if (parallel)
  for (int64_t plane = 0; plane < planes; ++plane) {
    float* grad_in = diff_src + plane * p.in_h * p.in_w;
    std::fill(grad_in, grad_in + p.in_h * p.in_w, 0.0f);
    for (int64_t oh = 0; oh < out_h; ++oh) {
      const int64_t padded_h_begin = oh * p.stride_h - p.pad_h;
      const int64_t padded_h_end = std::min(padded_h_begin + p.kernel_h, p.in_h + p.pad_h);
      const int64_t h_begin = std::max<int64_t>(padded_h_begin, 0);
      const int64_t h_end = std::min(padded_h_end, p.in_h);
      for (int64_t ow = 0; ow < out_w; ++ow) {
        const int64_t padded_w_begin = ow * p.stride_w - p.pad_w;
        const int64_t padded_w_end = std::min(padded_w_begin + p.kernel_w, p.in_w + p.pad_w);
        const int64_t w_begin = std::max<int64_t>(padded_w_begin, 0);
        const int64_t w_end = std::min(padded_w_end, p.in_w);
        if (h_begin >= h_end || w_begin >= w_end) continue;
        const int64_t divisor =
            p.count_include_pad ? (padded_h_end - padded_h_begin) * (padded_w_end - padded_w_begin)
                                : (h_end - h_begin) * (w_end - w_begin);
        const float share =
            diff_dst[(plane * out_h + oh) * out_w + ow] / static_cast<float>(divisor);
        for (int64_t h = h_begin; h < h_end; ++h) {
          for (int64_t w = w_begin; w < w_end; ++w) grad_in[h * p.in_w + w] += share;
        }
      }
    }
  }
}

void adaptive_avg_pool2d_forward(const AdaptivePool2dParams& p, const float* src, float* dst) {
  p.validate();
  if (adaptive_is_uniform(p)) {
    onednn_pooling("adaptive_avg_pool2d_forward", dnnl::algorithm::pooling_avg_exclude_padding,
                   uniform_geometry(p), src, dst);
    return;
  }
  const int64_t planes = p.batch * p.channels;
#pragma omp parallel for collapse(2) if (adaptive_work(p) >= kMinParallelWork)
  for (int64_t plane = 0; plane < planes; ++plane) {
    for (int64_t oh = 0; oh < p.out_h; ++oh) {
      const float* in = src + plane * p.in_h * p.in_w;
      const int64_t h_begin = adaptive_start(oh, p.out_h, p.in_h);
      const int64_t h_end = adaptive_end(oh, p.out_h, p.in_h);
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        const int64_t w_begin = adaptive_start(ow, p.out_w, p.in_w);
        const int64_t w_end = adaptive_end(ow, p.out_w, p.in_w);
        float sum = 0.0f;
        for (int64_t h = h_begin; h < h_end; ++h) {
          for (int64_t w = w_begin; w < w_end; ++w) sum += in[h * p.in_w + w];
        }
        dst[(plane * p.out_h + oh) * p.out_w + ow] =
            sum / static_cast<float>((h_end - h_begin) * (w_end - w_begin));
      }
    }
  }
}

void adaptive_avg_pool2d_backward(const AdaptivePool2dParams& p, const float* diff_dst,
                                  float* diff_src) {
  p.validate();
  const int64_t planes = p.batch * p.channels;
#pragma omp parallel for if (adaptive_work(p) >= kMinParallelWork)
  for (int64_t plane = 0; plane < planes; ++plane) {
    float* grad_in = diff_src + plane * p.in_h * p.in_w;
    std::fill(grad_in, grad_in + p.in_h * p.in_w, 0.0f);
    for (int64_t oh = 0; oh < p.out_h; ++oh) {
      const int64_t h_begin = adaptive_start(oh, p.out_h, p.in_h);
      const int64_t h_end = adaptive_end(oh, p.out_h, p.in_h);
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        const int64_t w_begin = adaptive_start(ow, p.out_w, p.in_w);
        const int64_t w_end = adaptive_end(ow, p.out_w, p.in_w);
        const float share = diff_dst[(plane * p.out_h + oh) * p.out_w + ow] /
                            static_cast<float>((h_end - h_begin) * (w_end - w_begin));
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
  if (indices == nullptr && adaptive_is_uniform(p)) {
    onednn_pooling("adaptive_max_pool2d_forward", dnnl::algorithm::pooling_max, uniform_geometry(p),
                   src, dst);
    return;
  }
  const int64_t planes = p.batch * p.channels;
#pragma omp parallel for collapse(2) if (adaptive_work(p) >= kMinParallelWork)
  for (int64_t plane = 0; plane < planes; ++plane) {
    for (int64_t oh = 0; oh < p.out_h; ++oh) {
      const float* in = src + plane * p.in_h * p.in_w;
      const int64_t h_begin = adaptive_start(oh, p.out_h, p.in_h);
      const int64_t h_end = adaptive_end(oh, p.out_h, p.in_h);
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        const int64_t w_begin = adaptive_start(ow, p.out_w, p.in_w);
        const int64_t w_end = adaptive_end(ow, p.out_w, p.in_w);
        float best = -std::numeric_limits<float>::infinity();
        int64_t best_index = h_begin * p.in_w + w_begin;
        for (int64_t h = h_begin; h < h_end; ++h) {
          for (int64_t w = w_begin; w < w_end; ++w) {
            const float value = in[h * p.in_w + w];
            if (value > best) {
              best = value;
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
  scatter_to_indices("adaptive_max_pool2d_backward", p.batch * p.channels, p.in_h, p.in_w,
                     p.out_h * p.out_w, diff_dst, indices, diff_src);
}

}  // namespace pare::kernels::cpu
