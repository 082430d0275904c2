// MemoryLayout: how a prepared primitive (prepared_conv2d.h, prepared_pool2d.h, ...) lays out a
// float tensor in memory: plain row-major (NCHW, NC) or a blocked layout oneDNN chose (nChw16c
// and the like, where the channels may be padded up to the block size). The inference path passes
// a producer's dst_layout() to its consumer, so that consecutive convolutions exchange blocked
// tensors without converting them; LayoutReorder converts at the ends of such a chain.
//
//   pare::kernels::MemoryLayout plain = pare::kernels::MemoryLayout::plain({1, 64, 32, 32});
//   pare::kernels::cpu::PreparedConv2d conv(params, weight, bias, {.blocked_dst = true});
//   pare::kernels::LayoutReorder to_plain(conv.dst_layout(), plain);
//   std::vector<std::byte> blocked(conv.dst_layout().bytes());
//   conv.run(x, blocked.data());
//   to_plain.run(blocked.data(), y);
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace pare::kernels {

// Contract: an undefined layout (default-constructed) stands for "plain row-major" wherever an
// API accepts one. Layouts compare equal when oneDNN would read the bytes alike.
class MemoryLayout {
 public:
  struct Impl;  // kernels/cpu only (it holds oneDNN's memory descriptor)

  MemoryLayout() = default;
  explicit MemoryLayout(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  // Dense row-major float32 of these dims (1 to 5 of them).
  static MemoryLayout plain(const std::vector<int64_t>& dims);

  bool defined() const { return impl_ != nullptr; }
  // True for plain row-major float32 (what pare::Tensor holds).
  bool is_plain() const;
  // Bytes a buffer in this layout needs (more than the plain size when channels are padded).
  size_t bytes() const;
  std::vector<int64_t> dims() const;
  bool operator==(const MemoryLayout& other) const;

  const Impl& impl() const { return *impl_; }

 private:
  std::shared_ptr<const Impl> impl_;
};

// Converts a buffer between two layouts of the same dims (oneDNN reorder, created once).
class LayoutReorder {
 public:
  LayoutReorder(const MemoryLayout& from, const MemoryLayout& to);
  ~LayoutReorder();
  LayoutReorder(LayoutReorder&&) noexcept;
  LayoutReorder& operator=(LayoutReorder&&) noexcept;

  void run(const void* src, void* dst) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace pare::kernels
