// The shapes of the views and shape functions from shapes alone: reshape / view, flatten,
// transpose, t, permute, slice, narrow, select, squeeze and unsqueeze. Tensor's methods
// (tensor.cpp) and the IR's shape rules (ir/ops/shape.cpp) both take them from here, so their
// checks, messages and sizes are one rule; the methods then lay out strides on the result.
//
//   pare::reshape_shape({2, 3, 4}, {4, -1}, "view");           // [4, 6]
//   pare::flatten_shape({2, 3, 4, 5}, 1, -1);                   // [2, 60]
//   pare::permute_geometry({2, 3, 4}, {2, 0, 1}).shape;         // [4, 2, 3]
//   const pare::SliceGeometry s = pare::slice_geometry({10, 3}, 0, -4, 100, 2);
//   // s.start 6, s.end 10 (clamped), s.shape [2, 3]
//   pare::select_geometry({5, 3}, 0, -1).index;                 // 4
#pragma once

#include "pare/tensor.h"

namespace pare {

// view's target with its one -1 resolved; checks that the element counts agree. reshape is
// checked as the view it makes, so its messages name view too.
Shape reshape_shape(const Shape& shape, const Shape& wanted, const char* op);

// Dims start_dim..end_dim merged into one; a 0-d tensor flattens to [1].
Shape flatten_shape(const Shape& shape, int64_t start_dim, int64_t end_dim);

struct TransposeGeometry {
  int64_t dim0 = 0, dim1 = 0;  // wrapped
  Shape shape;
};
TransposeGeometry transpose_geometry(const Shape& shape, int64_t dim0, int64_t dim1);

// t: rank <= 2 only; transposes a 2-d shape.
Shape t_shape(const Shape& shape);

struct PermuteGeometry {
  Shape dims;  // wrapped: result dim i is input dim dims[i]
  Shape shape;
};
PermuteGeometry permute_geometry(const Shape& shape, const Shape& dims);

struct SliceGeometry {
  int64_t dim = 0;             // wrapped
  int64_t start = 0, end = 0;  // clamped into [0, size], start <= end
  int64_t step = 1;
  Shape shape;
};
// x[start:end:step] along dim, Python's rules: negative bounds count from the end, then clamp.
SliceGeometry slice_geometry(const Shape& shape, int64_t dim, int64_t start, int64_t end,
                             int64_t step);
// narrow(dim, start, length) as the slice it is; unlike slice, out-of-range bounds are errors.
SliceGeometry narrow_geometry(const Shape& shape, int64_t dim, int64_t start, int64_t length);

struct SelectGeometry {
  int64_t dim = 0;    // wrapped
  int64_t index = 0;  // wrapped
  Shape shape;        // without dim
};
SelectGeometry select_geometry(const Shape& shape, int64_t dim, int64_t index);

// squeeze(): without every size-1 dim. squeeze(dim): without dim when its size is 1.
Shape squeeze_shape(const Shape& shape);
Shape squeeze_shape(const Shape& shape, int64_t dim);
// A size-1 dim inserted at dim (which may be rank).
Shape unsqueeze_shape(const Shape& shape, int64_t dim);

}  // namespace pare
