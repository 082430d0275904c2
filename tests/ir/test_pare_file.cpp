// The .pare file (docs/format.md): bit-exact round trips of an MLP, a CNN and an LSTM model,
// the atomic write, and one test per reader rejection, each checking that the message names the
// file and the node, module, tensor or input at fault.
#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "pare/ir/module_registry.h"
#include "pare/ir/pare_file.h"
#include "pare/ir/tracer.h"
#include "pare/pare.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using pare::Shape;
using pare::Tensor;
using pare::ir::GraphModule;
using pare::ir::Node;
using Json = nlohmann::ordered_json;
using pare::testing::random_tensor;

// A fresh folder per test, removed afterwards.
struct TempDir {
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("pare_file_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  fs::path path;
};

std::string read_bytes(const fs::path& path) {
  std::ifstream stream(path, std::ios::binary);
  std::ostringstream contents;
  contents << stream.rdbuf();
  return contents.str();
}

// Seeded values in every float tensor (positive variances) and a non-zero batch count, so that
// a round trip that loses or reorders anything changes the numbers.
void fill_state(pare::nn::Module& module, uint32_t seed) {
  pare::NoGradGuard no_grad;
  for (auto& [name, tensor] : module.state_dict()) {
    Tensor target = tensor;
    if (tensor.dtype() == pare::kInt64) {
      target.data_ptr<int64_t>()[0] = 7;
    } else if (name.ends_with("running_var")) {
      target.copy_(random_tensor(tensor.sizes(), seed++, 0.5f, 1.5f));
    } else {
      target.copy_(random_tensor(tensor.sizes(), seed++));
    }
  }
}

void set_input_meta(Node* placeholder, const Shape& shape) {
  placeholder->meta = {pare::ir::TensorMeta{shape, pare::kFloat32}};
}

// x -> fc1 -> leaky_relu -> fc2 (no bias) -> mul by a root parameter read through get_attr.
GraphModule make_mlp() {
  auto root = std::make_shared<pare::nn::Module>("MLP");
  root->register_module("fc1", pare::nn::Linear(4, 8));
  root->register_module("fc2", pare::nn::Linear(pare::nn::LinearOptions(8, 3).bias(false)));
  root->register_parameter("scale", pare::ones({3}));
  fill_state(*root, 1);
  auto graph = std::make_shared<pare::ir::Graph>();
  Node* x = graph->placeholder("x");
  set_input_meta(x, {2, 4});
  Node* fc1 = graph->call_module("fc1", {x});
  Node* act = graph->call_function("leaky_relu", {fc1}, {{"negative_slope", 0.1}});
  Node* fc2 = graph->call_module("fc2", {act});
  Node* scale = graph->get_attr("scale");
  graph->output(graph->call_function("mul", {fc2, scale}));
  return GraphModule(root, graph);
}

// features.0 (conv) -> features.1 (batchnorm) -> relu -> max_pool2d -> conv2 (strided, grouped,
// no bias) -> adaptive_avg_pool2d -> flatten -> fc.
GraphModule make_cnn() {
  auto root = std::make_shared<pare::nn::Module>("CNN");
  root->register_module(
      "features",
      pare::nn::Sequential(pare::nn::Conv2d(pare::nn::Conv2dOptions(3, 6, 3).padding(1)),
                           pare::nn::BatchNorm2d(6)));
  root->register_module(
      "conv2",
      pare::nn::Conv2d(pare::nn::Conv2dOptions(6, 6, {3, 1}).stride(2).groups(3).bias(false)));
  root->register_module("fc", pare::nn::Linear(6, 5));
  fill_state(*root, 100);
  auto graph = std::make_shared<pare::ir::Graph>();
  Node* x = graph->placeholder("x");
  set_input_meta(x, {2, 3, 8, 8});
  Node* conv = graph->call_module("features.0", {x});
  Node* bn = graph->call_module("features.1", {conv});
  Node* relu = graph->call_function("relu", {bn});
  Node* pool = graph->call_function("max_pool2d", {relu}, {{"kernel_size", int64_t{2}}});
  Node* conv2 = graph->call_module("conv2", {pool});
  Node* gap = graph->call_function("adaptive_avg_pool2d", {conv2},
                                   {{"output_size", std::vector<int64_t>{1, 1}}});
  Node* flat = graph->call_function("flatten", {gap}, {{"start_dim", int64_t{1}}});
  graph->output(graph->call_module("fc", {flat}));
  return GraphModule(root, graph);
}

// lstm (2 layers, batch first) -> getitem 0 -> head; and getitem 1 -> getitem 0 (h_n): two
// outputs.
GraphModule make_lstm() {
  auto root = std::make_shared<pare::nn::Module>("Tagger");
  root->register_module(
      "lstm", pare::nn::LSTM(pare::nn::LSTMOptions(5, 6).num_layers(2).batch_first(true)));
  root->register_module("head", pare::nn::Linear(6, 4));
  fill_state(*root, 200);
  auto graph = std::make_shared<pare::ir::Graph>();
  Node* x = graph->placeholder("x");
  set_input_meta(x, {2, 3, 5});
  Node* lstm = graph->call_module("lstm", {x});
  Node* sequence = graph->call_function("getitem", {lstm, int64_t{0}});
  Node* state = graph->call_function("getitem", {lstm, int64_t{1}});
  Node* h_n = graph->call_function("getitem", {state, int64_t{0}});
  Node* head = graph->call_module("head", {sequence});
  graph->output(pare::ir::Argument::List{head, h_n});
  return GraphModule(root, graph);
}

std::string printed(const pare::ir::Graph& graph) {
  std::ostringstream stream;
  stream << graph;
  return stream.str();
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  if (a.sizes() != b.sizes() || a.dtype() != b.dtype()) return false;
  Tensor dense_a = a.contiguous(), dense_b = b.contiguous();
  return std::memcmp(dense_a.raw_data(), dense_b.raw_data(), dense_a.nbytes()) == 0;
}

void check_round_trip(GraphModule& original, const std::vector<Tensor>& inputs) {
  TempDir folder;
  const fs::path file = folder.path / "model.pare";
  original.eval();
  pare::ir::save(original, file.string());
  CHECK(folder.entries() == std::vector<std::string>{"model.pare"});
  GraphModule loaded = pare::ir::load(file.string());

  // Every tensor, bit for bit, under its PyTorch key.
  const pare::nn::StateDict expected = original.root().state_dict();
  const pare::nn::StateDict actual = loaded.root().state_dict();
  REQUIRE(actual.size() == expected.size());
  for (const auto& [key, tensor] : expected) {
    CAPTURE(key);
    auto found = std::find_if(actual.begin(), actual.end(),
                              [&](const auto& entry) { return entry.first == key; });
    REQUIRE(found != actual.end());
    CHECK(same_bytes(found->second, tensor));
  }
  // The same placeholders with their example shapes, then (below) the same graph with shapes.
  REQUIRE(loaded.graph().placeholders().size() == original.graph().placeholders().size());
  for (size_t i = 0; i < original.graph().placeholders().size(); ++i)
    CHECK(loaded.graph().placeholders()[i]->meta == original.graph().placeholders()[i]->meta);
  CHECK_FALSE(loaded.root().is_training());
  for (const auto& module : loaded.root().modules()) CHECK_FALSE(module->is_training());

  // The same outputs, exactly (same kernels, same weights).
  const auto expected_outputs = original.forward(inputs).flatten();
  const auto actual_outputs = loaded.forward(inputs).flatten();
  REQUIRE(actual_outputs.size() == expected_outputs.size());
  for (size_t i = 0; i < expected_outputs.size(); ++i) {
    CAPTURE(i);
    CHECK(same_bytes(actual_outputs[i].second, expected_outputs[i].second));
  }
  original.record_meta(inputs);
  loaded.record_meta(inputs);
  CHECK(printed(loaded.graph()) == printed(original.graph()));

  // Saving what was loaded gives the same file again.
  CHECK(pare::ir::encode_pare(loaded) == read_bytes(file));
}

// A valid file taken apart, edited and put back together.
struct PareParts {
  explicit PareParts(const std::string& bytes) {
    pare::SafetensorsFile file = pare::decode_safetensors(bytes, "parts");
    tensors = file.tensors;
    metadata = file.metadata;
    graph = Json::parse(metadata.at("pare.graph"));
  }
  std::string bytes() {
    metadata["pare.graph"] = graph.dump();
    return pare::encode_safetensors(tensors, metadata);
  }
  void erase_tensor(const std::string& name) {
    auto found = std::find_if(tensors.begin(), tensors.end(),
                              [&](const auto& entry) { return entry.first == name; });
    REQUIRE(found != tensors.end());
    tensors.erase(found);
  }
  void replace_tensor(const std::string& name, Tensor tensor) {
    erase_tensor(name);
    tensors.emplace_back(name, std::move(tensor));
  }
  Json& node(const std::string& name) {
    for (Json& entry : graph["nodes"])
      if (entry["name"] == name) return entry;
    FAIL("no node " << name);
    throw std::logic_error("unreachable");
  }
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::map<std::string, std::string> metadata;
  Json graph;
};

PareParts mlp_parts() { return PareParts(pare::ir::encode_pare(make_mlp())); }

// The message decode_pare gives for `bytes` ("" when it loads).
std::string load_error(const std::string& bytes) {
  try {
    pare::ir::decode_pare(bytes, "bad.pare");
  } catch (const pare::Error& error) {
    return error.what();
  }
  return "";
}

std::string save_error(const GraphModule& graph_module) {
  try {
    pare::ir::encode_pare(graph_module);
  } catch (const pare::Error& error) {
    return error.what();
  }
  return "";
}

// Checks that `message` names the file and contains each of `parts`.
void check_names(const std::string& message, const std::vector<std::string>& parts) {
  CAPTURE(message);
  CHECK(message.rfind("bad.pare: ", 0) == 0);
  for (const std::string& part : parts) {
    CAPTURE(part);
    CHECK(message.find(part) != std::string::npos);
  }
}

}  // namespace

// ---- round trips ----

TEST_CASE("pare file: an MLP with a get_attr parameter round-trips bit for bit") {
  GraphModule mlp = make_mlp();
  check_round_trip(mlp, {random_tensor({2, 4}, 7)});
}

TEST_CASE("pare file: a CNN with conv, batchnorm, pools, flatten and linear round-trips") {
  GraphModule cnn = make_cnn();
  check_round_trip(cnn, {random_tensor({2, 3, 8, 8}, 8)});
}

TEST_CASE("pare file: an LSTM -> Linear model with getitem and two outputs round-trips") {
  GraphModule tagger = make_lstm();
  check_round_trip(tagger, {random_tensor({2, 3, 5}, 9)});
}

namespace {

// The same three kinds of model written as C++ classes and traced.
struct TracedMlp : pare::nn::Module {
  TracedMlp() {
    fc1 = register_module("fc1", pare::nn::Linear(6, 8));
    fc2 = register_module("fc2", pare::nn::Linear(8, 3));
    fill_state(*this, 300);
  }
  Tensor forward(const Tensor& x) { return pare::softmax(fc2(pare::gelu(fc1(x), "tanh")), 1); }
  pare::nn::Linear fc1{nullptr}, fc2{nullptr};
};

struct TracedCnn : pare::nn::Module {
  TracedCnn() {
    features = register_module(
        "features",
        pare::nn::Sequential(pare::nn::Conv2d(pare::nn::Conv2dOptions(2, 4, 3).padding(1)),
                             pare::nn::BatchNorm2d(4), pare::nn::ReLU(), pare::nn::MaxPool2d(2)));
    fc = register_module("fc", pare::nn::Linear(4, 3));
    fill_state(*this, 400);
  }
  Tensor forward(const Tensor& x) {
    Tensor y = pare::adaptive_avg_pool2d(features(x), 1);
    return fc(pare::flatten(y, 1));
  }
  pare::nn::Sequential features{nullptr};
  pare::nn::Linear fc{nullptr};
};

struct TracedTagger : pare::nn::Module {
  TracedTagger() {
    lstm = register_module("lstm", pare::nn::LSTM(pare::nn::LSTMOptions(3, 5).batch_first(true)));
    head = register_module("head", pare::nn::Linear(5, 2));
    fill_state(*this, 500);
  }
  Tensor forward(const Tensor& x) {
    auto [sequence, state] = lstm(x);
    return head(sequence) + head(std::get<0>(state).transpose(0, 1));
  }
  pare::nn::LSTM lstm{nullptr};
  pare::nn::Linear head{nullptr};
};

}  // namespace

TEST_CASE("pare file: traced MLP, CNN and LSTM models round-trip") {
  auto mlp = std::make_shared<TracedMlp>();
  const Tensor mlp_input = random_tensor({3, 6}, 11);
  GraphModule traced_mlp = pare::ir::trace(mlp, {mlp_input});
  check_round_trip(traced_mlp, {mlp_input});

  auto cnn = std::make_shared<TracedCnn>();
  cnn->eval();
  const Tensor cnn_input = random_tensor({2, 2, 6, 6}, 12);
  GraphModule traced_cnn = pare::ir::trace(cnn, {cnn_input});
  check_round_trip(traced_cnn, {cnn_input});

  auto tagger = std::make_shared<TracedTagger>();
  const Tensor tagger_input = random_tensor({2, 4, 3}, 13);
  GraphModule traced_tagger = pare::ir::trace(tagger, {tagger_input});
  check_round_trip(traced_tagger, {tagger_input});
  // And the loaded model computes what the C++ class computes.
  GraphModule loaded = pare::ir::decode_pare(pare::ir::encode_pare(traced_tagger), "t.pare");
  const Tensor fresh = random_tensor({3, 4, 3}, 14);
  CHECK(same_bytes(loaded.forward({fresh}), tagger->forward(fresh)));
}

TEST_CASE("pare file: the file follows the format") {
  PareParts parts = mlp_parts();
  CHECK(parts.metadata.at("format") == "pare");
  CHECK(parts.metadata.at("pare.version") == "1");
  std::vector<std::string> names;
  for (const auto& [name, tensor] : parts.tensors) names.push_back(name);
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"fc1.bias", "fc1.weight", "fc2.weight", "scale"});
  const Json expected_graph = Json::parse(R"({
    "inputs": [{"name": "x", "shape": [2, 4], "dtype": "F32"}],
    "modules": {
      "fc1": {"type": "Linear", "in_features": 4, "out_features": 8, "bias": true},
      "fc2": {"type": "Linear", "in_features": 8, "out_features": 3, "bias": false}
    },
    "nodes": [
      {"name": "x", "op": "placeholder", "target": "x"},
      {"name": "fc1", "op": "call_module", "target": "fc1", "args": [{"node": "x"}]},
      {"name": "leaky_relu", "op": "call_function", "target": "leaky_relu",
       "args": [{"node": "fc1"}], "kwargs": {"negative_slope": 0.1}},
      {"name": "fc2", "op": "call_module", "target": "fc2", "args": [{"node": "leaky_relu"}]},
      {"name": "scale", "op": "get_attr", "target": "scale"},
      {"name": "mul", "op": "call_function", "target": "mul",
       "args": [{"node": "fc2"}, {"node": "scale"}]},
      {"name": "output", "op": "output", "target": "output", "args": [{"node": "mul"}]}
    ]})");
  CHECK(parts.graph == expected_graph);
}

TEST_CASE("pare file: a file written by hand as in the format's example loads and runs") {
  // The spec's example graph, with the tensors a PyTorch state_dict would hold.
  PareParts parts = mlp_parts();
  parts.graph = Json::parse(R"({
    "inputs":  [{"name": "x", "shape": [1, 3, 8, 8], "dtype": "F32"}],
    "modules": {
      "conv1": {"type": "Conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": [3, 3],
                "stride": [1, 1], "padding": [1, 1], "dilation": [1, 1], "groups": 1,
                "bias": true},
      "fc":    {"type": "Linear", "in_features": 4, "out_features": 2, "bias": true}
    },
    "nodes": [
      {"name": "x",       "op": "placeholder",   "target": "x"},
      {"name": "conv1",   "op": "call_module",   "target": "conv1", "args": [{"node": "x"}]},
      {"name": "relu",    "op": "call_function", "target": "relu",  "args": [{"node": "conv1"}]},
      {"name": "pool",    "op": "call_function", "target": "adaptive_avg_pool2d",
                          "args": [{"node": "relu"}], "kwargs": {"output_size": [1, 1]}},
      {"name": "flatten", "op": "call_function", "target": "flatten",
                          "args": [{"node": "pool"}], "kwargs": {"start_dim": 1}},
      {"name": "fc",      "op": "call_module",   "target": "fc", "args": [{"node": "flatten"}]},
      {"name": "output",  "op": "output",        "target": "output", "args": [{"node": "fc"}]}
    ]})");
  // conv1 zero except a bias of 1 on channel c -> relu -> mean 1 on channel c; fc sums channels.
  parts.tensors = {
      {"conv1.weight", pare::zeros({4, 3, 3, 3})},
      {"conv1.bias", pare::tensor({1.0f, 2.0f, 0.0f, -3.0f}, {4})},
      {"fc.weight", pare::tensor({1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 0.0f, 0.0f, 0.0f}, {2, 4})},
      {"fc.bias", pare::tensor({0.5f, 0.0f}, {2})}};
  GraphModule loaded = pare::ir::decode_pare(parts.bytes(), "example.pare");
  Tensor y = loaded.forward({random_tensor({1, 3, 8, 8}, 3)});
  CHECK(y.sizes() == Shape{1, 2});
  CHECK(pare::to_float_vector(y) == std::vector<float>{3.5f, 1.0f});
  CHECK(loaded.graph().placeholders()[0]->meta[0].shape == Shape{1, 3, 8, 8});
}

// ---- atomic writes ----

TEST_CASE("pare file: a failed save leaves the target untouched and no temporary file") {
  TempDir folder;
  const fs::path file = folder.path / "net.pare";
  GraphModule mlp = make_mlp();
  pare::ir::save(mlp, file.string());
  const std::string before = read_bytes(file);

  // Refused while encoding: a parametrized module.
  GraphModule other = make_mlp();
  pare::nn::register_parametrization(
      other.module("fc1"), "weight",
      pare::nn::make_parametrization("Half", [](const Tensor& w) { return w * 0.5; }));
  CHECK_THROWS_AS(pare::ir::save(other, file.string()), pare::Error);
  CHECK(read_bytes(file) == before);
  CHECK(folder.entries() == std::vector<std::string>{"net.pare"});

  // Refused by the file system: the target is a folder.
  const fs::path folder_target = folder.path / "taken";
  fs::create_directories(folder_target);
  CHECK_THROWS_AS(pare::ir::save(mlp, folder_target.string()), pare::Error);
  CHECK(fs::is_directory(folder_target));
  CHECK(folder.entries() == std::vector<std::string>{"net.pare", "taken"});

  // A folder that does not exist.
  CHECK_THROWS_AS(pare::ir::save(mlp, (folder.path / "missing" / "x.pare").string()), pare::Error);
  CHECK(folder.entries() == std::vector<std::string>{"net.pare", "taken"});

  // Overwriting with a good model replaces the file in one step.
  GraphModule cnn = make_cnn();
  pare::ir::save(cnn, file.string());
  CHECK(read_bytes(file) == pare::ir::encode_pare(cnn));
  CHECK(folder.entries() == std::vector<std::string>{"net.pare", "taken"});
}

TEST_CASE("pare file: load names the file it cannot open") {
  try {
    pare::ir::load("/nonexistent/folder/model.pare");
    FAIL("load did not throw");
  } catch (const pare::Error& error) {
    CHECK(std::string(error.what()).find("/nonexistent/folder/model.pare") != std::string::npos);
  }
}

// ---- what save refuses ----

TEST_CASE("pare file: save refuses what a file cannot hold") {
  GraphModule parametrized = make_mlp();
  pare::nn::register_parametrization(
      parametrized.module("fc2"), "weight",
      pare::nn::make_parametrization("Half", [](const Tensor& w) { return w * 0.5; }));
  std::string message = save_error(parametrized);
  CHECK(message.find("module 'fc2'") != std::string::npos);
  CHECK(message.find("remove parametrizations before saving") != std::string::npos);

  GraphModule hooked = make_mlp();
  hooked.module("fc1")->register_forward_hook(
      [](pare::nn::Module&, const std::vector<Tensor>&, std::vector<Tensor>&) {});
  message = save_error(hooked);
  CHECK(message.find("module 'fc1' has forward hooks") != std::string::npos);

  GraphModule no_meta = make_mlp();
  no_meta.graph().placeholders()[0]->meta.clear();
  CHECK(save_error(no_meta).find("placeholder 'x' has no example shape") != std::string::npos);

  GraphModule unknown_attribute = make_mlp();
  for (Node* node : unknown_attribute.graph().nodes())
    if (node->op() == pare::ir::OpKind::get_attr) node->set_target("shift");
  CHECK(save_error(unknown_attribute).find("get_attr node 'scale' reads 'shift'") !=
        std::string::npos);

  GraphModule not_finite = make_mlp();
  not_finite.graph().find("leaky_relu")->set_kwarg("negative_slope", std::nan(""));
  CHECK(save_error(not_finite).find("node 'leaky_relu'") != std::string::npos);

  struct Twice : pare::nn::UnaryModule {
    Twice() : pare::nn::UnaryModule("Twice") {}
    Tensor forward(const Tensor& x) override { return x * 2.0; }
    bool is_leaf_layer() const override { return true; }
  };
  GraphModule custom = make_mlp();
  custom.root().register_module("fc1", std::make_shared<Twice>());
  message = save_error(custom);
  CHECK(message.find("module 'fc1' has type 'Twice', which is not registered") !=
        std::string::npos);
}

// ---- what load rejects ----

TEST_CASE("pare file: rejects malformed containers, naming the file") {
  const std::string good = pare::ir::encode_pare(make_mlp());
  check_names(load_error(good.substr(0, 5)), {"safetensors"});
  std::string huge_header = good;
  huge_header[6] = '\x7f';
  check_names(load_error(huge_header), {"header size"});
  std::string not_json = good;
  not_json[8] = 'x';
  check_names(load_error(not_json), {"not valid JSON"});
  check_names(load_error(good + "xx"), {"unused trailing bytes"});
}

TEST_CASE("pare file: rejects missing or wrong format and version metadata") {
  PareParts parts = mlp_parts();
  parts.metadata.erase("format");
  check_names(load_error(parts.bytes()), {"not a .pare file"});
  parts.metadata["format"] = "onnx";
  check_names(load_error(parts.bytes()), {"not a .pare file", "'onnx'"});

  parts = mlp_parts();
  parts.metadata.erase("pare.version");
  check_names(load_error(parts.bytes()), {"pare.version"});
  parts.metadata["pare.version"] = "2";
  check_names(load_error(parts.bytes()), {".pare version 2 is not supported", "version 1"});
  parts.metadata["pare.version"] = "3.1";
  check_names(load_error(parts.bytes()), {".pare version 3.1 is not supported"});
  parts.metadata["pare.version"] = "one";
  check_names(load_error(parts.bytes()), {"unreadable pare.version 'one'"});
  parts.metadata["pare.version"] = "1.2";  // a minor revision of version 1 is read
  CHECK(load_error(parts.bytes()).empty());

  PareParts no_graph = mlp_parts();
  no_graph.metadata.erase("pare.graph");
  std::string bytes = pare::encode_safetensors(no_graph.tensors, no_graph.metadata);
  check_names(load_error(bytes), {"no \"pare.graph\""});
}

TEST_CASE("pare file: rejects graph JSON that does not parse or has wrong types") {
  PareParts parts = mlp_parts();
  parts.metadata["pare.graph"] = "{\"nodes\": [";
  check_names(load_error(pare::encode_safetensors(parts.tensors, parts.metadata)),
              {"pare.graph is not valid JSON"});
  parts.metadata["pare.graph"] = "[1, 2]";
  check_names(load_error(pare::encode_safetensors(parts.tensors, parts.metadata)),
              {"pare.graph must be a JSON object"});

  auto edited = [](const std::function<void(PareParts&)>& edit) {
    PareParts edited_parts = mlp_parts();
    edit(edited_parts);
    return load_error(edited_parts.bytes());
  };
  check_names(edited([](PareParts& p) { p.graph["nodes"] = "x"; }), {"\"nodes\" must be an array"});
  check_names(edited([](PareParts& p) { p.graph.erase("modules"); }), {"no \"modules\""});
  check_names(edited([](PareParts& p) { p.graph["extra"] = 1; }), {"unknown key 'extra'"});
  check_names(edited([](PareParts& p) { p.graph["nodes"][1]["name"] = 3; }),
              {"nodes[1] has no \"name\" string"});
  check_names(edited([](PareParts& p) { p.graph["nodes"][1] = 3; }),
              {"nodes[1] must be an object"});
  check_names(edited([](PareParts& p) {
                p.node("fc1")["args"] = {{"node", "x"}};
              }),
              {"node 'fc1': \"args\" must be an array"});
  check_names(edited([](PareParts& p) { p.node("leaky_relu")["kwargs"] = Json::array(); }),
              {"node 'leaky_relu': \"kwargs\" must be an object"});
  check_names(edited([](PareParts& p) { p.node("fc2")["target"] = 7; }),
              {"node 'fc2' has no \"target\" string"});
  check_names(edited([](PareParts& p) { p.node("fc2").erase("op"); }),
              {"node 'fc2' has no \"op\" string"});
  check_names(edited([](PareParts& p) { p.node("fc2")["kwarg"] = Json::object(); }),
              {"node 'fc2' has an unknown key 'kwarg'"});
  check_names(edited([](PareParts& p) { p.node("fc2")["name"] = "fc.2"; }), {"node name 'fc.2'"});
  check_names(edited([](PareParts& p) { p.graph["modules"]["fc1"] = 5; }),
              {"module 'fc1' must be an object"});
  check_names(edited([](PareParts& p) { p.graph["modules"]["fc1"].erase("type"); }),
              {"module 'fc1' has no \"type\" string"});
  check_names(edited([](PareParts& p) {
                p.node("fc1")["args"][0] = {{"nod", "x"}};
              }),
              {"node 'fc1': an object argument must be {\"node\": NAME}"});
}

TEST_CASE("pare file: rejects unknown ops, targets and arguments, naming the node") {
  PareParts parts = mlp_parts();
  parts.node("leaky_relu")["op"] = "call_method";
  check_names(load_error(parts.bytes()), {"node 'leaky_relu': unknown op 'call_method'"});

  parts = mlp_parts();
  parts.node("leaky_relu")["target"] = "leaky_relux";
  check_names(load_error(parts.bytes()),
              {"node 'leaky_relu': unknown call_function target 'leaky_relux'"});

  parts = mlp_parts();
  parts.node("leaky_relu")["kwargs"] = {{"slope", 0.1}};
  check_names(load_error(parts.bytes()), {"node 'leaky_relu'", "slope"});

  parts = mlp_parts();
  parts.node("x")["args"] = {1};
  check_names(load_error(parts.bytes()), {"placeholder node 'x' must not have args or kwargs"});

  parts = mlp_parts();
  Json deep = 1;
  for (int i = 0; i < 40; ++i) deep = Json::array({deep});
  parts.node("leaky_relu")["kwargs"]["negative_slope"] = deep;
  check_names(load_error(parts.bytes()), {"node 'leaky_relu': arguments nest deeper than"});

  parts = mlp_parts();
  parts.node("leaky_relu")["args"][0] = Json(uint64_t{1} << 63);
  check_names(load_error(parts.bytes()), {"node 'leaky_relu'", "too large"});
}

TEST_CASE("pare file: rejects bad node references, duplicates and a bad output") {
  PareParts parts = mlp_parts();
  parts.node("fc2")["args"][0] = {{"node", "nope"}};
  check_names(load_error(parts.bytes()), {"node 'fc2' references unknown node 'nope'"});

  parts = mlp_parts();
  parts.node("fc2")["args"][0] = {{"node", "mul"}};
  check_names(load_error(parts.bytes()), {"node 'fc2' references node 'mul', which comes later"});

  parts = mlp_parts();
  parts.node("fc2")["name"] = "fc1";
  check_names(load_error(parts.bytes()), {"duplicate node name 'fc1'"});

  parts = mlp_parts();
  parts.graph["nodes"].erase(parts.graph["nodes"].size() - 1);
  check_names(load_error(parts.bytes()), {"the graph has no output node"});

  parts = mlp_parts();
  parts.graph["nodes"].push_back(
      {{"name", "late"}, {"op", "call_function"}, {"target", "relu"}, {"args", {{{"node", "x"}}}}});
  check_names(load_error(parts.bytes()), {"node 'late' comes after the output node"});

  parts = mlp_parts();
  parts.node("output")["args"] = {3};
  check_names(load_error(parts.bytes()),
              {"output node 'output': args[0] must be a node reference"});
}

TEST_CASE("pare file: rejects unknown module types and bad attributes, naming the module") {
  PareParts parts = mlp_parts();
  parts.graph["modules"]["fc1"]["type"] = "Dense";
  check_names(load_error(parts.bytes()), {"module 'fc1': unknown module type 'Dense'"});

  parts = mlp_parts();
  parts.graph["modules"]["fc1"].erase("out_features");
  check_names(load_error(parts.bytes()),
              {"module 'fc1' (Linear): missing attribute 'out_features'"});

  parts = mlp_parts();
  parts.graph["modules"]["fc1"]["bias"] = "yes";
  check_names(load_error(parts.bytes()),
              {"module 'fc1' (Linear): attribute 'bias' must be a bool"});

  parts = mlp_parts();
  parts.graph["modules"]["fc1"]["in_features"] = 4.5;
  check_names(load_error(parts.bytes()),
              {"module 'fc1' (Linear): attribute 'in_features' must be an integer"});

  parts = mlp_parts();
  parts.graph["modules"]["fc1"]["in_features"] = {{"a", 1}};
  check_names(load_error(parts.bytes()),
              {"module 'fc1': attribute 'in_features' must be a bool, number, string or list"});

  parts = mlp_parts();
  parts.graph["modules"]["fc1"]["dropout"] = 0.1;
  check_names(load_error(parts.bytes()), {"module 'fc1' (Linear): unknown attribute 'dropout'"});

  parts = mlp_parts();
  parts.graph["modules"].erase("fc2");
  parts.erase_tensor("fc2.weight");
  check_names(load_error(parts.bytes()),
              {"node 'fc2': call_module target 'fc2' is not in \"modules\""});

  parts = mlp_parts();
  parts.graph["modules"][""] = {{"type", "ReLU"}};
  check_names(load_error(parts.bytes()), {"empty name"});
}

TEST_CASE("pare file: rejects tensors that are missing, extra or disagree with attributes") {
  PareParts parts = mlp_parts();
  parts.erase_tensor("fc1.bias");
  check_names(load_error(parts.bytes()),
              {"module 'fc1' (Linear): tensor 'fc1.bias' is missing from the file"});

  parts = mlp_parts();
  parts.replace_tensor("fc1.weight", pare::zeros({8, 5}));
  check_names(load_error(parts.bytes()),
              {"module 'fc1' (Linear): tensor 'fc1.weight' has shape [8, 5] but in_features=4, "
               "out_features=8 need [8, 4]"});

  parts = mlp_parts();
  parts.graph["modules"]["fc1"]["out_features"] = 9;
  check_names(load_error(parts.bytes()),
              {"module 'fc1' (Linear): tensor 'fc1.weight' has shape [8, 4] but in_features=4, "
               "out_features=9 need [9, 4]"});

  parts = mlp_parts();
  parts.replace_tensor("fc1.bias", pare::zeros({8}, pare::kInt64));
  check_names(load_error(parts.bytes()), {"tensor 'fc1.bias' has dtype I64 but Linear needs F32"});

  parts = mlp_parts();
  parts.graph["modules"]["fc1"]["bias"] = false;
  check_names(load_error(parts.bytes()),
              {"tensor 'fc1.bias' is not a tensor of module 'fc1' (Linear)"});

  parts = mlp_parts();
  parts.tensors.emplace_back("stray", pare::zeros({2}));
  check_names(load_error(parts.bytes()), {"unexpected tensor 'stray'"});

  // Attributes asking for far more than the file holds are caught before anything is allocated.
  parts = mlp_parts();
  parts.graph["modules"]["fc1"]["in_features"] = int64_t{1} << 40;
  parts.graph["modules"]["fc1"]["out_features"] = int64_t{1} << 40;
  check_names(load_error(parts.bytes()), {"tensor 'fc1.weight' has shape [8, 4]"});
}

TEST_CASE("pare file: rejects conv, batchnorm and LSTM tensors that disagree with attributes") {
  PareParts cnn = PareParts(pare::ir::encode_pare(make_cnn()));
  cnn.graph["modules"]["conv2"]["groups"] = 1;
  check_names(load_error(cnn.bytes()),
              {"module 'conv2' (Conv2d): tensor 'conv2.weight' has shape [6, 2, 3, 1] but "
               "in_channels=6, out_channels=6, groups=1, kernel_size=[3, 1] need [6, 6, 3, 1]"});

  cnn = PareParts(pare::ir::encode_pare(make_cnn()));
  cnn.replace_tensor("features.1.num_batches_tracked", pare::zeros({}));
  check_names(load_error(cnn.bytes()),
              {"module 'features.1' (BatchNorm2d): tensor 'features.1.num_batches_tracked' has "
               "dtype F32 but BatchNorm2d needs I64"});

  cnn = PareParts(pare::ir::encode_pare(make_cnn()));
  cnn.erase_tensor("features.1.running_var");
  check_names(load_error(cnn.bytes()), {"tensor 'features.1.running_var' is missing"});

  PareParts lstm = PareParts(pare::ir::encode_pare(make_lstm()));
  lstm.graph["modules"]["lstm"]["hidden_size"] = 7;
  check_names(load_error(lstm.bytes()),
              {"module 'lstm' (LSTM): tensor 'lstm.weight_ih_l0' has shape [24, 5] but "
               "input_size=5, hidden_size=7 need [28, 5]"});

  lstm = PareParts(pare::ir::encode_pare(make_lstm()));
  lstm.graph["modules"]["lstm"]["hidden_size"] = int64_t{1} << 62;
  check_names(load_error(lstm.bytes()),
              {"module 'lstm' (LSTM): hidden_size=4611686018427387904 is too large"});

  lstm = PareParts(pare::ir::encode_pare(make_lstm()));
  lstm.graph["modules"]["lstm"]["num_layers"] = int64_t{1} << 40;
  check_names(load_error(lstm.bytes()),
              {"module 'lstm' (LSTM): tensor 'lstm.weight_ih_l2' is missing from the file"});
}

TEST_CASE("pare file: rejects get_attr targets the file does not hold") {
  PareParts parts = mlp_parts();
  parts.erase_tensor("scale");
  check_names(load_error(parts.bytes()),
              {"get_attr node 'scale': target 'scale' is not a tensor in the file"});

  parts = mlp_parts();
  parts.node("scale")["target"] = "fc1.extra";
  parts.replace_tensor("scale", pare::ones({3}));
  parts.tensors.back().first = "fc1.extra";
  check_names(load_error(parts.bytes()),
              {"get_attr node 'scale': target 'fc1.extra' is not a tensor of module 'fc1'"});

  // A get_attr of a nested name creates the containers on the way.
  parts = mlp_parts();
  parts.node("scale")["target"] = "extra.gain";
  for (auto& [name, tensor] : parts.tensors)
    if (name == "scale") name = "extra.gain";
  GraphModule loaded = pare::ir::decode_pare(parts.bytes(), "nested.pare");
  CHECK(loaded.attribute("extra.gain").sizes() == Shape{3});
}

TEST_CASE("pare file: rejects malformed inputs[]") {
  auto edited = [](const std::function<void(Json&)>& edit) {
    PareParts parts = mlp_parts();
    edit(parts.graph["inputs"]);
    return load_error(parts.bytes());
  };
  check_names(edited([](Json& inputs) { inputs = Json::object(); }),
              {"\"inputs\" must be an array"});
  check_names(edited([](Json& inputs) { inputs = Json::array(); }),
              {"\"inputs\" lists 0 input(s) but the graph has 1 placeholder(s)"});
  check_names(edited([](Json& inputs) { inputs[0] = "x"; }), {"inputs[0] must be an object"});
  check_names(edited([](Json& inputs) { inputs[0]["name"] = "y"; }),
              {"inputs[0] is named 'y' but placeholder 0 is 'x'"});
  check_names(edited([](Json& inputs) {
                inputs[0]["shape"] = {2, -4};
              }),
              {"input 'x': shape entries must be non-negative integers, got -4"});
  check_names(edited([](Json& inputs) {
                inputs[0]["shape"] = {2, 4.5};
              }),
              {"input 'x': shape entries must be non-negative integers, got 4.5"});
  check_names(edited([](Json& inputs) { inputs[0].erase("shape"); }),
              {"input 'x' has no \"shape\" array"});
  check_names(edited([](Json& inputs) { inputs[0]["dtype"] = "F16"; }),
              {"input 'x': unknown dtype 'F16'"});
  check_names(edited([](Json& inputs) { inputs[0]["layout"] = "NCHW"; }),
              {"inputs[0] has an unknown key 'layout'"});
}
