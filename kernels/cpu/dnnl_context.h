// Internal to kernels/cpu: the one oneDNN engine and stream pare uses, and a cache of primitives
// keyed by (op, shapes, attributes) so that a repeated call skips primitive-descriptor creation.
// Never include this from a public header.
//
//   auto& entry = pare::kernels::cpu::primitive_cache().get_or_create<ConvEntry>(key, [&] {
//     return std::make_shared<ConvEntry>(...);
//   });
#pragma once

#include <omp.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>

#include "pare/error.h"

namespace pare::kernels::cpu {

dnnl::engine& cpu_engine();
dnnl::stream& cpu_stream();

// A scratchpad of at least `bytes` (64-byte aligned) shared by every prepared primitive the
// calling thread runs (prepared_primitive.h): they run one after another, never nested, so the
// largest scratchpad serves them all instead of their sum (a Winograd conv's transformed tiles
// are tens of MB at batch 8). It only grows, and lives as long as the thread; a call that fits
// the current size allocates nothing.
void* thread_scratchpad(size_t bytes);

// A process-wide map from a string key to any cached object (usually a struct holding a primitive
// descriptor, the primitive and the memory descriptors it needs). Entries are never evicted:
// the number of distinct shapes in one process is small in practice.
class PrimitiveCache {
 public:
  template <typename Entry>
  Entry& get_or_create(const std::string& key,
                       const std::function<std::shared_ptr<Entry>()>& make) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = entries_.find(key);
    if (found != entries_.end()) return *std::static_pointer_cast<Entry>(found->second);
    std::shared_ptr<Entry> entry = make();
    entries_.emplace(key, entry);
    return *entry;
  }
  size_t size() const;
  void clear();

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<void>> entries_;
};

PrimitiveCache& primitive_cache();

// "op@threads:v1:v2:..." — the primitive-cache key of an op and the sizes/attributes that select
// its primitive. The thread count is part of it: oneDNN's jit primitives (conv) keep the number of
// threads they were created for, so a primitive made at 1 thread would stay single-threaded after
// omp_set_num_threads(2).
inline std::string cache_key(const char* op, std::initializer_list<int64_t> values) {
  std::string key(op);
  key += '@';
  key += std::to_string(omp_get_max_threads());
  for (int64_t value : values) {
    key += ':';
    key += std::to_string(value);
  }
  return key;
}

// Wraps a caller-owned buffer as oneDNN memory (no copy).
inline dnnl::memory wrap(const dnnl::memory::desc& desc, const void* data) {
  return dnnl::memory(desc, cpu_engine(), const_cast<void*>(data));
}

// Runs `body`, turning oneDNN's exceptions into pare::Error naming the op.
template <typename Body>
auto with_dnnl_errors(const char* op, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const dnnl::error& error) {
    throw pare::Error(pare::str_cat(op, ": oneDNN failed: ", error.what()));
  }
}

}  // namespace pare::kernels::cpu
