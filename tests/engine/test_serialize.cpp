// pare::save / pare::load of a module's state dict: round trip, PyTorch key names on disk, and
// clear errors for a missing file, a mismatched model and a corrupt file.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "pare/nn/nn.h"
#include "pare/pare.h"

namespace {

struct SmallNet : pare::nn::Module {
  explicit SmallNet(int64_t hidden = 8) {
    features = register_module(
        "features", pare::nn::Sequential(pare::nn::Conv2d(pare::nn::Conv2dOptions(1, 4, 3)),
                                         pare::nn::BatchNorm2d(4), pare::nn::ReLU()));
    fc = register_module("fc", pare::nn::Linear(4 * 4 * 4, hidden));
  }
  pare::Tensor forward(const pare::Tensor& x) { return fc(pare::flatten(features(x), 1)); }
  pare::nn::Sequential features{nullptr};
  pare::nn::Linear fc{nullptr};
};

std::filesystem::path scratch(const std::string& name) {
  auto folder = std::filesystem::temp_directory_path() / "pare_test_serialize";
  std::filesystem::create_directories(folder);
  return folder / name;
}

}  // namespace

TEST_CASE("save then load reproduces every parameter and buffer and the forward") {
  pare::manual_seed(1);
  auto net = std::make_shared<SmallNet>();
  pare::Tensor x = pare::randn({2, 1, 6, 6});
  net->forward(x);  // training mode: moves BatchNorm's running statistics
  net->eval();
  pare::Tensor expected = net->forward(x);
  const std::string path = scratch("net.safetensors").string();
  pare::save(*net, path);

  pare::SafetensorsFile file = pare::read_safetensors(path);
  std::vector<std::string> keys;
  for (auto& [key, tensor] : file.tensors) keys.push_back(key);
  CHECK(keys == std::vector<std::string>{"features.0.weight", "features.0.bias",
                                         "features.1.weight", "features.1.bias",
                                         "features.1.running_mean", "features.1.running_var",
                                         "features.1.num_batches_tracked", "fc.weight", "fc.bias"});

  pare::manual_seed(2);
  auto fresh = std::make_shared<SmallNet>();
  fresh->eval();
  CHECK_FALSE(pare::allclose(fresh->forward(x), expected));
  pare::load(*fresh, path);
  CHECK(pare::equal(fresh->forward(x), expected));
  for (auto& [key, tensor] : fresh->state_dict()) CHECK(pare::equal(tensor, file.get(key)));
}

TEST_CASE("load reports the file and what does not match") {
  auto net = std::make_shared<SmallNet>();
  const std::string path = scratch("small.safetensors").string();
  pare::save(*net, path);

  auto wider = std::make_shared<SmallNet>(16);
  CHECK_THROWS_WITH_AS(pare::load(*wider, path),
                       doctest::Contains("size mismatch for 'fc.weight': the checkpoint has shape "
                                         "[8, 64], the module has shape [16, 64]"),
                       pare::Error);
  CHECK_THROWS_WITH_AS(pare::load(*wider, path), doctest::Contains("small.safetensors"),
                       pare::Error);

  pare::write_safetensors(path, {{"fc.weight", pare::zeros({8, 64})}, {"extra", pare::zeros({1})}});
  std::string message;
  try {
    pare::load(*net, path);
  } catch (const pare::Error& error) {
    message = error.what();
  }
  CHECK(message.find("missing keys") != std::string::npos);
  CHECK(message.find("features.0.weight") != std::string::npos);
  CHECK(message.find("unexpected keys [extra]") != std::string::npos);
  // Non-strict loading takes what matches and ignores the rest.
  pare::load(*net, path, /*strict=*/false);
  CHECK(pare::equal(net->fc->weight(), pare::zeros({8, 64})));

  CHECK_THROWS_WITH_AS(pare::load(*net, scratch("absent.safetensors").string()),
                       doctest::Contains("absent.safetensors: cannot open"), pare::Error);
  {
    std::ofstream corrupt(scratch("corrupt.safetensors"), std::ios::binary);
    corrupt << "not a safetensors file";
  }
  CHECK_THROWS_WITH_AS(pare::load(*net, scratch("corrupt.safetensors").string()),
                       doctest::Contains("corrupt.safetensors"), pare::Error);
  std::filesystem::remove_all(scratch("").parent_path());
}
