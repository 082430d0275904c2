// A tensor's kept indices along several axes at once, gathered into one fresh contiguous tensor:
// what slicing a pruned member does. The result equals index_select applied axis by axis, but
// each element is copied once and no intermediate tensor is made (a conv weight that loses both
// output rows and input columns was copied twice, the second time element by element for a 1x1
// conv). The result has no autograd history.
//
//   const pare::Tensor w = pare::randn({64, 32, 3, 3});
//   pare::Tensor kept = pare::pruning::keep_along_axes(w, {{0, {0, 2, 5}}, {1, {1, 3}}});
//   // kept: [3, 2, 3, 3], kept[a][b] == w[{0, 2, 5}[a]][{1, 3}[b]]
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "pare/tensor.h"

namespace pare::pruning {

// `kept`: axis -> the indices that stay along it, in the order they land (axes not named keep
// everything). Throws pare::Error naming the axis and shape for an axis or index out of range.
Tensor keep_along_axes(const Tensor& value, const std::map<int64_t, std::vector<int64_t>>& kept);

}  // namespace pare::pruning
