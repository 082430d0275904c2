// Internal to the inference compiler (ir/src/inference): sets the calling thread's OpenMP thread
// count for a scope and puts back the one it found. oneDNN 2.6 (OpenMP runtime) reads
// omp_get_max_threads() twice: when a primitive is created (a jit conv sizes its work split, and
// oneDNN's primitive cache keys on the count) and when it runs (parallel_nd and the gemm-based
// kernels such as the LSTM's split over the current count). A prepared primitive therefore runs
// at its own count only when both its creation and every run happen inside one of these scopes.
// The count is per calling thread (the nthreads ICV), so a scope touches no other thread.
//
//   {
//     ScopedThreadCount one_thread(1);
//     primitive->run(src, dst);           // oneDNN's parallel regions run on 1 thread
//   }                                     // the caller's count again
#pragma once

#include <omp.h>

namespace pare::inference::detail {

class ScopedThreadCount {
 public:
  explicit ScopedThreadCount(int threads) : previous_(omp_get_max_threads()) {
    if (threads != previous_) omp_set_num_threads(threads);
  }
  ~ScopedThreadCount() {
    if (omp_get_max_threads() != previous_) omp_set_num_threads(previous_);
  }
  ScopedThreadCount(const ScopedThreadCount&) = delete;
  ScopedThreadCount& operator=(const ScopedThreadCount&) = delete;

 private:
  int previous_;
};

}  // namespace pare::inference::detail
