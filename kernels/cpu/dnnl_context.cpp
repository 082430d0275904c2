#include "dnnl_context.h"

namespace pare::kernels::cpu {

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  // One stream per thread: oneDNN streams are not meant to be shared across threads.
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

size_t PrimitiveCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

void PrimitiveCache::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.clear();
}

PrimitiveCache& primitive_cache() {
  static PrimitiveCache cache;
  return cache;
}

}  // namespace pare::kernels::cpu
