// TensorDataset: samples are row views of two in-memory tensors.
#include "pare/data/tensor_dataset.h"

namespace pare::data {

TensorDataset::TensorDataset(Tensor data, Tensor targets) {
  PARE_CHECK(data.defined() && targets.defined(),
             "TensorDataset: data and targets must be defined");
  PARE_CHECK(data.dim() >= 1, "TensorDataset: data needs a sample dim, got shape ", data.sizes());
  PARE_CHECK(targets.dim() == 1 && targets.dtype() == kInt64,
             "TensorDataset: targets must be int64 [N], got ", dtype_name(targets.dtype()), " ",
             targets.sizes());
  PARE_CHECK(targets.size(0) == data.size(0), "TensorDataset: ", data.size(0),
             " samples (data shape ", data.sizes(), ") but ", targets.size(0), " targets");
  data_ = data.detach().contiguous();
  targets_ = targets.detach().contiguous();
}

int64_t TensorDataset::size() const { return targets_.defined() ? targets_.size(0) : 0; }

Sample TensorDataset::get(int64_t index) const {
  PARE_CHECK(index >= 0 && index < size(), "TensorDataset::get: index ", index,
             " is out of range for ", size(), " samples");
  return {data_.select(0, index), targets_.data_ptr<int64_t>()[index]};
}

}  // namespace pare::data
