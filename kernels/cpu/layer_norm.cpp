#include "pare/kernels/layer_norm.h"

#include <cmath>
#include <string>
#include <unordered_map>
#include <vector>

#include "dnnl_context.h"

namespace pare::kernels::cpu {
namespace {

using dnnl::memory;
using dnnl::normalization_flags;

struct LayerNormDescs {
  memory::desc data, stat, scale;
};

LayerNormDescs descs_for(const LayerNormParams& p) {
  return {memory::desc({p.rows, p.cols}, memory::data_type::f32, memory::format_tag::ab),
          memory::desc({p.rows}, memory::data_type::f32, memory::format_tag::a),
          memory::desc({p.cols}, memory::data_type::f32, memory::format_tag::a)};
}

normalization_flags scale_shift_flags(bool use_scale, bool use_shift) {
  normalization_flags flags = normalization_flags::none;
  if (use_scale) flags |= normalization_flags::use_scale;
  if (use_shift) flags |= normalization_flags::use_shift;
  return flags;
}

std::string cache_key(const char* op, const LayerNormParams& p, normalization_flags flags) {
  return str_cat(op, '/', p.rows, 'x', p.cols, "/eps", p.eps, "/flags",
                 static_cast<unsigned>(flags));
}

dnnl::layer_normalization_forward::primitive_desc forward_primitive_desc(
    const LayerNormParams& p, const LayerNormDescs& descs, normalization_flags flags) {
  dnnl::layer_normalization_forward::desc desc(dnnl::prop_kind::forward_training, descs.data,
                                               descs.stat, p.eps, flags);
  return dnnl::layer_normalization_forward::primitive_desc(desc, cpu_engine());
}

struct ForwardPrimitive {
  LayerNormDescs descs;
  dnnl::layer_normalization_forward primitive;
};

struct BackwardPrimitive {
  LayerNormDescs descs;
  dnnl::layer_normalization_backward primitive;
};

}  // namespace

void layer_norm_forward(const LayerNormParams& p, const float* src, const float* gamma,
                        const float* beta, float* dst, float* mean, float* rstd) {
  p.validate();
  const normalization_flags flags = scale_shift_flags(gamma != nullptr, beta != nullptr);
  // oneDNN reports the variance; PyTorch's saved statistic is 1 / sqrt(variance + eps).
  std::vector<float> variance(p.rows), scratch_mean(mean == nullptr ? p.rows : 0);
  float* mean_out = mean != nullptr ? mean : scratch_mean.data();
  with_dnnl_errors("layer_norm_forward", [&] {
    auto& entry = primitive_cache().get_or_create<ForwardPrimitive>(
        cache_key("layer_norm_forward", p, flags), [&] {
          const LayerNormDescs descs = descs_for(p);
          return std::make_shared<ForwardPrimitive>(ForwardPrimitive{
              descs, dnnl::layer_normalization_forward(forward_primitive_desc(p, descs, flags))});
        });
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, wrap(entry.descs.data, src)},
        {DNNL_ARG_DST, wrap(entry.descs.data, dst)},
        {DNNL_ARG_MEAN, wrap(entry.descs.stat, mean_out)},
        {DNNL_ARG_VARIANCE, wrap(entry.descs.stat, variance.data())}};
    if (gamma != nullptr) args.emplace(DNNL_ARG_SCALE, wrap(entry.descs.scale, gamma));
    if (beta != nullptr) args.emplace(DNNL_ARG_SHIFT, wrap(entry.descs.scale, beta));
    entry.primitive.execute(cpu_stream(), args);
    cpu_stream().wait();
  });
  if (rstd != nullptr) {
    for (int64_t r = 0; r < p.rows; ++r) {
      rstd[r] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(variance[r]) + p.eps));
    }
  }
}

void layer_norm_backward(const LayerNormParams& p, const float* src, const float* diff_dst,
                         const float* gamma, const float* mean, const float* rstd, float* diff_src,
                         float* diff_gamma, float* diff_beta) {
  p.validate();
  // diff_src needs the per-row sums that are diff_gamma and diff_beta anyway, and oneDNN 2.6
  // takes a scale only on full backward, so one configuration serves every call: scale and
  // shift always on, with ones for a missing gamma and scratch for unwanted gradients.
  const normalization_flags flags = normalization_flags::use_scale | normalization_flags::use_shift;
  // oneDNN wants the variance back; invert rstd = 1 / sqrt(variance + eps) in double.
  std::vector<float> variance(p.rows);
  for (int64_t r = 0; r < p.rows; ++r) {
    const double inverse = 1.0 / static_cast<double>(rstd[r]);
    variance[r] = static_cast<float>(inverse * inverse - p.eps);
  }
  std::vector<float> unit_gamma(gamma == nullptr ? p.cols : 0, 1.0f);
  // With use_shift oneDNN insists on a shift argument even though backward never reads it.
  std::vector<float> unused_beta(p.cols);
  std::vector<float> unused_diff_gamma(diff_gamma == nullptr ? p.cols : 0);
  std::vector<float> unused_diff_beta(diff_beta == nullptr ? p.cols : 0);
  with_dnnl_errors("layer_norm_backward", [&] {
    auto& entry = primitive_cache().get_or_create<BackwardPrimitive>(
        cache_key("layer_norm_backward", p, flags), [&] {
          const LayerNormDescs descs = descs_for(p);
          dnnl::layer_normalization_backward::desc desc(dnnl::prop_kind::backward, descs.data,
                                                        descs.data, descs.stat, p.eps, flags);
          dnnl::layer_normalization_backward::primitive_desc primitive_desc(
              desc, cpu_engine(), forward_primitive_desc(p, descs, flags));
          return std::make_shared<BackwardPrimitive>(
              BackwardPrimitive{descs, dnnl::layer_normalization_backward(primitive_desc)});
        });
    entry.primitive.execute(
        cpu_stream(),
        {{DNNL_ARG_SRC, wrap(entry.descs.data, src)},
         {DNNL_ARG_DIFF_DST, wrap(entry.descs.data, diff_dst)},
         {DNNL_ARG_MEAN, wrap(entry.descs.stat, mean)},
         {DNNL_ARG_VARIANCE, wrap(entry.descs.stat, variance.data())},
         {DNNL_ARG_SCALE, wrap(entry.descs.scale, gamma != nullptr ? gamma : unit_gamma.data())},
         {DNNL_ARG_SHIFT, wrap(entry.descs.scale, unused_beta.data())},
         {DNNL_ARG_DIFF_SRC, wrap(entry.descs.data, diff_src)},
         {DNNL_ARG_DIFF_SCALE,
          wrap(entry.descs.scale, diff_gamma != nullptr ? diff_gamma : unused_diff_gamma.data())},
         {DNNL_ARG_DIFF_SHIFT,
          wrap(entry.descs.scale, diff_beta != nullptr ? diff_beta : unused_diff_beta.data())}});
    cpu_stream().wait();
  });
}

}  // namespace pare::kernels::cpu
