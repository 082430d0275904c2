// Selecting and joining: index_select, cat, stack, split, chunk, nonzero, masked_fill and
// gather_rows, with their gradients.
//
// The public ops report themselves to the tracer (observer.h) under torch's names, except:
// - nonzero: its output size depends on the mask's values, which a graph cannot describe from
//   shapes alone (shape inference needs shapes to determine shapes). Its int64 result has no
//   gradient history either, so the tracer cannot tell it from a constant: a model that feeds it
//   input-dependent values traces with the example's result baked in.
// - gather_rows: nll_loss's internal helper (nll_loss reports itself); no torch function has its
//   exact meaning, so no graph target could name it.
#include "pare/indexing.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>

#include "pare/autograd.h"
#include "pare/checked_math.h"
#include "pare/creation.h"
#include "pare/indexing_geometry.h"
#include "pare/join_geometry.h"
#include "pare/observer.h"
#include "strided_loop.h"

namespace pare {

namespace {

int64_t product(const Shape& sizes, size_t begin, size_t end) {
  int64_t result = 1;
  for (size_t i = begin; i < end; ++i) result *= sizes[i];
  return result;
}

// The index values of a 0-d or 1-d int64 tensor, checked against [0, limit).
std::vector<int64_t> checked_indices(const Tensor& index, int64_t limit, int64_t dim,
                                     const char* op) {
  PARE_CHECK(index.defined(), op, ": the index tensor is undefined");
  PARE_CHECK(index.dtype() == kInt64, op, ": index must be int64, got ", dtype_name(index.dtype()),
             " of shape ", index.sizes());
  PARE_CHECK(index.dim() <= 1, op, ": index must be 0-d or 1-d, got shape ", index.sizes());
  std::vector<int64_t> values = to_int64_vector(index);
  for (int64_t value : values) {
    PARE_CHECK(value >= 0 && value < limit, op, ": index ", value, " is out of range for dim ", dim,
               " with size ", limit);
  }
  return values;
}

Tensor select_indices(const Tensor& x, int64_t dim, const Tensor& index) {
  PARE_CHECK(x.defined(), "index_select: the tensor is undefined");
  PARE_CHECK(index.defined(), "index_select: the index tensor is undefined");
  const IndexSelectGeometry geometry =
      index_select_geometry(x.sizes(), dim, index.sizes(), index.dtype());
  if (x.dim() == 0) return select_indices(x.reshape({1}), 0, index).reshape(geometry.shape);
  const int64_t d = geometry.dim;
  const int64_t dim_size = x.size(d);
  // Only the values are left to check: whether they fall within the dim.
  const std::vector<int64_t> indices = checked_indices(index, dim_size, d, "index_select");
  const int64_t count = static_cast<int64_t>(indices.size());
  Tensor result = empty(geometry.shape, x.dtype());
  const Tensor source = x.detach();
  if (source.is_contiguous()) {
    const int64_t outer = product(x.sizes(), 0, d);
    const size_t chunk_bytes = product(x.sizes(), d + 1, x.dim()) * x.element_size();
    const char* in = static_cast<const char*>(source.raw_data());
    char* out = static_cast<char*>(result.raw_data());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < count; ++k)
        std::memcpy(out + (o * count + k) * chunk_bytes,
                    in + (o * dim_size + indices[k]) * chunk_bytes, chunk_bytes);
  } else {
    for (int64_t k = 0; k < count; ++k) result.select(d, k).copy_(source.select(d, indices[k]));
  }
  const Shape input_shape = x.sizes();
  autograd::record("index_select", {x}, {result},
                   [input_shape, d, indices](const std::vector<Tensor>& grads) {
                     if (!grads[0].defined()) return std::vector<Tensor>{Tensor()};
                     // index_add of the gradient into zeros: repeated indices accumulate.
                     Tensor grad = grads[0].contiguous();
                     Tensor result = zeros(input_shape, kFloat32);
                     const int64_t outer = product(input_shape, 0, d);
                     const int64_t inner = product(input_shape, d + 1, input_shape.size());
                     const int64_t dim_size = input_shape[d];
                     const int64_t count = static_cast<int64_t>(indices.size());
                     const float* g = grad.data_ptr<float>();
                     float* out = result.data_ptr<float>();
                     for (int64_t o = 0; o < outer; ++o) {
                       for (int64_t k = 0; k < count; ++k) {
                         const float* from = g + (o * count + k) * inner;
                         float* to = out + (o * dim_size + indices[k]) * inner;
                         for (int64_t i = 0; i < inner; ++i) to[i] += from[i];
                       }
                     }
                     return std::vector<Tensor>{result};
                   });
  return result;
}

// What split and chunk return when there is a single piece: the tracer records an op with one
// output as a tensor, not a one-element tuple, so the piece is reported as the slice it is
// (clamped at the end, as the first piece of a split of any length is).
void report_single_piece(const Tensor& x, int64_t dim, int64_t end, const Tensor& piece) {
  notify_function("slice", {x},
                  {{"dim", dim}, {"start", int64_t{0}}, {"end", end}, {"step", int64_t{1}}},
                  {piece});
}

}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  OpScope scope;
  Tensor result = select_indices(x, dim, index);
  if (scope.should_report()) notify_function("index_select", {x, index}, {{"dim", dim}}, {result});
  return result;
}

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  OpScope scope;
  std::vector<Shape> shapes;
  std::vector<DType> dtypes;
  for (size_t i = 0; i < tensors.size(); ++i) {
    PARE_CHECK(tensors[i].defined(), "cat: tensor ", i, " is undefined");
    shapes.push_back(tensors[i].sizes());
    dtypes.push_back(tensors[i].dtype());
  }
  const CatGeometry geometry = cat_geometry(shapes, dtypes, dim);
  const int64_t d = geometry.dim;
  const Shape& result_shape = geometry.shape;
  Tensor result = empty(result_shape, geometry.dtype);
  const int64_t outer = product(result_shape, 0, d);
  const int64_t inner = product(result_shape, d + 1, result_shape.size());
  const size_t element_bytes = element_size(geometry.dtype);
  std::vector<Tensor> inputs;
  std::vector<int64_t> offsets, lengths;
  int64_t offset = 0;
  for (size_t i : geometry.parts) {
    const Tensor source = tensors[i].detach();
    const int64_t length = source.size(d);
    if (source.is_contiguous()) {
      const size_t chunk_bytes = length * inner * element_bytes;
      const char* in = static_cast<const char*>(source.raw_data());
      char* out = static_cast<char*>(result.raw_data());
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(out + (o * result_shape[d] + offset) * inner * element_bytes,
                    in + o * chunk_bytes, chunk_bytes);
    } else {
      result.narrow(d, offset, length).copy_(source);
    }
    inputs.push_back(tensors[i]);
    offsets.push_back(offset);
    lengths.push_back(length);
    offset += length;
  }
  autograd::record("cat", inputs, {result},
                   [d, offsets, lengths](const std::vector<Tensor>& grads) {
                     std::vector<Tensor> result(offsets.size());
                     if (!grads[0].defined()) return result;
                     for (size_t i = 0; i < offsets.size(); ++i)
                       result[i] = grads[0].narrow(d, offsets[i], lengths[i]);
                     return result;
                   });
  if (scope.should_report()) notify_function("cat", tensors, {{"dim", dim}}, {result});
  return result;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  OpScope scope;
  std::vector<Shape> shapes;
  for (size_t i = 0; i < tensors.size(); ++i) {
    PARE_CHECK(tensors[i].defined(), "stack: tensor ", i, " is undefined");
    shapes.push_back(tensors[i].sizes());
  }
  const int64_t d = stack_dim(shapes, dim);
  std::vector<Tensor> expanded;
  for (const Tensor& tensor : tensors) expanded.push_back(tensor.unsqueeze(d));
  Tensor result = cat(expanded, d);
  if (scope.should_report()) notify_function("stack", tensors, {{"dim", dim}}, {result});
  return result;
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  OpScope scope;
  PARE_CHECK(x.defined(), "split: the tensor is undefined");
  const SplitGeometry geometry = split_geometry(x.sizes(), split_size, dim);
  std::vector<Tensor> pieces;
  int64_t start = 0;
  for (int64_t length : geometry.lengths) {
    pieces.push_back(x.narrow(geometry.dim, start, length));
    start += length;
  }
  if (scope.should_report()) {
    if (pieces.size() == 1) {
      report_single_piece(x, dim, split_size, pieces[0]);
    } else {
      notify_function("split", {x}, {{"split_size", split_size}, {"dim", dim}}, pieces);
    }
  }
  return pieces;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  OpScope scope;
  PARE_CHECK(x.defined(), "chunk: the tensor is undefined");
  const SplitGeometry geometry = chunk_geometry(x.sizes(), chunks, dim);
  const int64_t d = geometry.dim;
  const int64_t split_size = geometry.lengths[0];  // every piece's but the last
  std::vector<Tensor> pieces = split(x, split_size, d);
  if (scope.should_report()) {
    if (pieces.size() == 1) {
      // One chunk is the whole tensor whatever its length.
      const int64_t end = chunks == 1 ? std::numeric_limits<int64_t>::max() : split_size;
      report_single_piece(x, dim, end, pieces[0]);
    } else {
      notify_function("chunk", {x}, {{"chunks", chunks}, {"dim", dim}}, pieces);
    }
  }
  return pieces;
}

Tensor nonzero(const Tensor& mask) {
  PARE_CHECK(mask.defined(), "nonzero: the tensor is undefined");
  PARE_CHECK(mask.dim() == 1, "nonzero: expected a 1-d tensor, got shape ", mask.sizes());
  std::vector<int64_t> positions;
  detail::dispatch_dtype(mask.dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T* data = static_cast<const T*>(mask.raw_data());
    const int64_t step = mask.stride(0);
    for (int64_t i = 0; i < mask.size(0); ++i)
      if (data[i * step] != T(0)) positions.push_back(i);
    return 0;
  });
  return tensor(positions, {static_cast<int64_t>(positions.size())});
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  OpScope scope;
  PARE_CHECK(x.defined() && mask.defined(), "masked_fill: a tensor is undefined");
  const Shape result_shape = masked_fill_shape(x.sizes(), mask.sizes(), mask.dtype());
  Tensor result = empty(result_shape, x.dtype());
  const Tensor mask_view = mask.detach().expand(result_shape);
  const Tensor x_view = x.detach().expand(result_shape);
  const bool* mask_data = static_cast<const bool*>(mask_view.raw_data());
  detail::dispatch_dtype(x.dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T fill = std::is_same_v<T, bool> ? T(value != 0.0) : static_cast<T>(value);
    const T* in = static_cast<const T*>(x_view.raw_data());
    T* out = result.data_ptr<T>();
    detail::for_each_offsets<3>(
        result_shape, {&result.strides(), &x_view.strides(), &mask_view.strides()},
        [&](const std::array<int64_t, 3>& o) { out[o[0]] = mask_data[o[2]] ? fill : in[o[1]]; });
    return 0;
  });
  const Shape input_shape = x.sizes();
  autograd::record(
      "masked_fill", {x}, {result}, [input_shape, mask_view](const std::vector<Tensor>& grads) {
        if (!grads[0].defined()) return std::vector<Tensor>{Tensor()};
        const Tensor& grad = grads[0];
        Tensor kept = empty(grad.sizes(), kFloat32);
        const float* g = grad.data_ptr<float>();
        const bool* masked = static_cast<const bool*>(mask_view.raw_data());
        float* out = kept.data_ptr<float>();
        detail::for_each_offsets<3>(
            grad.sizes(), {&kept.strides(), &grad.strides(), &mask_view.strides()},
            [&](const std::array<int64_t, 3>& o) { out[o[0]] = masked[o[2]] ? 0.0f : g[o[1]]; });
        return std::vector<Tensor>{autograd::reduce_to_shape(kept, input_shape)};
      });
  if (scope.should_report())
    notify_function("masked_fill", {x, mask}, {{"value", value}}, {result});
  return result;
}

Tensor gather_rows(const Tensor& x, const Tensor& index) {
  PARE_CHECK(x.defined() && index.defined(), "gather_rows: a tensor is undefined");
  PARE_CHECK(x.dim() == 2, "gather_rows: expected a 2-d tensor, got shape ", x.sizes());
  PARE_CHECK(index.dim() == 1 && index.size(0) == x.size(0),
             "gather_rows: index must be 1-d with one entry per row, got index shape ",
             index.sizes(), " for input shape ", x.sizes());
  const std::vector<int64_t> columns = checked_indices(index, x.size(1), 1, "gather_rows");
  const int64_t rows = x.size(0);
  Tensor result = empty({rows}, x.dtype());
  detail::dispatch_dtype(x.dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T* in = static_cast<const T*>(x.raw_data());
    T* out = result.data_ptr<T>();
    for (int64_t i = 0; i < rows; ++i) out[i] = in[i * x.stride(0) + columns[i] * x.stride(1)];
    return 0;
  });
  const Shape input_shape = x.sizes();
  autograd::record("gather_rows", {x}, {result},
                   [input_shape, columns](const std::vector<Tensor>& grads) {
                     if (!grads[0].defined()) return std::vector<Tensor>{Tensor()};
                     Tensor result = zeros(input_shape, kFloat32);
                     float* out = result.data_ptr<float>();
                     const float* g = grads[0].data_ptr<float>();
                     const int64_t step = grads[0].stride(0);
                     for (int64_t i = 0; i < input_shape[0]; ++i)
                       out[i * input_shape[1] + columns[i]] = g[i * step];
                     return std::vector<Tensor>{result};
                   });
  return result;
}

}  // namespace pare
