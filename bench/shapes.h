// The shapes both benchmark programs run, and their names, so that scripts/bench_table.py can
// line up bench_kernels' and bench_engine's results by "<op>/<implementation>/<shape label>".
//
//   for (const ConvShape& shape : pare_bench::conv_shapes()) {
//     benchmark::RegisterBenchmark(("conv2d/pare/" + shape.label()).c_str(), run, shape);
//   }
//   ...inside a benchmark: pare_bench::report_flops(state, shape.flops());
//   ...at the end of main(): return pare_bench::run_benchmarks(argc, argv);
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "pare/kernels/conv2d.h"
#include "pare/kernels/linear.h"
#include "pare/kernels/lstm.h"

namespace pare_bench {

// Multiply-adds count twice; bias, activation and gate elementwise work is not counted.
inline void report_flops(benchmark::State& state, double flops_per_call) {
  state.counters["FLOP/s"] =
      benchmark::Counter(flops_per_call, benchmark::Counter::kIsIterationInvariantRate);
}

// oneDNN runs on OpenMP threads, which Google Benchmark does not record; the table needs them.
inline void add_thread_context() {
  const char* threads = std::getenv("OMP_NUM_THREADS");
  benchmark::AddCustomContext("OMP_NUM_THREADS", threads != nullptr ? threads : "unset");
}

// The end of each program's main(), once its benchmarks are registered: runs the ones the command
// line selects, recording the thread count; an unknown flag is an error (exit status 1).
inline int run_benchmarks(int argc, char** argv) {
  add_thread_context();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// Buffers start on a 64-byte boundary, as pare's tensor storage does. With std::vector's 16-byte
// alignment, where a large buffer lands relative to cache lines changes from one benchmark to
// the next (glibc serves it from mmap or from the heap), and reorders into or out of it run at
// different speeds, which made equal code measure up to 15% apart.
template <typename T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::size_t kAlignment = 64;

  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}

  T* allocate(std::size_t count) {
    return static_cast<T*>(::operator new (count * sizeof(T), std::align_val_t{kAlignment}));
  }
  void deallocate(T* pointer, std::size_t) {
    ::operator delete (pointer, std::align_val_t{kAlignment});
  }
  template <typename U>
  bool operator==(const CacheLineAllocator<U>&) const {
    return true;
  }
};

using Floats = std::vector<float, CacheLineAllocator<float>>;

inline Floats random_floats(int64_t count, uint32_t seed) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  Floats values(count);
  for (float& value : values) value = uniform(generator);
  return values;
}

// A 3x3 convolution with padding 1 and stride 1 (spatial size kept), as in VGG.
struct ConvShape {
  int64_t batch, in_channels, out_channels, size;

  std::string label() const {
    return "N" + std::to_string(batch) + "_" + std::to_string(in_channels) + "to" +
           std::to_string(out_channels) + "_" + std::to_string(size) + "x" + std::to_string(size);
  }
  double flops() const { return 2.0 * batch * out_channels * size * size * in_channels * 3 * 3; }
  pare::kernels::Conv2dParams params() const {
    pare::kernels::Conv2dParams params;
    params.batch = batch;
    params.in_channels = in_channels;
    params.in_h = params.in_w = size;
    params.out_channels = out_channels;
    params.kernel_h = params.kernel_w = 3;
    params.pad_h = params.pad_w = 1;
    return params;
  }
};

struct LinearShape {
  int64_t batch, in_features, out_features;

  std::string label() const {
    return "N" + std::to_string(batch) + "_" + std::to_string(in_features) + "to" +
           std::to_string(out_features);
  }
  double flops() const { return 2.0 * batch * in_features * out_features; }
  pare::kernels::LinearParams params() const { return {batch, in_features, out_features}; }
};

// One time-major LSTM layer.
struct LstmShape {
  int64_t seq_len, batch, input_size, hidden_size;

  std::string label() const {
    return "N" + std::to_string(batch) + "_T" + std::to_string(seq_len) + "_I" +
           std::to_string(input_size) + "_H" + std::to_string(hidden_size);
  }
  // Per step and sample, the gate pre-activations W_ih x + W_hh h: 4H x (I + H) multiply-adds.
  double flops() const {
    return 2.0 * seq_len * batch * 4 * hidden_size * (input_size + hidden_size);
  }
  pare::kernels::LstmLayerParams params() const {
    return {
        .seq_len = seq_len, .batch = batch, .input_size = input_size, .hidden_size = hidden_size};
  }
};

// The convolutions of a small VGG on 32x32 images at batch 1 and 32.
inline std::vector<ConvShape> conv_shapes() {
  std::vector<ConvShape> shapes;
  for (int64_t batch : {1, 32}) {
    shapes.insert(
        shapes.end(),
        {{batch, 3, 64, 32}, {batch, 64, 64, 32}, {batch, 64, 128, 16}, {batch, 128, 128, 16}});
  }
  return shapes;
}

// An MNIST-sized MLP: 784 -> 512 -> 512 -> 10.
inline std::vector<LinearShape> linear_shapes() {
  std::vector<LinearShape> shapes;
  for (int64_t batch : {1, 32}) {
    shapes.insert(shapes.end(), {{batch, 784, 512}, {batch, 512, 512}, {batch, 512, 10}});
  }
  return shapes;
}

inline std::vector<LstmShape> lstm_shapes() { return {{32, 1, 64, 128}, {32, 16, 64, 128}}; }

}  // namespace pare_bench
