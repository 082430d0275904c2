// The shapes and dtypes of the reductions from shapes alone: sum, mean, norm and var over dims
// (keepdim or not), max / min / argmax / argmin along one dim, and the whole-tensor max / min.
// The engine's reductions (reduction.cpp) plan their loops from these and the IR's shape rules
// (ir/ops/reduction.cpp) return them, so their checks, messages and sizes are one rule.
//
//   const pare::ReductionGeometry sum = pare::reduction_geometry({2, 3, 4}, {0, -1}, true, "sum");
//   // sum.output_shape [1, 3, 1]; sum.kept_shape [1, 3, 1]; sum.reduced_count 8
//   pare::reduction_geometry({2, 3}, {}, false, "mean").output_shape;   // []: every dim
//   pare::along_dim_geometry({2, 3}, -1, false, "argmax").shape;         // [2]
//   pare::sum_dtype(pare::kBool);                                        // int64
#pragma once

#include <vector>

#include "pare/dtype.h"
#include "pare/tensor.h"

namespace pare {

// Which dims a reduction folds, and the shapes on both sides of it.
struct ReductionGeometry {
  Shape input_shape;
  std::vector<bool> reduced;  // one flag per input dim
  Shape kept_shape;           // input_shape with reduced dims set to 1
  Shape output_shape;         // kept_shape, minus the reduced dims unless keepdim
  bool keepdim = false;
  int64_t reduced_count = 1;  // input elements folded into each output element
  int64_t output_count = 1;
};

// A reduction over `dims` (each wrapped, none repeated); empty `dims` reduces every dim, as
// torch.sum(x, dim=[]) does.
ReductionGeometry reduction_geometry(const Shape& shape, const Shape& dims, bool keepdim,
                                     const char* op);

// mean, norm and var reduce float32 only.
void check_float_reduction(const Shape& shape, DType dtype, const char* op);
// norm's order p: positive, or INFINITY.
void check_norm_order(double p, const Shape& shape);
// sum's result dtype: float32 stays float32; integers and bools sum to int64.
DType sum_dtype(DType dtype);

// max / min / argmax / argmin along one dim: the dim must hold at least one element. A 0-d
// input gives a 0-d result.
struct AlongDimGeometry {
  int64_t dim = 0;  // wrapped
  Shape shape;      // the values' and the indices'
};
AlongDimGeometry along_dim_geometry(const Shape& shape, int64_t dim, bool keepdim, const char* op);

// max(x) / min(x) of every element: the input must not be empty.
void check_whole_extreme(const Shape& shape, const char* op);

}  // namespace pare
