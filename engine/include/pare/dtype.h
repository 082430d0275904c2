// Element types and devices of a pare::Tensor.
//
//   pare::Tensor labels = pare::zeros({64}, pare::kInt64);
//   if (labels.dtype() == pare::kInt64) { ... }
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>

namespace pare {

// f32 is first-class (every op); i64 holds labels and indices; bool and u8 hold masks.
enum class DType : uint8_t { f32, i64, u8, boolean };

inline constexpr DType kFloat32 = DType::f32;
inline constexpr DType kFloat = DType::f32;
inline constexpr DType kInt64 = DType::i64;
inline constexpr DType kLong = DType::i64;
inline constexpr DType kUInt8 = DType::u8;
inline constexpr DType kBool = DType::boolean;

size_t element_size(DType dtype);
// PyTorch-style names ("float32", "int64", "uint8", "bool").
const char* dtype_name(DType dtype);
std::ostream& operator<<(std::ostream& stream, DType dtype);

// The C++ type stored for a dtype, for data_ptr<T>() checks.
template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::f32;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::i64;
}
template <>
constexpr DType dtype_of<uint8_t>() {
  return DType::u8;
}
template <>
constexpr DType dtype_of<bool>() {
  return DType::boolean;
}

enum class DeviceType : uint8_t { cpu, cuda };

// Where a tensor's storage lives. CUDA needs a build with PARE_WITH_CUDA.
struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;
  bool is_cpu() const { return type == DeviceType::cpu; }
  bool is_cuda() const { return type == DeviceType::cuda; }
  bool operator==(const Device&) const = default;
};

inline constexpr Device kCPU{DeviceType::cpu, 0};
std::ostream& operator<<(std::ostream& stream, const Device& device);

}  // namespace pare
