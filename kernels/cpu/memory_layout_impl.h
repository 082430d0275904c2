// Internal to kernels/cpu: what a MemoryLayout holds (oneDNN's memory descriptor), and the
// conversions between the two. Never include this from a public header.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include "pare/kernels/memory_layout.h"

namespace pare::kernels {

struct MemoryLayout::Impl {
  dnnl::memory::desc desc;
};

namespace cpu {

// The row-major format tag for a rank (a, ab, abc, abcd, abcde).
dnnl::memory::format_tag plain_tag(size_t rank);
dnnl::memory::desc plain_desc(const dnnl::memory::dims& dims);
MemoryLayout layout_of(const dnnl::memory::desc& desc);
// The descriptor of `layout`, or the plain one of `dims` when `layout` is undefined.
dnnl::memory::desc desc_or_plain(const MemoryLayout& layout, const dnnl::memory::dims& dims);

}  // namespace cpu
}  // namespace pare::kernels
