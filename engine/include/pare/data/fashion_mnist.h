// Fashion-MNIST (70 000 28x28 grey images of 10 kinds of clothing) from the IDX files of
// Debian's dataset-fashion-mnist package, held in memory as a TensorDataset: images float32
// [N, 1, 28, 28] scaled to [0, 1], labels int64 [N].
//
//   // sudo apt-get install dataset-fashion-mnist   (-> /usr/share/datasets/fashion-mnist/)
//   pare::data::FashionMNIST train = pare::data::load_fashion_mnist(pare::data::Split::train);
//   pare::data::FashionMNIST test = pare::data::load_fashion_mnist(pare::data::Split::test, dir);
//   std::cout << train.size() << " " << pare::data::FashionMNIST::class_name(train.get(0).target);
//
//   // A small stand-in with the same file names and layout, for tests and smoke runs:
//   pare::data::write_synthetic_fashion_mnist("/tmp/fmnist", {.train_size = 256, .test_size = 64});
//   auto tiny = pare::data::load_fashion_mnist(pare::data::Split::train, "/tmp/fmnist");
#pragma once

#include <cstdint>
#include <string>

#include "pare/data/tensor_dataset.h"

namespace pare::data {

enum class Split { train, test };

// Mean and standard deviation of the training images' pixels in [0, 1], for Normalize.
inline constexpr double kFashionMnistMean = 0.2860;
inline constexpr double kFashionMnistStd = 0.3530;

class FashionMNIST : public TensorDataset {
 public:
  static constexpr int64_t kNumClasses = 10;
  static constexpr int64_t kImageSize = 28;

  FashionMNIST() = default;
  FashionMNIST(Tensor images, Tensor labels)
      : TensorDataset(std::move(images), std::move(labels)) {}

  const Tensor& images() const { return data(); }
  const Tensor& labels() const { return targets(); }
  // "T-shirt/top", "Trouser", ..., "Ankle boot".
  static const char* class_name(int64_t label);
};

// Debian's folder, or $PARE_FASHION_MNIST_DIR when that is set.
std::string default_fashion_mnist_folder();

// The file names of a split: {images, labels}, e.g. {"t10k-images-idx3-ubyte.gz", ...}.
std::string fashion_mnist_images_file(Split split);
std::string fashion_mnist_labels_file(Split split);

// Reads `folder`/<split files>, each as name.gz or, failing that, uncompressed without .gz. A
// missing, truncated or malformed file gives a pare::Error naming it and how to get the data.
FashionMNIST load_fashion_mnist(Split split,
                                const std::string& folder = default_fashion_mnist_folder());

struct SyntheticFashionMnistOptions {
  int64_t train_size = 512;
  int64_t test_size = 128;
  uint64_t seed = 0;
  bool gzip = true;
};

// Writes the four Fashion-MNIST files into `folder` (created if needed) with made-up, easily
// learnt 28x28 images: class k is a bright bar whose position depends on k, plus noise.
void write_synthetic_fashion_mnist(const std::string& folder,
                                   const SyntheticFashionMnistOptions& options = {});

}  // namespace pare::data
