#include "pare/kernels/prepared_conv2d.h"

#include "dnnl_context.h"
#include "dnnl_dims.h"
#include "fused_activation_impl.h"
#include "memory_layout_impl.h"
#include "prepared_primitive.h"

namespace pare::kernels::cpu {

using dnnl::memory;

struct PreparedConv2d::State {
  MemoryLayout src_layout, dst_layout;
  std::optional<PreparedPrimitive> primitive;
};

PreparedConv2d::PreparedConv2d(const Conv2dParams& p, const float* weight, const float* bias,
                               const PreparedConv2dOptions& options)
    : state_(std::make_unique<State>()) {
  p.validate();
  PARE_CHECK(weight != nullptr, "PreparedConv2d: the weight is null");
  with_dnnl_errors("PreparedConv2d", [&] {
    const auto f32 = memory::data_type::f32;
    const ConvDims dims = conv_dims(p);
    const memory::desc user_src = desc_or_plain(options.src_layout, dims.src);
    const bool src_given = options.src_layout.defined() && !options.src_layout.is_plain();
    const memory::desc src_any =
        src_given ? user_src : memory::desc(dims.src, f32, memory::format_tag::any);
    const memory::desc weight_any(dims.weight, f32, memory::format_tag::any);
    // The dst desc the primitive is created for: the one asked for, else oneDNN's choice. An
    // accumulating conv reads its dst, so the primitive must work in the caller's layout: plain
    // unless the caller keeps the primitive's own.
    std::optional<memory::desc> fixed_dst;
    if (options.dst_layout.defined())
      fixed_dst = desc_or_plain(options.dst_layout, dims.dst);
    else if (options.accumulate && !options.blocked_dst)
      fixed_dst = plain_desc(dims.dst);
    const memory::desc dst_any =
        fixed_dst ? *fixed_dst : memory::desc(dims.dst, f32, memory::format_tag::any);
    const memory::desc bias_desc({p.out_channels}, f32, memory::format_tag::x);
    const dnnl::convolution_forward::primitive_desc pd(
        conv_forward_desc(dnnl::prop_kind::forward_inference, src_any, weight_any,
                          bias ? &bias_desc : nullptr, dst_any, dims),
        fused_attr(options.activation, options.accumulate), cpu_engine());
    state_->primitive.emplace(dnnl::convolution_forward(pd), pd.scratchpad_desc());
    PreparedPrimitive& primitive = *state_->primitive;
    const memory::desc user_weight(dims.weight, f32, dims.weight_tag);
    primitive.add_constant(DNNL_ARG_WEIGHTS, user_weight, weight, pd.weights_desc());
    if (bias) primitive.add_constant(DNNL_ARG_BIAS, bias_desc, bias, pd.bias_desc());
    primitive.set_src(user_src, pd.src_desc());
    const memory::desc user_dst = fixed_dst             ? *fixed_dst
                                  : options.blocked_dst ? pd.dst_desc()
                                                        : plain_desc(dims.dst);
    PARE_CHECK(!options.accumulate || user_dst == pd.dst_desc(),
               "PreparedConv2d: oneDNN computes this accumulating convolution in another layout "
               "than its dst's; pass dst_layout");
    primitive.set_dst(user_dst, pd.dst_desc());
    state_->src_layout = layout_of(user_src);
    state_->dst_layout = layout_of(user_dst);
  });
}

PreparedConv2d::~PreparedConv2d() = default;
PreparedConv2d::PreparedConv2d(PreparedConv2d&&) noexcept = default;
PreparedConv2d& PreparedConv2d::operator=(PreparedConv2d&&) noexcept = default;

const MemoryLayout& PreparedConv2d::src_layout() const { return state_->src_layout; }
const MemoryLayout& PreparedConv2d::dst_layout() const { return state_->dst_layout; }

void PreparedConv2d::run(const void* src, void* dst) {
  with_dnnl_errors("PreparedConv2d::run", [&] { state_->primitive->run(src, dst); });
}

}  // namespace pare::kernels::cpu
