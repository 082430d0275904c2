// The compiled inference path is GraphModule::forward's default in eval mode with grad off, chosen
// in the open (no linker option), and can be switched off per module or for modules built later.
#include <doctest/doctest.h>

#include <memory>

#include "pare/inference/inference.h"
#include "pare/ir/ir.h"
#include "test_util.h"

namespace {

struct SmallNet : pare::nn::Module {
  SmallNet() : pare::nn::Module("SmallNet") {
    fc1 = register_module("fc1", pare::nn::Linear(6, 5));
    fc2 = register_module("fc2", pare::nn::Linear(5, 3));
  }
  pare::Tensor forward(const pare::Tensor& x) { return fc2(pare::relu(fc1(x))); }
  pare::nn::Linear fc1{nullptr}, fc2{nullptr};
};

TEST_CASE("inference: every GraphModule gets the compiled path by default; disable() removes it") {
  pare::manual_seed(4);
  auto net = std::make_shared<SmallNet>();
  net->eval();
  const pare::Tensor x = pare::randn({2, 6});
  pare::ir::GraphModule traced = pare::ir::trace(net, {x});
  REQUIRE(traced.forward_backend() != nullptr);
  pare::NoGradGuard no_grad;
  const pare::Tensor compiled = traced.forward({x});
  const pare::Tensor interpreted = traced.interpret({x});
  CHECK(pare::testing::max_abs_diff(compiled, interpreted) <= 1e-5);

  pare::inference::disable(traced);
  CHECK(traced.forward_backend() == nullptr);
  CHECK(pare::testing::max_abs_diff(traced.forward({x}), interpreted) == 0.0);
}

TEST_CASE(
    "inference: disable_by_default() and enable_by_default() decide for modules built later") {
  auto net = std::make_shared<SmallNet>();
  net->eval();
  const pare::Tensor x = pare::randn({2, 6});
  pare::inference::disable_by_default();
  pare::ir::GraphModule interpreted = pare::ir::trace(net, {x});
  CHECK(interpreted.forward_backend() == nullptr);
  pare::inference::InferenceOptions options;
  options.fuse_activations = false;
  pare::inference::enable_by_default(options);
  pare::ir::GraphModule compiled = pare::ir::trace(net, {x});
  auto session =
      std::dynamic_pointer_cast<pare::inference::InferenceSession>(compiled.forward_backend());
  REQUIRE(session != nullptr);
  CHECK_FALSE(session->options().fuse_activations);
  CHECK(interpreted.forward_backend() == nullptr);  // built before: unchanged
  pare::inference::enable_by_default();
}

}  // namespace
