#include <atomic>

#include "pare/functional.h"

namespace pare {

namespace {
std::atomic<bool> use_reference_kernels{false};
}

void set_reference_kernels(bool use_reference) { use_reference_kernels = use_reference; }
bool reference_kernels_enabled() { return use_reference_kernels; }

IntPair::IntPair(std::initializer_list<int64_t> values) : IntPair(std::vector<int64_t>(values)) {}

IntPair::IntPair(const std::vector<int64_t>& values) {
  PARE_CHECK(values.size() == 1 || values.size() == 2, "expected 1 or 2 values, got ",
             values.size(), ": ", values);
  first = values[0];
  second = values.size() == 2 ? values[1] : values[0];
}

}  // namespace pare
