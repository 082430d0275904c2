#include "pare/kernels/prepared_linear.h"

#include "dnnl_context.h"
#include "fused_activation_impl.h"
#include "memory_layout_impl.h"
#include "prepared_primitive.h"

namespace pare::kernels::cpu {

using dnnl::memory;

struct PreparedLinear::State {
  std::optional<PreparedPrimitive> primitive;
};

PreparedLinear::PreparedLinear(const LinearParams& p, const float* weight, const float* bias,
                               const std::optional<ActivationParams>& activation)
    : state_(std::make_unique<State>()) {
  p.validate();
  PARE_CHECK(weight != nullptr, "PreparedLinear: the weight is null");
  with_dnnl_errors("PreparedLinear", [&] {
    const auto f32 = memory::data_type::f32;
    const memory::desc src = plain_desc({p.rows, p.in_features});
    const memory::desc dst = plain_desc({p.rows, p.out_features});
    const memory::desc user_weight = plain_desc({p.out_features, p.in_features});
    const memory::desc weight_any({p.out_features, p.in_features}, f32, memory::format_tag::any);
    const memory::desc bias_desc = plain_desc({p.out_features});
    const auto prop = dnnl::prop_kind::forward_inference;
    const auto desc = bias
                          ? dnnl::inner_product_forward::desc(prop, src, weight_any, bias_desc, dst)
                          : dnnl::inner_product_forward::desc(prop, src, weight_any, dst);
    const dnnl::inner_product_forward::primitive_desc pd(desc, fused_attr(activation),
                                                         cpu_engine());
    state_->primitive.emplace(dnnl::inner_product_forward(pd), pd.scratchpad_desc());
    PreparedPrimitive& primitive = *state_->primitive;
    primitive.add_constant(DNNL_ARG_WEIGHTS, user_weight, weight, pd.weights_desc());
    if (bias) primitive.add_constant(DNNL_ARG_BIAS, bias_desc, bias, pd.bias_desc());
    primitive.set_src(src, pd.src_desc());
    primitive.set_dst(dst, pd.dst_desc());
  });
}

PreparedLinear::~PreparedLinear() = default;
PreparedLinear::PreparedLinear(PreparedLinear&&) noexcept = default;
PreparedLinear& PreparedLinear::operator=(PreparedLinear&&) noexcept = default;

void PreparedLinear::run(const float* src, float* dst) {
  with_dnnl_errors("PreparedLinear::run", [&] { state_->primitive->run(src, dst); });
}

}  // namespace pare::kernels::cpu
