#include "pare/join_geometry.h"

#include <algorithm>

#include "pare/checked_math.h"
#include "pare/error.h"

namespace pare {

CatGeometry cat_geometry(const std::vector<Shape>& shapes, const std::vector<DType>& dtypes,
                         int64_t dim) {
  PARE_CHECK(!shapes.empty(), "cat: expected a non-empty list of tensors");
  PARE_CHECK(shapes.size() == dtypes.size(), "cat: ", shapes.size(), " shapes but ", dtypes.size(),
             " dtypes");
  CatGeometry geometry;
  for (size_t i = 0; i < shapes.size(); ++i)
    if (!(shapes[i].size() == 1 && shapes[i][0] == 0)) geometry.parts.push_back(i);
  if (geometry.parts.empty()) geometry.parts.push_back(0);
  const size_t first_at = geometry.parts[0];
  const Shape& first = shapes[first_at];
  PARE_CHECK(!first.empty(), "cat: zero-dimensional tensor (at position ", first_at,
             ") cannot be concatenated");
  const int64_t rank = static_cast<int64_t>(first.size());
  const int64_t d = wrap_dim(dim, rank, "cat");
  geometry.dim = d;
  geometry.dtype = dtypes[first_at];
  geometry.shape = first;
  geometry.shape[d] = 0;
  for (size_t i : geometry.parts) {
    const Shape& shape = shapes[i];
    PARE_CHECK(dtypes[i] == geometry.dtype, "cat: expected all tensors to be ",
               dtype_name(geometry.dtype), ", got ", dtype_name(dtypes[i]), " at position ", i);
    bool compatible = static_cast<int64_t>(shape.size()) == rank;
    for (int64_t k = 0; compatible && k < rank; ++k) compatible = k == d || shape[k] == first[k];
    PARE_CHECK(compatible, "cat: sizes must match except in dim ", d, ", got shapes ", first,
               " (position ", first_at, ") and ", shape, " (position ", i, ")");
    // Expanded inputs can be huge without storage, and shapes alone hold no storage: the sum can
    // overflow.
    geometry.shape[d] = checked_add(geometry.shape[d], shape[d], "cat: dim ", d, " of shapes ",
                                    first, " and ", shape);
  }
  return geometry;
}

int64_t stack_dim(const std::vector<Shape>& shapes, int64_t dim) {
  PARE_CHECK(!shapes.empty(), "stack: expected a non-empty list of tensors");
  const int64_t d = wrap_dim(dim, static_cast<int64_t>(shapes[0].size()) + 1, "stack");
  for (size_t i = 0; i < shapes.size(); ++i) {
    PARE_CHECK(shapes[i] == shapes[0], "stack: expects each tensor to be equal size, but got ",
               shapes[0], " at entry 0 and ", shapes[i], " at entry ", i);
  }
  return d;
}

SplitGeometry split_geometry(const Shape& shape, int64_t split_size, int64_t dim) {
  PARE_CHECK(!shape.empty(), "split: cannot split a 0-d tensor");
  SplitGeometry geometry;
  geometry.dim = wrap_dim(dim, static_cast<int64_t>(shape.size()), "split");
  const int64_t length = shape[geometry.dim];
  PARE_CHECK(split_size > 0 || (split_size == 0 && length == 0), "split: split_size must be ",
             "positive, got ", split_size, " for dim ", geometry.dim, " of shape ", shape);
  if (length == 0) {
    geometry.lengths.push_back(0);
  } else {
    // Steps by each piece's length, which keeps start within length (start + split_size can
    // overflow for the sizes of a shape without storage).
    for (int64_t start = 0; start < length; start += std::min(split_size, length - start))
      geometry.lengths.push_back(std::min(split_size, length - start));
  }
  return geometry;
}

SplitGeometry chunk_geometry(const Shape& shape, int64_t chunks, int64_t dim) {
  PARE_CHECK(chunks > 0, "chunk: chunks must be positive, got ", chunks);
  PARE_CHECK(!shape.empty(), "chunk: cannot chunk a 0-d tensor");
  const int64_t d = wrap_dim(dim, static_cast<int64_t>(shape.size()), "chunk");
  const int64_t length = shape[d];
  const int64_t split_size = length == 0 ? 0 : (length - 1) / chunks + 1;  // cannot overflow
  return split_geometry(shape, split_size, d);
}

}  // namespace pare
