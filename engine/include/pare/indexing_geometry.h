// The shapes of index_select and masked_fill from shapes alone. The engine's ops (indexing.cpp)
// and the IR's shape rules (ir/ops/indexing.cpp) both take them from here, so their checks,
// messages and sizes are one rule. What shapes cannot tell stays in the engine: that index
// values lie within the dim.
//
//   pare::index_select_geometry({4, 5}, -1, {3}, pare::kInt64).shape;   // [4, 3]
//   pare::index_select_geometry({}, 0, {}, pare::kInt64).shape;         // []: 0-d by a 0-d index
//   pare::masked_fill_shape({2, 3}, {1, 3}, pare::kBool);               // [2, 3]
#pragma once

#include "pare/dtype.h"
#include "pare/tensor.h"

namespace pare {

struct IndexSelectGeometry {
  int64_t dim = 0;  // wrapped
  Shape shape;      // the input's with dim sized as the index (a 0-d input: the index's)
};
// Checks dim against the input's rank and a 0-d or 1-d int64 index.
IndexSelectGeometry index_select_geometry(const Shape& input, int64_t dim, const Shape& index,
                                          DType index_dtype);

// Checks a bool mask that broadcasts with the input; returns the broadcast shape.
Shape masked_fill_shape(const Shape& input, const Shape& mask, DType mask_dtype);

}  // namespace pare
