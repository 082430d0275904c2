// Tensor factories.
#include "pare/creation.h"

#include <cmath>
#include <cstring>

#include "pare/checked_math.h"
#include "pare/observer.h"
#include "strided_loop.h"

namespace pare {

namespace {

// The byte size of a new tensor of `shape`, refusing negative sizes and more than
// kMaxTensorBytes.
size_t checked_bytes(const Shape& shape, DType dtype, const char* op) {
  for (int64_t size : shape) PARE_CHECK(size >= 0, op, ": negative size in shape ", shape);
  return static_cast<size_t>(
      checked_tensor_bytes(shape, static_cast<int64_t>(element_size(dtype)), op));
}

template <typename T>
Tensor from_values(const std::vector<T>& values, const Shape& shape, DType dtype, const char* op) {
  Shape resolved = shape.empty() ? Shape{static_cast<int64_t>(values.size())} : shape;
  PARE_CHECK(shape_numel(resolved) == static_cast<int64_t>(values.size()), op, ": shape ", resolved,
             " needs ", shape_numel(resolved), " values, got ", values.size());
  Tensor result = empty(resolved, dtype);
  if (!values.empty()) std::memcpy(result.raw_data(), values.data(), values.size() * sizeof(T));
  return result;
}

}  // namespace

Tensor empty(const Shape& shape, DType dtype) {
  const size_t nbytes = checked_bytes(shape, dtype, "empty");
  auto impl = std::make_shared<TensorImpl>();
  impl->sizes = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  impl->storage = Storage::allocate(nbytes);
  return Tensor(impl);
}

Tensor zeros(const Shape& shape, DType dtype) {
  Tensor result = empty(shape, dtype);
  std::memset(result.raw_data(), 0, result.nbytes());
  return result;
}

Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }

Tensor full(const Shape& shape, double value, DType dtype) {
  Tensor result = empty(shape, dtype);
  result.fill_(value);
  return result;
}

namespace {
// A new tensor marked as options asks (set_requires_grad refuses a non-float32 one).
Tensor with_options(Tensor tensor, const TensorOptions& options) {
  if (options.requires_grad()) tensor.set_requires_grad(true);
  return tensor;
}
}  // namespace

Tensor empty(const Shape& shape, const TensorOptions& options) {
  return with_options(empty(shape, options.dtype()), options);
}
Tensor zeros(const Shape& shape, const TensorOptions& options) {
  return with_options(zeros(shape, options.dtype()), options);
}
Tensor ones(const Shape& shape, const TensorOptions& options) {
  return with_options(ones(shape, options.dtype()), options);
}
Tensor full(const Shape& shape, double value, const TensorOptions& options) {
  return with_options(full(shape, value, options.dtype()), options);
}

Tensor empty_like(const Tensor& like) { return empty(like.sizes(), like.dtype()); }
Tensor zeros_like(const Tensor& like) { return zeros(like.sizes(), like.dtype()); }
Tensor ones_like(const Tensor& like) { return ones(like.sizes(), like.dtype()); }
Tensor full_like(const Tensor& like, double value) {
  return full(like.sizes(), value, like.dtype());
}

Tensor arange(double end) { return arange(0.0, end, 1.0); }

Tensor arange(double start, double end, double step) {
  bool integral = std::floor(start) == start && std::floor(end) == end && std::floor(step) == step;
  return arange(start, end, step, integral ? kInt64 : kFloat32);
}

Tensor arange(double start, double end, double step, DType dtype) {
  PARE_CHECK(step != 0.0, "arange: step must be non-zero");
  PARE_CHECK((end - start) / step >= 0, "arange: start ", start, ", end ", end, " and step ", step,
             " give a negative length");
  const double length = std::ceil((end - start) / step);
  // Converting a double beyond int64's range (or NaN) is undefined; empty() refuses the rest.
  PARE_CHECK(std::isfinite(length) && length <= static_cast<double>(kMaxTensorBytes),
             "arange: start ", start, ", end ", end, " and step ", step, " give ", length,
             " elements, more than the largest tensor pare allows");
  int64_t count = static_cast<int64_t>(length);
  Tensor result = empty({count}, dtype);
  detail::dispatch_dtype(dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    T* data = result.data_ptr<T>();
    for (int64_t i = 0; i < count; ++i) data[i] = static_cast<T>(start + step * i);
    return 0;
  });
  return result;
}

Tensor eye(int64_t n, DType dtype) {
  Tensor result = zeros({n, n}, dtype);
  detail::dispatch_dtype(dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    T* data = result.data_ptr<T>();
    for (int64_t i = 0; i < n; ++i) data[i * n + i] = static_cast<T>(1);
    return 0;
  });
  return result;
}

Tensor scalar_tensor(double value, DType dtype) { return full({}, value, dtype); }

Tensor tensor(const std::vector<float>& values, const Shape& shape) {
  return from_values(values, shape, kFloat32, "tensor");
}
Tensor tensor(const std::vector<int64_t>& values, const Shape& shape) {
  return from_values(values, shape, kInt64, "tensor");
}
Tensor tensor(std::initializer_list<float> values, const Shape& shape) {
  return tensor(std::vector<float>(values), shape);
}
Tensor bool_tensor(const std::vector<uint8_t>& values, const Shape& shape) {
  for (uint8_t value : values)
    PARE_CHECK(value <= 1, "bool_tensor: values must be 0 or 1, got ", int(value));
  return from_values(values, shape, kBool, "bool_tensor");
}

Tensor from_blob(void* data, const Shape& shape, DType dtype, std::function<void(void*)> deleter) {
  const size_t nbytes = checked_bytes(shape, dtype, "from_blob");
  PARE_CHECK(data != nullptr || nbytes == 0, "from_blob: null data pointer");
  auto impl = std::make_shared<TensorImpl>();
  impl->sizes = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  impl->storage = Storage::wrap(data, nbytes, std::move(deleter));
  return Tensor(impl);
}

// Reading values out is no op of the model: the silent scope keeps the copies inside from being
// reported to the tracer.
std::vector<float> to_float_vector(const Tensor& tensor) {
  OpScope silent;
  Tensor values = tensor.detach().to(kFloat32).contiguous();
  const float* data = values.data_ptr<float>();
  return std::vector<float>(data, data + values.numel());
}

std::vector<int64_t> to_int64_vector(const Tensor& tensor) {
  OpScope silent;
  Tensor values = tensor.detach().to(kInt64).contiguous();
  const int64_t* data = values.data_ptr<int64_t>();
  return std::vector<int64_t>(data, data + values.numel());
}

}  // namespace pare
