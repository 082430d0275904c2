// DataLoader: every sample once per epoch, batch sizes with and without drop_last, an order that
// depends only on (seed, epoch), batches that match the dataset, clean early exits and errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <numeric>
#include <set>
#include <vector>

#include "pare/creation.h"
#include "pare/data/data_loader.h"
#include "pare/data/tensor_dataset.h"
#include "pare/elementwise.h"

namespace {

// Sample i is the float32 [2] tensor {i, 10 i} with target i, so a batch tells its indices.
pare::data::TensorDataset indexed_dataset(int64_t n) {
  std::vector<float> values;
  std::vector<int64_t> targets;
  for (int64_t i = 0; i < n; ++i) {
    values.push_back(static_cast<float>(i));
    values.push_back(static_cast<float>(10 * i));
    targets.push_back(i);
  }
  return pare::data::TensorDataset(pare::tensor(values, {n, 2}), pare::tensor(targets));
}

struct EpochRecord {
  std::vector<int64_t> batch_sizes;
  std::vector<int64_t> targets;  // in visiting order
  std::vector<float> data;       // every batch's data, flattened
};

EpochRecord run_epoch(const pare::data::DataLoader& loader, int64_t epoch) {
  EpochRecord record;
  for (const pare::data::Batch& batch : loader.epoch(epoch)) {
    record.batch_sizes.push_back(batch.size());
    for (int64_t t : pare::to_int64_vector(batch.targets)) record.targets.push_back(t);
    for (float v : pare::to_float_vector(batch.data)) record.data.push_back(v);
  }
  return record;
}

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> values(n);
  std::iota(values.begin(), values.end(), 0);
  return values;
}

std::vector<int64_t> sorted(std::vector<int64_t> values) {
  std::sort(values.begin(), values.end());
  return values;
}

// A transform that adds one uniform draw to every element: shows which generator a sample got.
pare::Tensor add_noise(const pare::Tensor& sample, pare::Generator& generator) {
  return sample + generator.uniform(0.0, 1.0);
}

}  // namespace

TEST_CASE("without shuffle the batches follow the dataset, the last one partial") {
  auto dataset = indexed_dataset(10);
  pare::data::DataLoader loader(dataset, {.batch_size = 3});
  CHECK(loader.num_batches() == 4);
  EpochRecord record = run_epoch(loader, 0);
  CHECK(record.batch_sizes == std::vector<int64_t>{3, 3, 3, 1});
  CHECK(record.targets == iota(10));
  // The stacked data is each sample's {i, 10 i}, in order.
  std::vector<float> expected;
  for (int64_t i = 0; i < 10; ++i) {
    expected.push_back(static_cast<float>(i));
    expected.push_back(static_cast<float>(10 * i));
  }
  CHECK(record.data == expected);
}

TEST_CASE("batches have shape [B, ...sample] and int64 targets") {
  auto dataset = indexed_dataset(5);
  pare::data::DataLoader loader(dataset, {.batch_size = 4});
  auto epoch = loader.epoch(0);
  auto it = epoch.begin();
  CHECK(it->data.sizes() == pare::Shape{4, 2});
  CHECK(it->data.dtype() == pare::kFloat32);
  CHECK(it->targets.sizes() == pare::Shape{4});
  CHECK(it->targets.dtype() == pare::kInt64);
}

TEST_CASE("drop_last drops only an incomplete last batch") {
  auto dataset = indexed_dataset(10);
  pare::data::DataLoader dropping(dataset, {.batch_size = 3, .drop_last = true});
  CHECK(dropping.num_batches() == 3);
  CHECK(run_epoch(dropping, 0).batch_sizes == std::vector<int64_t>{3, 3, 3});

  pare::data::DataLoader exact(dataset, {.batch_size = 5, .drop_last = true});
  CHECK(run_epoch(exact, 0).batch_sizes == std::vector<int64_t>{5, 5});

  pare::data::DataLoader too_big(dataset, {.batch_size = 11, .drop_last = true});
  CHECK(too_big.num_batches() == 0);
  CHECK(run_epoch(too_big, 0).batch_sizes.empty());
}

TEST_CASE("a shuffled epoch visits every sample exactly once") {
  auto dataset = indexed_dataset(103);
  pare::data::DataLoader loader(dataset, {.batch_size = 8, .shuffle = true, .seed = 7});
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    CAPTURE(epoch);
    EpochRecord record = run_epoch(loader, epoch);
    CHECK(record.targets != iota(103));  // shuffled (103! orders: never the identity by chance)
    CHECK(sorted(record.targets) == iota(103));
    CHECK(record.targets == loader.sample_order(epoch));
    CHECK(record.batch_sizes.size() == 13);
    CHECK(record.batch_sizes.back() == 103 - 12 * 8);
  }
}

TEST_CASE("with drop_last a shuffled epoch visits distinct samples, the first of its order") {
  auto dataset = indexed_dataset(20);
  pare::data::DataLoader loader(dataset,
                                {.batch_size = 6, .shuffle = true, .drop_last = true, .seed = 3});
  EpochRecord record = run_epoch(loader, 1);
  std::vector<int64_t> order = loader.sample_order(1);
  CHECK(record.targets == std::vector<int64_t>(order.begin(), order.begin() + 18));
  CHECK(std::set<int64_t>(record.targets.begin(), record.targets.end()).size() == 18);
}

TEST_CASE("the order depends only on seed and epoch") {
  auto dataset = indexed_dataset(50);
  pare::data::DataLoader first(dataset, {.batch_size = 4, .shuffle = true, .seed = 11});
  pare::data::DataLoader second(dataset,
                                {.batch_size = 4, .shuffle = true, .seed = 11, .prefetch = 0});
  pare::data::DataLoader other_seed(dataset, {.batch_size = 4, .shuffle = true, .seed = 12});
  // Epochs run in a different order in the two loaders: still the same batches.
  EpochRecord first_epoch2 = run_epoch(first, 2);
  EpochRecord first_epoch0 = run_epoch(first, 0);
  CHECK(run_epoch(second, 0).targets == first_epoch0.targets);
  CHECK(run_epoch(second, 2).targets == first_epoch2.targets);
  CHECK(first_epoch0.targets != first_epoch2.targets);
  CHECK(run_epoch(other_seed, 0).targets != first_epoch0.targets);
  CHECK(run_epoch(first, 0).targets == first_epoch0.targets);  // a rerun of epoch 0
}

TEST_CASE("random transforms are reproducible and independent of prefetch depth") {
  auto dataset = indexed_dataset(30);
  std::vector<EpochRecord> records;
  for (int64_t prefetch : {0, 1, 4}) {
    pare::data::DataLoader loader(
        dataset, {.batch_size = 7, .shuffle = true, .seed = 5, .prefetch = prefetch}, add_noise);
    records.push_back(run_epoch(loader, 1));
  }
  CHECK(records[0].data == records[1].data);
  CHECK(records[0].data == records[2].data);
  // The noise really is there, the same within a sample and in [0, 1).
  const EpochRecord& record = records[0];
  std::set<float> noises;
  for (size_t k = 0; k < record.targets.size(); ++k) {
    const float noise = record.data[2 * k] - static_cast<float>(record.targets[k]);
    CHECK(noise >= 0.0f);
    CHECK(noise < 1.0f);
    CHECK(record.data[2 * k + 1] - static_cast<float>(10 * record.targets[k]) ==
          doctest::Approx(noise).epsilon(1e-4));
    noises.insert(noise);
  }
  CHECK(noises.size() > 25);  // per-sample draws, not one draw for everything

  // Another epoch draws other noise for the same sample.
  pare::data::DataLoader loader(dataset, {.batch_size = 7, .seed = 5}, add_noise);
  CHECK(run_epoch(loader, 0).data != run_epoch(loader, 1).data);
}

TEST_CASE("leaving an epoch early stops the prefetch thread") {
  auto dataset = indexed_dataset(1000);
  pare::data::DataLoader loader(dataset, {.batch_size = 2, .shuffle = true, .prefetch = 1});
  for (int round = 0; round < 20; ++round) {
    int64_t seen = 0;
    for (const pare::data::Batch& batch : loader.epoch(round)) {
      seen += batch.size();
      if (seen >= 4) break;
    }
    CHECK(seen == 4);
  }
  // An epoch that is never iterated is also shut down cleanly.
  { auto unused = loader.epoch(0); }
  // And one moved elsewhere keeps working.
  auto epoch = loader.epoch(3);
  auto moved = std::move(epoch);
  int64_t batches = 0;
  for (const auto& batch : moved) batches += batch.size() > 0;
  CHECK(batches == 500);
}

TEST_CASE("an epoch can be iterated only once") {
  auto dataset = indexed_dataset(4);
  pare::data::DataLoader loader(dataset, {.batch_size = 2});
  auto epoch = loader.epoch(0);
  for (const auto& batch : epoch) (void)batch;
  CHECK_THROWS_AS(epoch.begin(), pare::Error);
}

TEST_CASE("an error while building a batch reaches the loop at that batch") {
  auto dataset = indexed_dataset(10);
  auto failing = [](const pare::Tensor& sample, pare::Generator&) {
    PARE_CHECK(sample.data_ptr<float>()[0] != 6.0f, "refusing sample 6");
    return sample;
  };
  for (int64_t prefetch : {0, 2}) {
    CAPTURE(prefetch);
    pare::data::DataLoader loader(dataset, {.batch_size = 3, .prefetch = prefetch}, failing);
    std::vector<int64_t> targets;
    std::string message;
    try {
      for (const auto& batch : loader.epoch(0))
        for (int64_t t : pare::to_int64_vector(batch.targets)) targets.push_back(t);
    } catch (const pare::Error& error) {
      message = error.what();
    }
    CHECK(targets == iota(6));  // the two batches before the failing one arrived
    CHECK(message.find("refusing sample 6") != std::string::npos);
    CHECK(message.find("batch 2") != std::string::npos);
  }
}

TEST_CASE("any Dataset works, and samples of different shapes are refused") {
  struct Ragged : pare::data::Dataset {
    int64_t size() const override { return 3; }
    pare::data::Sample get(int64_t index) const override {
      return {pare::full({index == 2 ? 2 : 1}, static_cast<double>(index)), 100 + index};
    }
  };
  Ragged ragged;
  pare::data::DataLoader pairs(ragged, {.batch_size = 2});
  auto epoch = pairs.epoch(0);
  auto it = epoch.begin();
  CHECK(pare::to_float_vector(it->data) == std::vector<float>{0, 1});
  CHECK(pare::to_int64_vector(it->targets) == std::vector<int64_t>{100, 101});
  pare::data::DataLoader all(ragged, {.batch_size = 3, .prefetch = 0});
  CHECK_THROWS_AS(run_epoch(all, 0), pare::Error);
}

TEST_CASE("bad options and datasets are refused") {
  auto dataset = indexed_dataset(4);
  CHECK_THROWS_AS(pare::data::DataLoader(dataset, {.batch_size = 0}), pare::Error);
  CHECK_THROWS_AS(pare::data::DataLoader(dataset, {.batch_size = 1, .prefetch = -1}), pare::Error);
  CHECK_THROWS_AS(dataset.get(4), pare::Error);
  CHECK_THROWS_AS(
      pare::data::TensorDataset(pare::zeros({3, 2}), pare::zeros({3}, pare::kInt64).slice(0, 0, 2)),
      pare::Error);
  CHECK_THROWS_AS(pare::data::TensorDataset(pare::zeros({3, 2}), pare::zeros({3})), pare::Error);
}
