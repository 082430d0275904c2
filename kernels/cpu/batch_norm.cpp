#include "pare/kernels/batch_norm.h"

#include <string>
#include <unordered_map>
#include <vector>

#include "dnnl_context.h"
#include "pare/error.h"

namespace pare::kernels::cpu {
namespace {

using dnnl::memory;
using dnnl::normalization_flags;

struct BatchNormDescs {
  memory::desc data, channel;
};

BatchNormDescs descs_for(const BatchNormParams& p) {
  return {memory::desc({p.batch, p.channels, p.spatial}, memory::data_type::f32,
                       memory::format_tag::abc),
          memory::desc({p.channels}, memory::data_type::f32, memory::format_tag::a)};
}

normalization_flags scale_shift_flags(bool use_scale, bool use_shift) {
  normalization_flags flags = normalization_flags::none;
  if (use_scale) flags |= normalization_flags::use_scale;
  if (use_shift) flags |= normalization_flags::use_shift;
  return flags;
}

std::string cache_key(const char* op, const BatchNormParams& p, normalization_flags flags) {
  return str_cat(op, '/', p.batch, 'x', p.channels, 'x', p.spatial, "/eps", p.eps, "/flags",
                 static_cast<unsigned>(flags));
}

dnnl::batch_normalization_forward::primitive_desc forward_primitive_desc(
    const BatchNormParams& p, const BatchNormDescs& descs, dnnl::prop_kind prop_kind,
    normalization_flags flags) {
  dnnl::batch_normalization_forward::desc desc(prop_kind, descs.data, p.eps, flags);
  return dnnl::batch_normalization_forward::primitive_desc(desc, cpu_engine());
}

struct ForwardPrimitive {
  BatchNormDescs descs;
  dnnl::batch_normalization_forward primitive;
};

struct BackwardPrimitive {
  BatchNormDescs descs;
  dnnl::batch_normalization_backward primitive;
};

// Runs a forward primitive; `mean` and `variance` are outputs in training and inputs with
// use_global_stats.
void run_forward(const char* op, const BatchNormParams& p, dnnl::prop_kind prop_kind,
                 normalization_flags flags, const float* src, const float* gamma, const float* beta,
                 const float* mean, const float* variance, float* dst) {
  with_dnnl_errors(op, [&] {
    auto& entry = primitive_cache().get_or_create<ForwardPrimitive>(cache_key(op, p, flags), [&] {
      const BatchNormDescs descs = descs_for(p);
      return std::make_shared<ForwardPrimitive>(ForwardPrimitive{
          descs,
          dnnl::batch_normalization_forward(forward_primitive_desc(p, descs, prop_kind, flags))});
    });
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, wrap(entry.descs.data, src)},
        {DNNL_ARG_DST, wrap(entry.descs.data, dst)},
        {DNNL_ARG_MEAN, wrap(entry.descs.channel, mean)},
        {DNNL_ARG_VARIANCE, wrap(entry.descs.channel, variance)}};
    if (gamma != nullptr) args.emplace(DNNL_ARG_SCALE, wrap(entry.descs.channel, gamma));
    if (beta != nullptr) args.emplace(DNNL_ARG_SHIFT, wrap(entry.descs.channel, beta));
    entry.primitive.execute(cpu_stream(), args);
    cpu_stream().wait();
  });
}

}  // namespace

void batch_norm_forward_training(const BatchNormParams& p, const float* src, const float* gamma,
                                 const float* beta, float* dst, float* save_mean, float* save_var) {
  p.validate();
  PARE_CHECK(p.batch * p.spatial > 1,
             "batch_norm_forward_training: expected more than 1 value per channel when "
             "training, got [batch, channels, spatial] = ",
             std::vector<int64_t>{p.batch, p.channels, p.spatial});
  std::vector<float> scratch_mean(save_mean == nullptr ? p.channels : 0),
      scratch_var(save_var == nullptr ? p.channels : 0);
  run_forward("batch_norm_forward_training", p, dnnl::prop_kind::forward_training,
              scale_shift_flags(gamma != nullptr, beta != nullptr), src, gamma, beta,
              save_mean != nullptr ? save_mean : scratch_mean.data(),
              save_var != nullptr ? save_var : scratch_var.data(), dst);
}

void batch_norm_forward_inference(const BatchNormParams& p, const float* src, const float* gamma,
                                  const float* beta, const float* running_mean,
                                  const float* running_var, float* dst) {
  p.validate();
  run_forward(
      "batch_norm_forward_inference", p, dnnl::prop_kind::forward_inference,
      scale_shift_flags(gamma != nullptr, beta != nullptr) | normalization_flags::use_global_stats,
      src, gamma, beta, running_mean, running_var, dst);
}

void batch_norm_backward(const BatchNormParams& p, const float* src, const float* diff_dst,
                         const float* gamma, const float* save_mean, const float* save_var,
                         float* diff_src, float* diff_gamma, float* diff_beta) {
  p.validate();
  // diff_src needs the per-channel sums that are diff_gamma and diff_beta anyway, and oneDNN 2.6
  // takes a scale only on full backward, so one configuration serves every call: scale and
  // shift always on, with ones for a missing gamma and scratch for unwanted gradients.
  const normalization_flags flags = normalization_flags::use_scale | normalization_flags::use_shift;
  std::vector<float> unit_gamma(gamma == nullptr ? p.channels : 0, 1.0f);
  // With use_shift oneDNN insists on a shift argument even though backward never reads it.
  std::vector<float> unused_beta(p.channels);
  std::vector<float> unused_diff_gamma(diff_gamma == nullptr ? p.channels : 0);
  std::vector<float> unused_diff_beta(diff_beta == nullptr ? p.channels : 0);
  with_dnnl_errors("batch_norm_backward", [&] {
    auto& entry = primitive_cache().get_or_create<BackwardPrimitive>(
        cache_key("batch_norm_backward", p, flags), [&] {
          const BatchNormDescs descs = descs_for(p);
          dnnl::batch_normalization_backward::desc desc(dnnl::prop_kind::backward, descs.data,
                                                        descs.data, p.eps, flags);
          dnnl::batch_normalization_backward::primitive_desc primitive_desc(
              desc, cpu_engine(),
              forward_primitive_desc(p, descs, dnnl::prop_kind::forward_training, flags));
          return std::make_shared<BackwardPrimitive>(
              BackwardPrimitive{descs, dnnl::batch_normalization_backward(primitive_desc)});
        });
    entry.primitive.execute(
        cpu_stream(),
        {{DNNL_ARG_SRC, wrap(entry.descs.data, src)},
         {DNNL_ARG_DIFF_DST, wrap(entry.descs.data, diff_dst)},
         {DNNL_ARG_MEAN, wrap(entry.descs.channel, save_mean)},
         {DNNL_ARG_VARIANCE, wrap(entry.descs.channel, save_var)},
         {DNNL_ARG_SCALE, wrap(entry.descs.channel, gamma != nullptr ? gamma : unit_gamma.data())},
         {DNNL_ARG_SHIFT, wrap(entry.descs.channel, unused_beta.data())},
         {DNNL_ARG_DIFF_SRC, wrap(entry.descs.data, diff_src)},
         {DNNL_ARG_DIFF_SCALE,
          wrap(entry.descs.channel, diff_gamma != nullptr ? diff_gamma : unused_diff_gamma.data())},
         {DNNL_ARG_DIFF_SHIFT,
          wrap(entry.descs.channel, diff_beta != nullptr ? diff_beta : unused_diff_beta.data())}});
    cpu_stream().wait();
  });
}

}  // namespace pare::kernels::cpu
