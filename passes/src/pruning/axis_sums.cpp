// Per-index sums along one axis, in the fixed order the header promises, fast.
//
// One index's sum is a chain of dependent double additions: summed one index after another, the
// chain's latency (several cycles per add) bounds the loop, which was most of the time of an l2
// prune of ResNet-50. The kernel below keeps every index's order and runs kLanes indices' chains
// side by side instead, so that their additions overlap; each chain still starts from 0.0 and
// adds its terms in row-major order, so the sums are bit-identical to plain loops.
#include "pare/passes/pruning/axis_sums.h"

#include <cmath>

#include "pare/error.h"

namespace pare::pruning {
namespace {

// The tensor as [outer, size, inner] around `axis`.
struct AxisView {
  int64_t outer = 1, size = 1, inner = 1;
};

AxisView axis_view(const Shape& shape, int64_t axis) {
  AxisView view;
  for (int64_t d = 0; d < axis; ++d) view.outer *= shape[d];
  for (int64_t d = axis + 1; d < static_cast<int64_t>(shape.size()); ++d) view.inner *= shape[d];
  view.size = shape[axis];
  return view;
}

// Independent chains in flight at once: enough to hide the add latency with scalar code.
constexpr int64_t kLanes = 8;

// sums[i] += term(flat offset) over the offsets of index i, outer slab by outer slab, each slab's
// inner run in order.
template <typename Term>
std::vector<double> per_index_sums(const Shape& shape, int64_t axis, Term term) {
  const AxisView view = axis_view(shape, axis);
  std::vector<double> sums(static_cast<size_t>(view.size), 0.0);
  double* out = sums.data();
  for (int64_t o = 0; o < view.outer; ++o) {
    const int64_t slab = o * view.size * view.inner;
    if (view.inner == 1) {
      // One term per index per slab: the indices are the independent chains (and vectorise).
      for (int64_t i = 0; i < view.size; ++i) out[i] += term(slab + i);
      continue;
    }
    int64_t i = 0;
    for (; i + kLanes <= view.size; i += kLanes) {
      double lane[kLanes];
      for (int64_t j = 0; j < kLanes; ++j) lane[j] = out[i + j];
      const int64_t first = slab + i * view.inner;
      for (int64_t k = 0; k < view.inner; ++k)
        for (int64_t j = 0; j < kLanes; ++j) lane[j] += term(first + j * view.inner + k);
      for (int64_t j = 0; j < kLanes; ++j) out[i + j] = lane[j];
    }
    for (; i < view.size; ++i) {
      double sum = out[i];
      const int64_t first = slab + i * view.inner;
      for (int64_t k = 0; k < view.inner; ++k) sum += term(first + k);
      out[i] = sum;
    }
  }
  return sums;
}

void check_float(const Tensor& value, int64_t axis, const char* what) {
  PARE_CHECK(value.defined() && value.dtype() == kFloat32, what,
             ": expected a float32 tensor, got ",
             value.defined() ? dtype_name(value.dtype()) : "an undefined one");
  PARE_CHECK(axis >= 0 && axis < value.dim(), what, ": axis ", axis, " is out of range for shape ",
             value.sizes());
}

}  // namespace

std::vector<double> per_index_power_sums(const Tensor& value, int64_t axis, double p) {
  check_float(value, axis, "per_index_power_sums");
  const Tensor dense = value.contiguous();
  const float* data = dense.data_ptr<float>();
  if (p == 1.0)
    return per_index_sums(value.sizes(), axis,
                          [data](int64_t at) { return std::abs(static_cast<double>(data[at])); });
  if (p == 2.0) {
    // x * x is |x| * |x| exactly, and a float's square is exact in double.
    return per_index_sums(value.sizes(), axis, [data](int64_t at) {
      const double x = data[at];
      return x * x;
    });
  }
  return per_index_sums(value.sizes(), axis, [data, p](int64_t at) {
    return std::pow(std::abs(static_cast<double>(data[at])), p);
  });
}

std::vector<double> per_index_products(const Tensor& value, const Tensor& other, int64_t axis) {
  check_float(value, axis, "per_index_products");
  check_float(other, axis, "per_index_products");
  PARE_CHECK(value.sizes() == other.sizes(), "per_index_products: shapes ", value.sizes(), " and ",
             other.sizes(), " differ; pass a tensor and its gradient");
  const Tensor dense_value = value.contiguous(), dense_other = other.contiguous();
  const float* w = dense_value.data_ptr<float>();
  const float* g = dense_other.data_ptr<float>();
  return per_index_sums(value.sizes(), axis,
                        [w, g](int64_t at) { return static_cast<double>(w[at]) * g[at]; });
}

}  // namespace pare::pruning
