#include "pare/kernels/prepared_pool2d.h"

#include <algorithm>

#include "dnnl_context.h"
#include "memory_layout_impl.h"
#include "prepared_primitive.h"

namespace pare::kernels::cpu {
namespace {

using dnnl::memory;

// oneDNN derives the output size from both paddings, so the right padding is whatever gives
// PyTorch's output size (the same rule as kernels/cpu/pooling.cpp).
int64_t right_padding(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t pad,
                      int64_t dilation) {
  return (out - 1) * stride + (kernel - 1) * dilation + 1 - in - pad;
}

// PyTorch yields -inf for a window that skips the whole input, oneDNN the lowest float.
bool every_window_touches_input(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                int64_t pad, int64_t dilation) {
  for (int64_t o = 0; o < out; ++o) {
    const int64_t origin = o * stride - pad;
    const int64_t end = std::min(origin + (kernel - 1) * dilation + 1, in);
    int64_t first = origin;
    while (first < 0) first += dilation;
    if (first >= end) return false;
  }
  return true;
}

}  // namespace

bool PreparedPool2d::supports(Kind kind, const Pool2dParams& p) {
  p.validate();
  if (kind == Kind::max) {
    return every_window_touches_input(p.in_h, p.out_h(), p.kernel_h, p.stride_h, p.pad_h,
                                      p.dilation_h) &&
           every_window_touches_input(p.in_w, p.out_w(), p.kernel_w, p.stride_w, p.pad_w,
                                      p.dilation_w);
  }
  if (p.dilation_h != 1 || p.dilation_w != 1) return false;
  // With count_include_pad PyTorch divides by the window clipped to the padded input, oneDNN by
  // the whole kernel: they agree unless a ceil_mode window overhangs the right padding.
  return !p.count_include_pad ||
         (right_padding(p.in_h, p.out_h(), p.kernel_h, p.stride_h, p.pad_h, 1) <= p.pad_h &&
          right_padding(p.in_w, p.out_w(), p.kernel_w, p.stride_w, p.pad_w, 1) <= p.pad_w);
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
    const dnnl::pooling_v2_forward::desc desc(
        dnnl::prop_kind::forward_inference, algorithm, src, dst_any, {p.stride_h, p.stride_w},
        {p.kernel_h, p.kernel_w}, {p.dilation_h - 1, p.dilation_w - 1}, {p.pad_h, p.pad_w},
        {right_padding(p.in_h, p.out_h(), p.kernel_h, p.stride_h, p.pad_h, p.dilation_h),
         right_padding(p.in_w, p.out_w(), p.kernel_w, p.stride_w, p.pad_w, p.dilation_w)});
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const dnnl::pooling_v2_forward::primitive_desc pd(desc, attr, cpu_engine());
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
