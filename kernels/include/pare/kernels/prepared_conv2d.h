// A convolution prepared once for inference: its weights reordered into the layout oneDNN's
// fastest kernel wants, the bias, an optional residual add (accumulate: dst = conv(x) + dst) and
// an optional activation fused (post-ops), the src and dst in plain NCHW or in a blocked layout
// shared with the neighbouring prepared ops (memory_layout.h). No allocation happens in run().
//
//   pare::kernels::Conv2dParams params;        // as for cpu::conv2d_forward
//   pare::kernels::cpu::PreparedConv2dOptions options;
//   options.activation = pare::kernels::default_activation_params(pare::kernels::Activation::relu);
//   options.blocked_dst = true;                // keep the output blocked for the next conv
//   pare::kernels::cpu::PreparedConv2d conv(params, weight, bias, options);
//   std::vector<std::byte> y(conv.dst_layout().bytes());
//   conv.run(x, y.data());                      // x in conv.src_layout()
//
//   options.accumulate = true;                 // a ResNet block: relu(conv(x) + shortcut)
//   options.dst_layout = shortcut_layout;      // the layout the shortcut is in
//   pare::kernels::cpu::PreparedConv2d block(params, weight, bias, options);
//   std::memcpy(y.data(), shortcut, block.dst_layout().bytes());   // or run in its buffer
//   block.run(x, y.data());                    // y = relu(conv(x) + shortcut)
//
//   if (pare::kernels::cpu::PreparedConv2d::winograd_supported(params)) {
//     options.winograd = true;                 // 3x3, stride 1: Winograd's fewer multiplications
//     options.src_layout = pare::kernels::cpu::PreparedConv2d::winograd_layout(src_dims);
//   }
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "pare/kernels/activation.h"
#include "pare/kernels/conv2d.h"
#include "pare/kernels/memory_layout.h"

namespace pare::kernels::cpu {

struct PreparedConv2dOptions {
  // Applied after the bias; must pass can_fuse_activation (fused_activation.h).
  std::optional<ActivationParams> activation;
  // The layout the caller's src is in: undefined = plain NCHW (converted inside run() when the
  // primitive prefers another), or a blocked layout a previous prepared op produced.
  MemoryLayout src_layout;
  // true: dst stays in the layout the primitive prefers (see dst_layout()); false: plain NCHW.
  bool blocked_dst = false;
  // Defined: dst in exactly this layout (plain or blocked), whatever blocked_dst says.
  MemoryLayout dst_layout;
  // dst = activation(conv(src) + bias + dst): oneDNN's sum post-op, before the activation. run()
  // then reads dst, which must hold the addend in dst_layout() (the primitive computes in that
  // layout: no conversion of dst happens).
  bool accumulate = false;
  // Computed by oneDNN's Winograd algorithm (F(2x2, 3x3) or F(4x4, 3x3), oneDNN picks) instead of
  // the direct one: about half the multiplications of a 3x3 stride-1 convolution, rounded
  // differently (both within ~2e-6 of the largest output from the reference kernel on ResNet-18's
  // shapes). Requires winograd_supported(params). It computes in winograd_layout(): a src or a
  // non-accumulating dst in another layout is converted inside run(); an accumulating dst_layout
  // it cannot write throws (winograd_implemented says so beforehand).
  bool winograd = false;
};

// Contract: requires params.validate(); weight [O, I/groups, kh, kw] and bias [O] (may be null)
// are copied, so the caller may free them after construction. run() is not re-entrant.
class PreparedConv2d {
 public:
  PreparedConv2d(const Conv2dParams& params, const float* weight, const float* bias,
                 const PreparedConv2dOptions& options);
  ~PreparedConv2d();
  PreparedConv2d(PreparedConv2d&&) noexcept;
  PreparedConv2d& operator=(PreparedConv2d&&) noexcept;

  // Whether oneDNN has a Winograd convolution for these params on this CPU (3x3, stride 1, no
  // dilation, one group, and an AVX-512 machine): options.winograd may be set.
  static bool winograd_supported(const Conv2dParams& params);
  // Whether the constructor with `options` (winograd set) finds that Winograd convolution for
  // options' layouts (an accumulating one computes in dst_layout, which must be winograd_layout).
  static bool winograd_implemented(const Conv2dParams& params,
                                   const PreparedConv2dOptions& options);
  // The blocked layout oneDNN's Winograd convolutions read and write for a tensor of these
  // [N, C, H, W] dims (channels in blocks of 16): a neighbour that produces or consumes it as
  // well spares a conversion on each side.
  static MemoryLayout winograd_layout(const std::vector<int64_t>& dims);
  // Whether oneDNN runs the convolution `options` ask for (their layouts) with an optimised
  // kernel rather than its reference one, which is hundreds of times slower: a layout that suits
  // a neighbour (winograd_layout) can leave a conv of few channels with the reference kernel only.
  static bool has_optimized_kernel(const Conv2dParams& params,
                                   const PreparedConv2dOptions& options);

  const MemoryLayout& src_layout() const;
  const MemoryLayout& dst_layout() const;
  void run(const void* src, void* dst);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace pare::kernels::cpu
