// Sizes that overflow int64 when multiplied, or that no tensor can have: the engine, shape
// inference, the MAC counts and the `pare` CLI refuse them with a pare::Error naming the op, node
// or module and the shape, instead of allocating a wrapped-around (tiny) buffer that a kernel then
// writes past. The CLI cases rewrite the graph of a saved model to hold the hostile values.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "pare/ir/model_stats.h"
#include "pare/ir/pare_file.h"
#include "pare/ir/shape_inference.h"
#include "pare/ir/tracer.h"
#include "pare/pare.h"
#include "test_util.h"

namespace {

using pare::Shape;
using pare::Tensor;
using pare::testing::check_file_error;
using pare::testing::contains;
using pare::testing::error_of;
using pare::testing::fill_parameters;
using pare::testing::random_tensor;
using pare::testing::run_pare;
using pare::testing::TempDir;
using Json = nlohmann::json;

constexpr int64_t k2to30 = int64_t{1} << 30;
constexpr int64_t k2to31 = int64_t{1} << 31;
constexpr int64_t k2to62 = int64_t{1} << 62;
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// ---- Library level ----

TEST_CASE("empty refuses shapes whose element or byte count overflows or exceeds the limit") {
  // 2^62 * 4 wraps to 0 in int64: the tensor used to be allocated with 0 bytes.
  const std::string wrapped = error_of([] { pare::empty({k2to62, 4}); });
  CHECK(contains(wrapped, "empty"));
  CHECK(contains(wrapped, "[4611686018427387904, 4]"));
  CHECK(contains(wrapped, "overflows int64"));
  // 2^62 float32 elements count fine but need 2^64 bytes, which wrapped to 0 as a size_t.
  const std::string bytes = error_of([] { pare::zeros({k2to62}); });
  CHECK(contains(bytes, "[4611686018427387904]"));
  CHECK(contains(bytes, "largest tensor"));
  // A zero-size tensor still has strides, the products of the other sizes.
  CHECK(contains(error_of([] { pare::empty({0, k2to62, 4}); }), "empty"));
  CHECK(contains(error_of([] {
                   pare::ones({k2to31, k2to31, 0}, pare::kInt64);
                 }),
                 "largest tensor"));
  // Small zero-size and ordinary tensors are untouched.
  CHECK(pare::empty({0, 3}).numel() == 0);
  CHECK(pare::zeros({2, 0, 5}).nbytes() == 0);
  CHECK(pare::zeros({3, 5}).nbytes() == 60);
}

TEST_CASE("arange refuses a length beyond any tensor instead of converting it") {
  CHECK(contains(error_of([] { pare::arange(0.0, 1e30, 1.0); }), "arange"));
  CHECK(pare::arange(0.0, 5.0, 1.0).numel() == 5);
}

TEST_CASE("view, reshape and flatten check the products of their sizes") {
  // 2^32 * 2^32 wraps to 0, which a numel-0 input used to match.
  const Tensor nothing = pare::zeros({0});
  const std::string reshaped = error_of([&] { nothing.reshape({k2to62, 4, 0}); });
  CHECK(contains(reshaped, "view"));
  CHECK(contains(reshaped, "overflows int64"));
  const std::string inferred = error_of([] {
    pare::zeros({2}).view({int64_t{1} << 32, int64_t{1} << 32, -1});
  });
  CHECK(contains(inferred, "overflows int64"));
  // An expanded scalar has no storage to speak of, so only the shape check stops it.
  const Tensor scalar = pare::scalar_tensor(1.0);
  CHECK(contains(error_of([&] { scalar.expand({k2to62, 4}); }), "expand"));
  const Tensor wide = scalar.expand({k2to31, k2to31});
  CHECK(contains(error_of([&] { wide.flatten(); }), "largest tensor"));
  CHECK(pare::zeros({2, 3, 4}).flatten(1).sizes() == Shape{2, 12});
}

TEST_CASE("slice, narrow and chunk take extreme steps and lengths without overflow") {
  const Tensor x = pare::arange(0.0, 10.0, 1.0);
  // (end - start + step - 1) / step overflowed for a huge step; one element is right.
  const Tensor every_huge_step = x.slice(0, 0, 10, kInt64Max);
  CHECK(every_huge_step.sizes() == Shape{1});
  CHECK(pare::to_int64_vector(every_huge_step) == std::vector<int64_t>{0});
  // begin + length overflowed to a negative end that passed the bounds check.
  CHECK(contains(error_of([&] { x.narrow(0, 2, kInt64Max); }), "narrow"));
  CHECK(pare::chunk(x, kInt64Max, 0).size() == 10);
}

TEST_CASE("cat of expanded tensors refuses a concatenated size that overflows") {
  const Tensor huge = pare::scalar_tensor(1.0).expand({k2to62});
  const std::string message = error_of([&] { pare::cat({huge, huge}); });
  CHECK(contains(message, "cat"));
  CHECK(contains(message, "overflows int64"));
}

TEST_CASE("conv2d and the pools refuse window parameters the kernels cannot take") {
  const Tensor x = random_tensor({1, 1, 4, 4}, 1);
  const Tensor weight = random_tensor({1, 1, 3, 3}, 2);
  // Padding 2^30 gives an output plane of (2^31 + 2)^2 elements, whose float32 byte size wrapped.
  const std::string padded = error_of([&] { pare::conv2d(x, weight, Tensor(), 1, k2to30); });
  CHECK(contains(padded, "conv2d"));
  CHECK(contains(padded, "padding [1073741824, 1073741824]"));
  // 2 * padding and dilation * (kernel - 1) overflowed int64 in the output-size rule.
  CHECK(contains(error_of([&] { pare::conv2d(x, weight, Tensor(), 1, k2to62); }), "conv2d"));
  CHECK(contains(error_of([&] { pare::conv2d(x, weight, Tensor(), 1, 0, k2to62); }), "conv2d"));
  CHECK(contains(error_of([&] { pare::max_pool2d(x, 3, 1, 0, k2to62); }), "overflows int64"));
  // An adaptive output of 2^31 x 2^31 float32 values wrapped to 0 bytes.
  const std::string adaptive = error_of([&] { pare::adaptive_avg_pool2d(x, {k2to31, k2to31}); });
  CHECK(contains(adaptive, "adaptive_pool2d"));
  CHECK(contains(adaptive, "[2147483648, 2147483648]"));
  CHECK(contains(error_of([&] { pare::adaptive_max_pool2d(x, {k2to31, 1}); }), "2147483648"));
  // in_channels of the weight times groups overflowed (an UndefinedBehaviorSanitizer report).
  const Tensor no_filters = pare::zeros({0, 2, 3, 3});
  CHECK(contains(error_of([&] { pare::conv2d(x, no_filters, Tensor(), 1, 0, 1, k2to62); }),
                 "overflows int64"));
  // Ordinary windows still work.
  CHECK(pare::conv2d(x, weight, Tensor(), 1, 1).sizes() == Shape{1, 1, 4, 4});
  CHECK(pare::adaptive_avg_pool2d(x, 2).sizes() == Shape{1, 1, 2, 2});
}

// fc1 (4 -> 3) -> relu -> fc2 (3 -> 2).
struct Mlp : pare::nn::Module {
  Mlp() {
    fc1 = register_module("fc1", pare::nn::Linear(4, 3));
    fc2 = register_module("fc2", pare::nn::Linear(3, 2));
    fill_parameters(*this, 3);
  }
  Tensor forward(const Tensor& x) { return fc2(pare::relu(fc1(x))); }
  pare::nn::Linear fc1{nullptr};
  pare::nn::Linear fc2{nullptr};
};

pare::ir::GraphModule traced_mlp() {
  auto mlp = std::make_shared<Mlp>();
  mlp->eval();
  return pare::ir::trace(mlp, {random_tensor({2, 4}, 4)});
}

TEST_CASE("shape inference and the MAC count refuse a recorded input shape of [2^62, 4]") {
  pare::ir::GraphModule model = traced_mlp();
  const std::string input_name = model.graph().placeholders().at(0)->name();
  const std::vector<pare::ir::TensorMeta> hostile = {{{k2to62, 4}, pare::kFloat32}};
  const std::string inferred = error_of([&] { pare::ir::infer_shapes(model, hostile); });
  CHECK(contains(inferred, "node '" + input_name + "'"));
  CHECK(contains(inferred, "[4611686018427387904, 4]"));
  // The MLP used to report 0 MACs: 2^64 rows * in_features wrapped.
  const std::string stats = error_of([&] { pare::ir::model_stats(model, hostile); });
  CHECK(contains(stats, "[4611686018427387904, 4]"));
  // A batch that fits is counted: 2^40 rows * (4 * 3 + 3 * 2) MACs.
  const pare::ir::ModelStats big = pare::ir::model_stats(model, {{{int64_t{1} << 40, 4}}});
  CHECK(big.macs == (int64_t{1} << 40) * 18);
}

// ---- CLI level: a saved model whose graph is rewritten to hold the hostile values ----

// conv1 (3 -> 4, 3x3, padding 1) -> relu -> pool (adaptive, 1 x 1) -> flatten -> fc (4 -> 5).
struct Cnn : pare::nn::Module {
  Cnn() {
    conv1 = register_module("conv1", pare::nn::Conv2d(pare::nn::Conv2dOptions(3, 4, 3).padding(1)));
    pool = register_module("pool", pare::nn::AdaptiveAvgPool2d(1));
    fc = register_module("fc", pare::nn::Linear(4, 5));
    fill_parameters(*this, 5);
  }
  Tensor forward(const Tensor& x) { return fc(pare::flatten(pool(pare::relu(conv1(x))), 1)); }
  pare::nn::Conv2d conv1{nullptr};
  pare::nn::AdaptiveAvgPool2d pool{nullptr};
  pare::nn::Linear fc{nullptr};
};

// Saves `model` to `path` with its graph JSON passed through `edit`.
void save_edited(const pare::ir::GraphModule& model, const std::string& path,
                 const std::function<void(Json&)>& edit) {
  pare::ir::save(model, path);
  pare::SafetensorsFile file = pare::decode_safetensors(pare::testing::read_text(path), path);
  Json graph = Json::parse(file.metadata.at("pare.graph"));
  edit(graph);
  file.metadata["pare.graph"] = graph.dump();
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      << pare::encode_safetensors(file.tensors, file.metadata);
}

// `pare info` and `pare run --output` both exit 1 with one line naming the file and holding
// each of `words`, and no output file appears.
void check_refused(const TempDir& dir, const std::string& path,
                   const std::vector<std::string>& words) {
  const std::string output = dir.file("out.safetensors");
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"info", path},
        {"run", path, "--output", output},
        {"run", path, "--no-optimize", "--output", output}}) {
    INFO("pare ", command[0], " ", command.size() > 3 ? command[2] : "");
    const pare::testing::Result result = run_pare(command);
    check_file_error(result, path);
    for (const std::string& word : words) CHECK(contains(result.err, word));
    CHECK(!std::filesystem::exists(output));
  }
}

TEST_CASE("pare info and run refuse an MLP whose recorded input shape is [2^62, 4]") {
  TempDir dir;
  const std::string path = dir.file("mlp.pare");
  save_edited(traced_mlp(), path, [](Json& graph) { graph["inputs"][0]["shape"] = {k2to62, 4}; });
  // The reader refuses the recorded shape, naming the input, for every command.
  check_refused(dir, path, {"input 'x'", "[4611686018427387904, 4]"});
}

TEST_CASE("pare info and run refuse a Conv2d with padding 2^30") {
  TempDir dir;
  auto cnn = std::make_shared<Cnn>();
  cnn->eval();
  const std::string path = dir.file("cnn.pare");
  save_edited(pare::ir::trace(cnn, {random_tensor({1, 3, 6, 6}, 6)}), path, [](Json& graph) {
    graph["modules"]["conv1"]["padding"] = {k2to30, k2to30};
  });
  check_refused(dir, path, {"conv1", "padding [1073741824, 1073741824]"});
}

TEST_CASE("pare info and run refuse an adaptive pool with output size 2^31") {
  TempDir dir;
  auto cnn = std::make_shared<Cnn>();
  cnn->eval();
  const std::string path = dir.file("cnn.pare");
  save_edited(pare::ir::trace(cnn, {random_tensor({1, 3, 6, 6}, 6)}), path, [](Json& graph) {
    graph["modules"]["pool"]["output_size"] = {k2to31, k2to31};
  });
  check_refused(dir, path, {"pool", "[2147483648, 2147483648]"});
}

}  // namespace
