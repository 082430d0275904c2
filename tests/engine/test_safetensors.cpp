// The safetensors container: round trips, the on-disk layout, and every malformed input the
// spec lists rejected with a message naming the file.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "pare/pare.h"

using pare::Tensor;

namespace {

std::string header_of(const std::string& json, const std::string& payload) {
  std::string padded = json;
  uint64_t size = padded.size();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((size >> (8 * i)) & 0xff);
  return out + padded + payload;
}

std::string floats(std::initializer_list<float> values) {
  std::string bytes(values.size() * 4, '\0');
  std::memcpy(bytes.data(), values.begin(), bytes.size());
  return bytes;
}

void expect_rejected(const std::string& bytes, const std::string& fragment) {
  CAPTURE(fragment);
  CHECK_THROWS_WITH_AS(pare::decode_safetensors(bytes, "bad.safetensors"),
                       doctest::Contains(fragment.c_str()), pare::Error);
}

}  // namespace

TEST_CASE("round trip keeps names, dtypes, shapes, values and metadata") {
  Tensor w = pare::tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor labels = pare::tensor(std::vector<int64_t>{7, -1});
  Tensor mask = pare::bool_tensor({1, 0, 1});
  Tensor scalar = pare::scalar_tensor(2.5);
  std::string bytes = pare::encode_safetensors(
      {{"fc.weight", w.t()}, {"labels", labels}, {"mask", mask}, {"s", scalar}},
      {{"format", "pare"}});
  CHECK((bytes.size() - 8 - 4 * 6 - 16 - 3 - 4) % 8 == 0);  // header padded to 8 bytes
  pare::SafetensorsFile file = pare::decode_safetensors(bytes, "mem");
  REQUIRE(file.tensors.size() == 4);
  CHECK(file.tensors[0].first == "fc.weight");
  CHECK(file.metadata.at("format") == "pare");
  Tensor back = file.get("fc.weight");
  CHECK(back.sizes() == pare::Shape{3, 2});
  CHECK(pare::to_float_vector(back) == std::vector<float>{1, 4, 2, 5, 3, 6});
  CHECK(pare::to_int64_vector(file.get("labels")) == std::vector<int64_t>{7, -1});
  CHECK(file.get("mask").dtype() == pare::kBool);
  CHECK(file.get("s").dim() == 0);
  CHECK(file.get("s").item<float>() == 2.5f);
  CHECK_THROWS_WITH_AS(file.get("nope"), doctest::Contains("mem: no tensor named 'nope'"),
                       pare::Error);
}

TEST_CASE("the bytes follow the format exactly") {
  std::string bytes = pare::encode_safetensors({{"a", pare::tensor({1.0f})}});
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);
  std::string header = bytes.substr(8, header_size);
  CHECK(header.rfind("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 0) == 0);
  float value = 0;
  std::memcpy(&value, bytes.data() + 8 + header_size, 4);
  CHECK(value == 1.0f);
}

TEST_CASE("malformed files are rejected with a clear message") {
  expect_rejected("abc", "shorter than the 8-byte header size");
  expect_rejected(header_of("{}", "").substr(0, 6), "shorter");
  std::string huge(8, '\xff');
  expect_rejected(huge, "header size");
  expect_rejected(header_of("[1, 2]", ""), "not a JSON object");
  expect_rejected(header_of("{not json", ""), "not valid JSON");
  expect_rejected(header_of(R"({"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}})", "xx"),
                  "unsupported dtype");
  expect_rejected(
      header_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", floats({1})),
      "needs 8 bytes but data_offsets cover 4");
  expect_rejected(
      header_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", floats({1})),
      "outside the data buffer");
  expect_rejected(header_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                            R"("b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})",
                            floats({1, 2})),
                  "overlaps");
  expect_rejected(
      header_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", floats({1, 2})),
      "hole in the data buffer");
  expect_rejected(
      header_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", floats({1, 2})),
      "unused trailing bytes");
  expect_rejected(
      header_of(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", floats({1})),
      "invalid dimension");
  expect_rejected(header_of(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],)"
                            R"("data_offsets":[0,4]}})",
                            floats({1})),
                  "overflows");
  expect_rejected(header_of(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", floats({1})),
                  "lacks dtype");
  expect_rejected(header_of(R"({"__metadata__":{"k":1}})", ""), "is not a string");
  expect_rejected(header_of(R"({"m":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}})", "\x02"),
                  "must be 0 or 1");
}

TEST_CASE("files are written atomically and read back; errors name the path") {
  namespace fs = std::filesystem;
  fs::path folder = fs::temp_directory_path() / "pare_test_safetensors";
  fs::create_directories(folder);
  std::string path = (folder / "x.safetensors").string();
  pare::write_safetensors(path, {{"v", pare::tensor({3, 4})}});
  CHECK(pare::to_float_vector(pare::read_safetensors(path).get("v")) == std::vector<float>{3, 4});
  for (const auto& entry : fs::directory_iterator(folder))
    CHECK(entry.path().filename().string().find(".tmp") == std::string::npos);
  CHECK_THROWS_WITH_AS(pare::read_safetensors((folder / "missing.safetensors").string()),
                       doctest::Contains("missing.safetensors: cannot open"), pare::Error);
  CHECK_THROWS_WITH_AS(pare::write_safetensors("/nonexistent-dir/x.safetensors", {}),
                       doctest::Contains("/nonexistent-dir/x.safetensors"), pare::Error);
  {
    std::ofstream truncated(folder / "t.safetensors", std::ios::binary);
    std::string bytes = pare::encode_safetensors({{"v", pare::tensor({3, 4})}});
    truncated << bytes.substr(0, bytes.size() - 3);
  }
  CHECK_THROWS_WITH_AS(pare::read_safetensors((folder / "t.safetensors").string()),
                       doctest::Contains("t.safetensors"), pare::Error);
  fs::remove_all(folder);
}
