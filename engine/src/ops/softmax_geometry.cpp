#include "pare/softmax_geometry.h"

#include "pare/error.h"

namespace pare {

kernels::SoftmaxParams softmax_geometry(const Shape& input, DType dtype, int64_t dim,
                                        const char* op) {
  PARE_CHECK(dtype == kFloat32, op, ": expected a float32 input, got ", dtype_name(dtype),
             " of shape ", input);
  const int64_t rank = static_cast<int64_t>(input.size());
  const int64_t axis = wrap_dim(dim, rank, op);
  kernels::SoftmaxParams params;
  if (rank == 0) {
    params.outer = params.axis = params.inner = 1;
    return params;
  }
  params.outer = shape_numel(Shape(input.begin(), input.begin() + axis));
  params.axis = input[axis];
  params.inner = shape_numel(Shape(input.begin() + axis + 1, input.end()));
  return params;
}

}  // namespace pare
