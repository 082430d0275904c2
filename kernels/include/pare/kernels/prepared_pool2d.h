// Max / average pooling prepared once for inference, in plain NCHW or in the blocked layout of the
// convolution before it (memory_layout.h). Only the cases where oneDNN's numbers are PyTorch's are
// accepted (supports()); the interpreter's kernels (pooling.h) cover the rest.
//
//   pare::kernels::Pool2dParams params;    // batch, channels, in_h, in_w, kernel, stride, ...
//   using pare::kernels::cpu::PreparedPool2d;
//   if (PreparedPool2d::supports(PreparedPool2d::Kind::max, params)) {
//     PreparedPool2d pool(PreparedPool2d::Kind::max, params, conv.dst_layout(),
//     /*blocked_dst=*/true); pool.run(conv_out, pooled);            // pooled:
//     pool.dst_layout().bytes() bytes
//   }
#pragma once

#include <memory>

#include "pare/kernels/memory_layout.h"
#include "pare/kernels/pooling.h"

namespace pare::kernels::cpu {

class PreparedPool2d {
 public:
  // avg follows params.count_include_pad.
  enum class Kind { max, avg };

  // True when oneDNN reproduces PyTorch's output for these params: max pooling where every window
  // touches the input, average pooling with dilation 1 whose ceil_mode windows (with
  // count_include_pad) stay inside the padded input.
  static bool supports(Kind kind, const Pool2dParams& params);

  // src_layout: undefined = plain NCHW. blocked_dst: keep the dst in the src's blocked layout
  // (dst_layout()), else plain NCHW. Throws pare::Error unless supports(kind, params).
  PreparedPool2d(Kind kind, const Pool2dParams& params, const MemoryLayout& src_layout,
                 bool blocked_dst);
  ~PreparedPool2d();
  PreparedPool2d(PreparedPool2d&&) noexcept;
  PreparedPool2d& operator=(PreparedPool2d&&) noexcept;

  const MemoryLayout& dst_layout() const;
  void run(const void* src, void* dst);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace pare::kernels::cpu
