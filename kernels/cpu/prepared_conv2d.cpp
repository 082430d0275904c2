#include "pare/kernels/prepared_conv2d.h"

#include "dnnl_context.h"
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
    const memory::dims src_dims{p.batch, p.in_channels, p.in_h, p.in_w};
    const memory::dims dst_dims{p.batch, p.out_channels, p.out_h(), p.out_w()};
    const memory::dims weight_dims =
        p.groups == 1 ? memory::dims{p.out_channels, p.in_channels, p.kernel_h, p.kernel_w}
                      : memory::dims{p.groups, p.out_channels / p.groups, p.in_channels / p.groups,
                                     p.kernel_h, p.kernel_w};
    const memory::desc user_src = desc_or_plain(options.src_layout, src_dims);
    const bool src_given = options.src_layout.defined() && !options.src_layout.is_plain();
    const memory::desc src_any =
        src_given ? user_src : memory::desc(src_dims, f32, memory::format_tag::any);
    const memory::desc weight_any(weight_dims, f32, memory::format_tag::any);
    const memory::desc dst_any(dst_dims, f32, memory::format_tag::any);
    const memory::desc bias_desc({p.out_channels}, f32, memory::format_tag::x);
    const memory::dims strides{p.stride_h, p.stride_w};
    const memory::dims dilates{p.dilation_h - 1, p.dilation_w - 1};  // oneDNN counts from 0
    const memory::dims padding{p.pad_h, p.pad_w};
    const auto prop = dnnl::prop_kind::forward_inference;
    const auto algorithm = dnnl::algorithm::convolution_direct;
    const auto desc =
        bias ? dnnl::convolution_forward::desc(prop, algorithm, src_any, weight_any, bias_desc,
                                               dst_any, strides, dilates, padding, padding)
             : dnnl::convolution_forward::desc(prop, algorithm, src_any, weight_any, dst_any,
                                               strides, dilates, padding, padding);
    const dnnl::convolution_forward::primitive_desc pd(desc, fused_attr(options.activation),
                                                       cpu_engine());
    state_->primitive.emplace(dnnl::convolution_forward(pd), pd.scratchpad_desc());
    PreparedPrimitive& primitive = *state_->primitive;
    const memory::desc user_weight(
        weight_dims, f32, p.groups == 1 ? memory::format_tag::oihw : memory::format_tag::goihw);
    primitive.add_constant(DNNL_ARG_WEIGHTS, user_weight, weight, pd.weights_desc());
    if (bias) primitive.add_constant(DNNL_ARG_BIAS, bias_desc, bias, pd.bias_desc());
    primitive.set_src(user_src, pd.src_desc());
    const memory::desc user_dst = options.blocked_dst ? pd.dst_desc() : plain_desc(dst_dims);
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
