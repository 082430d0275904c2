// softmax's and log_softmax's checks and kernel view from shapes alone: a float32 input and a dim
// within its rank, seen as [outer, axis, inner]. The engine's ops (softmax.cpp) and the IR's
// shape rule (ir/ops/softmax.cpp) both take them from here, so their checks and messages are one
// rule; both ops return the input's shape.
//
//   pare::softmax_geometry({2, 3, 4}, pare::kFloat32, 1, "softmax");   // outer 2, axis 3, inner 4
//   pare::softmax_geometry({}, pare::kFloat32, -1, "log_softmax");     // 1, 1, 1 (a 0-d input)
#pragma once

#include "pare/dtype.h"
#include "pare/kernels/softmax.h"
#include "pare/tensor.h"

namespace pare {

// `op` is "softmax" or "log_softmax", for the messages.
kernels::SoftmaxParams softmax_geometry(const Shape& input, DType dtype, int64_t dim,
                                        const char* op);

}  // namespace pare
