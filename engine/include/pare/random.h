// Seeded random numbers. One process-wide default generator (seeded by manual_seed) so that a
// training run is repeatable; explicit Generators for independent streams.
//
//   pare::manual_seed(42);
//   auto x = pare::randn({8, 16});
//   auto i = pare::randint(0, 10, {8});                    // int64
//   pare::Generator g(7);  auto noise = pare::rand({4}, g);
#pragma once

#include <cstdint>
#include <random>

#include "pare/tensor.h"
#include "pare/tensor_options.h"

namespace pare {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0x5eed) : engine_(seed) {}
  void seed(uint64_t seed) { engine_.seed(seed); }
  std::mt19937_64& engine() { return engine_; }
  double uniform(double low, double high);
  double normal(double mean, double std);
  uint64_t next() { return engine_(); }

 private:
  std::mt19937_64 engine_;
};

Generator& default_generator();
void manual_seed(uint64_t seed);

Tensor rand(const Shape& shape);
Tensor rand(const Shape& shape, Generator& generator);
Tensor randn(const Shape& shape);
Tensor randn(const Shape& shape, Generator& generator);
// libtorch's form: pare::randn({4, 3}, pare::TensorOptions().requires_grad(true)); float32 only.
Tensor rand(const Shape& shape, const TensorOptions& options);
Tensor randn(const Shape& shape, const TensorOptions& options);
// Integers uniform in [low, high), int64.
Tensor randint(int64_t low, int64_t high, const Shape& shape);
Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& generator);
// A random permutation of 0..n-1, int64.
Tensor randperm(int64_t n, Generator& generator);

}  // namespace pare
