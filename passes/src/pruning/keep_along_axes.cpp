// keep_along_axes: one gather over every pruned axis, copying runs of the trailing unpruned axes.
#include "pare/passes/pruning/keep_along_axes.h"

#include <cstring>
#include <numeric>

#include "pare/creation.h"
#include "pare/error.h"

namespace pare::pruning {
namespace {

// Appends the runs at `in + index * stride` for each index to `out`; returns the end. A run of
// a fixed size is a few moves; a call to memcpy for each 4-byte column of a 1x1 conv or 36-byte
// column of a 3x3 conv would cost more than the copy.
template <size_t Bytes>
char* gather_runs(char* out, const char* in, const std::vector<int64_t>& indices, size_t stride) {
  for (int64_t index : indices) {
    std::memcpy(out, in + static_cast<size_t>(index) * stride, Bytes);
    out += Bytes;
  }
  return out;
}

char* gather_runs(char* out, const char* in, const std::vector<int64_t>& indices, size_t stride,
                  size_t run) {
  switch (run) {
    case 4:  // one float: a 1-d tensor, a Linear's or 1x1 conv's columns
      return gather_runs<4>(out, in, indices, stride);
    case 8:
      return gather_runs<8>(out, in, indices, stride);
    case 36:  // a 3x3 float kernel: a 3x3 conv's columns
      return gather_runs<36>(out, in, indices, stride);
    default:
      for (int64_t index : indices) {
        std::memcpy(out, in + static_cast<size_t>(index) * stride, run);
        out += run;
      }
      return out;
  }
}

}  // namespace

Tensor keep_along_axes(const Tensor& value, const std::map<int64_t, std::vector<int64_t>>& kept) {
  PARE_CHECK(value.defined(), "keep_along_axes: the tensor is undefined");
  const Shape& sizes = value.sizes();
  const int64_t rank = value.dim();
  if (kept.empty()) return value.detach().contiguous().clone();
  const int64_t last = kept.rbegin()->first;
  PARE_CHECK(kept.begin()->first >= 0 && last < rank, "keep_along_axes: axis ",
             kept.begin()->first < 0 ? kept.begin()->first : last, " is out of range for shape ",
             sizes, "; axes count from 0");
  // Per leading axis (up to the last pruned one): the source indices that stay, in order.
  std::vector<std::vector<int64_t>> indices(static_cast<size_t>(last + 1));
  Shape out_sizes = sizes;
  for (int64_t axis = 0; axis <= last; ++axis) {
    auto found = kept.find(axis);
    std::vector<int64_t>& list = indices[axis];
    if (found == kept.end()) {
      list.resize(static_cast<size_t>(sizes[axis]));
      std::iota(list.begin(), list.end(), int64_t{0});
    } else {
      list = found->second;
      for (int64_t index : list)
        PARE_CHECK(index >= 0 && index < sizes[axis], "keep_along_axes: index ", index,
                   " is out of range for axis ", axis, " of shape ", sizes);
    }
    out_sizes[axis] = static_cast<int64_t>(list.size());
  }
  Tensor result = empty(out_sizes, value.dtype());
  if (result.numel() == 0) return result;
  const Tensor source = value.contiguous();
  // Strides in bytes of the source's leading axes; the trailing axes are one contiguous run.
  const size_t element = value.element_size();
  size_t run = element;
  for (int64_t axis = last + 1; axis < rank; ++axis) run *= static_cast<size_t>(sizes[axis]);
  std::vector<size_t> stride(static_cast<size_t>(last + 1));
  size_t step = run;
  for (int64_t axis = last; axis >= 0; --axis) {
    stride[axis] = step;
    step *= static_cast<size_t>(sizes[axis]);
  }
  const char* in = static_cast<const char*>(source.raw_data());
  char* out = static_cast<char*>(result.raw_data());
  // Odometer over the output positions of axes [0, last): `base` is the source offset of the
  // current position, the innermost pruned axis runs inside.
  std::vector<size_t> position(static_cast<size_t>(last), 0);
  const std::vector<int64_t>& innermost = indices[last];
  while (true) {
    size_t base = 0;
    for (int64_t axis = 0; axis < last; ++axis)
      base += static_cast<size_t>(indices[axis][position[axis]]) * stride[axis];
    out = gather_runs(out, in + base, innermost, stride[last], run);
    int64_t axis = last - 1;
    for (; axis >= 0; --axis) {
      if (++position[axis] < indices[axis].size()) break;
      position[axis] = 0;
    }
    if (axis < 0) break;
  }
  return result;
}

}  // namespace pare::pruning
