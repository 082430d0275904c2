// The activation hook of the op definitions: for every call, the kernels' activation with the
// params the hook reports computes what the bound interpreter kernel computes, with torch's
// defaults and with other arguments (positional and keyword); prelu and rrelu in training are no
// one function.
#include <doctest/doctest.h>

#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "pare/ir/op_definition.h"
#include "pare/kernels/activation.h"
#include "test_util.h"

namespace {

using pare::Tensor;
using pare::ir::Argument;
using pare::ir::Kwargs;
using pare::ir::OpCall;
using pare::ir::OpDefinition;

// The arguments after the input, positional and keyword.
struct Arguments {
  Arguments(std::vector<Argument> positional = {}, Kwargs keywords = {})  // NOLINT: table rows
      : positional(std::move(positional)), keywords(std::move(keywords)) {}
  std::vector<Argument> positional;
  Kwargs keywords;
};

// Per activation: the default call, then calls with other numbers, each way they can be given.
const std::map<std::string, std::vector<Arguments>>& calls() {
  static const std::map<std::string, std::vector<Arguments>> table = {
      {"relu", {{}, {{}, {{"inplace", true}}}}},
      {"rrelu",
       {{},
        {{0.05, 0.4}},
        {{}, {{"lower", 0.02}, {"upper", 0.5}, {"training", false}}},
        {{0.1, 0.3, false}}}},
      {"hardtanh", {{}, {{-0.5, 0.75}}, {{}, {{"min_val", -2.0}, {"max_val", 0.25}}}}},
      {"relu6", {{}}},
      {"sigmoid", {{}}},
      {"hardsigmoid", {{}}},
      {"tanh", {{}}},
      {"silu", {{}}},
      {"mish", {{}}},
      {"hardswish", {{}}},
      {"elu", {{}, {{0.5}}, {{}, {{"alpha", 2.5}}}}},
      {"celu", {{}, {{0.4}}, {{}, {{"alpha", 1.75}}}}},
      {"selu", {{}}},
      {"hardshrink", {{}, {{1.25}}, {{}, {{"lambd", 0.1}}}}},
      {"leaky_relu", {{}, {{0.2}}, {{}, {{"negative_slope", 0.75}}}, {{Argument()}}}},
      {"logsigmoid", {{}}},
      {"softplus", {{}, {{2.0, 1.5}}, {{}, {{"beta", 0.5}, {"threshold", 0.75}}}}},
      {"softsign", {{}}},
      {"tanhshrink", {{}}},
      {"gelu", {{}, {{}, {{"approximate", "tanh"}}}, {{}, {{"approximate", "none"}}}}},
  };
  return table;
}

// The graph x -> target(x, arguments...) -> output, with the call node.
struct OneCall {
  pare::ir::Graph graph;
  pare::ir::Node* node = nullptr;
  OneCall(const std::string& target, const Arguments& arguments) {
    std::vector<Argument> args = {graph.placeholder("x")};
    args.insert(args.end(), arguments.positional.begin(), arguments.positional.end());
    node = graph.call_function(target, args, arguments.keywords);
    graph.output(node);
  }
};

// "(0.5, alpha=2.5)", for failure messages.
std::string describe(const Arguments& arguments) {
  std::ostringstream text;
  text << "(";
  const char* separator = "";
  for (const Argument& argument : arguments.positional) {
    text << separator << argument;
    separator = ", ";
  }
  for (const auto& [key, value] : arguments.keywords) {
    text << separator << key << "=" << value;
    separator = ", ";
  }
  text << ")";
  return text.str();
}

std::vector<const OpDefinition*> definitions_with_activation() {
  std::vector<const OpDefinition*> found;
  for (const OpDefinition* definition : pare::ir::op_definitions())
    if (definition->activation != nullptr) found.push_back(definition);
  return found;
}

}  // namespace

TEST_CASE("the activation hook is set on the 22 activations and nothing else") {
  std::vector<std::string> with_hook;
  for (const OpDefinition* definition : definitions_with_activation())
    with_hook.push_back(definition->name);
  std::vector<std::string> activation_family;
  for (const OpDefinition* definition : pare::ir::op_definitions())
    if (definition->family == "activation") activation_family.push_back(definition->name);
  CHECK(with_hook.size() == 22);
  CHECK(with_hook == activation_family);
}

TEST_CASE("an activation definition's params give its bound kernel's output") {
  pare::NoGradGuard no_grad;
  const Tensor x = pare::testing::random_tensor({4, 3, 37}, 11, -4.0f, 4.0f);
  const std::vector<float> input = pare::testing::values(x);
  size_t checked = 0;
  for (const OpDefinition* definition : definitions_with_activation()) {
    // No one kernel function: their own test below.
    if (definition->name == "prelu" || definition->name == "softshrink") continue;
    CAPTURE(definition->name);
    REQUIRE(calls().count(definition->name) == 1);
    for (const Arguments& arguments : calls().at(definition->name)) {
      OneCall one(definition->name, arguments);
      CAPTURE(describe(arguments));
      const OpCall call(*definition, *one.node, nullptr);
      const std::optional<pare::kernels::ActivationParams> params = definition->activation(call);
      REQUIRE(params.has_value());
      std::vector<pare::ir::Value> runtime_args(one.node->args().size());
      runtime_args[0] = x;
      const Tensor expected = definition->bind(call)(runtime_args).tensor();
      std::vector<float> actual(input.size());
      pare::kernels::cpu::activation_forward(*params, input.data(), actual.data(),
                                             static_cast<int64_t>(input.size()));
      CHECK(pare::testing::max_abs_diff(actual, pare::testing::values(expected)) <= 1e-5);
      ++checked;
    }
  }
  size_t listed = 0;
  for (const auto& [name, rows] : calls()) listed += rows.size();
  CHECK(checked == listed);  // every listed call is an activation's and was checked
}

TEST_CASE("an activation's numbers reach kernels' alpha and beta; gelu's approximate its kind") {
  using pare::kernels::Activation;
  const auto params_of = [](const std::string& target, const Arguments& arguments) {
    OneCall one(target, arguments);
    const OpDefinition& definition = pare::ir::op_definition(target);
    return *definition.activation(OpCall(definition, *one.node, nullptr));
  };
  CHECK(params_of("leaky_relu", {{0.25}}).alpha == doctest::Approx(0.25));
  CHECK(params_of("leaky_relu", {}).alpha == doctest::Approx(0.01));
  CHECK(params_of("softplus", {{}, {{"threshold", 3.0}}}).beta == doctest::Approx(3.0));
  CHECK(params_of("softplus", {{}, {{"threshold", 3.0}}}).alpha == doctest::Approx(1.0));
  CHECK(params_of("hardtanh", {{-0.5, 0.5}}).alpha == doctest::Approx(-0.5));
  CHECK(params_of("gelu", {}).kind == Activation::gelu);
  CHECK(params_of("gelu", {{}, {{"approximate", "tanh"}}}).kind == Activation::gelu_tanh);
  CHECK(pare::testing::contains(pare::testing::error_of([&] {
                                  params_of("gelu", {{}, {{"approximate", "erf"}}});
                                }),
                                "approximate must be \"none\" or \"tanh\""));
}

TEST_CASE("prelu, softshrink and rrelu in training compute no one function") {
  pare::ir::Graph graph;
  pare::ir::Node* x = graph.placeholder("x");
  pare::ir::Node* weight = graph.placeholder("weight");
  pare::ir::Node* prelu = graph.call_function("prelu", {x, weight});
  pare::ir::Node* rrelu_positional = graph.call_function("rrelu", {prelu, 0.1, 0.3, true});
  pare::ir::Node* rrelu_keyword =
      graph.call_function("rrelu", {rrelu_positional}, {{"training", true}});
  pare::ir::Node* softshrink = graph.call_function("softshrink", {rrelu_keyword, 0.25});
  graph.output(softshrink);
  for (const pare::ir::Node* node : {prelu, rrelu_positional, rrelu_keyword, softshrink}) {
    CAPTURE(node->name());
    const OpDefinition& definition = pare::ir::op_definition(node->target());
    const bool has_hook = definition.activation != nullptr;
    REQUIRE(has_hook);
    CHECK(!definition.activation(OpCall(definition, *node, nullptr)).has_value());
  }
}
