#include "pare/dim_geometry.h"

#include <algorithm>

#include "pare/error.h"

namespace pare {

int64_t wrap_dim(int64_t dim, int64_t rank, const char* op) {
  int64_t effective_rank = std::max<int64_t>(rank, 1);
  PARE_CHECK(dim >= -effective_rank && dim < effective_rank, op, ": dim ", dim,
             " is out of range for a tensor of rank ", rank);
  return dim < 0 ? dim + effective_rank : dim;
}

}  // namespace pare
