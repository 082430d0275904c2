#include "pare/kernels/prepared_pool2d.h"

#include "dnnl_context.h"
#include "dnnl_dims.h"
#include "memory_layout_impl.h"
#include "prepared_primitive.h"

namespace pare::kernels::cpu {

using dnnl::memory;

bool PreparedPool2d::supports(Kind kind, const Pool2dParams& p) {
  p.validate();
  if (kind == Kind::max) return onednn_max_pool_matches(p);
  if (p.dilation_h != 1 || p.dilation_w != 1) return false;
  return !p.count_include_pad || windows_stay_in_padded_input(p);
}

struct PreparedPool2d::State {
  MemoryLayout dst_layout;
  std::optional<PreparedPrimitive> primitive;
};

PreparedPool2d::PreparedPool2d(Kind kind, const Pool2dParams& p, const MemoryLayout& src_layout,
                               bool blocked_dst)
    : state_(std::make_unique<State>()) {
  PARE_CHECK(supports(kind, p), "PreparedPool2d: oneDNN does not reproduce PyTorch's ",
             kind == Kind::max ? "max" : "average", " pooling for input [", p.batch, ", ",
             p.channels, ", ", p.in_h, ", ", p.in_w, "], kernel ", p.kernel_h, "x", p.kernel_w);
  with_dnnl_errors("PreparedPool2d", [&] {
    const memory::dims src_dims{p.batch, p.channels, p.in_h, p.in_w};
    const memory::dims dst_dims{p.batch, p.channels, p.out_h(), p.out_w()};
    const memory::desc src = desc_or_plain(src_layout, src_dims);
    const memory::desc dst_any(dst_dims, memory::data_type::f32, memory::format_tag::any);
    const dnnl::algorithm algorithm = kind == Kind::max ? dnnl::algorithm::pooling_max
                                      : p.count_include_pad
                                          ? dnnl::algorithm::pooling_avg_include_padding
                                          : dnnl::algorithm::pooling_avg_exclude_padding;
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const dnnl::pooling_v2_forward::primitive_desc pd(
        pooling_forward_desc(algorithm, src, dst_any, pooling_geometry(p)), attr, cpu_engine());
    state_->primitive.emplace(dnnl::pooling_v2_forward(pd), pd.scratchpad_desc());
    state_->primitive->set_src(src, pd.src_desc());
    const memory::desc user_dst = blocked_dst ? pd.dst_desc() : plain_desc(dst_dims);
    state_->primitive->set_dst(user_dst, pd.dst_desc());
    state_->dst_layout = layout_of(user_dst);
  });
}

PreparedPool2d::~PreparedPool2d() = default;
PreparedPool2d::PreparedPool2d(PreparedPool2d&&) noexcept = default;
PreparedPool2d& PreparedPool2d::operator=(PreparedPool2d&&) noexcept = default;

const MemoryLayout& PreparedPool2d::dst_layout() const { return state_->dst_layout; }

void PreparedPool2d::run(const void* src, void* dst) {
  with_dnnl_errors("PreparedPool2d::run", [&] { state_->primitive->run(src, dst); });
}

}  // namespace pare::kernels::cpu
