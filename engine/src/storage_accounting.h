// Internal to engine/: Storage::allocate reports every buffer it hands out and frees here, so
// that storage_bytes() (pare/memory_stats.h) can tell live and peak bytes.
#pragma once

#include <cstddef>

namespace pare::detail {

void count_storage_allocated(size_t nbytes);
void count_storage_freed(size_t nbytes);

}  // namespace pare::detail
