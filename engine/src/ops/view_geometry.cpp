#include "pare/view_geometry.h"

#include <algorithm>

#include "pare/checked_math.h"
#include "pare/error.h"

namespace pare {

Shape reshape_shape(const Shape& shape, const Shape& wanted, const char* op) {
  const int64_t numel = shape_numel(shape);
  Shape result = wanted;
  int64_t known = 1;
  int64_t infer_at = -1;
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (wanted[i] == -1) {
      PARE_CHECK(infer_at < 0, op, ": only one dimension can be -1, got ", wanted);
      infer_at = static_cast<int64_t>(i);
    } else {
      PARE_CHECK(wanted[i] >= 0, op, ": invalid size in shape ", wanted);
      known = checked_mul(known, wanted[i], op, ": shape ", wanted);
    }
  }
  if (infer_at >= 0) {
    PARE_CHECK(known != 0 && numel % known == 0, op, ": shape ", wanted,
               " is invalid for input of size ", numel);
    result[infer_at] = numel / known;
  } else {
    PARE_CHECK(known == numel, op, ": shape ", wanted, " is invalid for input of size ", numel);
  }
  return result;
}

Shape flatten_shape(const Shape& shape, int64_t start_dim, int64_t end_dim) {
  if (shape.empty()) return {1};
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t start = wrap_dim(start_dim, rank, "flatten");
  const int64_t end = wrap_dim(end_dim, rank, "flatten");
  PARE_CHECK(start <= end, "flatten: start_dim ", start_dim, " is after end_dim ", end_dim,
             " for shape ", shape);
  Shape result(shape.begin(), shape.begin() + start);
  int64_t merged = 1;
  for (int64_t i = start; i <= end; ++i)
    merged = checked_mul(merged, shape[i], "flatten: shape ", shape);
  result.push_back(merged);
  result.insert(result.end(), shape.begin() + end + 1, shape.end());
  return result;
}

TransposeGeometry transpose_geometry(const Shape& shape, int64_t dim0, int64_t dim1) {
  const int64_t rank = static_cast<int64_t>(shape.size());
  TransposeGeometry geometry;
  geometry.dim0 = wrap_dim(dim0, rank, "transpose");
  geometry.dim1 = wrap_dim(dim1, rank, "transpose");
  geometry.shape = shape;
  if (rank > 0) std::swap(geometry.shape[geometry.dim0], geometry.shape[geometry.dim1]);
  return geometry;
}

Shape t_shape(const Shape& shape) {
  PARE_CHECK(shape.size() <= 2, "t: expected a tensor of rank <= 2, got shape ", shape);
  Shape result = shape;
  if (result.size() == 2) std::swap(result[0], result[1]);
  return result;
}

PermuteGeometry permute_geometry(const Shape& shape, const Shape& dims) {
  const int64_t rank = static_cast<int64_t>(shape.size());
  PARE_CHECK(static_cast<int64_t>(dims.size()) == rank, "permute: got ", dims.size(),
             " dims for a tensor of shape ", shape);
  PermuteGeometry geometry;
  std::vector<bool> seen(dims.size(), false);
  for (int64_t dim : dims) {
    const int64_t d = wrap_dim(dim, rank, "permute");
    PARE_CHECK(!seen[d], "permute: dim ", d, " repeated in ", dims);
    seen[d] = true;
    geometry.dims.push_back(d);
    geometry.shape.push_back(shape[d]);
  }
  return geometry;
}

SliceGeometry slice_geometry(const Shape& shape, int64_t dim, int64_t start, int64_t end,
                             int64_t step) {
  PARE_CHECK(!shape.empty(), "slice: cannot slice a 0-d tensor");
  PARE_CHECK(step > 0, "slice: step must be positive, got ", step);
  SliceGeometry geometry;
  geometry.dim = wrap_dim(dim, static_cast<int64_t>(shape.size()), "slice");
  const int64_t length = shape[geometry.dim];
  if (start < 0) start += length;
  if (end < 0) end += length;
  geometry.start = std::clamp<int64_t>(start, 0, length);
  geometry.end = std::clamp<int64_t>(end, geometry.start, length);
  geometry.step = step;
  geometry.shape = shape;
  // ceil((end - start) / step), written so that a huge step cannot overflow.
  geometry.shape[geometry.dim] =
      geometry.end == geometry.start ? 0 : (geometry.end - geometry.start - 1) / step + 1;
  return geometry;
}

SliceGeometry narrow_geometry(const Shape& shape, int64_t dim, int64_t start, int64_t length) {
  PARE_CHECK(length >= 0, "narrow: negative length ", length);
  PARE_CHECK(!shape.empty(), "narrow: cannot narrow a 0-d tensor");
  const int64_t d = wrap_dim(dim, static_cast<int64_t>(shape.size()), "narrow");
  const int64_t size = shape[d];
  const int64_t begin = start < 0 ? start + size : start;
  // Compared as `length <= size - begin` because begin + length can overflow.
  PARE_CHECK(begin >= 0 && begin <= size && length <= size - begin, "narrow: start ", start,
             " and length ", length, " are out of bounds for dim ", d, " of shape ", shape);
  return slice_geometry(shape, d, begin, begin + length, 1);
}

SelectGeometry select_geometry(const Shape& shape, int64_t dim, int64_t index) {
  PARE_CHECK(!shape.empty(), "select: cannot select on a 0-d tensor");
  SelectGeometry geometry;
  geometry.dim = wrap_dim(dim, static_cast<int64_t>(shape.size()), "select");
  const int64_t size = shape[geometry.dim];
  geometry.index = index < 0 ? index + size : index;
  PARE_CHECK(geometry.index >= 0 && geometry.index < size, "select: index ", index,
             " is out of range for dim ", geometry.dim, " of shape ", shape);
  geometry.shape = shape;
  geometry.shape.erase(geometry.shape.begin() + geometry.dim);
  return geometry;
}

Shape squeeze_shape(const Shape& shape) {
  Shape result;
  for (int64_t size : shape)
    if (size != 1) result.push_back(size);
  return result;
}

Shape squeeze_shape(const Shape& shape, int64_t dim) {
  Shape result = shape;
  if (result.empty()) return result;
  const int64_t d = wrap_dim(dim, static_cast<int64_t>(result.size()), "squeeze");
  if (result[d] == 1) result.erase(result.begin() + d);
  return result;
}

Shape unsqueeze_shape(const Shape& shape, int64_t dim) {
  const int64_t d = wrap_dim(dim, static_cast<int64_t>(shape.size()) + 1, "unsqueeze");
  Shape result = shape;
  result.insert(result.begin() + d, 1);
  return result;
}

}  // namespace pare
