// The libtorch spellings a ported program uses, compiled as written in libtorch and checked for
// what they do: the values against pare's own spelling of the same thing, hand-computed numbers or
// the PyTorch goldens of tests/golden/idioms.safetensors (scripts/make_goldens.py).
#include <doctest/doctest.h>

#include <filesystem>
#include <tuple>

#include "golden.h"
#include "pare/pare.h"
#include "test_util.h"

namespace {

struct TwoLayerNet : pare::nn::Module {
  TwoLayerNet() {
    fc1 = register_module("fc1", pare::nn::Linear(3, 4));
    fc2 = register_module("fc2", pare::nn::Linear(4, 2));
  }
  pare::Tensor forward(const pare::Tensor& x) { return fc2(pare::relu(fc1(x))); }
  pare::nn::Linear fc1{nullptr};
  pare::nn::Linear fc2{nullptr};
};

std::string scratch(const std::string& name) {
  auto folder = std::filesystem::temp_directory_path() / "pare_test_libtorch_spellings";
  std::filesystem::create_directories(folder);
  return (folder / name).string();
}

}  // namespace

TEST_CASE("pare::save / pare::load take a module holder as torch::save / torch::load do") {
  pare::manual_seed(3);
  auto model = std::make_shared<TwoLayerNet>();
  const std::string path = scratch("holder.safetensors");
  pare::save(model, path);

  pare::manual_seed(4);
  auto restored = std::make_shared<TwoLayerNet>();
  pare::Tensor x = pare::randn({5, 3});
  CHECK_FALSE(pare::equal(restored->forward(x), model->forward(x)));
  pare::load(restored, path);
  CHECK(pare::equal(restored->forward(x), model->forward(x)));

  // A built-in layer's holder goes the same way.
  pare::nn::Linear layer(3, 4);
  pare::save(layer, scratch("linear.safetensors"));
  pare::nn::Linear other(3, 4);
  pare::load(other, scratch("linear.safetensors"));
  CHECK(pare::equal(other->weight(), layer->weight()));
  CHECK(pare::equal(other->bias(), layer->bias()));

  std::shared_ptr<TwoLayerNet> empty;
  CHECK(pare::testing::contains(pare::testing::error_of([&] { pare::load(empty, path); }),
                                "holder for '" + path + "' is empty"));
}
