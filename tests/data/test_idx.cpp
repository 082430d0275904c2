// The IDX reader and writer against hand-built bytes: plain and gzip files (the gzip bytes were
// made by Python's gzip module, not by pare), truncated files, wrong magic numbers, lying headers.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "pare/creation.h"
#include "pare/data/idx.h"
#include "test_util.h"

namespace {

using Bytes = std::vector<uint8_t>;
using pare::testing::error_of;

std::string scratch(const std::string& name) {
  auto folder = std::filesystem::temp_directory_path() / "pare_test_idx";
  std::filesystem::create_directories(folder);
  return (folder / name).string();
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

Bytes read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

// Images [2, 2, 3] holding 0..9, 250, 255.
const Bytes kImagesIdx = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0,   0,
                          0, 3, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 250, 255};
const std::vector<int64_t> kImageValues = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 250, 255};
// gzip.compress(kImagesIdx, mtime=0) in Python.
const Bytes kImagesIdxGz = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x63,
                            0x60, 0xe0, 0x60, 0x66, 0x60, 0x60, 0x60, 0x82, 0x62, 0x66, 0x06,
                            0x46, 0x26, 0x66, 0x16, 0x56, 0x36, 0x76, 0x0e, 0xce, 0x5f, 0xff,
                            0x01, 0xc0, 0xc9, 0x4f, 0x2a, 0x1c, 0x00, 0x00, 0x00};
// Labels [3] = {7, 0, 9}.
const Bytes kLabelsIdx = {0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9};

std::vector<int64_t> values_of(const pare::Tensor& tensor) { return pare::to_int64_vector(tensor); }

}  // namespace

TEST_CASE("a plain image file reads back with its dims and every byte") {
  const std::string path = scratch("images-idx3-ubyte");
  write_bytes(path, kImagesIdx);
  pare::Tensor images = pare::data::read_idx_images(path);
  CHECK(images.dtype() == pare::kUInt8);
  CHECK(images.sizes() == pare::Shape{2, 2, 3});
  CHECK(values_of(images) == kImageValues);
  CHECK(values_of(pare::data::read_idx(path)) == kImageValues);
}

TEST_CASE("a plain label file reads back") {
  const std::string path = scratch("labels-idx1-ubyte");
  write_bytes(path, kLabelsIdx);
  pare::Tensor labels = pare::data::read_idx_labels(path);
  CHECK(labels.sizes() == pare::Shape{3});
  CHECK(values_of(labels) == std::vector<int64_t>{7, 0, 9});
}

TEST_CASE("a gzip file made elsewhere reads back, whatever its name") {
  for (const char* name : {"images-idx3-ubyte.gz", "gzip-without-suffix"}) {
    const std::string path = scratch(name);
    write_bytes(path, kImagesIdxGz);
    pare::Tensor images = pare::data::read_idx_images(path);
    CHECK(images.sizes() == pare::Shape{2, 2, 3});
    CHECK(values_of(images) == kImageValues);
  }
}

TEST_CASE("write_idx writes exactly the IDX bytes, gzip-compressed for a .gz name") {
  pare::Tensor images = pare::tensor(std::vector<int64_t>(kImageValues), {2, 2, 3});
  const std::string plain = scratch("written-images-idx3-ubyte");
  pare::data::write_idx_images(plain, images);
  CHECK(read_bytes(plain) == kImagesIdx);

  const std::string gzip = scratch("written-images-idx3-ubyte.gz");
  pare::data::write_idx_images(gzip, images.to(pare::kUInt8));
  Bytes compressed = read_bytes(gzip);
  REQUIRE(compressed.size() >= 2);
  CHECK(compressed[0] == 0x1f);
  CHECK(compressed[1] == 0x8b);
  CHECK(values_of(pare::data::read_idx_images(gzip)) == kImageValues);

  const std::string labels = scratch("written-labels-idx1-ubyte");
  pare::data::write_idx_labels(labels, pare::tensor(std::vector<int64_t>{7, 0, 9}));
  CHECK(read_bytes(labels) == kLabelsIdx);
}

TEST_CASE("write_idx refuses values that are not bytes") {
  const std::string path = scratch("bad-idx1-ubyte");
  CHECK(error_of([&] {
          pare::data::write_idx_labels(path, pare::tensor(std::vector<int64_t>{1, 256}));
        }).find("256") != std::string::npos);
  CHECK(error_of([&] {
          pare::data::write_idx_labels(path, pare::zeros({2, 2}, pare::kUInt8));
        }).find("[N]") != std::string::npos);
  CHECK_THROWS_AS(pare::data::write_idx(path, pare::zeros({2})), pare::Error);  // float32
}

TEST_CASE("a missing file is named") {
  const std::string path = scratch("does-not-exist-idx1-ubyte");
  std::filesystem::remove(path);
  std::string message = error_of([&] { pare::data::read_idx_labels(path); });
  CHECK(message.find(path) != std::string::npos);
  CHECK(message.find("no such file") != std::string::npos);
}

TEST_CASE("truncated plain files are reported with the file and what is missing") {
  // Cut inside the magic, inside the dims, and one byte short of the data.
  for (size_t keep : {size_t{0}, size_t{3}, size_t{9}, kImagesIdx.size() - 1}) {
    CAPTURE(keep);
    const std::string path = scratch("truncated-images-idx3-ubyte");
    write_bytes(path, Bytes(kImagesIdx.begin(), kImagesIdx.begin() + keep));
    std::string message = error_of([&] { pare::data::read_idx_images(path); });
    CHECK(message.find(path) != std::string::npos);
    CHECK(message.find("truncated") != std::string::npos);
  }
}

TEST_CASE("truncated gzip files are reported") {
  // Cut inside the deflate data, and inside the 8-byte CRC/length trailer after complete data.
  for (size_t keep : {size_t{20}, size_t{30}, kImagesIdxGz.size() - 3}) {
    CAPTURE(keep);
    const std::string path = scratch("truncated-images-idx3-ubyte.gz");
    write_bytes(path, Bytes(kImagesIdxGz.begin(), kImagesIdxGz.begin() + keep));
    std::string message = error_of([&] { pare::data::read_idx_images(path); });
    CHECK(message.find(path) != std::string::npos);
    CHECK(message.find("truncated") != std::string::npos);
  }
}

TEST_CASE("a corrupt gzip file is reported") {
  Bytes corrupt = kImagesIdxGz;
  corrupt[corrupt.size() - 6] ^= 0xff;  // the CRC no longer matches
  const std::string path = scratch("corrupt-images-idx3-ubyte.gz");
  write_bytes(path, corrupt);
  std::string message = error_of([&] { pare::data::read_idx_images(path); });
  CHECK(message.find(path) != std::string::npos);
  CHECK(message.find("zlib") != std::string::npos);
}

TEST_CASE("extra bytes after the data are reported") {
  Bytes longer = kImagesIdx;
  longer.push_back(17);
  const std::string path = scratch("long-images-idx3-ubyte");
  write_bytes(path, longer);
  std::string message = error_of([&] { pare::data::read_idx_images(path); });
  CHECK(message.find(path) != std::string::npos);
  CHECK(message.find("more bytes") != std::string::npos);
}

TEST_CASE("wrong magic numbers are reported with both numbers") {
  const std::string labels = scratch("magic-labels-idx1-ubyte");
  write_bytes(labels, kLabelsIdx);
  std::string message = error_of([&] { pare::data::read_idx_images(labels); });
  CHECK(message.find(labels) != std::string::npos);
  CHECK(message.find("0x00000801") != std::string::npos);
  CHECK(message.find("0x00000803") != std::string::npos);

  const std::string images = scratch("magic-images-idx3-ubyte");
  write_bytes(images, kImagesIdx);
  CHECK(error_of([&] { pare::data::read_idx_labels(images); }).find("0x00000801") !=
        std::string::npos);

  const std::string not_idx = scratch("not-idx");
  write_bytes(not_idx, {'P', 'K', 3, 4, 0, 0, 0, 0});
  message = error_of([&] { pare::data::read_idx(not_idx); });
  CHECK(message.find(not_idx) != std::string::npos);
  CHECK(message.find("0x504b0304") != std::string::npos);

  const std::string floats = scratch("float-idx1");
  write_bytes(floats, {0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0x80, 0x3f});
  CHECK(error_of([&] { pare::data::read_idx(floats); }).find("float32") != std::string::npos);
}

TEST_CASE("a header that claims more than the file holds is caught without allocating it") {
  // 4 * 10^12 bytes claimed by a 20-byte file: must fail as truncated, not allocate.
  const std::string huge = scratch("huge-images-idx3-ubyte");
  write_bytes(huge,
              {0, 0, 8, 3, 0, 0, 0x03, 0xe8, 0, 0x0f, 0x42, 0x40, 0, 0x0f, 0x42, 0x40, 1, 2, 3, 4});
  std::string message = error_of([&] { pare::data::read_idx_images(huge); });
  CHECK(message.find("truncated") != std::string::npos);
  CHECK(message.find("[1000, 1000000, 1000000]") != std::string::npos);

  // Dims whose product does not fit 64 bits.
  const std::string overflow = scratch("overflow-idx3-ubyte");
  write_bytes(overflow,
              {0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  CHECK(error_of([&] { pare::data::read_idx_images(overflow); }).find("overflows") !=
        std::string::npos);
}

TEST_CASE("an empty data set (N = 0) is valid") {
  const std::string path = scratch("empty-labels-idx1-ubyte");
  write_bytes(path, {0, 0, 8, 1, 0, 0, 0, 0});
  CHECK(pare::data::read_idx_labels(path).sizes() == pare::Shape{0});
}
