// Factories: new tensors filled with constants, ranges, copies of C++ vectors or views of user
// buffers.
//
//   auto z = pare::zeros({2, 3});                          // float32
//   auto i = pare::zeros({2, 3}, pare::TensorOptions().dtype(pare::kInt64));
//   auto labels = pare::tensor(std::vector<int64_t>{1, 0, 3});
//   auto w = pare::tensor({0.5f, -1.0f, 2.0f, 4.0f}, {2, 2});
//   float buffer[6] = {...};
//   auto view = pare::from_blob(buffer, {2, 3});           // no copy; buffer must outlive it
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "pare/tensor.h"
#include "pare/tensor_options.h"

namespace pare {

Tensor empty(const Shape& shape, DType dtype = kFloat32);
Tensor zeros(const Shape& shape, DType dtype = kFloat32);
Tensor ones(const Shape& shape, DType dtype = kFloat32);
Tensor full(const Shape& shape, double value, DType dtype = kFloat32);
// libtorch's form: pare::zeros({2, 3}, pare::TensorOptions().dtype(pare::kInt64)).
Tensor empty(const Shape& shape, const TensorOptions& options);
Tensor zeros(const Shape& shape, const TensorOptions& options);
Tensor ones(const Shape& shape, const TensorOptions& options);
Tensor full(const Shape& shape, double value, const TensorOptions& options);
Tensor empty_like(const Tensor& like);
Tensor zeros_like(const Tensor& like);
Tensor ones_like(const Tensor& like);
Tensor full_like(const Tensor& like, double value);
// [start, end) by step; int64 when all three are whole numbers and dtype is not given.
Tensor arange(double end);
Tensor arange(double start, double end, double step = 1.0);
Tensor arange(double start, double end, double step, DType dtype);
Tensor eye(int64_t n, DType dtype = kFloat32);
// A zero-dimensional tensor holding `value`.
Tensor scalar_tensor(double value, DType dtype = kFloat32);

// Copies of C++ data; `shape` defaults to 1-d. numel(shape) must equal values.size().
Tensor tensor(const std::vector<float>& values, const Shape& shape = {});
Tensor tensor(const std::vector<int64_t>& values, const Shape& shape = {});
Tensor tensor(std::initializer_list<float> values, const Shape& shape = {});
// A bool tensor from 0/1 bytes.
Tensor bool_tensor(const std::vector<uint8_t>& values, const Shape& shape = {});

// A tensor over memory the caller owns (no copy). `deleter`, if given, runs when the last view
// is gone; without it the buffer must outlive every view.
Tensor from_blob(void* data, const Shape& shape, DType dtype = kFloat32,
                 std::function<void(void*)> deleter = {});

// A copy of the values as a C++ vector (any layout; converts the dtype).
std::vector<float> to_float_vector(const Tensor& tensor);
std::vector<int64_t> to_int64_vector(const Tensor& tensor);

}  // namespace pare
