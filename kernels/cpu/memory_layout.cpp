#include "pare/kernels/memory_layout.h"

#include "dnnl_context.h"
#include "memory_layout_impl.h"

namespace pare::kernels {

namespace cpu {

using dnnl::memory;

memory::format_tag plain_tag(size_t rank) {
  switch (rank) {
    case 1:
      return memory::format_tag::a;
    case 2:
      return memory::format_tag::ab;
    case 3:
      return memory::format_tag::abc;
    case 4:
      return memory::format_tag::abcd;
    case 5:
      return memory::format_tag::abcde;
    default:
      throw Error(str_cat("MemoryLayout: plain layouts have 1 to 5 dims, got ", rank));
  }
}

memory::desc plain_desc(const memory::dims& dims) {
  return memory::desc(dims, memory::data_type::f32, plain_tag(dims.size()));
}

MemoryLayout layout_of(const memory::desc& desc) {
  return MemoryLayout(std::make_shared<const MemoryLayout::Impl>(MemoryLayout::Impl{desc}));
}

memory::desc desc_or_plain(const MemoryLayout& layout, const memory::dims& dims) {
  if (!layout.defined()) return plain_desc(dims);
  PARE_CHECK(layout.dims() == dims, "MemoryLayout: expected dims ", dims, ", got ", layout.dims());
  return layout.impl().desc;
}

}  // namespace cpu

MemoryLayout MemoryLayout::plain(const std::vector<int64_t>& dims) {
  return cpu::layout_of(cpu::plain_desc(dims));
}

bool MemoryLayout::is_plain() const {
  return !defined() || impl_->desc == cpu::plain_desc(impl_->desc.dims());
}

size_t MemoryLayout::bytes() const { return defined() ? impl_->desc.get_size() : 0; }

std::vector<int64_t> MemoryLayout::dims() const {
  if (!defined()) return {};
  const dnnl::memory::dims dims = impl_->desc.dims();
  return {dims.begin(), dims.end()};
}

bool MemoryLayout::operator==(const MemoryLayout& other) const {
  if (!defined() || !other.defined()) return defined() == other.defined();
  return impl_->desc == other.impl_->desc;
}

struct LayoutReorder::State {
  dnnl::memory src, dst;
  dnnl::reorder reorder;
};

LayoutReorder::LayoutReorder(const MemoryLayout& from, const MemoryLayout& to) {
  PARE_CHECK(from.defined() && to.defined() && from.dims() == to.dims(),
             "LayoutReorder: both layouts must be defined and have the same dims, got ",
             from.dims(), " and ", to.dims());
  cpu::with_dnnl_errors("LayoutReorder", [&] {
    state_ = std::make_unique<State>();
    state_->src = dnnl::memory(from.impl().desc, cpu::cpu_engine(), DNNL_MEMORY_NONE);
    state_->dst = dnnl::memory(to.impl().desc, cpu::cpu_engine(), DNNL_MEMORY_NONE);
    state_->reorder = dnnl::reorder(state_->src, state_->dst);
  });
}

LayoutReorder::~LayoutReorder() = default;
LayoutReorder::LayoutReorder(LayoutReorder&&) noexcept = default;
LayoutReorder& LayoutReorder::operator=(LayoutReorder&&) noexcept = default;

void LayoutReorder::run(const void* src, void* dst) const {
  state_->src.set_data_handle(const_cast<void*>(src));
  state_->dst.set_data_handle(dst);
  state_->reorder.execute(cpu::cpu_stream(), state_->src, state_->dst);
  cpu::cpu_stream().wait();
}

}  // namespace pare::kernels
