#include "dnnl_context.h"

#include <cstddef>
#include <cstdlib>

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

void* thread_scratchpad(size_t bytes) {
  struct Buffer {
    size_t bytes = 0;
    std::unique_ptr<std::byte, decltype(&std::free)> data{nullptr, &std::free};
  };
  thread_local Buffer buffer;
  if (bytes > buffer.bytes) {
    constexpr size_t kAlignment = 64;  // what oneDNN asks of its buffers
    const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    buffer.data.reset(static_cast<std::byte*>(std::aligned_alloc(kAlignment, rounded)));
    PARE_CHECK(buffer.data != nullptr, "PreparedPrimitive: could not allocate a ", rounded,
               "-byte scratchpad");
    buffer.bytes = rounded;
  }
  return buffer.data.get();
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
