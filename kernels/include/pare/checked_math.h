// Checked arithmetic on int64 sizes: every product or sum of sizes that a file, a config or a
// caller controls goes through these, so a hostile shape is refused with a pare::Error instead of
// wrapping around to a tiny allocation that kernels then write past. The trailing arguments are
// the caller's context (op or node name and shape), concatenated like PARE_CHECK's message.
//
//   const int64_t rows = pare::checked_mul(batch, steps, "lstm: input of shape ", x.sizes());
//   const int64_t count = pare::checked_numel(shape, "empty: shape ", shape);
//   pare::check_tensor_bytes(shape, 4, "empty: shape ", shape);
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "pare/error.h"

namespace pare {

// The largest tensor pare accepts: 2^48 bytes (256 TiB). That is more than the address space a
// process has on x86-64 or AArch64 with 4-level page tables (128 / 256 TiB), so no tensor that
// could be allocated is refused, and it leaves a factor of 2^15 below INT64_MAX, so that byte
// offsets, the 64-byte rounding of allocations and the index arithmetic of kernels (a flat index
// times an element size, or plus a few sizes) cannot overflow for any tensor under it.
inline constexpr int64_t kMaxTensorBytes = int64_t{1} << 48;

// The largest size, kernel size, stride, padding or dilation handed to a kernel: oneDNN 2.6
// keeps these in `int` fields of its jit kernels, so larger values wrap inside oneDNN.
inline constexpr int64_t kMaxKernelDim = std::numeric_limits<int32_t>::max();

// a * b, or a pare::Error "<context>: a * b overflows int64".
template <typename... Context>
int64_t checked_mul(int64_t a, int64_t b, const Context&... context) {
  int64_t product = 0;
  PARE_CHECK(!__builtin_mul_overflow(a, b, &product), context..., ": ", a, " * ", b,
             " overflows int64");
  return product;
}

// a + b, or a pare::Error "<context>: a + b overflows int64".
template <typename... Context>
int64_t checked_add(int64_t a, int64_t b, const Context&... context) {
  int64_t sum = 0;
  PARE_CHECK(!__builtin_add_overflow(a, b, &sum), context..., ": ", a, " + ", b,
             " overflows int64");
  return sum;
}

// a - b, or a pare::Error "<context>: a - b overflows int64".
template <typename... Context>
int64_t checked_sub(int64_t a, int64_t b, const Context&... context) {
  int64_t difference = 0;
  PARE_CHECK(!__builtin_sub_overflow(a, b, &difference), context..., ": ", a, " - ", b,
             " overflows int64");
  return difference;
}

// The element count of `shape`. Refuses negative sizes, and a shape whose count overflows int64
// even with its zero sizes read as 1: a zero-size tensor still has contiguous strides, which are
// that product's partial products.
template <typename... Context>
int64_t checked_numel(const std::vector<int64_t>& shape, const Context&... context) {
  int64_t nonzero_product = 1;
  bool has_zero = false;
  for (int64_t size : shape) {
    PARE_CHECK(size >= 0, context..., ": negative size in shape ", shape);
    if (size == 0) {
      has_zero = true;
      continue;
    }
    PARE_CHECK(!__builtin_mul_overflow(nonzero_product, size, &nonzero_product), context...,
               ": the element count of shape ", shape, " overflows int64");
  }
  return has_zero ? 0 : nonzero_product;
}

// The byte size of a tensor of `shape` with `element_size`-byte elements. Refuses every shape
// checked_numel refuses, and one larger than kMaxTensorBytes with its zero sizes read as 1: so no
// size and no contiguous stride of any tensor, empty or not, exceeds the limit either.
template <typename... Context>
int64_t checked_tensor_bytes(const std::vector<int64_t>& shape, int64_t element_size,
                             const Context&... context) {
  const int64_t numel = checked_numel(shape, context...);
  int64_t counted = 1;  // cannot overflow: checked_numel checked this product
  for (int64_t size : shape) counted *= size == 0 ? 1 : size;
  int64_t counted_bytes = 0;
  PARE_CHECK(!__builtin_mul_overflow(counted, element_size, &counted_bytes) &&
                 counted_bytes <= kMaxTensorBytes,
             context..., ": shape ", shape, " of ", element_size,
             "-byte elements is larger than the largest tensor pare allows (2^48 bytes, zero sizes "
             "counted as 1)");
  return numel * element_size;
}

// Refuses a kernel size or window parameter above kMaxKernelDim.
template <typename... Context>
void check_kernel_dim(int64_t value, const Context&... context) {
  PARE_CHECK(value <= kMaxKernelDim, context..., ": ", value, " is larger than ", kMaxKernelDim,
             ", the largest size the kernels take");
}

}  // namespace pare
