// An in-memory dataset over two tensors: data [N, ...] and int64 targets [N]. get() returns a
// view of row `index` (no copy), so reading a sample costs almost nothing.
//
//   pare::data::TensorDataset points(pare::randn({100, 2}), pare::randint(0, 3, {100}));
//   pare::data::Sample third = points.get(2);   // third.data: [2], third.target in {0, 1, 2}
#pragma once

#include "pare/data/dataset.h"

namespace pare::data {

class TensorDataset : public Dataset {
 public:
  TensorDataset() = default;
  // `targets` must be int64 [N] with N == data.size(0); both are stored contiguous.
  TensorDataset(Tensor data, Tensor targets);

  int64_t size() const override;
  Sample get(int64_t index) const override;

  const Tensor& data() const { return data_; }
  const Tensor& targets() const { return targets_; }

 private:
  Tensor data_;
  Tensor targets_;
};

}  // namespace pare::data
