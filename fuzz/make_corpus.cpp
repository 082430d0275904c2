// Writes the fuzzer's seed corpus, each file starting with the byte that picks its reader
// (fuzz_pare_inputs.cpp): 'P', small valid .pare files (an MLP, a CNN, an LSTM model) and
// invalid variants that stop at different checks of the reader; 'G', graph JSON, valid, deeply
// nested and with huge shapes and sizes; 'C', prune configs; 'M', masks files. Files carry no
// .pare extension so that git keeps them.
//
//   make_pare_corpus fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_inputs.h"
#include "pare/ir/pare_file.h"
#include "pare/pare.h"

namespace {

using pare::Tensor;
using pare::ir::GraphModule;
using pare::ir::Node;
using Json = nlohmann::ordered_json;

// Deterministic small values (no random generator), so the corpus is the same on every run.
void fill_state(pare::nn::Module& module) {
  pare::NoGradGuard no_grad;
  int counter = 0;
  for (auto& [name, tensor] : module.state_dict()) {
    Tensor target = tensor;
    if (tensor.dtype() == pare::kInt64) {
      target.data_ptr<int64_t>()[0] = 3;
      continue;
    }
    float* values = target.data_ptr<float>();
    for (int64_t i = 0; i < target.numel(); ++i)
      values[i] = 0.25f + 0.125f * static_cast<float>((counter++ * 7) % 11) / 11.0f;
  }
}

void set_input(Node* placeholder, const pare::Shape& shape) {
  placeholder->meta = {pare::ir::TensorMeta{shape, pare::kFloat32}};
}

GraphModule mlp() {
  auto root = std::make_shared<pare::nn::Module>("MLP");
  root->register_module("fc1", pare::nn::Linear(3, 4));
  root->register_module("fc2", pare::nn::Linear(pare::nn::LinearOptions(4, 2).bias(false)));
  root->register_module("act", pare::nn::PReLU(4));
  root->register_parameter("scale", pare::ones({2}));
  fill_state(*root);
  auto graph = std::make_shared<pare::ir::Graph>();
  Node* x = graph->placeholder("x");
  set_input(x, {1, 3});
  Node* fc1 = graph->call_module("fc1", {x});
  Node* act = graph->call_module("act", {fc1});
  Node* fc2 = graph->call_module("fc2", {act});
  Node* scale = graph->get_attr("scale");
  Node* mul = graph->call_function("mul", {fc2, scale});
  graph->output(graph->call_function("softmax", {mul}, {{"dim", int64_t{1}}}));
  return GraphModule(root, graph);
}

GraphModule cnn() {
  auto root = std::make_shared<pare::nn::Module>("CNN");
  root->register_module(
      "features",
      pare::nn::Sequential(pare::nn::Conv2d(pare::nn::Conv2dOptions(1, 2, 3).padding(1)),
                           pare::nn::BatchNorm2d(2), pare::nn::MaxPool2d(2)));
  root->register_module("fc", pare::nn::Linear(2, 2));
  fill_state(*root);
  auto graph = std::make_shared<pare::ir::Graph>();
  Node* x = graph->placeholder("x");
  set_input(x, {1, 1, 4, 4});
  Node* conv = graph->call_module("features.0", {x});
  Node* bn = graph->call_module("features.1", {conv});
  Node* relu = graph->call_function("relu", {bn});
  Node* pool = graph->call_module("features.2", {relu});
  Node* gap = graph->call_function("adaptive_avg_pool2d", {pool},
                                   {{"output_size", std::vector<int64_t>{1, 1}}});
  Node* flat = graph->call_function("flatten", {gap}, {{"start_dim", int64_t{1}}});
  graph->output(graph->call_module("fc", {flat}));
  return GraphModule(root, graph);
}

GraphModule lstm() {
  auto root = std::make_shared<pare::nn::Module>("Tagger");
  root->register_module("lstm", pare::nn::LSTM(pare::nn::LSTMOptions(2, 2).batch_first(true)));
  root->register_module("head", pare::nn::Linear(2, 1));
  fill_state(*root);
  auto graph = std::make_shared<pare::ir::Graph>();
  Node* x = graph->placeholder("x");
  set_input(x, {1, 2, 2});
  Node* lstm = graph->call_module("lstm", {x});
  Node* sequence = graph->call_function("getitem", {lstm, int64_t{0}});
  Node* state = graph->call_function("getitem", {lstm, int64_t{1}});
  Node* h_n = graph->call_function("getitem", {state, int64_t{0}});
  graph->output(pare::ir::Argument::List{graph->call_module("head", {sequence}), h_n});
  return GraphModule(root, graph);
}

// `bytes` with its graph JSON (and optionally metadata) edited.
std::string edited(
    const std::string& bytes, const std::function<void(Json&)>& edit_graph,
    const std::function<void(std::map<std::string, std::string>&)>& edit_meta = nullptr) {
  pare::SafetensorsFile file = pare::decode_safetensors(bytes, "seed");
  Json graph = Json::parse(file.metadata.at("pare.graph"));
  edit_graph(graph);
  file.metadata["pare.graph"] = graph.dump();
  if (edit_meta) edit_meta(file.metadata);
  return pare::encode_safetensors(file.tensors, file.metadata);
}

// Writes `kind` followed by `bytes`.
void write(const std::filesystem::path& folder, const std::string& name, char kind,
           const std::string& bytes) {
  std::ofstream stream(folder / name, std::ios::binary | std::ios::trunc);
  stream.put(kind);
  stream.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!stream.good()) throw std::runtime_error("cannot write " + (folder / name).string());
}

// A safetensors file whose header is `header` (padded to 8 bytes) and whose buffer is empty.
std::string safetensors_with_header(std::string header) {
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string bytes;
  for (int i = 0; i < 8; ++i)
    bytes.push_back(static_cast<char>((static_cast<uint64_t>(header.size()) >> (8 * i)) & 0xff));
  return bytes + header;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_pare_corpus FOLDER\n";
    return 2;
  }
  const std::filesystem::path folder = argv[1];
  std::filesystem::create_directories(folder);
  const std::string mlp_bytes = pare::ir::encode_pare(mlp());
  write(folder, "valid_mlp", 'P', mlp_bytes);
  write(folder, "valid_cnn", 'P', pare::ir::encode_pare(cnn()));
  write(folder, "valid_lstm", 'P', pare::ir::encode_pare(lstm()));

  auto keep = [](Json&) {};
  write(folder, "invalid_truncated", 'P', mlp_bytes.substr(0, mlp_bytes.size() / 2));
  write(folder, "invalid_version", 'P',
        edited(mlp_bytes, keep, [](auto& meta) { meta["pare.version"] = "2"; }));
  write(folder, "invalid_target", 'P',
        edited(mlp_bytes, [](Json& graph) { graph["nodes"][6]["target"] = "softmaxx"; }));
  write(folder, "invalid_attribute", 'P',
        edited(mlp_bytes, [](Json& graph) { graph["modules"]["fc1"]["in_features"] = 5; }));
  write(folder, "invalid_reference", 'P',
        edited(mlp_bytes, [](Json& graph) { graph["nodes"][1]["args"][0]["node"] = "fc2"; }));
  write(folder, "invalid_inputs", 'P', edited(mlp_bytes, [](Json& graph) {
          graph["inputs"][0]["shape"] = {1, -3};
        }));
  const std::string deep = std::string(1000, '[') + "1" + std::string(1000, ']');
  write(folder, "deep_header", 'P', safetensors_with_header("{\"a\": " + deep + ", \"b\": 1}"));

  // Graph JSON, against the tensors of pare::fuzz::small_mlp().
  const std::string small_bytes = pare::ir::encode_pare(pare::fuzz::small_mlp());
  const Json small_graph =
      Json::parse(pare::decode_safetensors(small_bytes, "seed").metadata.at("pare.graph"));
  write(folder, "graph_valid", 'G', small_graph.dump());
  write(folder, "graph_deep", 'G', "{\"inputs\": " + deep + ", \"modules\": {}, \"nodes\": []}");
  Json huge_input = small_graph;
  huge_input["inputs"][0]["shape"] = {int64_t{1} << 62, 3};
  write(folder, "graph_huge_input", 'G', huge_input.dump());
  Json huge_linear = small_graph;
  huge_linear["modules"]["fc1"]["in_features"] = int64_t{1} << 40;
  write(folder, "graph_huge_linear", 'G', huge_linear.dump());
  Json huge_pool = small_graph;
  huge_pool["inputs"][0]["shape"] = {1, 3, 4, 4};
  huge_pool["nodes"][1] = {{"name", "fc1"},
                           {"op", "call_function"},
                           {"target", "adaptive_avg_pool2d"},
                           {"args", {{{"node", "x"}}}},
                           {"kwargs", {{"output_size", {int64_t{1} << 31, 1}}}}};
  write(folder, "graph_huge_pool", 'G', huge_pool.dump());

  // Prune configs and masks, against pare::fuzz::small_mlp().
  write(folder, "config_valid", 'C',
        R"([{"tensor_fqn": "fc1.weight", "sparsity_level": 0.5, "prune_bias": true}])");
  write(folder, "config_bias", 'C', R"([{"tensor_fqn": "fc1.bias"}])");
  write(folder, "config_deep", 'C', "[{\"tensor_fqn\": \"fc1.weight\", \"x\": " + deep + "}]");
  write(folder, "masks_valid", 'M',
        pare::encode_safetensors({{"fc1.weight", pare::ones({4}).to(pare::kBool)}}));
  write(folder, "masks_deep", 'M', safetensors_with_header("{\"fc1.weight\": " + deep + "}"));
  write(folder, "masks_huge", 'M',
        safetensors_with_header(R"({"fc1.weight": {"dtype": "BOOL", "shape": [4294967296, )"
                                R"(4294967296], "data_offsets": [0, 0]}})"));
  std::cout << "wrote the corpus to " << folder << "\n";
  return 0;
}
