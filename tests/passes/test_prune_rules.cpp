// The pattern matcher of prune() and the refusals of its plan: first-user chains, exact module
// types, function-name / output / MatchAllNode elements, user patterns and prune functions,
// PatternTable::add replacing a chain's function, table order; a masked module called twice,
// channels leaking outside the chain (to an add, to the output), a shared consumer, a module
// never called, unmatched modules and bad configs or loaded masks. Every refusal names the
// module and the reason and leaves the model as it was.
#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pare/pare.h"
#include "pare/passes/pruning/pruning.h"
#include "pruning_test_util.h"

namespace {

namespace nn = pare::nn;
namespace ir = pare::ir;
namespace pruning = pare::pruning;
using nlohmann::json;
using pare::Tensor;
using pare::testing::assign;
using pare::testing::contains;
using pare::testing::error_of;
using pare::testing::FixedMaskPruner;
using pare::testing::max_abs_diff;
using pare::testing::near;
using pare::testing::Net;
using pare::testing::values;

// The graph node calling module `target` (or the function node named `target`).
ir::Node* node_named(ir::GraphModule& graph_module, const std::string& target) {
  for (ir::Node* node : graph_module.graph().nodes())
    if (node->target() == target || node->name() == target) return node;
  FAIL("no node " << target);
  return nullptr;
}

std::vector<std::string> names(const std::vector<ir::Node*>& nodes) {
  std::vector<std::string> out;
  for (const ir::Node* node : nodes) out.push_back(node->name());
  return out;
}

// Everything a refusal must leave as it was: parametrizations, bias hooks and the function.
struct Snapshot {
  std::vector<std::shared_ptr<nn::Module>> masked;
  Tensor output;
};
Snapshot snapshot(const std::shared_ptr<Net>& net, const std::vector<std::string>& masked,
                  const Tensor& x) {
  Snapshot shot;
  for (const std::string& name : masked) shot.masked.push_back(net->get_submodule(name));
  shot.output = net->forward(x);
  return shot;
}
void check_unchanged(const Snapshot& shot, const std::shared_ptr<Net>& net, const Tensor& x) {
  for (const auto& module : shot.masked) {
    CHECK(pruning::carries_structured_sparsity(*module));
    CHECK(module->has_hook_with_tag(pruning::BiasHook::kTag));
  }
  CHECK(max_abs_diff(net->forward(x), shot.output) == 0.0);
}

// fc1 (3 -> 4) -> act -> fc2 (4 -> 3) with fixed weights.
const std::vector<float> kW1 = {1, 2, 3, -1, 0, 1, 2, 2, -2, 0.5f, -1, 1};
const std::vector<float> kB1 = {0.5f, -1.5f, 2, 3};
const std::vector<float> kW2 = {1, 0, 2, -1, 0.5f, 1, -1, 2, -2, 1, 0, 1};
const std::vector<float> kB2 = {0.1f, 0.2f, 0.3f};

struct Chain {
  std::shared_ptr<Net> net = std::make_shared<Net>();
  nn::Linear fc1{nullptr};
  nn::Linear fc2{nullptr};
};
// `middle` is called between the layers (and registered as "mid" when it is a module).
Chain linear_chain(std::function<Tensor(const Tensor&)> middle,
                   std::shared_ptr<nn::Module> middle_module = nullptr) {
  Chain chain;
  chain.fc1 = chain.net->register_module("fc1", nn::Linear(3, 4));
  if (middle_module) chain.net->register_module("mid", middle_module);
  chain.fc2 = chain.net->register_module("fc2", nn::Linear(4, 3));
  assign(chain.fc1->weight(), kW1);
  assign(chain.fc1->bias(), kB1);
  assign(chain.fc2->weight(), kW2);
  assign(chain.fc2->bias(), kB2);
  nn::Linear fc1 = chain.fc1;
  nn::Linear fc2 = chain.fc2;
  chain.net->body = [fc1, fc2, middle](const Tensor& x) { return fc2(middle(fc1(x))); };
  return chain;
}

const Tensor& example_x() {
  static const Tensor x = pare::tensor({0.5f, -1, 2, 1, 1, -3}, {2, 3});
  return x;
}

}  // namespace

// ---------------------------------------------------------------- the pattern matcher

TEST_CASE("matching follows first users: a node whose first user differs does not match") {
  for (bool linear_first : {true, false}) {
    CAPTURE(linear_first);
    auto net = std::make_shared<Net>();
    nn::Linear fc1 = net->register_module("fc1", nn::Linear(4, 4));
    nn::Linear fc2 = net->register_module("fc2", nn::Linear(4, 4));
    net->body = [=](const Tensor& x) {
      Tensor h = fc1(x);
      if (linear_first) {
        Tensor a = fc2(h);
        return a + pare::relu(h);
      }
      Tensor b = pare::relu(h);
      return fc2(h) + b;
    };
    ir::GraphModule traced = ir::trace(net, {pare::randn({2, 4})});
    const pruning::PatternTable table = pruning::default_pattern_table();
    std::vector<ir::Node*> matched;
    const pruning::Pattern* pattern = table.match(*node_named(traced, "fc1"), traced, matched);
    if (linear_first) {
      // fc1's first user is fc2: (Linear, Linear).
      REQUIRE(pattern != nullptr);
      CHECK(pattern->name == "prune_linear_linear");
      CHECK(names(matched) == std::vector<std::string>{"fc1", "fc2"});
    } else {
      // fc1's first user is relu, whose first user is the add: no (Linear, act, Linear) even
      // though fc2 reads fc1 too.
      CHECK(pattern == nullptr);
      const std::vector<ir::Node*> chain = pruning::first_user_chain(*node_named(traced, "fc1"), 3);
      REQUIRE(chain.size() == 3);
      CHECK(chain[1]->target() == "relu");
      CHECK(chain[2]->target() == "add");
    }
  }
}

TEST_CASE("module elements match the exact type name, not a subclass") {
  struct ScaledLinear : nn::LinearImpl {  // a user subclass: type name "ScaledLinear"
    ScaledLinear() : nn::LinearImpl(4, 3) {}
  };
  auto make = [](std::shared_ptr<nn::Module>& custom) {
    pare::manual_seed(31);
    Chain chain = linear_chain([](const Tensor& h) { return h; });
    auto scaled = std::make_shared<ScaledLinear>();
    chain.net->register_module("fc2", scaled);  // replaces fc2 in place
    custom = scaled;
    chain.net->body = [fc1 = chain.fc1, scaled](const Tensor& x) { return (*scaled)(fc1(x)); };
    return chain;
  };
  std::shared_ptr<nn::Module> custom;
  Chain chain = make(custom);
  CHECK(custom->type_name() == "ScaledLinear");
  const Tensor x = example_x();
  ir::GraphModule traced = ir::trace(chain.net, {x});
  CHECK(pruning::module_type("Linear").matches(*node_named(traced, "fc1"), traced));
  CHECK_FALSE(pruning::module_type("Linear").matches(*node_named(traced, "fc2"), traced));
  CHECK(pruning::module_type("ScaledLinear").matches(*node_named(traced, "fc2"), traced));

  FixedMaskPruner pruner;
  pruner.prepare(chain.net, {{{"tensor_fqn", "fc1.weight"}, {"mask", {1, 0, 1, 1}}}});
  const Snapshot shot = snapshot(chain.net, {"fc1"}, x);
  CHECK_THROWS_WITH_AS(pruner.prune({x}),
                       doctest::Contains("no pattern matches its chain fc1 -> fc2"), pare::Error);
  check_unchanged(shot, chain.net, x);

  // A user pattern naming the subclass: it computes W x + b, so the general rule applies.
  pruner.patterns.add({"linear_scaled",
                       {pruning::module_type("Linear"), pruning::module_type("ScaledLinear")},
                       pruning::prune_producer_chain});
  pare::ir::GraphModule pruned = pruner.prune({x});
  CHECK(chain.fc1->options().out_features() == 3);
  CHECK(max_abs_diff(pruned.forward({x}), shot.output) <= 1e-5);
}

TEST_CASE("elements: function names, output, MatchAllNode") {
  Chain chain = linear_chain([](const Tensor& h) { return pare::neg(h); });
  ir::GraphModule traced = ir::trace(chain.net, {example_x()});
  ir::Node* neg = node_named(traced, "neg");
  ir::Node* out = nullptr;
  for (ir::Node* node : traced.graph().nodes())
    if (node->op() == ir::OpKind::output) out = node;
  REQUIRE(out != nullptr);
  CHECK(pruning::function_name("neg").matches(*neg, traced));
  CHECK_FALSE(pruning::function_name("abs").matches(*neg, traced));
  CHECK_FALSE(pruning::activation().matches(*neg, traced));
  CHECK_FALSE(pruning::module_type("neg").matches(*neg, traced));
  CHECK(pruning::output().matches(*out, traced));
  CHECK_FALSE(pruning::output().matches(*neg, traced));
  CHECK_FALSE(pruning::module_type("Linear").matches(*out, traced));
  for (ir::Node* node : traced.graph().nodes())
    CHECK(pruning::MatchAllNode().matches(*node, traced));
  CHECK(pruning::activation().describe() == "act");
  CHECK(pruning::MatchAllNode().describe() == "MatchAllNode");
  CHECK(pruning::output().describe() == "output");
}

TEST_CASE("a user pattern with a function-name element folds through that function") {
  Chain chain = linear_chain([](const Tensor& h) { return pare::neg(h); });
  FixedMaskPruner pruner({{"prune_bias", false}});
  pruner.prepare(chain.net, {{{"tensor_fqn", "fc1.weight"}, {"mask", {1, 0, 1, 0}}}});
  const Tensor x = example_x();
  const Snapshot shot = snapshot(chain.net, {"fc1"}, x);
  CHECK_THROWS_WITH_AS(pruner.prune({x}), doctest::Contains("fc1 -> neg -> fc2"), pare::Error);
  check_unchanged(shot, chain.net, x);

  pruner.patterns.add({"linear_neg_linear",
                       {pruning::module_type("Linear"), pruning::function_name("neg"),
                        pruning::module_type("Linear")},
                       pruning::prune_producer_chain});
  pare::ir::GraphModule pruned = pruner.prune({x});
  // Rows 1, 3 emit b1 = -1.5, 3; neg gives 1.5, -3: fold W2[:, 1] * 1.5 + W2[:, 3] * -3
  // = {0 + 3, 1.5 - 6, 1.5 - 3} = {3, -4.5, -1.5}.
  CHECK(near(values(chain.fc2->bias()), {0.1f + 3, 0.2f - 4.5f, 0.3f - 1.5f}));
  CHECK(max_abs_diff(pruned.forward({x}), shot.output) <= 1e-5);
}

TEST_CASE("user patterns: (Linear, Dropout, Linear) and MatchAllNode with a user function") {
  SUBCASE("(Linear, Dropout, Linear) calling prune_producer_chain, in eval mode") {
    Chain chain = linear_chain(nullptr);
    nn::Dropout dropout(0.5);
    chain.net->register_module("drop", dropout);
    chain.net->body = [fc1 = chain.fc1, fc2 = chain.fc2, dropout](const Tensor& x) {
      return fc2(dropout(fc1(x)));
    };
    chain.net->eval();
    FixedMaskPruner pruner({{"prune_bias", false}});
    pruner.prepare(chain.net, {{{"tensor_fqn", "fc1.weight"}, {"mask", {1, 0, 1, 0}}}});
    const Tensor x = example_x();
    const Tensor masked = chain.net->forward(x);
    pruner.patterns.add({"linear_dropout_linear",
                         {pruning::module_type("Linear"), pruning::module_type("Dropout"),
                          pruning::module_type("Linear")},
                         pruning::prune_producer_chain});
    pare::ir::GraphModule pruned = pruner.prune({x});
    // The identity in eval mode: fold W2[:, 1] * -1.5 + W2[:, 3] * 3 = {-3, 4.5, 1.5}.
    CHECK(near(values(chain.fc2->bias()), {0.1f - 3, 0.2f + 4.5f, 0.3f + 1.5f}));
    CHECK(chain.fc1->options().out_features() == 2);
    CHECK(max_abs_diff(pruned.forward({x}), masked) <= 1e-5);
  }
  SUBCASE("(Linear, MatchAllNode, Linear) with a lambda") {
    nn::Identity identity;
    Chain chain = linear_chain([identity](const Tensor& h) { return identity(h); }, identity.ptr());
    FixedMaskPruner pruner;
    pruner.prepare(chain.net, {{{"tensor_fqn", "fc1.weight"}, {"mask", {0, 1, 1, 1}}}});
    const Tensor x = example_x();
    const Tensor masked = chain.net->forward(x);
    std::vector<std::string> seen;
    pruner.patterns.add(
        {"linear_any_linear",
         {pruning::module_type("Linear"), pruning::MatchAllNode(), pruning::module_type("Linear")},
         [&](pruning::PatternMatch& match) {
           seen.push_back(match.describe());
           CHECK(match.module(1)->type_name() == "Identity");
           pruning::prune_producer_chain(match);
         }});
    pare::ir::GraphModule pruned = pruner.prune({x});
    CHECK(seen == std::vector<std::string>{"fc1 -> mid -> fc2"});
    CHECK(chain.fc1->options().out_features() == 3);
    CHECK(values(chain.fc2->bias()) == kB2);  // prune_bias: row 0 emits 0
    CHECK(max_abs_diff(pruned.forward({x}), masked) <= 1e-5);
  }
}

TEST_CASE("PatternTable::add with an existing chain replaces its function in place") {
  pruning::PatternTable table = pruning::default_pattern_table();
  const size_t size = table.size();
  REQUIRE(table.patterns()[1].name == "prune_linear_linear");
  int calls = 0;
  table.add({"counted_linear_linear",
             {pruning::module_type("Linear"), pruning::module_type("Linear")},
             [&](pruning::PatternMatch& match) {
               ++calls;
               pruning::prune_linear_linear(match);
             }});
  CHECK(table.size() == size);
  CHECK(table.patterns()[1].name == "counted_linear_linear");
  CHECK(table.patterns()[1].describe() == "(Linear, Linear)");

  Chain chain = linear_chain([](const Tensor& h) { return h; });
  FixedMaskPruner pruner;
  pruner.patterns = table;
  pruner.prepare(chain.net, {{{"tensor_fqn", "fc1.weight"}, {"mask", {1, 1, 0, 1}}}});
  const Tensor x = example_x();
  const Tensor masked = chain.net->forward(x);
  pare::ir::GraphModule pruned = pruner.prune({x});
  CHECK(calls == 1);
  CHECK(chain.fc1->options().out_features() == 3);
  CHECK(max_abs_diff(pruned.forward({x}), masked) <= 1e-5);
}

TEST_CASE("table order: the first matching pattern wins") {
  Chain chain = linear_chain([](const Tensor& h) { return h; });
  ir::GraphModule traced = ir::trace(chain.net, {example_x()});
  auto noop = [](pruning::PatternMatch&) {};
  const pruning::Pattern any_next{
      "any_next", {pruning::module_type("Linear"), pruning::MatchAllNode()}, noop};
  const pruning::Pattern linear_linear{
      "linear_linear", {pruning::module_type("Linear"), pruning::module_type("Linear")}, noop};
  const pruning::Pattern any_output{
      "any_output", {pruning::MatchAllNode(), pruning::output()}, noop};
  const pruning::Pattern linear_output{
      "linear_output", {pruning::module_type("Linear"), pruning::output()}, noop};
  auto winner = [&](const std::vector<pruning::Pattern>& patterns, const std::string& node) {
    pruning::PatternTable table(patterns);
    std::vector<ir::Node*> matched;
    const pruning::Pattern* found = table.match(*node_named(traced, node), traced, matched);
    return found ? found->name : std::string("none");
  };
  CHECK(winner({any_next, linear_linear}, "fc1") == "any_next");
  CHECK(winner({linear_linear, any_next}, "fc1") == "linear_linear");
  // A pattern starting with MatchAllNode competes in table order with the keyed ones.
  CHECK(winner({any_output, linear_output}, "fc2") == "any_output");
  CHECK(winner({linear_output, any_output}, "fc2") == "linear_output");
  CHECK(winner({linear_linear}, "fc2") == "none");
  // In the default table (Linear, Linear) comes before a user's (Linear, MatchAllNode).
  pruning::PatternTable table = pruning::default_pattern_table();
  table.add(any_next);
  std::vector<ir::Node*> matched;
  CHECK(table.match(*node_named(traced, "fc1"), traced, matched)->name == "prune_linear_linear");
}

// ---------------------------------------------------------------- refusals of the plan

TEST_CASE("a masked module called twice is refused, and nothing changes") {
  auto net = std::make_shared<Net>();
  nn::Linear fc = net->register_module("fc", nn::Linear(4, 4));
  net->body = [fc](const Tensor& x) { return fc(pare::relu(fc(x))); };
  FixedMaskPruner pruner;
  pruner.prepare(net, {{{"tensor_fqn", "fc.weight"}, {"mask", {1, 0, 1, 1}}}});
  const Tensor x = pare::randn({2, 4});
  const Snapshot shot = snapshot(net, {"fc"}, x);
  CHECK_THROWS_WITH_AS(pruner.prune({x}),
                       doctest::Contains("'fc' (Linear) is masked but called 2 times"),
                       pare::Error);
  check_unchanged(shot, net, x);
  CHECK(fc->options().out_features() == 4);
}

TEST_CASE("channels leaking to another user (a residual add) are refused, naming it") {
  auto net = std::make_shared<Net>();
  nn::Linear fc0 = net->register_module("fc0", nn::Linear(3, 4));
  nn::Linear fc1 = net->register_module("fc1", nn::Linear(4, 4));
  nn::Linear fc2 = net->register_module("fc2", nn::Linear(4, 4));
  net->body = [=](const Tensor& x) {
    Tensor h = fc1(pare::relu(fc0(x)));
    return fc2(pare::relu(h)) + h;  // h reaches the output through the add too
  };
  FixedMaskPruner pruner;
  // fc0 -> relu -> fc1 alone would prune; fc1's channels leak into the add.
  pruner.prepare(net, {{{"tensor_fqn", "fc0.weight"}, {"mask", {1, 1, 0, 1}}},
                       {{"tensor_fqn", "fc1.weight"}, {"mask", {1, 0, 1, 1}}}});
  const Tensor x = pare::randn({2, 3});
  const Snapshot shot = snapshot(net, {"fc0", "fc1"}, x);
  const std::string message = error_of([&] { pruner.prune({x}); });
  CHECK(contains(message, "'fc1' (Linear)"));
  CHECK(contains(message, "reach 'add'"));
  CHECK(contains(message, "(Linear, act, Linear)"));
  check_unchanged(shot, net, x);
  CHECK(fc0->options().out_features() == 4);
}

TEST_CASE("channels leaking straight to the graph's output are refused") {
  struct TwoOutputs : nn::Module {
    TwoOutputs() : nn::Module("TwoOutputs") {
      fc1 = register_module("fc1", nn::Linear(3, 4));
      fc2 = register_module("fc2", nn::Linear(4, 2));
    }
    // fc1's output is returned as well as fed to fc2: pruning fc1 would change that output's width.
    std::vector<Tensor> forward(const Tensor& x) {
      Tensor h = fc1(x);
      return {fc2(pare::relu(h)), h};
    }
    nn::Linear fc1{nullptr};
    nn::Linear fc2{nullptr};
  };
  auto net = std::make_shared<TwoOutputs>();
  FixedMaskPruner pruner;
  pruner.prepare(net, {{{"tensor_fqn", "fc1.weight"}, {"mask", {1, 0, 1, 1}}}});
  const Tensor x = pare::randn({2, 3});
  const std::vector<Tensor> before = net->forward(x);
  const std::string message = error_of([&] { pruner.prune({x}); });
  CAPTURE(message);
  CHECK(contains(message, "'fc1' (Linear)"));
  CHECK(contains(message, "output"));
  CHECK(pruning::carries_structured_sparsity(*net->fc1));
  CHECK(net->fc1->options().out_features() == 4);
  CHECK(net->fc2->options().in_features() == 4);
  const std::vector<Tensor> after = net->forward(x);
  REQUIRE(after.size() == 2);
  CHECK(after[1].sizes() == pare::Shape{2, 4});
  CHECK(max_abs_diff(after[0], before[0]) == 0.0);
}

TEST_CASE("a consumer that is also called on other inputs is refused before anything changes") {
  auto net = std::make_shared<Net>();
  nn::Linear fc0 = net->register_module("fc0", nn::Linear(3, 4));
  nn::Linear fc1 = net->register_module("fc1", nn::Linear(3, 4));
  nn::Linear fc2 = net->register_module("fc2", nn::Linear(4, 2));
  // fc2 reads fc1's channels and, in a second call, fc0's: its input columns cannot shrink.
  net->body = [=](const Tensor& x) { return fc2(pare::relu(fc1(x))) + fc2(fc0(x)); };
  FixedMaskPruner pruner;
  pruner.prepare(net, {{{"tensor_fqn", "fc1.weight"}, {"mask", {1, 0, 1, 1}}}});
  const Tensor x = pare::randn({2, 3});
  const Snapshot shot = snapshot(net, {"fc1"}, x);
  const std::string message = error_of([&] { pruner.prune({x}); });
  CAPTURE(message);
  CHECK(contains(message, "fc2"));
  CHECK(fc2->options().in_features() == 4);
  CHECK(fc2->weight().sizes() == pare::Shape{2, 4});
  check_unchanged(shot, net, x);
}

TEST_CASE("a masked module the graph never calls is refused") {
  auto net = std::make_shared<Net>();
  nn::Linear fc = net->register_module("fc", nn::Linear(3, 2));
  net->register_module("unused", nn::Linear(3, 5));
  net->body = [fc](const Tensor& x) { return fc(x); };
  FixedMaskPruner pruner;
  pruner.prepare(net, {{{"tensor_fqn", "fc.weight"}, {"mask", {1, 0}}},
                       {{"tensor_fqn", "unused.weight"}, {"mask", {1, 0, 1, 1, 1}}}});
  const Tensor x = pare::randn({2, 3});
  const Snapshot shot = snapshot(net, {"fc", "unused"}, x);
  CHECK_THROWS_WITH_AS(pruner.prune({x}),
                       doctest::Contains("'unused' (Linear) is masked but the traced graph never "
                                         "calls it"),
                       pare::Error);
  check_unchanged(shot, net, x);
}

TEST_CASE("an unmatched configured module is refused with the chain and the patterns tried") {
  auto net = std::make_shared<Net>();
  nn::Conv2d conv1 = net->register_module("conv1", nn::Conv2d(2, 4, 3));
  nn::BatchNorm2d bn = net->register_module("bn", nn::BatchNorm2d(4));
  nn::Conv2d conv2 = net->register_module("conv2", nn::Conv2d(4, 3, 3));
  net->body = [=](const Tensor& x) { return conv2(bn(conv1(x))); };
  net->eval();
  FixedMaskPruner pruner;
  pruner.prepare(net, {{{"tensor_fqn", "conv1.weight"}, {"mask", {1, 0, 1, 1}}}});
  const Tensor x = pare::randn({1, 2, 7, 7});
  const Snapshot shot = snapshot(net, {"conv1"}, x);
  const std::string message = error_of([&] { pruner.prune({x}); });
  CHECK(contains(message,
                 "'conv1' (Conv2d) is masked but no pattern matches its chain conv1 -> "
                 "bn -> conv2"));
  CHECK(contains(message, "(Conv2d, act, Conv2d)"));
  CHECK(contains(message, "(Conv2d, adaptive pool, flatten, Linear)"));
  CHECK(contains(message, "leave 'conv1' out of the config"));
  check_unchanged(shot, net, x);
}

TEST_CASE("bad configs name the entry or the module and the reason") {
  auto make = [] {
    auto net = std::make_shared<Net>();
    nn::Conv2d conv1 = net->register_module("conv1", nn::Conv2d(2, 4, 3));
    nn::Conv2d conv2 = net->register_module("conv2", nn::Conv2d(4, 3, 3));
    net->body = [=](const Tensor& x) { return conv2(pare::relu(conv1(x))); };
    return net;
  };
  auto net = make();
  FixedMaskPruner pruner;
  CHECK_THROWS_WITH_AS(pruner.prepare(net, {{{"mask", {1, 1, 1, 1}}}}),
                       doctest::Contains("tensor_fqn (a string) is required"), pare::Error);
  CHECK_THROWS_WITH_AS(pruner.prepare(net, {{{"tensor_fqn", "conv9.weight"}}}),
                       doctest::Contains("no module 'conv9'"), pare::Error);
  CHECK_THROWS_WITH_AS(pruner.prepare(net, {{{"tensor_fqn", "conv1.kernel"}}}),
                       doctest::Contains("no tensor 'kernel'"), pare::Error);
  CHECK_THROWS_WITH_AS(
      pruner.prepare(net, {{{"tensor_fqn", "conv1.weight"}, {"mask", {1, 0, 1}}}}),
      doctest::Contains("module 'conv1' (Conv2d) tensor 'weight' has 4 rows but its 'mask' has 3 "
                        "entries"),
      pare::Error);
  CHECK_FALSE(net->get_submodule("conv1")->is_parametrized());
  CHECK_FALSE(pruner.is_prepared());
}

TEST_CASE("a loaded mask of the wrong length names the tensor and both lengths") {
  auto make = [] {
    auto net = std::make_shared<Net>();
    nn::Linear fc1 = net->register_module("fc1", nn::Linear(3, 4));
    nn::Linear fc2 = net->register_module("fc2", nn::Linear(4, 2));
    net->body = [=](const Tensor& x) { return fc2(fc1(x)); };
    return net;
  };
  const pare::Tensor three_rows = pare::ones({3}, pare::kBool);
  SUBCASE("into a tensor this pruner masks already") {
    auto net = make();
    FixedMaskPruner pruner;
    pruner.prepare(net, {{{"tensor_fqn", "fc1.weight"}}});
    pruning::SparsifierStateDict state;
    state.groups = {{{"tensor_fqn", "fc1.weight"}}};
    state.state["fc1.weight"]["mask"] = three_rows;
    const std::string message = error_of([&] { pruner.load_state_dict(state); });
    CAPTURE(message);
    CHECK(contains(message, "fc1.weight"));
    CHECK(contains(message, "[3]"));           // the mask's length
    CHECK(contains(message, "of 4 entries"));  // fc1's rows
  }
  SUBCASE("into a tensor it attaches") {
    // A state file is untrusted input: a mask that cannot mask fc2's 2 rows must be refused when
    // it is loaded, naming the tensor, and leave the pruner and the model as they were.
    auto net = make();
    FixedMaskPruner pruner;
    pruner.prepare(net, {{{"tensor_fqn", "fc1.weight"}}});
    pruning::SparsifierStateDict state;
    state.groups = {{{"tensor_fqn", "fc2.weight"}}};
    state.state["fc2.weight"]["mask"] = three_rows;
    const std::string message = error_of([&] { pruner.load_state_dict(state); });
    CAPTURE(message);
    CHECK(contains(message, "fc2"));
    CHECK(contains(message, "[3]"));  // the mask's length
    CHECK(contains(message, "[2, 4]"));
    CHECK_FALSE(net->get_submodule("fc2")->is_parametrized());
    REQUIRE(pruner.groups.size() == 1);
    CHECK(pruner.groups[0]["tensor_fqn"] == "fc1.weight");
    CHECK(pruner.group_modules[0] == net->get_submodule("fc1"));
  }
}
