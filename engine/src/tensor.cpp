// Tensor basics: storage, accessors, views (with their gradients), copies and conversions.
#include "pare/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "pare/autograd.h"
#include "pare/checked_math.h"
#include "pare/creation.h"
#include "pare/indexing.h"
#include "pare/observer.h"
#include "pare/reduction.h"
#include "pare/view_geometry.h"
#include "storage_accounting.h"
#include "strided_loop.h"

namespace pare {

namespace {

constexpr size_t kStorageAlignment = 64;

const TensorImpl& checked(const Tensor& tensor, const char* op) {
  PARE_CHECK(tensor.defined(), op, ": the tensor is undefined");
  return *tensor.impl();
}

Tensor make_view(const Tensor& base, Shape sizes, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->sizes = std::move(sizes);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = base.impl()->dtype;
  impl->device = base.impl()->device;
  return Tensor(impl);
}

template <typename To, typename From>
To convert_value(From value) {
  if constexpr (std::is_same_v<To, bool>) {
    return value != From(0);
  } else {
    return static_cast<To>(value);
  }
}

// dst[i] = convert(src[i]) over two strided tensors of one shape.
void strided_copy(const TensorImpl& dst, const TensorImpl& src) {
  detail::dispatch_dtype(dst.dtype, [&](auto* dst_tag) {
    using To = std::remove_pointer_t<decltype(dst_tag)>;
    detail::dispatch_dtype(src.dtype, [&](auto* src_tag) {
      using From = std::remove_pointer_t<decltype(src_tag)>;
      To* out = static_cast<To*>(dst.storage.data()) + dst.offset;
      const From* in = static_cast<const From*>(src.storage.data()) + src.offset;
      detail::for_each_offsets<2>(
          dst.sizes, {&dst.strides, &src.strides},
          [&](const std::array<int64_t, 2>& o) { out[o[0]] = convert_value<To>(in[o[1]]); });
      return 0;
    });
    return 0;
  });
}

void check_inplace_allowed(const Tensor& tensor, const char* op) {
  PARE_CHECK(tensor.defined(), op, ": the tensor is undefined");
  PARE_CHECK(!(grad_mode_enabled() && tensor.requires_grad()), op,
             ": in-place update of a tensor that requires grad (shape ", tensor.sizes(),
             "); wrap it in pare::NoGradGuard or use the out-of-place op");
}

}  // namespace

Storage Storage::allocate(size_t nbytes, Device device) {
  PARE_CHECK(device.is_cpu(), "Storage::allocate: device ", device,
             " is not available in this build");
  // Above the limit, the rounding below could wrap and aligned_alloc hand back a tiny block.
  PARE_CHECK(nbytes <= static_cast<size_t>(kMaxTensorBytes), "Storage::allocate: ", nbytes,
             " bytes is more than the largest tensor pare allows (2^48 bytes)");
  Storage storage;
  size_t rounded =
      (std::max<size_t>(nbytes, 1) + kStorageAlignment - 1) / kStorageAlignment * kStorageAlignment;
  void* data = std::aligned_alloc(kStorageAlignment, rounded);
  PARE_CHECK(data != nullptr, "Storage::allocate: out of memory allocating ", nbytes, " bytes");
  detail::count_storage_allocated(nbytes);
  storage.data_ = std::shared_ptr<void>(data, [nbytes](void* p) {
    std::free(p);
    detail::count_storage_freed(nbytes);
  });
  storage.nbytes_ = nbytes;
  storage.device_ = device;
  return storage;
}

Storage Storage::wrap(void* data, size_t nbytes, std::function<void(void*)> deleter) {
  Storage storage;
  if (deleter) {
    storage.data_ = std::shared_ptr<void>(data, std::move(deleter));
  } else {
    storage.data_ = std::shared_ptr<void>(data, [](void*) {});
  }
  storage.nbytes_ = nbytes;
  return storage;
}

Shape contiguous_strides(const Shape& sizes) {
  Shape strides(sizes.size());
  int64_t running = 1;
  for (int64_t i = static_cast<int64_t>(sizes.size()) - 1; i >= 0; --i) {
    strides[i] = running;
    running =
        checked_mul(running, std::max<int64_t>(sizes[i], 1), "contiguous_strides: shape ", sizes);
  }
  return strides;
}

int64_t shape_numel(const Shape& sizes) { return checked_numel(sizes, "shape_numel"); }

std::string to_string(const Shape& shape) { return str_cat(shape); }

const Shape& Tensor::sizes() const { return checked(*this, "sizes").sizes; }
const Shape& Tensor::strides() const { return checked(*this, "strides").strides; }
int64_t Tensor::size(int64_t dim) const { return sizes()[wrap_dim(dim, this->dim(), "size")]; }
int64_t Tensor::stride(int64_t dim) const {
  return strides()[wrap_dim(dim, this->dim(), "stride")];
}
int64_t Tensor::dim() const { return static_cast<int64_t>(sizes().size()); }
int64_t Tensor::numel() const { return shape_numel(sizes()); }
DType Tensor::dtype() const { return checked(*this, "dtype").dtype; }
Device Tensor::device() const { return checked(*this, "device").device; }
size_t Tensor::element_size() const { return pare::element_size(dtype()); }
size_t Tensor::nbytes() const {
  return static_cast<size_t>(
      checked_tensor_bytes(sizes(), static_cast<int64_t>(element_size()), "nbytes"));
}
int64_t Tensor::storage_offset() const { return checked(*this, "storage_offset").offset; }
const Storage& Tensor::storage() const { return checked(*this, "storage").storage; }

bool Tensor::is_contiguous() const {
  const TensorImpl& impl = checked(*this, "is_contiguous");
  int64_t expected = 1;
  for (int64_t i = static_cast<int64_t>(impl.sizes.size()) - 1; i >= 0; --i) {
    if (impl.sizes[i] == 1) continue;
    if (impl.strides[i] != expected) return false;
    expected *= impl.sizes[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  const TensorImpl& impl = checked(*this, "data_ptr");
  return static_cast<char*>(impl.storage.data()) +
         impl.offset * static_cast<int64_t>(pare::element_size(impl.dtype));
}

double Tensor::item_as_double() const {
  PARE_CHECK(defined() && numel() == 1, "item: expected a tensor with one element, got shape ",
             defined() ? sizes() : Shape{});
  return detail::dispatch_dtype(dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    return static_cast<double>(*static_cast<const T*>(raw_data()));
  });
}

Scalar Tensor::item() const {
  PARE_CHECK(defined() && numel() == 1, "item: expected a tensor with one element, got shape ",
             defined() ? sizes() : Shape{});
  if (dtype() == DType::f32) return Scalar(item_as_double());
  // Integer and bool values are read as integers so that an int64 beyond 2^53 stays exact.
  return detail::dispatch_dtype(dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    return Scalar(static_cast<int64_t>(*static_cast<const T*>(raw_data())));
  });
}

Tensor Tensor::view(const Shape& shape) const {
  OpScope scope;
  const TensorImpl& impl = checked(*this, "view");
  Shape new_sizes = reshape_shape(impl.sizes, shape, "view");
  PARE_CHECK(is_contiguous(), "view: the tensor of shape ", impl.sizes, " with strides ",
             impl.strides, " is not contiguous; use reshape()");
  Tensor result = make_view(*this, new_sizes, contiguous_strides(new_sizes), impl.offset);
  Shape input_shape = impl.sizes;
  autograd::record("view", {*this}, {result}, [input_shape](const std::vector<Tensor>& grads) {
    return std::vector<Tensor>{grads[0].reshape(input_shape)};
  });
  if (scope.should_report()) notify_function("reshape", {*this}, {{"shape", shape}}, {result});
  return result;
}

Tensor Tensor::reshape(const Shape& shape) const {
  OpScope scope;
  checked(*this, "reshape");
  Tensor result = is_contiguous() ? view(shape) : contiguous().view(shape);
  if (scope.should_report()) notify_function("reshape", {*this}, {{"shape", shape}}, {result});
  return result;
}

Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const {
  OpScope scope;
  const TensorImpl& impl = checked(*this, "transpose");
  const TransposeGeometry geometry = transpose_geometry(impl.sizes, dim0, dim1);
  const int64_t a = geometry.dim0;
  const int64_t b = geometry.dim1;
  Tensor result = *this;
  if (dim() > 0) {
    Shape strides = impl.strides;
    std::swap(strides[a], strides[b]);
    result = make_view(*this, geometry.shape, strides, impl.offset);
    autograd::record("transpose", {*this}, {result}, [a, b](const std::vector<Tensor>& grads) {
      return std::vector<Tensor>{grads[0].transpose(a, b)};
    });
  }
  if (scope.should_report()) {
    notify_function("transpose", {*this}, {{"dim0", dim0}, {"dim1", dim1}}, {result});
  }
  return result;
}

Tensor Tensor::t() const {
  OpScope scope;
  t_shape(checked(*this, "t").sizes);
  Tensor result = dim() < 2 ? *this : transpose(0, 1);
  if (scope.should_report()) notify_function("t", {*this}, {}, {result});
  return result;
}

Tensor Tensor::permute(const Shape& dims) const {
  OpScope scope;
  const TensorImpl& impl = checked(*this, "permute");
  const PermuteGeometry geometry = permute_geometry(impl.sizes, dims);
  Shape strides(dims.size()), inverse(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = geometry.dims[i];
    strides[i] = impl.strides[d];
    inverse[d] = static_cast<int64_t>(i);
  }
  Tensor result = make_view(*this, geometry.shape, strides, impl.offset);
  autograd::record("permute", {*this}, {result}, [inverse](const std::vector<Tensor>& grads) {
    return std::vector<Tensor>{grads[0].permute(inverse)};
  });
  if (scope.should_report()) notify_function("permute", {*this}, {{"dims", dims}}, {result});
  return result;
}

Tensor Tensor::narrow(int64_t dim, int64_t start, int64_t length) const {
  OpScope scope;
  const SliceGeometry geometry =
      narrow_geometry(checked(*this, "narrow").sizes, dim, start, length);
  Tensor result = slice(geometry.dim, geometry.start, geometry.end);
  if (scope.should_report()) {
    notify_function("narrow", {*this}, {{"dim", dim}, {"start", start}, {"length", length}},
                    {result});
  }
  return result;
}

Tensor Tensor::slice(int64_t dim, int64_t start, int64_t end, int64_t step) const {
  OpScope scope;
  const int64_t given_start = start;  // reported as the caller wrote them
  const int64_t given_end = end;
  const TensorImpl& impl = checked(*this, "slice");
  const SliceGeometry geometry = slice_geometry(impl.sizes, dim, start, end, step);
  const int64_t d = geometry.dim;
  start = geometry.start;
  end = geometry.end;
  Shape strides = impl.strides;
  // The stride of a dim of size 0 or 1 is never used to step, so a huge step need not fit in it.
  if (geometry.shape[d] > 1) strides[d] = checked_mul(strides[d], step, "slice: step of dim ", d);
  Tensor result = make_view(*this, geometry.shape, strides, impl.offset + start * impl.strides[d]);
  Shape input_shape = impl.sizes;
  DType dtype = impl.dtype;
  autograd::record("slice", {*this}, {result},
                   [input_shape, dtype, d, start, end, step](const std::vector<Tensor>& grads) {
                     Tensor grad = zeros(input_shape, dtype);
                     grad.slice(d, start, end, step).copy_(grads[0]);
                     return std::vector<Tensor>{grad};
                   });
  if (scope.should_report()) {
    notify_function("slice", {*this},
                    {{"dim", dim}, {"start", given_start}, {"end", given_end}, {"step", step}},
                    {result});
  }
  return result;
}

Tensor Tensor::select(int64_t dim, int64_t index) const {
  OpScope scope;
  const TensorImpl& impl = checked(*this, "select");
  const SelectGeometry geometry = select_geometry(impl.sizes, dim, index);
  const int64_t d = geometry.dim;
  const int64_t i = geometry.index;
  Shape strides = impl.strides;
  strides.erase(strides.begin() + d);
  Tensor result = make_view(*this, geometry.shape, strides, impl.offset + i * impl.strides[d]);
  Shape input_shape = impl.sizes;
  DType dtype = impl.dtype;
  autograd::record("select", {*this}, {result},
                   [input_shape, dtype, d, i](const std::vector<Tensor>& grads) {
                     Tensor grad = zeros(input_shape, dtype);
                     grad.select(d, i).copy_(grads[0]);
                     return std::vector<Tensor>{grad};
                   });
  if (scope.should_report()) {
    notify_function("select", {*this}, {{"dim", dim}, {"index", index}}, {result});
  }
  return result;
}

Tensor Tensor::squeeze() const {
  OpScope scope;
  Tensor result = reshape(squeeze_shape(sizes()));
  if (scope.should_report()) notify_function("squeeze", {*this}, {}, {result});
  return result;
}

Tensor Tensor::squeeze(int64_t dim) const {
  OpScope scope;
  const Shape shape = squeeze_shape(sizes(), dim);
  Tensor result = shape == sizes() ? *this : reshape(shape);
  if (scope.should_report()) notify_function("squeeze", {*this}, {{"dim", dim}}, {result});
  return result;
}

Tensor Tensor::unsqueeze(int64_t dim) const {
  OpScope scope;
  Tensor result = reshape(unsqueeze_shape(sizes(), dim));
  if (scope.should_report()) notify_function("unsqueeze", {*this}, {{"dim", dim}}, {result});
  return result;
}

Tensor Tensor::expand(const Shape& shape) const {
  const TensorImpl& impl = checked(*this, "expand");
  PARE_CHECK(shape.size() >= impl.sizes.size(), "expand: cannot expand shape ", impl.sizes, " to ",
             shape);
  size_t lead = shape.size() - impl.sizes.size();
  Shape sizes(shape.size()), strides(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i < lead) {
      PARE_CHECK(shape[i] >= 0, "expand: cannot expand shape ", impl.sizes, " to ", shape);
      sizes[i] = shape[i];
      strides[i] = 0;
      continue;
    }
    int64_t own = impl.sizes[i - lead];
    int64_t wanted = shape[i] == -1 ? own : shape[i];
    PARE_CHECK(own == wanted || own == 1, "expand: cannot expand shape ", impl.sizes, " to ",
               shape);
    sizes[i] = wanted;
    strides[i] = own == wanted ? impl.strides[i - lead] : 0;
  }
  checked_numel(sizes, "expand: shape ", shape);
  Tensor result = make_view(*this, sizes, strides, impl.offset);
  Shape input_shape = impl.sizes;
  autograd::record("expand", {*this}, {result}, [input_shape](const std::vector<Tensor>& grads) {
    return std::vector<Tensor>{autograd::reduce_to_shape(grads[0], input_shape)};
  });
  return result;
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  OpScope scope;
  Tensor result = reshape(flatten_shape(sizes(), start_dim, end_dim));
  if (scope.should_report()) {
    notify_function("flatten", {*this}, {{"start_dim", start_dim}, {"end_dim", end_dim}}, {result});
  }
  return result;
}

Tensor Tensor::contiguous() const {
  OpScope scope;
  checked(*this, "contiguous");
  Tensor result = is_contiguous() ? *this : clone();
  if (scope.should_report()) notify_function("contiguous", {*this}, {}, {result});
  return result;
}

Tensor Tensor::clone() const {
  const TensorImpl& impl = checked(*this, "clone");
  Tensor result = empty(impl.sizes, impl.dtype);
  strided_copy(*result.impl(), impl);
  autograd::record("clone", {*this}, {result},
                   [](const std::vector<Tensor>& grads) { return std::vector<Tensor>{grads[0]}; });
  return result;
}

Tensor Tensor::to(DType dtype) const {
  const TensorImpl& impl = checked(*this, "to");
  if (impl.dtype == dtype) return *this;
  Tensor result = empty(impl.sizes, dtype);
  strided_copy(*result.impl(), impl);
  return result;
}

Tensor Tensor::index_select(int64_t dim, const Tensor& index) const {
  return pare::index_select(*this, dim, index);
}

Tensor& Tensor::fill_(double value) {
  check_inplace_allowed(*this, "fill_");
  TensorImpl& impl = *impl_;
  detail::dispatch_dtype(impl.dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    T* data = static_cast<T*>(impl.storage.data()) + impl.offset;
    T converted = convert_value<T>(value);
    detail::for_each_offsets<1>(impl.sizes, {&impl.strides},
                                [&](const std::array<int64_t, 1>& o) { data[o[0]] = converted; });
    return 0;
  });
  return *this;
}

Tensor& Tensor::zero_() { return fill_(0.0); }

Tensor& Tensor::copy_(const Tensor& source) {
  OpScope scope;  // in-place updates are invisible to the tracer, including the views inside
  check_inplace_allowed(*this, "copy_");
  PARE_CHECK(source.defined(), "copy_: the source tensor is undefined");
  Tensor expanded = source.sizes() == sizes() ? source : source.detach().expand(sizes());
  if (storage().data() == expanded.storage().data()) expanded = expanded.detach().clone();
  strided_copy(*impl_, *expanded.impl());
  return *this;
}

bool Tensor::requires_grad() const {
  const TensorImpl& impl = checked(*this, "requires_grad");
  return impl.requires_grad || impl.grad_fn != nullptr;
}

Tensor& Tensor::set_requires_grad(bool requires_grad) {
  TensorImpl& impl = *impl_;
  PARE_CHECK(impl.grad_fn == nullptr, "set_requires_grad: only leaf tensors can be marked; this ",
             "tensor of shape ", impl.sizes, " is the result of ", "an op");
  PARE_CHECK(!requires_grad || impl.dtype == DType::f32,
             "set_requires_grad: only float32 tensors can require gradients, got ",
             dtype_name(impl.dtype));
  impl.requires_grad = requires_grad;
  return *this;
}

const Tensor& Tensor::grad() const { return checked(*this, "grad").grad; }
Tensor& Tensor::mutable_grad() const {
  checked(*this, "mutable_grad");
  return impl_->grad;
}

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  autograd::run_backward({*this}, {gradient}, retain_graph);
}

Tensor Tensor::detach() const {
  const TensorImpl& impl = checked(*this, "detach");
  return make_view(*this, impl.sizes, impl.strides, impl.offset);
}

bool Tensor::is_leaf() const { return checked(*this, "is_leaf").grad_fn == nullptr; }

const std::shared_ptr<autograd::GradNode>& Tensor::grad_fn() const {
  return checked(*this, "grad_fn").grad_fn;
}

namespace {

void print_values(std::ostream& stream, const Tensor& tensor, int64_t dim,
                  const std::vector<double>& values, int64_t& cursor, int indent) {
  const int64_t rank = tensor.dim();
  const int64_t count = tensor.size(dim);
  constexpr int64_t kEdge = 3;
  const bool summarise = tensor.numel() > 1000 && count > 2 * kEdge;
  stream << '[';
  for (int64_t i = 0; i < count; ++i) {
    if (summarise && i == kEdge) {
      int64_t skipped = count - 2 * kEdge;
      int64_t per_item = shape_numel(Shape(tensor.sizes().begin() + dim + 1, tensor.sizes().end()));
      cursor += skipped * per_item;
      stream << "...";
      i += skipped - 1;
      if (dim == rank - 1) {
        stream << ", ";
      } else {
        stream << ",\n" << std::string(indent + 1, ' ');
      }
      continue;
    }
    if (dim == rank - 1) {
      double value = values[cursor++];
      if (tensor.dtype() == DType::f32) {
        stream << std::fixed;
        stream.precision(4);
        stream << value;
        stream.unsetf(std::ios_base::floatfield);
      } else if (tensor.dtype() == DType::boolean) {
        stream << (value != 0 ? "True" : "False");
      } else {
        stream << static_cast<int64_t>(value);
      }
      if (i + 1 < count) stream << ", ";
    } else {
      print_values(stream, tensor, dim + 1, values, cursor, indent + 1);
      if (i + 1 < count) stream << ",\n" << std::string(indent + 1, ' ');
    }
  }
  stream << ']';
}

}  // namespace

std::ostream& operator<<(std::ostream& stream, const Tensor& tensor) {
  OpScope scope;  // printing inside a traced forward must not add nodes
  if (!tensor.defined()) return stream << "tensor(undefined)";
  Tensor values_tensor = tensor.detach().to(DType::f32).contiguous();
  std::vector<double> values(values_tensor.numel());
  const float* data = values_tensor.data_ptr<float>();
  if (tensor.dtype() == DType::i64) {
    Tensor as_int = tensor.detach().contiguous();
    const int64_t* ints = as_int.data_ptr<int64_t>();
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(ints[i]);
  } else {
    for (size_t i = 0; i < values.size(); ++i) values[i] = data[i];
  }
  stream << "tensor(";
  if (tensor.dim() == 0) {
    stream << values[0];
  } else {
    int64_t cursor = 0;
    print_values(stream, tensor, 0, values, cursor, 7);
  }
  stream << ", shape=" << to_string(tensor.sizes()) << ", dtype=" << tensor.dtype();
  if (tensor.requires_grad()) stream << ", requires_grad=true";
  return stream << ")";
}

}  // namespace pare
