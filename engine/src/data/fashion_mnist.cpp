// Fashion-MNIST from IDX files, and a synthetic stand-in with the same layout.
#include "pare/data/fashion_mnist.h"

#include <array>
#include <cstdlib>
#include <filesystem>

#include "pare/creation.h"
#include "pare/data/idx.h"
#include "pare/random.h"

namespace pare::data {

namespace {

constexpr const char* kDebianFolder = "/usr/share/datasets/fashion-mnist";
constexpr const char* kHowToGet =
    "Fashion-MNIST comes from Debian's dataset-fashion-mnist package: `sudo apt-get install "
    "dataset-fashion-mnist` (add --reinstall if a file is damaged) puts the four files in "
    "/usr/share/datasets/fashion-mnist/. Or pass the folder that holds them to "
    "load_fashion_mnist, or set PARE_FASHION_MNIST_DIR.";

constexpr std::array<const char*, FashionMNIST::kNumClasses> kClassNames = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// `folder`/`name` (a .gz name), or the same without .gz when only that exists.
std::string locate(const std::string& folder, const std::string& name) {
  const std::filesystem::path gzip_path = std::filesystem::path(folder) / name;
  const std::filesystem::path plain_path =
      std::filesystem::path(folder) / name.substr(0, name.size() - 3);
  std::error_code error;
  if (std::filesystem::exists(gzip_path, error)) return gzip_path.string();
  if (std::filesystem::exists(plain_path, error)) return plain_path.string();
  throw Error(str_cat("Fashion-MNIST: missing file '", gzip_path.string(), "' (nor is there '",
                      plain_path.string(), "'). ", kHowToGet));
}

// Runs `read`, adding how to get the data to any error.
template <typename Read>
Tensor read_with_hint(Read read) {
  try {
    return read();
  } catch (const Error& error) {
    throw Error(str_cat("Fashion-MNIST: ", error.what(), ". ", kHowToGet));
  }
}

}  // namespace

const char* FashionMNIST::class_name(int64_t label) {
  PARE_CHECK(label >= 0 && label < kNumClasses, "FashionMNIST::class_name: label ", label,
             " is not in 0..9");
  return kClassNames[label];
}

std::string default_fashion_mnist_folder() {
  const char* override_folder = std::getenv("PARE_FASHION_MNIST_DIR");
  return override_folder != nullptr && *override_folder != '\0' ? override_folder : kDebianFolder;
}

std::string fashion_mnist_images_file(Split split) {
  return split == Split::train ? "train-images-idx3-ubyte.gz" : "t10k-images-idx3-ubyte.gz";
}

std::string fashion_mnist_labels_file(Split split) {
  return split == Split::train ? "train-labels-idx1-ubyte.gz" : "t10k-labels-idx1-ubyte.gz";
}

FashionMNIST load_fashion_mnist(Split split, const std::string& folder) {
  const std::string images_path = locate(folder, fashion_mnist_images_file(split));
  const std::string labels_path = locate(folder, fashion_mnist_labels_file(split));
  Tensor raw_images = read_with_hint([&] { return read_idx_images(images_path); });
  Tensor raw_labels = read_with_hint([&] { return read_idx_labels(labels_path); });

  const int64_t count = raw_images.size(0);
  PARE_CHECK(raw_images.size(1) == FashionMNIST::kImageSize &&
                 raw_images.size(2) == FashionMNIST::kImageSize,
             "Fashion-MNIST: '", images_path, "' holds images of shape ", raw_images.sizes(),
             "; expected [N, 28, 28]. ", kHowToGet);
  PARE_CHECK(raw_labels.size(0) == count, "Fashion-MNIST: '", images_path, "' holds ", count,
             " images but '", labels_path, "' holds ", raw_labels.size(0), " labels. ", kHowToGet);

  Tensor labels = empty({count}, kInt64);
  const uint8_t* label_bytes = raw_labels.data_ptr<uint8_t>();
  int64_t* label_values = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < count; ++i) {
    PARE_CHECK(label_bytes[i] < FashionMNIST::kNumClasses, "Fashion-MNIST: '", labels_path,
               "': label ", static_cast<int>(label_bytes[i]), " of sample ", i,
               " is not a class (0..9). ", kHowToGet);
    label_values[i] = label_bytes[i];
  }

  Tensor images = empty({count, 1, FashionMNIST::kImageSize, FashionMNIST::kImageSize});
  const uint8_t* pixels = raw_images.data_ptr<uint8_t>();
  float* scaled = images.data_ptr<float>();
  for (int64_t i = 0; i < images.numel(); ++i) scaled[i] = static_cast<float>(pixels[i]) / 255.0f;
  return FashionMNIST(images, labels);
}

void write_synthetic_fashion_mnist(const std::string& folder,
                                   const SyntheticFashionMnistOptions& options) {
  PARE_CHECK(options.train_size >= 0 && options.test_size >= 0,
             "write_synthetic_fashion_mnist: sizes must be non-negative, got ", options.train_size,
             " and ", options.test_size);
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  PARE_CHECK(!error, "write_synthetic_fashion_mnist: cannot create '", folder,
             "': ", error.message());
  constexpr int64_t kSide = FashionMNIST::kImageSize;
  for (Split split : {Split::train, Split::test}) {
    const int64_t count = split == Split::train ? options.train_size : options.test_size;
    Generator generator(options.seed * 2 + (split == Split::train ? 0 : 1));
    Tensor images = empty({count, kSide, kSide}, kUInt8);
    Tensor labels = empty({count}, kUInt8);
    uint8_t* pixels = images.data_ptr<uint8_t>();
    uint8_t* label_values = labels.data_ptr<uint8_t>();
    for (int64_t i = 0; i < count; ++i) {
      // Class k: a 3-row bright bar starting at row 2 + 2k, columns 4..23, on dim noise.
      const auto label = static_cast<int64_t>(generator.next() % FashionMNIST::kNumClasses);
      label_values[i] = static_cast<uint8_t>(label);
      uint8_t* image = pixels + i * kSide * kSide;
      for (int64_t y = 0; y < kSide; ++y) {
        for (int64_t x = 0; x < kSide; ++x) {
          const bool bar = y >= 2 + 2 * label && y < 5 + 2 * label && x >= 4 && x < 24;
          const auto noise = static_cast<uint8_t>(generator.next() % 48);
          image[y * kSide + x] = bar ? static_cast<uint8_t>(200 + noise) : noise;
        }
      }
    }
    auto name = [&](const std::string& gz_name) {
      const std::string file = options.gzip ? gz_name : gz_name.substr(0, gz_name.size() - 3);
      return (std::filesystem::path(folder) / file).string();
    };
    write_idx_images(name(fashion_mnist_images_file(split)), images);
    write_idx_labels(name(fashion_mnist_labels_file(split)), labels);
  }
}

}  // namespace pare::data
