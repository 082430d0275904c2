// DataLoader: batches a Dataset, shuffled in an order that depends only on (seed, epoch), with a
// background thread that reads, transforms and stacks the next batches while the caller trains
// on the current one (like torch::data::make_data_loader with one worker).
//
//   pare::data::FashionMNIST train = pare::data::load_fashion_mnist(pare::data::Split::train);
//   pare::data::DataLoader loader(train, {.batch_size = 64, .shuffle = true, .seed = 1},
//                                 pare::data::transforms::Normalize(0.2860, 0.3530));
//   for (int64_t epoch = 0; epoch < 10; ++epoch) {
//     for (const pare::data::Batch& batch : loader.epoch(epoch)) {
//       auto loss = pare::cross_entropy(net->forward(batch.data), batch.targets);
//       ...                               // breaking out early stops and joins the thread
//     }
//   }
//
// Determinism: epoch e visits the samples in sample_order(e), a permutation drawn from a
// generator seeded with (seed, e) (0..N-1 in order without shuffle), and a random transform on
// sample i draws from a generator seeded with (seed, e, i). Same seed => same batches, bit for
// bit, whatever the thread timing or prefetch depth.
#pragma once

#include <cstdint>
#include <iterator>
#include <memory>
#include <vector>

#include "pare/data/dataset.h"
#include "pare/data/transforms.h"

namespace pare::data {

struct DataLoaderOptions {
  int64_t batch_size = 1;
  bool shuffle = false;
  // Drop the last batch when it would hold fewer than batch_size samples.
  bool drop_last = false;
  uint64_t seed = 0;
  // Batches the background thread keeps ready. 0 builds each batch on the calling thread.
  int64_t prefetch = 2;
};

namespace detail {
struct EpochState;
}

// The batches of one epoch, an input range: iterate it once. Its destructor stops and joins the
// prefetch thread, also when the loop is left early. Errors raised while building a batch (a
// throwing get() or transform) are rethrown on the iterating thread when that batch is reached.
class Epoch {
 public:
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using pointer = const Batch*;
    using reference = const Batch&;

    Iterator() = default;
    const Batch& operator*() const { return current_; }
    const Batch* operator->() const { return &current_; }
    Iterator& operator++();
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return state_ == nullptr; }

   private:
    friend class Epoch;
    explicit Iterator(detail::EpochState* state);
    detail::EpochState* state_ = nullptr;  // null once past the last batch
    Batch current_;
  };

  explicit Epoch(std::unique_ptr<detail::EpochState> state);
  Epoch(Epoch&&) noexcept;
  Epoch& operator=(Epoch&&) noexcept;
  ~Epoch();

  // Starts the iteration; callable once per Epoch.
  Iterator begin();
  std::default_sentinel_t end() const { return {}; }
  int64_t num_batches() const;

 private:
  std::unique_ptr<detail::EpochState> state_;
};

class DataLoader {
 public:
  // `dataset` must outlive the loader and its epochs. An empty `transform` leaves samples as
  // they are; otherwise it runs on every sample (on the prefetch thread) before stacking.
  DataLoader(const Dataset& dataset, DataLoaderOptions options = {}, Transform transform = {});
  // A temporary dataset would dangle: keep the dataset in a variable.
  DataLoader(const Dataset&& dataset, DataLoaderOptions options = {},
             Transform transform = {}) = delete;

  // The batches of epoch `epoch` (any integer; it seeds the shuffle and the transforms).
  Epoch epoch(int64_t epoch) const;
  // Batches per epoch: ceil(N / batch_size), or floor with drop_last.
  int64_t num_batches() const;
  // The dataset indices epoch `epoch` visits, in order (before drop_last).
  std::vector<int64_t> sample_order(int64_t epoch) const;

  const Dataset& dataset() const { return *dataset_; }
  const DataLoaderOptions& options() const { return options_; }

 private:
  const Dataset* dataset_;
  DataLoaderOptions options_;
  Transform transform_;
};

}  // namespace pare::data
