// The one rule for naming a dim of a tensor by its rank: every engine op and every IR shape rule
// that takes a dim (views, reductions, softmax, cat, index_select...) wraps it here, so their
// range checks and messages agree.
//
//   pare::wrap_dim(-1, 3, "softmax");   // 2
//   pare::wrap_dim(0, 0, "sum");        // 0: a 0-d tensor takes dims -1 and 0, as in PyTorch
//   pare::wrap_dim(3, 3, "softmax");    // throws "softmax: dim 3 is out of range for a tensor of
//                                       // rank 3"
#pragma once

#include <cstdint>

namespace pare {

// Wraps a possibly negative dim into [0, rank) (into [0, 1) for rank 0); `op` names the caller in
// the error.
int64_t wrap_dim(int64_t dim, int64_t rank, const char* op);

}  // namespace pare
