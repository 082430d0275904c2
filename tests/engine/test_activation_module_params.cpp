// ActivationModule::activation(): for every activation module, with its defaults and with other
// arguments, the kernels' activation with the params it reports computes what forward() computes;
// PReLU (a learnt weight) and RReLU in training report none. activation_module_type_names() names
// each module once.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "pare/kernels/activation.h"
#include "pare/pare.h"
#include "test_util.h"

namespace {

namespace nn = pare::nn;
using pare::Tensor;

// Every activation module but PReLU, with defaults and with other arguments.
std::vector<std::shared_ptr<nn::ActivationModule>> fixed_activations() {
  return {nn::ReLU().ptr(),
          nn::RReLU().ptr(),
          nn::RReLU(0.05, 0.4).ptr(),
          nn::Hardtanh().ptr(),
          nn::Hardtanh(-0.5, 0.75).ptr(),
          nn::ReLU6().ptr(),
          nn::Sigmoid().ptr(),
          nn::Hardsigmoid().ptr(),
          nn::Tanh().ptr(),
          nn::SiLU().ptr(),
          nn::Mish().ptr(),
          nn::Hardswish().ptr(),
          nn::ELU().ptr(),
          nn::ELU(0.5).ptr(),
          nn::CELU().ptr(),
          nn::CELU(1.75).ptr(),
          nn::SELU().ptr(),
          nn::Hardshrink().ptr(),
          nn::Hardshrink(1.25).ptr(),
          nn::LeakyReLU().ptr(),
          nn::LeakyReLU(0.2).ptr(),
          nn::LogSigmoid().ptr(),
          nn::Softplus().ptr(),
          nn::Softplus(2.0, 1.5).ptr(),
          nn::Softsign().ptr(),
          nn::Tanhshrink().ptr(),
          nn::GELU().ptr(),
          nn::GELU("tanh").ptr()};
}

}  // namespace

TEST_CASE("an activation module's params give its forward's output") {
  pare::NoGradGuard no_grad;
  const Tensor x = pare::testing::random_tensor({4, 3, 37}, 5, -4.0f, 4.0f);
  const std::vector<float> input = pare::testing::values(x);
  for (const auto& module : fixed_activations()) {
    module->eval();  // RReLU: the fixed slope
    std::ostringstream printed;
    printed << *module;
    CAPTURE(printed.str());
    const std::optional<pare::kernels::ActivationParams> params = module->activation();
    REQUIRE(params.has_value());
    std::vector<float> actual(input.size());
    pare::kernels::cpu::activation_forward(*params, input.data(), actual.data(),
                                           static_cast<int64_t>(input.size()));
    CHECK(pare::testing::max_abs_diff(actual, pare::testing::values(module->forward(x))) <= 1e-5);
  }
}

TEST_CASE("PReLU and RReLU in training report no one function") {
  nn::PReLU prelu(3);
  CHECK(!prelu->activation().has_value());
  prelu->eval();
  CHECK(!prelu->activation().has_value());
  nn::RReLU rrelu(0.1, 0.3);
  rrelu->train();
  CHECK(!rrelu->activation().has_value());
  rrelu->eval();
  REQUIRE(rrelu->activation().has_value());
  CHECK(rrelu->activation()->kind == pare::kernels::Activation::rrelu);
  CHECK(rrelu->activation()->alpha == doctest::Approx(0.1));
  CHECK(rrelu->activation()->beta == doctest::Approx(0.3));
}

TEST_CASE("activation_module_type_names names every activation module once") {
  const std::vector<std::string>& names = nn::activation_module_type_names();
  CHECK(names.size() == 21);
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
  std::vector<std::shared_ptr<nn::ActivationModule>> modules = fixed_activations();
  modules.push_back(nn::PReLU().ptr());
  for (const auto& module : modules) {
    CAPTURE(module->type_name());
    CHECK(std::count(names.begin(), names.end(), module->type_name()) == 1);
  }
  CHECK(names.front() == "ReLU");
  CHECK(names.back() == "GELU");
}
