// DataLoader and Epoch: the shuffle order, per-sample seeds and the prefetch thread.
#include "pare/data/data_loader.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

#include "pare/autograd.h"

namespace pare::data {

namespace {

// SplitMix64's finaliser: spreads (seed, epoch, index) into well-mixed generator seeds, so that
// neighbouring epochs and samples get unrelated streams.
uint64_t mix(uint64_t value) {
  value += 0x9e3779b97f4a7c15ull;
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ull;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebull;
  return value ^ (value >> 31);
}

uint64_t combine(uint64_t a, uint64_t b) { return mix(a ^ mix(b)); }

uint64_t epoch_seed(uint64_t seed, int64_t epoch) {
  return combine(seed, static_cast<uint64_t>(epoch));
}

}  // namespace

namespace detail {

struct EpochState {
  const Dataset* dataset = nullptr;
  DataLoaderOptions options;
  Transform transform;
  std::vector<int64_t> order;
  int64_t epoch = 0;
  int64_t num_batches = 0;
  bool started = false;

  // Without prefetch: the next batch to build on the calling thread.
  int64_t next_batch = 0;

  // With prefetch: batches the producer has built and the caller has not taken yet.
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<Batch> ready;
  std::exception_ptr error;  // from the producer; delivered after the batches before it
  bool finished = false;     // the producer has nothing more to add
  bool stop = false;         // the consumer is gone
  std::thread producer;

  ~EpochState() {
    if (!producer.joinable()) return;
    {
      std::lock_guard lock(mutex);
      stop = true;
    }
    changed.notify_all();
    producer.join();
  }

  Batch build(int64_t batch_index) const {
    try {
      const int64_t begin = batch_index * options.batch_size;
      const int64_t end = std::min<int64_t>(begin + options.batch_size, order.size());
      std::vector<Sample> samples;
      samples.reserve(end - begin);
      for (int64_t position = begin; position < end; ++position) {
        const int64_t index = order[position];
        Sample sample = dataset->get(index);
        if (transform) {
          Generator generator(combine(epoch_seed(options.seed, epoch), index + 1));
          sample.data = transform(sample.data, generator);
        }
        samples.push_back(std::move(sample));
      }
      return collate(samples);
    } catch (const Error& error) {
      throw Error(
          str_cat("DataLoader: epoch ", epoch, ", batch ", batch_index, ": ", error.what()));
    }
  }

  void produce() {
    NoGradGuard no_grad;
    for (int64_t b = 0; b < num_batches; ++b) {
      Batch batch;
      try {
        batch = build(b);
      } catch (...) {
        std::lock_guard lock(mutex);
        error = std::current_exception();
        finished = true;
        changed.notify_all();
        return;
      }
      std::unique_lock lock(mutex);
      changed.wait(lock,
                   [&] { return stop || static_cast<int64_t>(ready.size()) < options.prefetch; });
      if (stop) return;
      ready.push_back(std::move(batch));
      changed.notify_all();
    }
    std::lock_guard lock(mutex);
    finished = true;
    changed.notify_all();
  }

  // The next batch into `out`; false after the last one.
  bool next(Batch& out) {
    if (options.prefetch == 0) {
      if (next_batch >= num_batches) return false;
      out = build(next_batch++);
      return true;
    }
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return !ready.empty() || finished; });
    if (!ready.empty()) {
      out = std::move(ready.front());
      ready.pop_front();
      changed.notify_all();
      return true;
    }
    if (error) std::rethrow_exception(std::exchange(error, nullptr));
    return false;
  }
};

}  // namespace detail

Epoch::Iterator::Iterator(detail::EpochState* state) : state_(state) { ++*this; }

Epoch::Iterator& Epoch::Iterator::operator++() {
  if (state_ != nullptr && !state_->next(current_)) {
    state_ = nullptr;
    current_ = Batch();
  }
  return *this;
}

Epoch::Epoch(std::unique_ptr<detail::EpochState> state) : state_(std::move(state)) {}
Epoch::Epoch(Epoch&&) noexcept = default;
Epoch& Epoch::operator=(Epoch&&) noexcept = default;
Epoch::~Epoch() = default;

Epoch::Iterator Epoch::begin() {
  PARE_CHECK(state_ != nullptr, "Epoch::begin: this epoch was moved from");
  PARE_CHECK(!state_->started, "Epoch::begin: an epoch can be iterated only once; call ",
             "loader.epoch(", state_->epoch, ") again for another pass");
  state_->started = true;
  return Iterator(state_.get());
}

int64_t Epoch::num_batches() const { return state_ ? state_->num_batches : 0; }

DataLoader::DataLoader(const Dataset& dataset, DataLoaderOptions options, Transform transform)
    : dataset_(&dataset), options_(options), transform_(std::move(transform)) {
  PARE_CHECK(options_.batch_size > 0, "DataLoader: batch_size must be positive, got ",
             options_.batch_size);
  PARE_CHECK(options_.prefetch >= 0, "DataLoader: prefetch must be non-negative, got ",
             options_.prefetch);
}

int64_t DataLoader::num_batches() const {
  const int64_t samples = dataset_->size();
  return options_.drop_last ? samples / options_.batch_size
                            : (samples + options_.batch_size - 1) / options_.batch_size;
}

std::vector<int64_t> DataLoader::sample_order(int64_t epoch) const {
  const int64_t samples = dataset_->size();
  std::vector<int64_t> order(samples);
  for (int64_t i = 0; i < samples; ++i) order[i] = i;
  if (!options_.shuffle) return order;
  // Fisher-Yates from pare's Generator (not std::shuffle, whose draws are implementation
  // defined), so the order is the same on every platform.
  Generator generator(combine(epoch_seed(options_.seed, epoch), 0));
  for (int64_t i = samples - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(generator.next() % static_cast<uint64_t>(i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

Epoch DataLoader::epoch(int64_t epoch) const {
  auto state = std::make_unique<detail::EpochState>();
  state->dataset = dataset_;
  state->options = options_;
  state->transform = transform_;
  state->order = sample_order(epoch);
  state->epoch = epoch;
  state->num_batches = num_batches();
  // Start reading at once, so the first batches are ready by the time the loop asks for them.
  if (options_.prefetch > 0 && state->num_batches > 0)
    state->producer = std::thread([raw = state.get()] { raw->produce(); });
  else
    state->finished = true;  // nothing to produce: next() reports the end at once
  return Epoch(std::move(state));
}

}  // namespace pare::data
