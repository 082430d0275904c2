// The oneDNN CPU engine and stream that the benchmarks calling oneDNN directly share, one of each
// per process (as pare's own kernels keep one in kernels/cpu/dnnl_context.cpp).
//
//   dnnl::memory buffer(desc, pare_bench::engine(), data);
//   primitive.execute(pare_bench::stream(), args);
//   pare_bench::stream().wait();
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

namespace pare_bench {

inline dnnl::engine& engine() {
  static dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
  return cpu;
}

inline dnnl::stream& stream() {
  static dnnl::stream cpu_stream(engine());
  return cpu_stream;
}

}  // namespace pare_bench
