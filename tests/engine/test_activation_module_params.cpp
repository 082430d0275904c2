// ActivationModule::activation(): for every activation module, with its defaults and with other
// arguments, the kernels' activation with the params it reports computes what forward() computes;
// PReLU (a learnt weight) and RReLU in training report none. ActivationModule's own forward reports
// the function with config() as its arguments, and refuses a class that is not one fixed function
// but did not override forward(). The activation layers of the layer
// definitions (pare/ir/layer_definition.h) are exactly the modules checked here.
#include <doctest/doctest.h>

#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "pare/ir/layer_definition.h"
#include "pare/kernels/activation.h"
#include "pare/pare.h"
#include "recording_observer.h"
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

TEST_CASE("forward() reports its function with config() as the arguments, as the function does") {
  const Tensor x = pare::testing::random_tensor({2, 5}, 7, -3.0f, 3.0f);
  for (const auto& module : fixed_activations()) {
    module->eval();
    CAPTURE(module->type_name());
    pare::testing::RecordingObserver recorder;
    Tensor output;
    {
      // forward() called directly, as when the tracer traces a bare layer: its op reports.
      pare::ObserverGuard guard(&recorder);
      output = module->forward(x);
    }
    REQUIRE(recorder.calls.size() == 1);
    const pare::testing::RecordingObserver::Call& call = recorder.calls[0];
    CHECK(call.name == pare::kernels::activation_name(module->activation()->kind));
    pare::Attrs expected = module->config();
    if (module->type_name() == "RReLU") expected.push_back({"training", false});
    CHECK(call.attrs == expected);
    CHECK(call.input_count == 1);
    CHECK(call.output_count == 1);
    // Through the module call instead, only the module reports (no call_function).
    pare::testing::RecordingObserver module_recorder;
    Tensor called;
    {
      pare::ObserverGuard guard(&module_recorder);
      called = module->call(x);
    }
    CHECK(module_recorder.calls.empty());
    CHECK(pare::testing::max_abs_diff(called, output) == 0.0);
  }
}

namespace {

// A user's activation module that is not one fixed function and forgot to say how it computes.
class Forgetful : public nn::ActivationModule {
 public:
  std::optional<pare::kernels::ActivationParams> activation() const override {
    return std::nullopt;
  }
};

}  // namespace

TEST_CASE("the default forward() refuses a module that is not one fixed function") {
  auto module = std::make_shared<Forgetful>();
  const std::string message = pare::testing::error_of([&] { module->forward(pare::ones({2})); });
  CHECK(pare::testing::contains(message, "Forgetful"));
  CHECK(pare::testing::contains(message, "override forward()"));
}

TEST_CASE("the activation layers of the layer definitions are the modules checked here") {
  // A new activation joins the layer definitions; this fails until it joins fixed_activations().
  std::set<std::string> defined;
  size_t count = 0;
  for (const pare::ir::LayerDefinition* definition : pare::ir::layer_definitions()) {
    if (definition->kind != nn::ModuleKind::activation &&
        definition->kind != nn::ModuleKind::prelu) {
      continue;
    }
    defined.insert(definition->type_name);
    ++count;
  }
  CHECK(count == 22);
  CHECK(defined.size() == count);
  std::vector<std::shared_ptr<nn::ActivationModule>> modules = fixed_activations();
  // Those that are no one kernel function: PReLU (a weight), Softshrink (no kernel of its own).
  modules.push_back(nn::PReLU().ptr());
  modules.push_back(nn::Softshrink().ptr());
  std::set<std::string> checked;
  for (const auto& module : modules) {
    CAPTURE(module->type_name());
    CHECK(module->kind() ==
          (module->type_name() == "PReLU" ? nn::ModuleKind::prelu : nn::ModuleKind::activation));
    checked.insert(module->type_name());
  }
  CHECK(checked == defined);
}
