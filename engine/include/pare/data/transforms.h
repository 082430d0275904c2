// Per-sample transforms for images stored as float32 [C, H, W] (or [H, W]), as in
// torchvision.transforms. A transform never modifies its input (it may be a view of the
// dataset) and draws any randomness from the Generator it is given, so the DataLoader can seed
// every sample from (seed, epoch, index) and give the same batches whatever the thread timing.
//
//   namespace T = pare::data::transforms;
//   pare::data::Transform augment = T::Compose({
//       T::RandomCrop(28, /*padding=*/4),       // zero-pad to 36x36, take a random 28x28 window
//       T::RandomHorizontalFlip(0.5),
//       T::Normalize(0.2860, 0.3530)});         // (x - mean) / std, Fashion-MNIST statistics
//   pare::data::DataLoader loader(train, {.batch_size = 64, .shuffle = true}, augment);
//
//   pare::Generator generator(1);
//   pare::Tensor image = augment(train.get(0).data, generator);   // or call one directly
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "pare/random.h"
#include "pare/tensor.h"

namespace pare::data {

// A sample -> sample function; random transforms draw from `generator` only.
using Transform = std::function<Tensor(const Tensor& sample, Generator& generator)>;

namespace transforms {

// (x - mean[c]) / std[c] for channel c = dim 0 of the sample. One value applies to every
// element; several need a sample whose dim 0 has that many channels.
struct Normalize {
  Normalize(double mean, double std);
  Normalize(std::vector<double> mean, std::vector<double> std);
  Tensor operator()(const Tensor& sample) const;
  Tensor operator()(const Tensor& sample, Generator&) const { return (*this)(sample); }

  std::vector<double> mean;
  std::vector<double> std;
};

// Zero-pads the last two dims by `padding` on every side, then takes a height x width window at
// an offset drawn uniformly from every position that fits (torchvision's RandomCrop with
// padding, fill 0: pad before Normalize so that the padding is black).
struct RandomCrop {
  explicit RandomCrop(int64_t size, int64_t padding = 0) : RandomCrop(size, size, padding) {}
  RandomCrop(int64_t height, int64_t width, int64_t padding);
  Tensor operator()(const Tensor& sample, Generator& generator) const;

  int64_t height;
  int64_t width;
  int64_t padding;
};

// Mirrors the last dim with probability p.
struct RandomHorizontalFlip {
  explicit RandomHorizontalFlip(double p = 0.5);
  Tensor operator()(const Tensor& sample, Generator& generator) const;

  double p;
};

// Applies transforms in order, all drawing from the same generator.
struct Compose {
  explicit Compose(std::vector<Transform> transforms);
  Tensor operator()(const Tensor& sample, Generator& generator) const;

  std::vector<Transform> transforms;
};

}  // namespace transforms
}  // namespace pare::data
