// pare::Scalar: one number of any dtype, as Tensor::item() returns it (libtorch's c10::Scalar).
// An int64 tensor's value stays exact (no trip through double); it converts to any arithmetic
// type implicitly or by name.
//
//   float loss_value = loss.item();              // or loss.item().toFloat(), loss.item<float>()
//   int64_t label = labels[0].item();            // or labels[0].item().toLong()
#pragma once

#include <cstdint>
#include <type_traits>

namespace pare {

class Scalar {
 public:
  Scalar(double value) : floating_(value), integral_(0), is_integral_(false) {}  // NOLINT
  Scalar(int64_t value)                                                          // NOLINT
      : floating_(static_cast<double>(value)), integral_(value), is_integral_(true) {}

  bool isFloatingPoint() const { return !is_integral_; }
  bool isIntegral() const { return is_integral_; }
  template <typename T>
  requires std::is_arithmetic_v<T> T to()
  const { return is_integral_ ? static_cast<T>(integral_) : static_cast<T>(floating_); }
  template <typename T>
  requires std::is_arithmetic_v<T>
  operator T() const {  // NOLINT: implicit, as item<T>() reads
    return to<T>();
  }
  float toFloat() const { return to<float>(); }
  double toDouble() const { return to<double>(); }
  int64_t toLong() const { return to<int64_t>(); }
  int toInt() const { return to<int>(); }
  bool toBool() const { return to<bool>(); }

 private:
  double floating_;
  int64_t integral_;
  bool is_integral_;
};

}  // namespace pare
