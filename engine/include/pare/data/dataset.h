// Datasets: anything with a size and a sample per index, like torch::data::datasets::Dataset.
// A Sample is one input tensor and its class; a Batch stacks samples along a new first dim.
//
//   struct Squares : pare::data::Dataset {
//     int64_t size() const override { return 100; }
//     pare::data::Sample get(int64_t index) const override {
//       return {pare::full({1}, static_cast<double>(index * index)), index % 2};
//     }
//   };
//   Squares squares;
//   pare::data::Batch batch = pare::data::collate({squares.get(3), squares.get(4)});
//   // batch.data: float32 [2, 1] = {9, 16}; batch.targets: int64 [2] = {1, 0}
#pragma once

#include <cstdint>
#include <vector>

#include "pare/tensor.h"

namespace pare::data {

// One sample: its input (e.g. a float32 [1, 28, 28] image) and its class index.
struct Sample {
  Tensor data;
  int64_t target = 0;
};

// Samples stacked: data is [B, ...sample shape], targets is int64 [B].
struct Batch {
  Tensor data;
  Tensor targets;
  int64_t size() const { return targets.defined() ? targets.numel() : 0; }
};

// A map-style dataset. get() is called from the DataLoader's prefetch thread, so it must be safe
// to call concurrently with the caller's own use of the dataset (a const read is).
class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // The sample at `index`, 0 <= index < size(). It may be a view of the dataset's storage:
  // callers must not modify it in place.
  virtual Sample get(int64_t index) const = 0;
};

// Stacks samples of one shape and dtype (CPU tensors) into a contiguous Batch.
Batch collate(const std::vector<Sample>& samples);

}  // namespace pare::data
