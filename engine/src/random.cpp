// Seeded random tensors.
#include "pare/random.h"

#include <cmath>

#include "pare/creation.h"

namespace pare {

double Generator::uniform(double low, double high) {
  // 53 random bits -> [0, 1), so the same seed gives the same values on every platform
  // (std::uniform_real_distribution is implementation-defined).
  double unit = static_cast<double>(engine_() >> 11) * 0x1.0p-53;
  return low + (high - low) * unit;
}

double Generator::normal(double mean, double std) {
  // Box-Muller with a guard against log(0); again platform-independent.
  double u1 = 1.0 - uniform(0.0, 1.0);
  double u2 = uniform(0.0, 1.0);
  return mean + std * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

Generator& default_generator() {
  static Generator generator;
  return generator;
}

void manual_seed(uint64_t seed) { default_generator().seed(seed); }

Tensor rand(const Shape& shape) { return rand(shape, default_generator()); }
Tensor rand(const Shape& shape, Generator& generator) {
  Tensor result = empty(shape);
  float* data = result.data_ptr<float>();
  const int64_t count = result.numel();  // not per element: numel() is a product over the sizes
  for (int64_t i = 0; i < count; ++i) data[i] = static_cast<float>(generator.uniform(0, 1));
  return result;
}

namespace {
Tensor random_with_options(Tensor tensor, const TensorOptions& options, const char* op) {
  PARE_CHECK(options.dtype() == kFloat32, op, ": draws float32 values, but the options ask for ",
             dtype_name(options.dtype()), "; draw float32 and convert with .to(dtype)");
  if (options.requires_grad()) tensor.set_requires_grad(true);
  return tensor;
}
}  // namespace

Tensor rand(const Shape& shape, const TensorOptions& options) {
  return random_with_options(rand(shape), options, "rand");
}
Tensor randn(const Shape& shape, const TensorOptions& options) {
  return random_with_options(randn(shape), options, "randn");
}

Tensor randn(const Shape& shape) { return randn(shape, default_generator()); }
Tensor randn(const Shape& shape, Generator& generator) {
  Tensor result = empty(shape);
  float* data = result.data_ptr<float>();
  const int64_t count = result.numel();
  for (int64_t i = 0; i < count; ++i) data[i] = static_cast<float>(generator.normal(0, 1));
  return result;
}

Tensor randint(int64_t low, int64_t high, const Shape& shape) {
  return randint(low, high, shape, default_generator());
}
Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& generator) {
  PARE_CHECK(high > low, "randint: high (", high, ") must be greater than low (", low, ")");
  Tensor result = empty(shape, kInt64);
  int64_t* data = result.data_ptr<int64_t>();
  uint64_t range = static_cast<uint64_t>(high - low);
  for (int64_t i = 0; i < result.numel(); ++i)
    data[i] = low + static_cast<int64_t>(generator.next() % range);
  return result;
}

Tensor randperm(int64_t n, Generator& generator) {
  PARE_CHECK(n >= 0, "randperm: n must be non-negative, got ", n);
  Tensor result = arange(0.0, static_cast<double>(n), 1.0, kInt64);
  int64_t* data = result.data_ptr<int64_t>();
  for (int64_t i = n - 1; i > 0; --i) {
    int64_t j = static_cast<int64_t>(generator.next() % static_cast<uint64_t>(i + 1));
    std::swap(data[i], data[j]);
  }
  return result;
}

}  // namespace pare
