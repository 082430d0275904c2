// How many bytes of tensor storage pare holds now, and the most it held at once: the peak memory
// `pare bench` reports. Counts what Storage::allocate hands out (the bytes asked for, before the
// 64-byte rounding); memory wrapped with Storage::wrap and oneDNN's own scratchpads and weight
// copies are not counted. Thread-safe.
//
//   pare::reset_peak_storage_bytes();              // peak := what is alive now
//   pare::Tensor y = model.forward(x);
//   int64_t peak = pare::storage_bytes().peak;     // weights, input, temporaries and output
#pragma once

#include <cstdint>

namespace pare {

struct StorageBytes {
  int64_t live = 0;  // allocated and not yet freed
  int64_t peak = 0;  // the most live at once since start-up or the last reset
};

StorageBytes storage_bytes();
// Starts a new peak from the bytes alive now.
void reset_peak_storage_bytes();

}  // namespace pare
