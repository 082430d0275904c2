// Internal: walks N strided operands of one shape in row-major order, calling
// body(offsets) with each operand's element offset. The innermost dim runs as a tight loop so the
// compiler can vectorise contiguous cases. Used by copies, elementwise ops and reductions.
//
//   for_each_offsets<2>(sizes, {&out_strides, &in_strides},
//       [&](const std::array<int64_t, 2>& o) { out[o[0]] = in[o[1]]; });
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "pare/tensor.h"

namespace pare::detail {

template <size_t N, typename Body>
void for_each_offsets(const Shape& sizes, const std::array<const Shape*, N>& strides, Body&& body) {
  const int64_t rank = static_cast<int64_t>(sizes.size());
  for (int64_t size : sizes)
    if (size == 0) return;
  std::array<int64_t, N> offsets{};
  if (rank == 0) {
    body(offsets);
    return;
  }
  const int64_t inner = sizes[rank - 1];
  std::array<int64_t, N> inner_strides;
  for (size_t k = 0; k < N; ++k) inner_strides[k] = (*strides[k])[rank - 1];
  std::vector<int64_t> counter(rank, 0);
  while (true) {
    std::array<int64_t, N> position = offsets;
    for (int64_t i = 0; i < inner; ++i) {
      body(position);
      for (size_t k = 0; k < N; ++k) position[k] += inner_strides[k];
    }
    int64_t dim = rank - 2;
    for (; dim >= 0; --dim) {
      ++counter[dim];
      for (size_t k = 0; k < N; ++k) offsets[k] += (*strides[k])[dim];
      if (counter[dim] < sizes[dim]) break;
      for (size_t k = 0; k < N; ++k) offsets[k] -= (*strides[k])[dim] * sizes[dim];
      counter[dim] = 0;
    }
    if (dim < 0) return;
  }
}

// Calls body(value_pointer) typed by `dtype` (float, int64_t, uint8_t, bool).
template <typename Body>
auto dispatch_dtype(DType dtype, Body&& body) {
  switch (dtype) {
    case DType::f32:
      return body(static_cast<float*>(nullptr));
    case DType::i64:
      return body(static_cast<int64_t*>(nullptr));
    case DType::u8:
      return body(static_cast<uint8_t*>(nullptr));
    case DType::boolean:
      return body(static_cast<bool*>(nullptr));
  }
  throw Error("dispatch_dtype: unknown dtype");
}

}  // namespace pare::detail
