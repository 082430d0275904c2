// Live and peak tensor storage bytes (pare/memory_stats.h), as two atomics: allocation is rare
// next to the work done on a buffer, so the cost is two atomic operations per tensor.
#include "pare/memory_stats.h"

#include <atomic>

#include "storage_accounting.h"

namespace pare {

namespace {

std::atomic<int64_t> live_bytes{0};
std::atomic<int64_t> peak_bytes{0};

void raise_peak_to(int64_t candidate) {
  int64_t peak = peak_bytes.load(std::memory_order_relaxed);
  while (candidate > peak &&
         !peak_bytes.compare_exchange_weak(peak, candidate, std::memory_order_relaxed)) {
  }
}

}  // namespace

namespace detail {

void count_storage_allocated(size_t nbytes) {
  const int64_t bytes = static_cast<int64_t>(nbytes);
  raise_peak_to(live_bytes.fetch_add(bytes, std::memory_order_relaxed) + bytes);
}

void count_storage_freed(size_t nbytes) {
  live_bytes.fetch_sub(static_cast<int64_t>(nbytes), std::memory_order_relaxed);
}

}  // namespace detail

StorageBytes storage_bytes() {
  return {live_bytes.load(std::memory_order_relaxed), peak_bytes.load(std::memory_order_relaxed)};
}

void reset_peak_storage_bytes() {
  peak_bytes.store(live_bytes.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

}  // namespace pare
