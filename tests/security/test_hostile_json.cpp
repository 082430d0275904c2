// JSON from hostile files: a safetensors header (the model, `--input`, `--masks`), the graph
// inside a .pare file and a pruning `--config`, each with an array nested 100,000 deep inside an
// object that has a further key. nlohmann::json parses that iteratively but copies and prints it
// recursively, so before the nesting bound every one of these overflowed the stack (SIGSEGV).
// Now each is refused with one line naming the file, and no message quotes an unbounded value.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli_runner.h"
#include "pare/bounded_json.h"
#include "pare/ir/pare_file.h"
#include "pare/ir/tracer.h"
#include "pare/pare.h"
#include "pare/safetensors.h"
#include "test_util.h"

namespace {

using pare::testing::check_file_error;
using pare::testing::check_file_error_ignoring_stdout;
using pare::testing::error_of;
using pare::testing::fill_parameters;
using pare::testing::random_tensor;
using pare::testing::run_pare;
using pare::testing::TempDir;

constexpr size_t kDeep = 100000;

// `[[[...1...]]]`, `depth` arrays deep.
std::string nested_arrays(size_t depth) {
  return std::string(depth, '[') + "1" + std::string(depth, ']');
}

// A safetensors file whose header is exactly `header` (padded with spaces to 8 bytes) and whose
// byte buffer is `buffer`.
std::string safetensors_with_header(std::string header, const std::string& buffer = "") {
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string bytes;
  for (int i = 0; i < 8; ++i)
    bytes.push_back(static_cast<char>((static_cast<uint64_t>(header.size()) >> (8 * i)) & 0xff));
  return bytes + header + buffer;
}

// A JSON string literal holding `text` (the graph is a JSON string inside the metadata).
std::string json_string(const std::string& text) { return nlohmann::json(text).dump(); }

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// fc1 (4 -> 6) -> relu -> fc2 (6 -> 3), saved as `dir/mlp.pare`.
struct Mlp : pare::nn::Module {
  Mlp() {
    fc1 = register_module("fc1", pare::nn::Linear(4, 6));
    fc2 = register_module("fc2", pare::nn::Linear(6, 3));
    fill_parameters(*this, 3);
  }
  pare::Tensor forward(const pare::Tensor& x) { return fc2(pare::relu(fc1(x))); }
  pare::nn::Linear fc1{nullptr};
  pare::nn::Linear fc2{nullptr};
};

std::string save_mlp(const TempDir& dir) {
  auto mlp = std::make_shared<Mlp>();
  mlp->eval();
  const std::string path = dir.file("mlp.pare");
  pare::ir::save(pare::ir::trace(mlp, {random_tensor({2, 4}, 1)}), path);
  return path;
}

const std::string kDeepHeader = "{\"a\": " + nested_arrays(kDeep) + ", \"b\": 1}";

}  // namespace

TEST_CASE("bounded json: nesting beyond the bound is refused while parsing, not after") {
  CHECK(pare::parse_bounded_json(nested_arrays(pare::kMaxJsonDepth), "x").is_array());
  CHECK(pare::testing::contains(
      error_of([] { pare::parse_bounded_json(nested_arrays(pare::kMaxJsonDepth + 1), "x"); }),
      "x nests deeper than 64 levels"));
  CHECK(pare::testing::contains(error_of([] { pare::parse_bounded_json(kDeepHeader, "x"); }),
                                "x nests deeper than 64 levels"));
  CHECK(pare::testing::contains(error_of([] {
                                  std::string text;
                                  for (int i = 0; i < 1000; ++i) text += "{\"k\": ";
                                  text.append("1").append(1000, '}');
                                  pare::parse_bounded_json(text, "x");
                                }),
                                "nests deeper"));
  CHECK(pare::testing::contains(error_of([] { pare::parse_bounded_json("{\"a\": ", "x"); }),
                                "x is not valid JSON"));
}

TEST_CASE("bounded json: a message quotes at most a bounded excerpt of a value") {
  const nlohmann::json long_value = std::string(1 << 20, 'x');
  const std::string excerpt = pare::json_excerpt(long_value);
  CHECK(excerpt.size() <= 83);
  CHECK(excerpt.substr(excerpt.size() - 3) == "...");
  CHECK(pare::json_excerpt(nlohmann::json{1, 2}) == "[1,2]");
}

TEST_CASE("hostile json: a deeply nested safetensors header is refused by the reader") {
  const std::string bytes = safetensors_with_header(kDeepHeader);
  CHECK(pare::testing::contains(error_of([&] { pare::decode_safetensors(bytes, "deep.st"); }),
                                "deep.st: the header nests deeper than 64 levels"));
  CHECK(pare::testing::contains(error_of([&] { pare::ir::decode_pare(bytes, "deep.pare"); }),
                                "nests deeper than 64 levels"));
}

TEST_CASE("hostile json: pare info on a model with a deeply nested header or graph") {
  TempDir dir;
  const std::string deep_header = dir.file("deep_header.pare");
  write_bytes(deep_header, safetensors_with_header(kDeepHeader));
  check_file_error(run_pare({"info", deep_header}), deep_header, "nests deeper than 64 levels");

  // A well-formed container whose pare.graph string holds the deep value.
  const std::string graph =
      "{\"inputs\": " + nested_arrays(kDeep) + ", \"modules\": {}, \"nodes\": []}";
  const std::string deep_graph = dir.file("deep_graph.pare");
  write_bytes(deep_graph, safetensors_with_header("{\"__metadata__\": {\"format\": \"pare\", "
                                                  "\"pare.version\": \"1\", \"pare.graph\": " +
                                                  json_string(graph) + "}}"));
  check_file_error(run_pare({"info", deep_graph}), deep_graph,
                   "pare.graph nests deeper than 64 levels");
}

TEST_CASE("hostile json: pare run --input and pare prune --masks with a deeply nested header") {
  TempDir dir;
  const std::string model = save_mlp(dir);
  const std::string deep = dir.file("deep.safetensors");
  write_bytes(deep, safetensors_with_header(kDeepHeader));

  const std::string output = dir.file("out.safetensors");
  check_file_error(run_pare({"run", model, "--input", deep, "--output", output}), deep,
                   "nests deeper than 64 levels");
  CHECK_FALSE(std::filesystem::exists(output));

  const std::string pruned = dir.file("pruned.pare");
  check_file_error_ignoring_stdout(run_pare({"prune", model, "-o", pruned, "--masks", deep}), deep,
                                   "nests deeper than 64 levels");
  CHECK_FALSE(std::filesystem::exists(pruned));
}

TEST_CASE("hostile json: pare prune --config, deep or huge, gets a short message") {
  TempDir dir;
  const std::string model = save_mlp(dir);
  const std::string pruned = dir.file("pruned.pare");

  const std::string deep = dir.file("deep.json");
  write_bytes(deep, "[{\"tensor_fqn\": \"fc1.weight\", \"x\": " + nested_arrays(kDeep) + "}]");
  const pare::testing::Result deep_result =
      run_pare({"prune", model, "-o", pruned, "--config", deep});
  check_file_error_ignoring_stdout(deep_result, deep, "the config nests deeper than 64 levels");
  CHECK_FALSE(std::filesystem::exists(pruned));

  // A shallow but megabyte-long entry: the message quotes an excerpt of it, not all of it.
  const std::string huge = dir.file("huge.json");
  write_bytes(huge, "[{\"tensor_fqn\": 7, \"x\": \"" + std::string(1 << 20, 'x') + "\"}]");
  const pare::testing::Result huge_result =
      run_pare({"prune", model, "-o", pruned, "--config", huge});
  check_file_error_ignoring_stdout(huge_result, huge, "tensor_fqn");
  CHECK(huge_result.err.size() < 400);
  CHECK_FALSE(std::filesystem::exists(pruned));
}

TEST_CASE("hostile json: a metadata value that is not UTF-8 is refused by the writer") {
  // Found by the fuzzer: nlohmann::json's dump threw its own type_error, not a pare::Error.
  const std::string message = error_of([] {
    pare::encode_safetensors({{"w", pare::ones({2})}}, {{"pare.graph", std::string("\xff\xfe")}});
  });
  CHECK(pare::testing::contains(message, "not valid UTF-8"));
}
