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

namespace {

// The primitive descriptor `options` ask for, with the src layout the caller passes and the dst
// layout it fixed (none: oneDNN's choice).
struct ConvPlan {
  dnnl::convolution_forward::primitive_desc pd;
  memory::desc user_src;
  std::optional<memory::desc> fixed_dst;
};

ConvPlan plan_conv(const Conv2dParams& p, bool with_bias, const PreparedConv2dOptions& options) {
  const auto f32 = memory::data_type::f32;
  const ConvDims dims = conv_dims(p);
  ConvPlan plan;
  plan.user_src = desc_or_plain(options.src_layout, dims.src);
  // A blocked src is taken as it is (the previous op wrote it so); Winograd reads only its own
  // layout, which "any" asks for, and a src in another one goes through a reorder in run().
  const bool src_given =
      !options.winograd && options.src_layout.defined() && !options.src_layout.is_plain();
  const memory::desc src_any =
      src_given ? plan.user_src : memory::desc(dims.src, f32, memory::format_tag::any);
  const memory::desc weight_any(dims.weight, f32, memory::format_tag::any);
  // The dst desc the primitive is created for: the one asked for, else oneDNN's choice. An
  // accumulating conv reads its dst, so the primitive must work in the caller's layout: plain
  // unless the caller keeps the primitive's own.
  if (options.dst_layout.defined())
    plan.fixed_dst = desc_or_plain(options.dst_layout, dims.dst);
  else if (options.accumulate && !options.blocked_dst)
    plan.fixed_dst = plain_desc(dims.dst);
  const memory::desc dst_any =
      plan.fixed_dst ? *plan.fixed_dst : memory::desc(dims.dst, f32, memory::format_tag::any);
  const memory::desc bias_desc({p.out_channels}, f32, memory::format_tag::x);
  const auto algorithm = options.winograd ? dnnl::algorithm::convolution_winograd
                                          : dnnl::algorithm::convolution_direct;
  const auto make = [&](const memory::desc& src) {
    return dnnl::convolution_forward::primitive_desc(
        conv_forward_desc(dnnl::prop_kind::forward_inference, src, weight_any,
                          with_bias ? &bias_desc : nullptr, dst_any, dims, algorithm),
        fused_attr(options.activation, options.accumulate), cpu_engine());
  };
  plan.pd = make(src_any);
  // A src taken as it is may leave oneDNN with only its reference kernel for this dst (a 16-channel
  // blocked dst fixed by an accumulation, an nhwc src): reordering the src in run() costs far less.
  if (src_given && std::string(plan.pd.impl_info_str()).rfind("ref", 0) == 0)
    plan.pd = make(memory::desc(dims.src, f32, memory::format_tag::any));
  return plan;
}

}  // namespace

PreparedConv2d::PreparedConv2d(const Conv2dParams& p, const float* weight, const float* bias,
                               const PreparedConv2dOptions& options)
    : state_(std::make_unique<State>()) {
  p.validate();
  PARE_CHECK(weight != nullptr, "PreparedConv2d: the weight is null");
  PARE_CHECK(!options.winograd || winograd_supported(p),
             "PreparedConv2d: oneDNN has no Winograd convolution for a ", p.kernel_h, "x",
             p.kernel_w, " kernel, stride ", p.stride_h, "x", p.stride_w, ", ", p.groups,
             " group(s) on this CPU; check winograd_supported() and leave winograd off");
  with_dnnl_errors("PreparedConv2d", [&] {
    const ConvDims dims = conv_dims(p);
    const ConvPlan plan = plan_conv(p, bias != nullptr, options);
    const dnnl::convolution_forward::primitive_desc& pd = plan.pd;
    state_->primitive.emplace(dnnl::convolution_forward(pd), pd.scratchpad_desc());
    PreparedPrimitive& primitive = *state_->primitive;
    const memory::desc user_weight(dims.weight, memory::data_type::f32, dims.weight_tag);
    primitive.add_constant(DNNL_ARG_WEIGHTS, user_weight, weight, pd.weights_desc());
    if (bias) {
      const memory::desc bias_desc({p.out_channels}, memory::data_type::f32, memory::format_tag::x);
      primitive.add_constant(DNNL_ARG_BIAS, bias_desc, bias, pd.bias_desc());
    }
    primitive.set_src(plan.user_src, pd.src_desc());
    const memory::desc user_dst = plan.fixed_dst        ? *plan.fixed_dst
                                  : options.blocked_dst ? pd.dst_desc()
                                                        : plain_desc(dims.dst);
    PARE_CHECK(!options.accumulate || user_dst == pd.dst_desc(),
               "PreparedConv2d: oneDNN computes this accumulating convolution in another layout "
               "than its dst's; pass dst_layout");
    primitive.set_dst(user_dst, pd.dst_desc());
    state_->src_layout = layout_of(plan.user_src);
    state_->dst_layout = layout_of(user_dst);
  });
}

bool PreparedConv2d::winograd_supported(const Conv2dParams& p) {
  p.validate();
  // oneDNN's f32 Winograd kernels are 3x3 stride-1 only; asking it anything else is wasted.
  if (p.kernel_h != 3 || p.kernel_w != 3 || p.stride_h != 1 || p.stride_w != 1 ||
      p.dilation_h != 1 || p.dilation_w != 1 || p.groups != 1)
    return false;
  PreparedConv2dOptions options;
  options.winograd = true;
  options.blocked_dst = true;
  return winograd_implemented(p, options);
}

bool PreparedConv2d::winograd_implemented(const Conv2dParams& p,
                                          const PreparedConv2dOptions& options) {
  PreparedConv2dOptions winograd = options;
  winograd.winograd = true;
  try {
    plan_conv(p, /*with_bias=*/true, winograd);
    return true;
  } catch (const dnnl::error& error) {
    // oneDNN answers "unimplemented" when none of its Winograd kernels takes these shapes and
    // layouts on this CPU; anything else is a real failure.
    if (error.status == dnnl_unimplemented) return false;
    throw pare::Error(
        str_cat("PreparedConv2d::winograd_implemented: oneDNN failed: ", error.what()));
  }
}

MemoryLayout PreparedConv2d::winograd_layout(const std::vector<int64_t>& dims) {
  PARE_CHECK(dims.size() == 4, "PreparedConv2d::winograd_layout: expected [N, C, H, W] dims, got ",
             dims.size(), " of them");
  // oneDNN 2.6's f32 Winograd kernels (jit_avx512_core_f32_wino_conv_2x3 / _4x3) read and write
  // nChw16c only.
  return layout_of(memory::desc(memory::dims(dims.begin(), dims.end()), memory::data_type::f32,
                                memory::format_tag::nChw16c));
}

bool PreparedConv2d::has_optimized_kernel(const Conv2dParams& p,
                                          const PreparedConv2dOptions& options) {
  p.validate();
  try {
    const std::string implementation = plan_conv(p, /*with_bias=*/true, options).pd.impl_info_str();
    return implementation.rfind("ref", 0) != 0;
  } catch (const dnnl::error& error) {
    if (error.status == dnnl_unimplemented) return false;
    throw pare::Error(
        str_cat("PreparedConv2d::has_optimized_kernel: oneDNN failed: ", error.what()));
  }
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
