// The compiled inference path is GraphModule::forward's default in a program linked with
// pare::pare (passes/src/inference/default_on.cpp), and can be switched off per module.
#include <doctest/doctest.h>

#include <memory>

#include "pare/ir/ir.h"
#include "pare/passes/inference/inference.h"
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

}  // namespace
