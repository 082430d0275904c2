#include "pare/kernels/linear.h"

#include <initializer_list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "dnnl_context.h"

namespace pare::kernels::cpu {
namespace {

using dnnl::memory;
using tag = memory::format_tag;

// One primitive with its arguments wrapped as memory objects without buffers: each call binds
// the caller's pointers with set_data_handle under `mutex`.
struct LinearEntry {
  dnnl::primitive primitive;
  std::unordered_map<int, memory> args;
  std::mutex mutex;

  void bind(int arg, const float* data) { args[arg].set_data_handle(const_cast<float*>(data)); }
  void execute() {
    primitive.execute(cpu_stream(), args);
    cpu_stream().wait();
  }
};

// The plain row-major layouts of PyTorch's Linear; gemm-based inner product reads them directly,
// so no reorder is needed.
struct LinearDescs {
  memory::desc src, weight, bias, dst;

  explicit LinearDescs(const LinearParams& p)
      : src({p.rows, p.in_features}, memory::data_type::f32, tag::nc),
        weight({p.out_features, p.in_features}, memory::data_type::f32, tag::oi),
        bias({p.out_features}, memory::data_type::f32, tag::x),
        dst({p.rows, p.out_features}, memory::data_type::f32, tag::nc) {}
};

memory unbound(const memory::desc& desc) { return memory(desc, cpu_engine(), DNNL_MEMORY_NONE); }

dnnl::inner_product_forward::primitive_desc forward_pd(const LinearDescs& d, bool with_bias) {
  const auto prop = dnnl::prop_kind::forward_training;
  const auto desc = with_bias
                        ? dnnl::inner_product_forward::desc(prop, d.src, d.weight, d.bias, d.dst)
                        : dnnl::inner_product_forward::desc(prop, d.src, d.weight, d.dst);
  return dnnl::inner_product_forward::primitive_desc(desc, cpu_engine());
}

std::string key_for(const char* op, const LinearParams& p, bool with_bias) {
  return cache_key(op, {p.rows, p.in_features, p.out_features, with_bias});
}

}  // namespace

void linear_forward(const LinearParams& params, const float* src, const float* weight,
                    const float* bias, float* dst) {
  params.validate();
  with_dnnl_errors("linear_forward", [&] {
    const bool with_bias = bias != nullptr;
    LinearEntry& entry = primitive_cache().get_or_create<LinearEntry>(
        key_for("linear_forward", params, with_bias), [&] {
          auto entry = std::make_shared<LinearEntry>();
          const LinearDescs d(params);
          entry->primitive = dnnl::inner_product_forward(forward_pd(d, with_bias));
          entry->args = {{DNNL_ARG_SRC, unbound(d.src)},
                         {DNNL_ARG_WEIGHTS, unbound(d.weight)},
                         {DNNL_ARG_DST, unbound(d.dst)}};
          if (with_bias) entry->args.emplace(DNNL_ARG_BIAS, unbound(d.bias));
          return entry;
        });
    std::lock_guard<std::mutex> lock(entry.mutex);
    entry.bind(DNNL_ARG_SRC, src);
    entry.bind(DNNL_ARG_WEIGHTS, weight);
    entry.bind(DNNL_ARG_DST, dst);
    if (with_bias) entry.bind(DNNL_ARG_BIAS, bias);
    entry.execute();
  });
}

void linear_backward_data(const LinearParams& params, const float* diff_dst, const float* weight,
                          float* diff_src) {
  params.validate();
  with_dnnl_errors("linear_backward_data", [&] {
    LinearEntry& entry = primitive_cache().get_or_create<LinearEntry>(
        key_for("linear_backward_data", params, false), [&] {
          auto entry = std::make_shared<LinearEntry>();
          const LinearDescs d(params);
          const dnnl::inner_product_backward_data::primitive_desc pd(
              dnnl::inner_product_backward_data::desc(d.src, d.weight, d.dst), cpu_engine(),
              forward_pd(d, false));
          entry->primitive = dnnl::inner_product_backward_data(pd);
          entry->args = {{DNNL_ARG_DIFF_DST, unbound(d.dst)},
                         {DNNL_ARG_WEIGHTS, unbound(d.weight)},
                         {DNNL_ARG_DIFF_SRC, unbound(d.src)}};
          return entry;
        });
    std::lock_guard<std::mutex> lock(entry.mutex);
    entry.bind(DNNL_ARG_DIFF_DST, diff_dst);
    entry.bind(DNNL_ARG_WEIGHTS, weight);
    entry.bind(DNNL_ARG_DIFF_SRC, diff_src);
    entry.execute();
  });
}

void linear_backward_weights(const LinearParams& params, const float* src, const float* diff_dst,
                             float* diff_weight, float* diff_bias) {
  params.validate();
  with_dnnl_errors("linear_backward_weights", [&] {
    const bool with_bias = diff_bias != nullptr;
    LinearEntry& entry = primitive_cache().get_or_create<LinearEntry>(
        key_for("linear_backward_weights", params, with_bias), [&] {
          auto entry = std::make_shared<LinearEntry>();
          const LinearDescs d(params);
          const auto desc =
              with_bias ? dnnl::inner_product_backward_weights::desc(d.src, d.weight, d.bias, d.dst)
                        : dnnl::inner_product_backward_weights::desc(d.src, d.weight, d.dst);
          const dnnl::inner_product_backward_weights::primitive_desc pd(desc, cpu_engine(),
                                                                        forward_pd(d, with_bias));
          entry->primitive = dnnl::inner_product_backward_weights(pd);
          entry->args = {{DNNL_ARG_SRC, unbound(d.src)},
                         {DNNL_ARG_DIFF_DST, unbound(d.dst)},
                         {DNNL_ARG_DIFF_WEIGHTS, unbound(d.weight)}};
          if (with_bias) entry->args.emplace(DNNL_ARG_DIFF_BIAS, unbound(d.bias));
          return entry;
        });
    std::lock_guard<std::mutex> lock(entry.mutex);
    entry.bind(DNNL_ARG_SRC, src);
    entry.bind(DNNL_ARG_DIFF_DST, diff_dst);
    entry.bind(DNNL_ARG_DIFF_WEIGHTS, diff_weight);
    if (with_bias) entry.bind(DNNL_ARG_DIFF_BIAS, diff_bias);
    entry.execute();
  });
}

}  // namespace pare::kernels::cpu
