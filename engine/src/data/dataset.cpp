// Stacking samples into a batch.
#include "pare/data/dataset.h"

#include <cstring>

#include "pare/creation.h"

namespace pare::data {

Batch collate(const std::vector<Sample>& samples) {
  PARE_CHECK(!samples.empty(), "collate: no samples to stack");
  const Tensor& first = samples.front().data;
  PARE_CHECK(first.defined(), "collate: sample 0 has no data");
  Shape batch_shape = first.sizes();
  batch_shape.insert(batch_shape.begin(), static_cast<int64_t>(samples.size()));
  Tensor data = empty(batch_shape, first.dtype());
  auto* destination = static_cast<char*>(data.raw_data());
  const size_t sample_bytes = first.nbytes();
  std::vector<int64_t> targets;
  targets.reserve(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    const Tensor& sample = samples[i].data;
    PARE_CHECK(sample.defined(), "collate: sample ", i, " has no data");
    PARE_CHECK(sample.sizes() == first.sizes() && sample.dtype() == first.dtype(),
               "collate: sample ", i, " is ", dtype_name(sample.dtype()), " ", sample.sizes(),
               " but sample 0 is ", dtype_name(first.dtype()), " ", first.sizes(),
               "; every sample of a batch needs the same shape and dtype");
    PARE_CHECK(sample.device().is_cpu(), "collate: sample ", i, " is not on the CPU");
    Tensor dense = sample.contiguous();
    std::memcpy(destination + i * sample_bytes, dense.raw_data(), sample_bytes);
    targets.push_back(samples[i].target);
  }
  return {data, tensor(targets)};
}

}  // namespace pare::data
