// pare::Tensor: a shared handle to an n-dimensional array (shape, strides, offset over a 64-byte
// aligned storage), with define-by-run autograd. Copying a Tensor copies the handle, not the
// data, exactly like torch::Tensor.
//
//   pare::Tensor x = pare::randn({2, 3}).set_requires_grad(true);
//   pare::Tensor y = (x * 2.0 + 1.0).sum();
//   y.backward();                       // x.grad() == 2 everywhere
//   auto row = x.select(0, 1);          // a view: shares x's storage
//   std::cout << x.sizes()[1] << " " << y.item<float>() << "\n" << x << "\n";
//   float value = y.item();             // libtorch's spelling; int64_t for an int64 tensor
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "pare/dim_geometry.h"
#include "pare/dtype.h"
#include "pare/error.h"
#include "pare/scalar.h"

namespace pare {

using Shape = std::vector<int64_t>;

namespace autograd {
struct GradNode;
}

// A reference-counted byte buffer, 64-byte aligned when pare allocates it. Views share one.
class Storage {
 public:
  Storage() = default;
  static Storage allocate(size_t nbytes, Device device = kCPU);
  // Wraps memory the caller owns; `deleter` (may be empty) runs when the last user is gone.
  static Storage wrap(void* data, size_t nbytes, std::function<void(void*)> deleter = {});
  void* data() const { return data_.get(); }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  std::shared_ptr<void> data_;
  size_t nbytes_ = 0;
  Device device_ = kCPU;
};

struct TensorImpl;

class Tensor {
 public:
  // An undefined tensor (like a default torch::Tensor): defined() is false.
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  const Shape& sizes() const;
  const Shape& strides() const;
  // Negative dims count from the end, as in PyTorch.
  int64_t size(int64_t dim) const;
  int64_t stride(int64_t dim) const;
  int64_t dim() const;
  int64_t numel() const;
  DType dtype() const;
  Device device() const;
  size_t element_size() const;
  size_t nbytes() const;
  int64_t storage_offset() const;
  bool is_contiguous() const;
  const Storage& storage() const;

  // Pointer to the first element; throws if T does not match dtype().
  template <typename T>
  T* data_ptr() const {
    PARE_CHECK(defined(), "data_ptr: the tensor is undefined");
    PARE_CHECK(dtype() == dtype_of<T>(), "data_ptr: the tensor holds ", dtype_name(dtype()),
               " but ", dtype_name(dtype_of<T>()), " was requested");
    return static_cast<T*>(raw_data());
  }
  void* raw_data() const;

  // The single value of a one-element tensor, converted to T.
  template <typename T>
  T item() const {
    return static_cast<T>(item_as_double());
  }
  // libtorch's untyped form: a Scalar that converts to float, int64_t, ... (exact for int64).
  Scalar item() const;
  double item_as_double() const;

  // Views: share storage with *this (contiguous() and reshape() copy only when they must).
  Tensor view(const Shape& shape) const;
  Tensor reshape(const Shape& shape) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor t() const;
  Tensor permute(const Shape& dims) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor operator[](int64_t index) const { return select(0, index); }
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor expand(const Shape& shape) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor contiguous() const;
  Tensor clone() const;
  Tensor to(DType dtype) const;
  Tensor index_select(int64_t dim, const Tensor& index) const;

  // Math (see elementwise.h, reduction.h, linalg.h for the free functions and their contracts).
  Tensor abs() const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor neg() const;
  Tensor pow(double exponent) const;
  Tensor clamp(double min_value, double max_value) const;
  Tensor relu() const;
  Tensor sigmoid() const;
  Tensor tanh() const;
  Tensor sum() const;
  Tensor sum(const Shape& dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const Shape& dims, bool keepdim = false) const;
  Tensor max() const;
  std::tuple<Tensor, Tensor> max(int64_t dim, bool keepdim = false) const;
  Tensor min() const;
  std::tuple<Tensor, Tensor> min(int64_t dim, bool keepdim = false) const;
  Tensor argmax(int64_t dim, bool keepdim = false) const;
  Tensor norm(double p = 2.0) const;
  Tensor norm(double p, const Shape& dims, bool keepdim = false) const;
  Tensor matmul(const Tensor& other) const;

  // In-place updates. They do not record autograd history and refuse a tensor that needs it
  // (a leaf that requires grad while grad mode is on), as PyTorch does.
  Tensor& fill_(double value);
  Tensor& zero_();
  Tensor& copy_(const Tensor& source);
  Tensor& uniform_(double low = 0.0, double high = 1.0);
  Tensor& normal_(double mean = 0.0, double std = 1.0);
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& add_(double value);
  Tensor& sub_(const Tensor& other);
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(double value);
  Tensor& div_(double value);
  Tensor& clamp_(double min_value, double max_value);

  // Autograd.
  bool requires_grad() const;
  // Marks a leaf as needing a gradient; returns *this so it chains after a factory.
  Tensor& set_requires_grad(bool requires_grad = true);
  Tensor& requires_grad_(bool requires_grad = true) { return set_requires_grad(requires_grad); }
  // The accumulated gradient (undefined until a backward reaches this leaf).
  const Tensor& grad() const;
  Tensor& mutable_grad() const;
  // Back-propagates from this tensor. `gradient` may be omitted for a one-element tensor.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;
  // Same storage, no history.
  Tensor detach() const;
  bool is_leaf() const;
  const std::shared_ptr<autograd::GradNode>& grad_fn() const;

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  // True when both handles refer to the same tensor object (not merely equal values).
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// The state behind a Tensor handle. Public for the kernels glue and the IR; users rarely need it.
struct TensorImpl {
  Storage storage;
  Shape sizes;
  Shape strides;
  int64_t offset = 0;  // in elements
  DType dtype = DType::f32;
  Device device = kCPU;
  bool requires_grad = false;  // for leaves; non-leaves need grad iff grad_fn is set
  Tensor grad;                 // accumulated gradient of a leaf
  std::shared_ptr<autograd::GradNode> grad_fn;
  int output_index = 0;  // which output of grad_fn this tensor is
};

// Row-major strides for `sizes`.
Shape contiguous_strides(const Shape& sizes);
// Product of sizes (1 for a scalar).
int64_t shape_numel(const Shape& sizes);

std::ostream& operator<<(std::ostream& stream, const Tensor& tensor);
std::string to_string(const Shape& shape);

}  // namespace pare
