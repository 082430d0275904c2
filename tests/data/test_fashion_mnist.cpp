// load_fashion_mnist on small IDX sets written here (never the real data set): exact pixel and
// label values, plain and gzip folders, and errors that name the file and how to get the data.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "pare/creation.h"
#include "pare/data/data_loader.h"
#include "pare/data/fashion_mnist.h"
#include "pare/data/idx.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using pare::testing::contains;
using pare::testing::error_of;

std::string fresh_folder(const std::string& name) {
  fs::path folder = fs::temp_directory_path() / "pare_test_fashion_mnist" / name;
  fs::remove_all(folder);
  fs::create_directories(folder);
  return folder.string();
}

// Image i has pixel (y, x) = (i * 31 + y * 28 + x) % 256; label i is (3 i + 1) % 10.
pare::Tensor pattern_images(int64_t n) {
  pare::Tensor images = pare::empty({n, 28, 28}, pare::kUInt8);
  uint8_t* pixels = images.data_ptr<uint8_t>();
  for (int64_t i = 0; i < n * 28 * 28; ++i) {
    const int64_t image = i / (28 * 28);
    pixels[i] = static_cast<uint8_t>((image * 31 + i % (28 * 28)) % 256);
  }
  return images;
}

std::vector<int64_t> pattern_labels(int64_t n) {
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < n; ++i) labels.push_back((3 * i + 1) % 10);
  return labels;
}

void write_pattern_split(const std::string& folder, pare::data::Split split, int64_t n,
                         const std::string& suffix = ".gz") {
  auto name = [&](const std::string& gz_name) {
    return (fs::path(folder) / (gz_name.substr(0, gz_name.size() - 3) + suffix)).string();
  };
  pare::data::write_idx_images(name(pare::data::fashion_mnist_images_file(split)),
                               pattern_images(n));
  pare::data::write_idx_labels(name(pare::data::fashion_mnist_labels_file(split)),
                               pare::tensor(pattern_labels(n)));
}

}  // namespace

TEST_CASE("images come back as float32 [N, 1, 28, 28] in [0, 1] and labels as int64") {
  for (const char* suffix : {".gz", ""}) {
    CAPTURE(suffix);
    const std::string folder = fresh_folder(std::string("pattern") + suffix);
    write_pattern_split(folder, pare::data::Split::test, 5, suffix);
    pare::data::FashionMNIST test = pare::data::load_fashion_mnist(pare::data::Split::test, folder);
    REQUIRE(test.size() == 5);
    CHECK(test.images().sizes() == pare::Shape{5, 1, 28, 28});
    CHECK(test.images().dtype() == pare::kFloat32);
    CHECK(pare::to_int64_vector(test.labels()) == pattern_labels(5));
    for (int64_t i : {0, 4}) {
      pare::data::Sample sample = test.get(i);
      CHECK(sample.data.sizes() == pare::Shape{1, 28, 28});
      CHECK(sample.target == (3 * i + 1) % 10);
      std::vector<float> pixels = pare::to_float_vector(sample.data);
      for (int64_t p : {0, 1, 27, 28, 400, 783}) {
        CAPTURE(p);
        CHECK(pixels[p] == static_cast<float>((i * 31 + p) % 256) / 255.0f);
      }
    }
  }
}

TEST_CASE("the synthetic set has the real file names and loads for both splits") {
  const std::string folder = fresh_folder("synthetic");
  pare::data::write_synthetic_fashion_mnist(folder, {.train_size = 40, .test_size = 12});
  for (const char* name : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                           "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"})
    CHECK(fs::exists(fs::path(folder) / name));
  auto train = pare::data::load_fashion_mnist(pare::data::Split::train, folder);
  auto test = pare::data::load_fashion_mnist(pare::data::Split::test, folder);
  CHECK(train.size() == 40);
  CHECK(test.size() == 12);
  // Matches the raw files, pixel for pixel.
  pare::Tensor raw =
      pare::data::read_idx_images((fs::path(folder) / "train-images-idx3-ubyte.gz").string());
  std::vector<int64_t> bytes = pare::to_int64_vector(raw);
  std::vector<float> scaled = pare::to_float_vector(train.images());
  REQUIRE(bytes.size() == scaled.size());
  size_t mismatches = 0;
  for (size_t i = 0; i < bytes.size(); ++i)
    mismatches += scaled[i] != static_cast<float>(bytes[i]) / 255.0f;
  CHECK(mismatches == 0);
  // Class k's bright bar starts at row 2 + 2k.
  for (int64_t i = 0; i < 5; ++i) {
    pare::data::Sample sample = train.get(i);
    std::vector<float> pixels = pare::to_float_vector(sample.data);
    CHECK(pixels[(2 + 2 * sample.target) * 28 + 10] > 0.75f);
    CHECK(pixels[0] < 0.2f);
  }
  // The same seed writes the same files; plain files when asked.
  const std::string plain = fresh_folder("synthetic_plain");
  pare::data::write_synthetic_fashion_mnist(plain,
                                            {.train_size = 40, .test_size = 12, .gzip = false});
  CHECK(fs::exists(fs::path(plain) / "train-images-idx3-ubyte"));
  auto plain_train = pare::data::load_fashion_mnist(pare::data::Split::train, plain);
  CHECK(pare::to_float_vector(plain_train.images()) == scaled);
  CHECK(pare::to_int64_vector(plain_train.labels()) == pare::to_int64_vector(train.labels()));
}

TEST_CASE("it feeds a DataLoader") {
  const std::string folder = fresh_folder("loader");
  pare::data::write_synthetic_fashion_mnist(folder, {.train_size = 70, .test_size = 0});
  auto train = pare::data::load_fashion_mnist(pare::data::Split::train, folder);
  pare::data::DataLoader loader(train, {.batch_size = 32, .shuffle = true, .seed = 2},
                                pare::data::transforms::RandomCrop(28, 2));
  int64_t seen = 0;
  for (const pare::data::Batch& batch : loader.epoch(0)) {
    CHECK(batch.data.sizes() == pare::Shape{batch.size(), 1, 28, 28});
    seen += batch.size();
  }
  CHECK(seen == 70);
}

TEST_CASE("a missing folder or file names the file and the Debian package") {
  const std::string folder = fresh_folder("missing");
  std::string message =
      error_of([&] { pare::data::load_fashion_mnist(pare::data::Split::train, folder); });
  CHECK(contains(message, (fs::path(folder) / "train-images-idx3-ubyte.gz").string()));
  CHECK(contains(message, "sudo apt-get install dataset-fashion-mnist"));

  write_pattern_split(folder, pare::data::Split::train, 3);
  fs::remove(fs::path(folder) / "train-labels-idx1-ubyte.gz");
  message = error_of([&] { pare::data::load_fashion_mnist(pare::data::Split::train, folder); });
  CHECK(contains(message, "train-labels-idx1-ubyte.gz"));
  CHECK(contains(message, "sudo apt-get install dataset-fashion-mnist"));
}

TEST_CASE("a truncated file names the file and the Debian package") {
  const std::string folder = fresh_folder("truncated");
  write_pattern_split(folder, pare::data::Split::test, 4);
  const fs::path images = fs::path(folder) / "t10k-images-idx3-ubyte.gz";
  fs::resize_file(images, fs::file_size(images) / 2);
  std::string message =
      error_of([&] { pare::data::load_fashion_mnist(pare::data::Split::test, folder); });
  CHECK(contains(message, images.string()));
  CHECK(contains(message, "truncated"));
  CHECK(contains(message, "sudo apt-get install dataset-fashion-mnist"));
}

TEST_CASE("image and label counts must agree, labels must be classes, images 28x28") {
  const std::string folder = fresh_folder("mismatch");
  write_pattern_split(folder, pare::data::Split::train, 4);
  const std::string labels = (fs::path(folder) / "train-labels-idx1-ubyte.gz").string();
  pare::data::write_idx_labels(labels, pare::tensor(std::vector<int64_t>{1, 2, 3}));
  std::string message =
      error_of([&] { pare::data::load_fashion_mnist(pare::data::Split::train, folder); });
  CHECK(contains(message, "4 images"));
  CHECK(contains(message, "3 labels"));
  CHECK(contains(message, labels));

  pare::data::write_idx_labels(labels, pare::tensor(std::vector<int64_t>{1, 2, 10, 3}));
  message = error_of([&] { pare::data::load_fashion_mnist(pare::data::Split::train, folder); });
  CHECK(contains(message, "label 10 of sample 2"));

  pare::data::write_idx_labels(labels, pare::tensor(std::vector<int64_t>{1, 2, 3, 4}));
  pare::data::write_idx_images((fs::path(folder) / "train-images-idx3-ubyte.gz").string(),
                               pare::zeros({4, 27, 28}, pare::kUInt8));
  message = error_of([&] { pare::data::load_fashion_mnist(pare::data::Split::train, folder); });
  CHECK(contains(message, "[4, 27, 28]"));
}

TEST_CASE("the default folder is Debian's unless PARE_FASHION_MNIST_DIR is set") {
  const char* saved = std::getenv("PARE_FASHION_MNIST_DIR");
  const std::string saved_value = saved ? saved : "";
  unsetenv("PARE_FASHION_MNIST_DIR");
  CHECK(pare::data::default_fashion_mnist_folder() == "/usr/share/datasets/fashion-mnist");
  setenv("PARE_FASHION_MNIST_DIR", "/tmp/elsewhere", 1);
  CHECK(pare::data::default_fashion_mnist_folder() == "/tmp/elsewhere");
  if (saved)
    setenv("PARE_FASHION_MNIST_DIR", saved_value.c_str(), 1);
  else
    unsetenv("PARE_FASHION_MNIST_DIR");
}

TEST_CASE("class names") {
  CHECK(std::string(pare::data::FashionMNIST::class_name(0)) == "T-shirt/top");
  CHECK(std::string(pare::data::FashionMNIST::class_name(9)) == "Ankle boot");
  CHECK_THROWS_AS(pare::data::FashionMNIST::class_name(10), pare::Error);
}
