#include "pare/kernels/softmax.h"

#include <cmath>
#include <string>

#include "dnnl_context.h"

namespace pare::kernels::cpu {
namespace {

using dnnl::memory;

// The [outer, axis, inner] view as a plain 3-d oneDNN tensor; the softmax axis is dimension 1.
memory::desc line_view(const SoftmaxParams& p) {
  return memory::desc({p.outer, p.axis, p.inner}, memory::data_type::f32, memory::format_tag::abc);
}

std::string cache_key(const char* op, const SoftmaxParams& p) {
  return str_cat(op, '/', p.outer, 'x', p.axis, 'x', p.inner);
}

// Source, destination and their diffs all share one plain layout.
template <typename Primitive>
struct CachedPrimitive {
  memory::desc data_desc;
  Primitive primitive;
};

template <typename Forward>
void run_forward(const char* op, const SoftmaxParams& p, const float* src, float* dst) {
  p.validate();
  with_dnnl_errors(op, [&] {
    auto& entry = primitive_cache().get_or_create<CachedPrimitive<Forward>>(cache_key(op, p), [&] {
      const memory::desc data_desc = line_view(p);
      typename Forward::desc desc(dnnl::prop_kind::forward_inference, data_desc, 1);
      typename Forward::primitive_desc primitive_desc(desc, cpu_engine());
      return std::make_shared<CachedPrimitive<Forward>>(
          CachedPrimitive<Forward>{data_desc, Forward(primitive_desc)});
    });
    entry.primitive.execute(cpu_stream(), {{DNNL_ARG_SRC, wrap(entry.data_desc, src)},
                                           {DNNL_ARG_DST, wrap(entry.data_desc, dst)}});
    cpu_stream().wait();
  });
}

template <typename Forward, typename Backward>
void run_backward(const char* op, const SoftmaxParams& p, const float* dst, const float* diff_dst,
                  float* diff_src) {
  p.validate();
  with_dnnl_errors(op, [&] {
    auto& entry = primitive_cache().get_or_create<CachedPrimitive<Backward>>(cache_key(op, p), [&] {
      const memory::desc data_desc = line_view(p);
      typename Forward::desc forward_desc(dnnl::prop_kind::forward_training, data_desc, 1);
      typename Forward::primitive_desc forward_hint(forward_desc, cpu_engine());
      typename Backward::desc desc(data_desc, data_desc, 1);
      typename Backward::primitive_desc primitive_desc(desc, cpu_engine(), forward_hint);
      return std::make_shared<CachedPrimitive<Backward>>(
          CachedPrimitive<Backward>{data_desc, Backward(primitive_desc)});
    });
    entry.primitive.execute(cpu_stream(), {{DNNL_ARG_DST, wrap(entry.data_desc, dst)},
                                           {DNNL_ARG_DIFF_DST, wrap(entry.data_desc, diff_dst)},
                                           {DNNL_ARG_DIFF_SRC, wrap(entry.data_desc, diff_src)}});
    cpu_stream().wait();
  });
}

// Rows of `axis` contiguous values (inner == 1, the classifier case behind cross_entropy).
// oneDNN 2.6's logsoftmax over the innermost axis is up to ~3e-6 off PyTorch (a fast exp/log),
// which its backward amplifies past 1e-5 relative; these loops accumulate in double instead.
void log_softmax_rows_forward(const SoftmaxParams& p, const float* src, float* dst) {
#pragma omp parallel for if (p.outer * p.axis > 32768)
  for (int64_t row = 0; row < p.outer; ++row) {
    const float* in = src + row * p.axis;
    float* out = dst + row * p.axis;
    float largest = in[0];
    for (int64_t i = 1; i < p.axis; ++i) largest = std::max(largest, in[i]);
    double total = 0.0;
    for (int64_t i = 0; i < p.axis; ++i) total += std::exp(static_cast<double>(in[i] - largest));
    const float log_total = static_cast<float>(std::log(total));
    for (int64_t i = 0; i < p.axis; ++i) out[i] = (in[i] - largest) - log_total;
  }
}

void log_softmax_rows_backward(const SoftmaxParams& p, const float* dst, const float* diff_dst,
                               float* diff_src) {
#pragma omp parallel for if (p.outer * p.axis > 32768)
  for (int64_t row = 0; row < p.outer; ++row) {
    const float* out = dst + row * p.axis;
    const float* grad = diff_dst + row * p.axis;
    float* result = diff_src + row * p.axis;
    double grad_total = 0.0;
    for (int64_t i = 0; i < p.axis; ++i) grad_total += grad[i];
    for (int64_t i = 0; i < p.axis; ++i)
      result[i] = static_cast<float>(grad[i] - std::exp(static_cast<double>(out[i])) * grad_total);
  }
}

}  // namespace

void softmax_forward(const SoftmaxParams& p, const float* src, float* dst) {
  run_forward<dnnl::softmax_forward>("softmax_forward", p, src, dst);
}

void softmax_backward(const SoftmaxParams& p, const float* dst, const float* diff_dst,
                      float* diff_src) {
  run_backward<dnnl::softmax_forward, dnnl::softmax_backward>("softmax_backward", p, dst, diff_dst,
                                                              diff_src);
}

void log_softmax_forward(const SoftmaxParams& p, const float* src, float* dst) {
  if (p.inner == 1) {
    p.validate();
    return log_softmax_rows_forward(p, src, dst);
  }
  run_forward<dnnl::logsoftmax_forward>("log_softmax_forward", p, src, dst);
}

void log_softmax_backward(const SoftmaxParams& p, const float* dst, const float* diff_dst,
                          float* diff_src) {
  if (p.inner == 1) {
    p.validate();
    return log_softmax_rows_backward(p, dst, diff_dst, diff_src);
  }
  run_backward<dnnl::logsoftmax_forward, dnnl::logsoftmax_backward>("log_softmax_backward", p, dst,
                                                                    diff_dst, diff_src);
}

}  // namespace pare::kernels::cpu
