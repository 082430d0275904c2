#include "pare/reduction_geometry.h"

#include <algorithm>

#include "pare/error.h"

namespace pare {

ReductionGeometry reduction_geometry(const Shape& shape, const Shape& dims, bool keepdim,
                                     const char* op) {
  ReductionGeometry geometry;
  geometry.input_shape = shape;
  geometry.keepdim = keepdim;
  const int64_t rank = static_cast<int64_t>(shape.size());
  geometry.reduced.assign(rank, dims.empty());
  std::vector<bool> seen(std::max<int64_t>(rank, 1), false);
  for (int64_t dim : dims) {
    const int64_t wrapped = wrap_dim(dim, rank, op);
    PARE_CHECK(!seen[wrapped], op, ": dim ", wrapped, " appears more than once in dims ", dims,
               " for shape ", shape);
    seen[wrapped] = true;
    if (rank > 0) geometry.reduced[wrapped] = true;
  }
  for (int64_t d = 0; d < rank; ++d) {
    const int64_t size = shape[d];
    if (geometry.reduced[d]) {
      geometry.reduced_count *= size;
      geometry.kept_shape.push_back(1);
      if (keepdim) geometry.output_shape.push_back(1);
    } else {
      geometry.output_count *= size;
      geometry.kept_shape.push_back(size);
      geometry.output_shape.push_back(size);
    }
  }
  return geometry;
}

void check_float_reduction(const Shape& shape, DType dtype, const char* op) {
  PARE_CHECK(dtype == kFloat32, op, ": expected a float32 tensor, got ", dtype_name(dtype),
             " of shape ", shape);
}

void check_norm_order(double p, const Shape& shape) {
  PARE_CHECK(p > 0.0, "norm: p must be positive or INFINITY, got ", p, " for shape ", shape);
}

DType sum_dtype(DType dtype) { return dtype == kFloat32 ? kFloat32 : kInt64; }

AlongDimGeometry along_dim_geometry(const Shape& shape, int64_t dim, bool keepdim, const char* op) {
  AlongDimGeometry geometry;
  geometry.dim = wrap_dim(dim, static_cast<int64_t>(shape.size()), op);
  if (shape.empty()) return geometry;
  PARE_CHECK(shape[geometry.dim] > 0, op, ": cannot reduce dim ", geometry.dim,
             " of size 0 in shape ", shape);
  geometry.shape = shape;
  if (keepdim) {
    geometry.shape[geometry.dim] = 1;
  } else {
    geometry.shape.erase(geometry.shape.begin() + geometry.dim);
  }
  return geometry;
}

void check_whole_extreme(const Shape& shape, const char* op) {
  PARE_CHECK(shape_numel(shape) > 0, op, ": cannot reduce an empty tensor of shape ", shape,
             "; pass a dim instead");
}

}  // namespace pare
