// The `pare` command line (docs/cli.md), run as a separate process: usage errors exit 2, --help
// exits 0, `pare info` text and --json against hand-computed parameters and MACs, `pare run`
// outputs against GraphModule::forward, and bad files exit 1 with one line naming the file and
// leaving no output file behind.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "pare/ir/layer_definition.h"
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
using Json = nlohmann::json;

using pare::testing::check_file_error;
using pare::testing::fill_parameters;
using pare::testing::has_line;
using pare::testing::pare_binary;
using pare::testing::quoted;
using pare::testing::random_tensor;
using pare::testing::read_text;
using pare::testing::Result;
using pare::testing::run_pare;
using pare::testing::TempDir;

void check_usage_error(const Result& result) {
  INFO("stderr: ", result.err);
  CHECK(result.status == 2);
  CHECK(result.err.find("usage: pare") != std::string::npos);
  CHECK(result.out.empty());
}

// conv1 (3 -> 4, 3x3, padding 1) -> relu -> adaptive_avg_pool2d -> flatten -> fc (4 -> 5).
struct SmallCnn : pare::nn::Module {
  SmallCnn() {
    conv1 = register_module("conv1", pare::nn::Conv2d(pare::nn::Conv2dOptions(3, 4, 3).padding(1)));
    fc = register_module("fc", pare::nn::Linear(4, 5));
    fill_parameters(*this, 10);
  }
  Tensor forward(const Tensor& x) {
    return fc(pare::flatten(pare::adaptive_avg_pool2d(pare::relu(conv1(x)), 1), 1));
  }
  pare::nn::Conv2d conv1{nullptr};
  pare::nn::Linear fc{nullptr};
};
const Shape kCnnInput = {2, 3, 6, 6};

// Two outputs, the second a pair: head(sequence) and (h_n, c_n).
struct Tagger : pare::nn::Module {
  Tagger() {
    lstm = register_module("lstm", pare::nn::LSTM(pare::nn::LSTMOptions(3, 4).batch_first(true)));
    head = register_module("head", pare::nn::Linear(4, 2));
    fill_parameters(*this, 20);
  }
  std::tuple<Tensor, std::tuple<Tensor, Tensor>> forward(const Tensor& x) {
    auto [sequence, state] = lstm(x);
    return {head(sequence), state};
  }
  pare::nn::LSTM lstm{nullptr};
  pare::nn::Linear head{nullptr};
};
const Shape kTaggerInput = {2, 5, 3};

struct SavedModel {
  GraphModule graph_module;
  std::string path;
};

SavedModel save_cnn(const TempDir& dir) {
  auto cnn = std::make_shared<SmallCnn>();
  cnn->eval();
  GraphModule traced = pare::ir::trace(cnn, {random_tensor(kCnnInput, 1)});
  const std::string path = dir.file("cnn.pare");
  pare::ir::save(traced, path);
  return {std::move(traced), path};
}

SavedModel save_tagger(const TempDir& dir) {
  auto tagger = std::make_shared<Tagger>();
  tagger->eval();
  GraphModule traced = pare::ir::trace(tagger, {random_tensor(kTaggerInput, 2)});
  const std::string path = dir.file("tagger.pare");
  pare::ir::save(traced, path);
  return {std::move(traced), path};
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return pare::testing::max_abs_diff(pare::to_float_vector(a), pare::to_float_vector(b));
}

}  // namespace

TEST_CASE("cli: wrong usage prints the usage and exits 2") {
  check_usage_error(run_pare({}));
  check_usage_error(run_pare({"frobnicate"}));
  check_usage_error(run_pare({"--frobnicate"}));
  check_usage_error(run_pare({"info"}));
  check_usage_error(run_pare({"info", "m.pare", "--bogus"}));
  check_usage_error(run_pare({"info", "a.pare", "b.pare"}));
  check_usage_error(run_pare({"info", "m.pare", "--json=yes"}));
  check_usage_error(run_pare({"run", "m.pare", "--input"}));
  check_usage_error(run_pare({"run", "m.pare", "--output", "o", "--output", "p"}));
  check_usage_error(run_pare({"run", "m.pare", "--threads", "abc"}));
  check_usage_error(run_pare({"run", "m.pare", "--threads", "0"}));
  const Result unknown = run_pare({"info", "m.pare", "--bogus"});
  CHECK(unknown.err.rfind("pare info: unknown option '--bogus'", 0) == 0);
  const Result missing = run_pare({"run", "m.pare", "--input"});
  CHECK(missing.err.find("--input needs a value") != std::string::npos);
}

TEST_CASE("cli: --help and --version exit 0 on stdout") {
  const Result global = run_pare({"--help"});
  CHECK(global.status == 0);
  CHECK(global.err.empty());
  CHECK(global.out.find("info") != std::string::npos);
  CHECK(global.out.find("run") != std::string::npos);
  for (const std::string command : {"info", "run"}) {
    for (const std::vector<std::string>& arguments :
         std::vector<std::vector<std::string>>{{command, "--help"},
                                               {command, "-h"},
                                               {command, "m.pare", "--bogus", "--help"},
                                               {"help", command}}) {
      const Result help = run_pare(arguments);
      INFO(arguments);
      CHECK(help.status == 0);
      CHECK(help.err.empty());
      CHECK(help.out.rfind("usage: pare " + command + " MODEL.pare", 0) == 0);
    }
  }
  const Result version = run_pare({"--version"});
  CHECK(version.status == 0);
  CHECK(version.out.rfind("pare ", 0) == 0);
}

TEST_CASE("cli: pare info prints the graph, the modules and the totals") {
  TempDir dir;
  const SavedModel cnn = save_cnn(dir);
  // By hand: conv1 4*3*3*3 + 4 = 112 params, 2*6*6 outputs * 4 channels * 3*3*3 taps = 7776 MACs;
  // fc 4*5 + 5 = 25 params, 2 rows * 4 * 5 = 40 MACs.
  const Result text = run_pare({"info", cnn.path});
  INFO(text.out, text.err);
  REQUIRE(text.status == 0);
  CHECK(text.err.empty());
  CHECK(has_line(text.out, {"x", "placeholder", "x", "[2, 3, 6, 6]"}));
  CHECK(has_line(text.out, {"conv1", "call_module", "conv1", "[2, 4, 6, 6]"}));
  CHECK(has_line(text.out, {"relu", "call_function", "relu", "[2, 4, 6, 6]"}));
  CHECK(has_line(text.out, {"call_function", "flatten", "[2, 4]"}));
  CHECK(has_line(text.out, {"fc", "call_module", "fc", "[2, 5]"}));
  CHECK(has_line(text.out, {"output", "output", "[2, 5]"}));
  CHECK(has_line(text.out, {"conv1", "Conv2d", " 112", " 7776", "weight [4, 3, 3, 3]"}));
  CHECK(has_line(text.out, {"bias [4]"}));
  CHECK(has_line(text.out, {"fc", "Linear", " 25", " 40", "weight [5, 4]"}));
  CHECK(has_line(text.out, {"params", " 137"}));
  CHECK(has_line(text.out, {"MACs", " 7816"}));
  // Nodes come before modules, totals last.
  CHECK(text.out.find("call_module") < text.out.find("Conv2d"));
  CHECK(text.out.rfind("7816") > text.out.find("Linear"));

  const Result json_run = run_pare({"info", cnn.path, "--json"});
  REQUIRE(json_run.status == 0);
  const Json json = Json::parse(json_run.out);
  const Json expected = {{"params", 137},
                         {"macs", 7816},
                         {"inputs", {{{"name", "x"}, {"shape", {2, 3, 6, 6}}}}},
                         {"modules",
                          {{"conv1",
                            {{"type", "Conv2d"},
                             {"params", 112},
                             {"macs", 7776},
                             {"tensors", {{"conv1.weight", {4, 3, 3, 3}}, {"conv1.bias", {4}}}}}},
                           {"fc",
                            {{"type", "Linear"},
                             {"params", 25},
                             {"macs", 40},
                             {"tensors", {{"fc.weight", {5, 4}}, {"fc.bias", {5}}}}}}}}};
  CHECK(json == expected);
}

TEST_CASE("cli: pare info on an LSTM model counts its MACs and lists its tensors") {
  TempDir dir;
  const SavedModel tagger = save_tagger(dir);
  const Result json_run = run_pare({"info", tagger.path, "--json"});
  REQUIRE(json_run.status == 0);
  const Json json = Json::parse(json_run.out);
  // lstm: 4*4 rows over (3 inputs + 4 hidden), two biases of 16: 16*7 + 32 = 144 params;
  // T=5 steps * N=2 * 16 * (3 + 4) = 1120 MACs. head: 4*2 + 2 = 10 params, 2*5 rows * 4 * 2 = 80.
  CHECK(json["params"] == 154);
  CHECK(json["macs"] == 1200);
  CHECK(json["modules"]["lstm"]["macs"] == 1120);
  CHECK(json["modules"]["lstm"]["tensors"]["lstm.weight_hh_l0"] == Json({16, 4}));
  CHECK(json["modules"]["head"]["macs"] == 80);
}

TEST_CASE("cli: pare run writes what GraphModule::forward computes") {
  TempDir dir;
  const SavedModel cnn = save_cnn(dir);
  // Another batch size than the recorded one.
  const Tensor x = random_tensor({3, 3, 6, 6}, 5);
  const std::string input = dir.file("in.safetensors"), output = dir.file("out.safetensors");
  pare::write_safetensors(input, {{"x", x}});
  const Result result =
      run_pare({"run", cnn.path, "--input", input, "--output", output, "--threads", "1"});
  INFO(result.err);
  REQUIRE(result.status == 0);
  CHECK(result.err.empty());
  CHECK(result.out.empty());
  const pare::SafetensorsFile written = pare::read_safetensors(output);
  REQUIRE(written.tensors.size() == 1);
  CHECK(written.tensors[0].first == "output");
  GraphModule reference = cnn.graph_module;
  const Tensor expected = reference.forward({x});
  CHECK(max_abs_diff(written.get("output"), expected) <= 1e-5);
}

TEST_CASE("cli: pare run names several and nested outputs output.0, output.1.0, ...") {
  TempDir dir;
  const SavedModel tagger = save_tagger(dir);
  const Tensor x = random_tensor({4, 5, 3}, 6);
  const std::string input = dir.file("in.safetensors"), output = dir.file("out.safetensors");
  pare::write_safetensors(input, {{"x", x}});
  const Result result = run_pare({"run", tagger.path, "--input", input, "--output", output});
  INFO(result.err);
  REQUIRE(result.status == 0);
  const pare::SafetensorsFile written = pare::read_safetensors(output);
  std::vector<std::string> names;
  for (const auto& [name, tensor] : written.tensors) names.push_back(name);
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"output.0", "output.1.0", "output.1.1"});
  GraphModule reference = tagger.graph_module;
  const pare::ir::Value expected = reference.forward({x});
  CHECK(max_abs_diff(written.get("output.0"), expected.items()[0].tensor()) <= 1e-5);
  CHECK(max_abs_diff(written.get("output.1.0"), expected.items()[1].items()[0].tensor()) <= 1e-5);
  CHECK(max_abs_diff(written.get("output.1.1"), expected.items()[1].items()[1].tensor()) <= 1e-5);
}

TEST_CASE("cli: pare run without --input summarises outputs of seeded random inputs") {
  TempDir dir;
  const SavedModel cnn = save_cnn(dir);
  const Result first = run_pare({"run", cnn.path});
  INFO(first.out, first.err);
  REQUIRE(first.status == 0);
  CHECK(first.err.empty());
  CHECK(first.out.find("x [2, 3, 6, 6]") != std::string::npos);
  CHECK(first.out.find("mean") != std::string::npos);
  // Seeded: the same numbers every time; another seed gives others.
  CHECK(run_pare({"run", cnn.path}).out == first.out);
  CHECK(run_pare({"run", cnn.path, "--seed", "7"}).out != first.out);

  // With --output too, the same random run is written: seed N means pare::Generator(N).
  const std::string output = dir.file("random.safetensors");
  const Result written_run = run_pare({"run", cnn.path, "--output", output});
  REQUIRE(written_run.status == 0);
  CHECK(written_run.out == first.out);
  const Tensor written = pare::read_safetensors(output).get("output");
  pare::Generator generator(0);
  GraphModule reference = cnn.graph_module;
  CHECK(max_abs_diff(written, reference.forward({pare::randn(kCnnInput, generator)})) <= 1e-5);

  // The summary row (output, shape, mean, std, min, max) against the written values.
  const std::vector<float> values = pare::to_float_vector(written);
  double sum = 0.0, low = values[0], high = values[0];
  for (float value : values) {
    sum += value;
    low = std::min<double>(low, value);
    high = std::max<double>(high, value);
  }
  const double expected_mean = sum / values.size();
  double squares = 0.0;
  for (float value : values) squares += (value - expected_mean) * (value - expected_mean);
  const double expected_std = std::sqrt(squares / (values.size() - 1));
  std::istringstream lines(first.out);
  std::string line;
  bool found = false;
  while (std::getline(lines, line)) {
    if (line.rfind("output ", 0) != 0 || line.find("[2, 5]") == std::string::npos) continue;
    found = true;
    std::istringstream fields(line.substr(line.find(']') + 1));
    double mean = 0, std = 0, min = 0, max = 0;
    fields >> mean >> std >> min >> max;
    CHECK(mean == doctest::Approx(expected_mean).epsilon(1e-4));
    CHECK(std == doctest::Approx(expected_std).epsilon(1e-4));
    CHECK(min == doctest::Approx(low).epsilon(1e-4));
    CHECK(max == doctest::Approx(high).epsilon(1e-4));
  }
  CHECK(found);
}

TEST_CASE("cli: pare run rejects input files that do not match the graph inputs") {
  TempDir dir;
  const SavedModel cnn = save_cnn(dir);
  const std::string output = dir.file("out.safetensors");
  auto run_with = [&](const std::vector<std::pair<std::string, Tensor>>& tensors) {
    const std::string input = dir.file("in.safetensors");
    pare::write_safetensors(input, tensors);
    const Result result = run_pare({"run", cnn.path, "--input", input, "--output", output});
    CHECK_FALSE(fs::exists(output));
    return std::make_pair(result, input);
  };
  {
    auto [result, input] = run_with({{"y", random_tensor({2, 3, 6, 6}, 1)}});
    check_file_error(result, input, "missing [x]");
    CHECK(result.err.find("unexpected [y]") != std::string::npos);
  }
  {
    auto [result, input] =
        run_with({{"x", random_tensor({2, 3, 6, 6}, 1)}, {"extra", random_tensor({1}, 2)}});
    check_file_error(result, input, "unexpected [extra]");
  }
  {
    auto [result, input] = run_with({{"x", random_tensor({2, 3, 5, 6}, 1)}});
    check_file_error(result, input, "'x' has shape [2, 3, 5, 6]");
    CHECK(result.err.find("[N, 3, 6, 6]") != std::string::npos);
  }
  {
    auto [result, input] = run_with({{"x", random_tensor({3, 6, 6}, 1)}});
    check_file_error(result, input, "'x' has shape [3, 6, 6]");
  }
  {
    auto [result, input] = run_with({{"x", pare::zeros({2, 3, 6, 6}, pare::kInt64)}});
    check_file_error(result, input, "int64");
  }
  check_file_error(
      run_pare({"run", cnn.path, "--input", dir.file("absent.safetensors"), "--output", output}),
      dir.file("absent.safetensors"));
  CHECK_FALSE(fs::exists(output));
}

TEST_CASE("cli: bad model files exit 1 with one line naming the file, no output written") {
  TempDir dir;
  const SavedModel cnn = save_cnn(dir);
  const std::string bytes = read_text(cnn.path);
  const std::string truncated = dir.file("truncated.pare");
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  const std::string text_file = dir.file("notes.pare");
  std::ofstream(text_file) << "this is not a model\nsecond line\n";
  const std::string plain = dir.file("plain.pare");
  pare::write_safetensors(plain, {{"w", random_tensor({2, 2}, 3)}});
  const std::string empty = dir.file("empty.pare");
  std::ofstream(empty, std::ios::binary).flush();
  const std::string missing = dir.file("missing.pare");

  const std::string output = dir.file("out.safetensors");
  for (const std::string& bad : {truncated, text_file, plain, empty, missing}) {
    INFO(bad);
    check_file_error(run_pare({"info", bad}), bad);
    check_file_error(run_pare({"info", bad, "--json"}), bad);
    check_file_error(run_pare({"run", bad}), bad);
    check_file_error(run_pare({"run", bad, "--output", output}), bad);
    CHECK_FALSE(fs::exists(output));
  }
  // A directory is not a model file either.
  check_file_error(run_pare({"info", dir.path.string()}), dir.path.string(), "is a directory");
  // The outputs never overwrite the model.
  check_file_error(run_pare({"run", cnn.path, "--output", cnn.path}), cnn.path, "model file");
  CHECK(read_text(cnn.path) == bytes);
  // An output that cannot be written names the output file and leaves nothing behind.
  const std::string unwritable = dir.file("no_such_folder/out.safetensors");
  check_file_error(run_pare({"run", cnn.path, "--output", unwritable}), unwritable);
  CHECK(fs::directory_iterator(dir.path) != fs::directory_iterator());
  for (const auto& entry : fs::directory_iterator(dir.path))
    CHECK(entry.path().filename().string().find("out") == std::string::npos);
}

// script(1) (util-linux) gives a command a terminal; where it is missing the case is reported as
// skipped, not passed.
namespace {
bool has_script() { return std::system("command -v script >/dev/null 2>&1") == 0; }
}  // namespace

TEST_CASE("cli: progress shows on a terminal only" * doctest::skip(!has_script())) {
  TempDir dir;
  const SavedModel cnn = save_cnn(dir);
  const std::string transcript = dir.file("transcript");
  // script(1) gives the command a terminal; its stdout goes to a file, so the transcript holds
  // what reached stderr.
  const std::string command =
      "script -qec " +
      quoted(quoted(pare_binary().string()) + " run " + quoted(cnn.path) + " --output " +
             quoted(dir.file("out.safetensors")) + " >/dev/null") +
      " /dev/null >" + quoted(transcript) + " 2>&1 </dev/null";
  REQUIRE(std::system(command.c_str()) == 0);
  CHECK(read_text(transcript).find("loading " + cnn.path) != std::string::npos);
}

TEST_CASE("cli: pare ops --json lists every built-in layer with its attributes") {
  const Result all = run_pare({"ops", "--json"});
  REQUIRE(all.status == 0);
  const Json dump = Json::parse(all.out);
  CHECK_FALSE(dump.at("ops").empty());
  std::vector<std::string> types;
  for (const Json& layer : dump.at("layers")) {
    const std::string type = layer.at("type").get<std::string>();
    types.push_back(type);
    const pare::ir::LayerDefinition* definition = pare::ir::find_layer_definition(type);
    REQUIRE(definition != nullptr);
    CHECK(layer.at("attributes").get<std::vector<std::string>>() == definition->attributes);
    CHECK(layer.at("in_files").get<bool>() == pare::ir::is_registered_module_type(type));
  }
  for (const std::string& type : pare::ir::registered_module_types())
    CHECK(std::find(types.begin(), types.end(), type) != types.end());
  const Json linear =
      dump.at("layers").at(std::find(types.begin(), types.end(), "Linear") - types.begin());
  CHECK(linear.at("kind") == "Linear");
  CHECK(linear.at("tensors") == true);
  CHECK(linear.at("macs") == true);
  // A NAME selects ops only.
  const Result one = run_pare({"ops", "--json", "linear"});
  REQUIRE(one.status == 0);
  CHECK_FALSE(Json::parse(one.out).contains("layers"));
}
