#include "pare/indexing_geometry.h"

#include <algorithm>

#include "pare/error.h"

namespace pare {

IndexSelectGeometry index_select_geometry(const Shape& input, int64_t dim, const Shape& index,
                                          DType index_dtype) {
  IndexSelectGeometry geometry;
  geometry.dim = wrap_dim(dim, static_cast<int64_t>(input.size()), "index_select");
  PARE_CHECK(index_dtype == kInt64, "index_select: index must be int64, got ",
             dtype_name(index_dtype), " of shape ", index);
  PARE_CHECK(index.size() <= 1, "index_select: index must be 0-d or 1-d, got shape ", index);
  if (input.empty()) {
    // A 0-d input selects as a 1-element 1-d one, then takes the index's rank.
    geometry.shape = index;
    return geometry;
  }
  geometry.shape = input;
  geometry.shape[geometry.dim] = shape_numel(index);
  return geometry;
}

Shape masked_fill_shape(const Shape& input, const Shape& mask, DType mask_dtype) {
  PARE_CHECK(mask_dtype == kBool, "masked_fill: mask must be bool, got ", dtype_name(mask_dtype),
             " of shape ", mask);
  const size_t rank = std::max(input.size(), mask.size());
  Shape result(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t size_a = i + input.size() >= rank ? input[i + input.size() - rank] : 1;
    const int64_t size_b = i + mask.size() >= rank ? mask[i + mask.size() - rank] : 1;
    PARE_CHECK(size_a == size_b || size_a == 1 || size_b == 1, "masked_fill: shapes ", input,
               " and ", mask, " do not broadcast");
    result[i] = size_a == 1 ? size_b : size_a;
  }
  return result;
}

}  // namespace pare
