// The module registry: every module type of docs/format.md builds from exactly the format's
// attribute names, and bad attributes are errors naming the module and the attribute.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "pare/ir/module_registry.h"
#include "pare/pare.h"
#include "test_util.h"

namespace {

using pare::Attrs;
using pare::AttrValue;
using pare::testing::contains;
using pare::testing::error_of;

// One entry per type of the format's table, with values that differ from every default so that
// reading them back through config() proves the factory passed them on.
const std::vector<std::pair<std::string, Attrs>>& format_examples() {
  static const std::vector<std::pair<std::string, Attrs>> examples = {
      {"Linear", {{"in_features", int64_t{5}}, {"out_features", int64_t{3}}, {"bias", false}}},
      {"Conv2d",
       {{"in_channels", int64_t{4}},
        {"out_channels", int64_t{6}},
        {"kernel_size", std::vector<int64_t>{3, 1}},
        {"stride", std::vector<int64_t>{2, 1}},
        {"padding", std::vector<int64_t>{1, 0}},
        {"dilation", std::vector<int64_t>{1, 2}},
        {"groups", int64_t{2}},
        {"bias", true}}},
      {"LSTM",
       {{"input_size", int64_t{3}},
        {"hidden_size", int64_t{4}},
        {"num_layers", int64_t{2}},
        {"bias", false},
        {"batch_first", true}}},
      {"LayerNorm",
       {{"normalized_shape", std::vector<int64_t>{2, 3}},
        {"eps", 1e-3},
        {"elementwise_affine", true}}},
      {"BatchNorm2d",
       {{"num_features", int64_t{7}},
        {"eps", 1e-4},
        {"momentum", 0.2},
        {"affine", false},
        {"track_running_stats", true}}},
      {"MaxPool2d",
       {{"kernel_size", std::vector<int64_t>{3, 3}},
        {"stride", std::vector<int64_t>{2, 1}},
        {"padding", std::vector<int64_t>{1, 1}},
        {"dilation", std::vector<int64_t>{1, 1}},
        {"ceil_mode", true}}},
      {"AvgPool2d",
       {{"kernel_size", std::vector<int64_t>{2, 2}},
        {"stride", std::vector<int64_t>{1, 2}},
        {"padding", std::vector<int64_t>{0, 1}},
        {"ceil_mode", false},
        {"count_include_pad", false}}},
      {"AdaptiveAvgPool2d", {{"output_size", std::vector<int64_t>{2, 3}}}},
      {"AdaptiveMaxPool2d", {{"output_size", std::vector<int64_t>{1, 4}}}},
      {"Flatten", {{"start_dim", int64_t{2}}, {"end_dim", int64_t{3}}}},
      {"Dropout", {{"p", 0.3}}},
      {"Identity", {}},
      {"ReLU", {}},
      {"ReLU6", {}},
      {"Sigmoid", {}},
      {"Hardsigmoid", {}},
      {"Tanh", {}},
      {"SiLU", {}},
      {"Mish", {}},
      {"Hardswish", {}},
      {"SELU", {}},
      {"LogSigmoid", {}},
      {"Softsign", {}},
      {"Tanhshrink", {}},
      {"RReLU", {{"lower", 0.1}, {"upper", 0.4}}},
      {"Hardtanh", {{"min_val", -2.0}, {"max_val", 3.0}}},
      {"ELU", {{"alpha", 0.7}}},
      {"CELU", {{"alpha", 1.5}}},
      {"Hardshrink", {{"lambd", 0.25}}},
      {"LeakyReLU", {{"negative_slope", 0.2}}},
      {"Softplus", {{"beta", 2.0}, {"threshold", 10.0}}},
      {"PReLU", {{"num_parameters", int64_t{6}}}},
      {"GELU", {{"approximate", std::string("tanh")}}},
  };
  return examples;
}

}  // namespace

TEST_CASE("registry: every module type of the format is registered") {
  const std::vector<std::string> registered = pare::ir::registered_module_types();
  CHECK(format_examples().size() == 33);  // 12 layers + 21 activations
  for (const auto& [type, attrs] : format_examples()) {
    CAPTURE(type);
    CHECK(pare::ir::is_registered_module_type(type));
    CHECK(std::find(registered.begin(), registered.end(), type) != registered.end());
  }
  CHECK_FALSE(pare::ir::is_registered_module_type("Sequential"));
}

TEST_CASE("registry: each type builds from the format's attributes and reports them back") {
  for (const auto& [type, attrs] : format_examples()) {
    CAPTURE(type);
    auto module = pare::ir::create_module(type, attrs, "m");
    REQUIRE(module != nullptr);
    CHECK(module->type_name() == type);
    CHECK(module->is_leaf_layer());
    Attrs reported = module->config();
    CHECK(reported == attrs);
  }
}

TEST_CASE("registry: a built-in type's registered kind is the kind of what it builds") {
  for (const auto& [type, attrs] : format_examples()) {
    CAPTURE(type);
    const pare::nn::ModuleKind kind = pare::ir::registered_module_kind(type);
    CHECK(kind != pare::nn::ModuleKind::custom);
    CHECK(pare::ir::create_module(type, attrs, "m")->kind() == kind);
  }
  CHECK(pare::ir::registered_module_kind("NoSuchType") == pare::nn::ModuleKind::custom);
}

TEST_CASE("registry: built modules have the PyTorch tensors their attributes imply") {
  auto shapes = [](const std::string& type, const Attrs& attrs) {
    std::vector<std::pair<std::string, pare::Shape>> result;
    for (const auto& [name, tensor] : pare::ir::create_module(type, attrs, "m")->state_dict())
      result.emplace_back(name, tensor.sizes());
    return result;
  };
  using Entries = std::vector<std::pair<std::string, pare::Shape>>;
  const auto& examples = format_examples();
  auto attrs_of = [&](const std::string& type) {
    return std::find_if(examples.begin(), examples.end(),
                        [&](const auto& entry) { return entry.first == type; })
        ->second;
  };
  CHECK(shapes("Linear", attrs_of("Linear")) == Entries{{"weight", {3, 5}}});
  CHECK(shapes("Conv2d", attrs_of("Conv2d")) == Entries{{"weight", {6, 2, 3, 1}}, {"bias", {6}}});
  CHECK(shapes("LSTM", attrs_of("LSTM")) == Entries{{"weight_ih_l0", {16, 3}},
                                                    {"weight_hh_l0", {16, 4}},
                                                    {"weight_ih_l1", {16, 4}},
                                                    {"weight_hh_l1", {16, 4}}});
  CHECK(shapes("LayerNorm", attrs_of("LayerNorm")) ==
        Entries{{"weight", {2, 3}}, {"bias", {2, 3}}});
  CHECK(shapes("BatchNorm2d", attrs_of("BatchNorm2d")) ==
        Entries{{"running_mean", {7}}, {"running_var", {7}}, {"num_batches_tracked", {}}});
  CHECK(shapes("PReLU", attrs_of("PReLU")) == Entries{{"weight", {6}}});
  CHECK(shapes("ReLU", {}).empty());
}

TEST_CASE("registry: built modules compute with their attributes") {
  // LeakyReLU with negative_slope 0.2 on [-1, 2] gives [-0.2, 2].
  auto leaky = pare::ir::create_module("LeakyReLU", {{"negative_slope", 0.2}}, "act");
  pare::Tensor y = leaky->call(pare::tensor({-1.0f, 2.0f}, {2}));
  std::vector<float> values = pare::to_float_vector(y);
  CHECK(values[0] == doctest::Approx(-0.2));
  CHECK(values[1] == doctest::Approx(2.0));
  // MaxPool2d kernel 2 stride 2 over a 4x4 ramp keeps the bottom-right corner of each window.
  auto pool = pare::ir::create_module("MaxPool2d",
                                      {{"kernel_size", std::vector<int64_t>{2, 2}},
                                       {"stride", std::vector<int64_t>{2, 2}},
                                       {"padding", std::vector<int64_t>{0, 0}},
                                       {"dilation", std::vector<int64_t>{1, 1}},
                                       {"ceil_mode", false}},
                                      "pool");
  pare::Tensor pooled = pool->call(pare::arange(16.0).to(pare::kFloat32).reshape({1, 1, 4, 4}));
  CHECK(pare::to_float_vector(pooled) == std::vector<float>{5, 7, 13, 15});
}

TEST_CASE("registry: integers convert to numbers and one integer fills a pair") {
  auto elu = pare::ir::create_module("ELU", {{"alpha", int64_t{2}}}, "elu");
  CHECK(elu->config() == Attrs{{"alpha", 2.0}});
  auto pool = pare::ir::create_module("AdaptiveAvgPool2d", {{"output_size", int64_t{1}}}, "gap");
  CHECK(pool->config() == Attrs{{"output_size", std::vector<int64_t>{1, 1}}});
}

TEST_CASE("registry: unknown types and bad attributes name the module and the attribute") {
  const Attrs linear = {{"in_features", int64_t{4}}, {"out_features", int64_t{2}}, {"bias", true}};

  std::string message = error_of([] { pare::ir::create_module("Linaer", {}, "head"); });
  CHECK(contains(message, "module 'head'"));
  CHECK(contains(message, "unknown module type 'Linaer'"));
  CHECK(contains(message, "Linear"));  // the known types are listed

  Attrs missing = {{"in_features", int64_t{4}}, {"bias", true}};
  message = error_of([&] { pare::ir::create_module("Linear", missing, "fc"); });
  CHECK(contains(message, "module 'fc' (Linear): missing attribute 'out_features'"));

  Attrs mistyped = linear;
  mistyped[0].second = 4.0;
  message = error_of([&] { pare::ir::create_module("Linear", mistyped, "fc"); });
  CHECK(contains(message, "module 'fc' (Linear): attribute 'in_features' must be an integer"));

  Attrs bool_as_int = linear;
  bool_as_int[2].second = int64_t{1};
  message = error_of([&] { pare::ir::create_module("Linear", bool_as_int, "fc"); });
  CHECK(contains(message, "attribute 'bias' must be a bool"));

  Attrs typo = linear;
  typo.emplace_back("baias", true);
  message = error_of([&] { pare::ir::create_module("Linear", typo, "fc"); });
  CHECK(contains(message, "module 'fc' (Linear): unknown attribute 'baias'"));

  message = error_of([] {
    pare::ir::create_module("GELU", {{"approximate", std::string("fast")}}, "gelu");
  });
  CHECK(contains(message, "module 'gelu'"));
  CHECK(contains(message, "fast"));

  message = error_of([] { pare::ir::create_module("ReLU", {{"inplace", false}}, "relu"); });
  CHECK(contains(message, "module 'relu' (ReLU): unknown attribute 'inplace'"));

  Attrs bad_pair = {{"output_size", std::vector<int64_t>{1, 2, 3}}};
  message = error_of([&] { pare::ir::create_module("AdaptiveMaxPool2d", bad_pair, "pool"); });
  CHECK(contains(message, "attribute 'output_size' must be a list of 2 integers"));
}

TEST_CASE("registry: values no layer can run are refused, naming the module") {
  auto conv = [](int64_t groups) {
    return Attrs{{"in_channels", int64_t{4}}, {"out_channels", int64_t{4}},
                 {"kernel_size", int64_t{3}}, {"stride", int64_t{1}},
                 {"padding", int64_t{0}},     {"dilation", int64_t{1}},
                 {"groups", groups},          {"bias", true}};
  };
  std::string message = error_of([&] { pare::ir::create_module("Conv2d", conv(0), "conv"); });
  CHECK(contains(message, "module 'conv'"));
  CHECK(contains(message, "groups"));
  message = error_of([&] { pare::ir::create_module("Conv2d", conv(3), "conv"); });
  CHECK(contains(message, "module 'conv' (Conv2d)"));
  CHECK(contains(message, "divisible"));
  message = error_of([] { pare::ir::create_module("Dropout", {{"p", 1.5}}, "drop"); });
  CHECK(contains(message, "module 'drop' (Dropout)"));
  message = error_of([] {
    pare::ir::create_module(
        "Linear", {{"in_features", int64_t{-1}}, {"out_features", int64_t{2}}, {"bias", true}},
        "fc");
  });
  CHECK(contains(message, "module 'fc'"));
  CHECK(contains(message, "in_features"));
}

namespace {

struct Scale : pare::nn::UnaryModule {
  explicit Scale(double factor) : pare::nn::UnaryModule("Scale"), factor(factor) {}
  pare::Tensor forward(const pare::Tensor& x) override { return x * factor; }
  bool is_leaf_layer() const override { return true; }
  Attrs config() const override { return {{"factor", factor}}; }
  double factor;
};

}  // namespace

TEST_CASE("registry: users register their own types") {
  pare::ir::register_module_type("Scale", [](const pare::ir::AttrReader& attrs) {
    attrs.check_only({"factor"});
    return std::make_shared<Scale>(attrs.get_double("factor"));
  });
  CHECK(pare::ir::is_registered_module_type("Scale"));
  CHECK(pare::ir::registered_module_kind("Scale") == pare::nn::ModuleKind::custom);
  auto scale = pare::ir::create_module("Scale", {{"factor", 3.0}}, "s");
  CHECK(pare::to_float_vector(scale->call(pare::tensor({2.0f}, {1}))) == std::vector<float>{6});
  std::string message = error_of([] { pare::ir::create_module("Scale", {{"factr", 3.0}}, "s"); });
  CHECK(contains(message, "module 's' (Scale): unknown attribute 'factr' (Scale takes factor)"));
  CHECK_THROWS_AS(pare::ir::register_module_type("", nullptr), pare::Error);
}

TEST_CASE("registry: a user type that builds a built-in layer is still a user type") {
  // The reader of a file treats it as one (no pre-checked tensors, a normal construction); the
  // module itself is the Linear it is.
  pare::ir::register_module_type("TinyLinear", [](const pare::ir::AttrReader& attrs) {
    attrs.check_only({});
    return pare::nn::Linear(2, 2).ptr();
  });
  CHECK(pare::ir::registered_module_kind("TinyLinear") == pare::nn::ModuleKind::custom);
  CHECK(pare::ir::create_module("TinyLinear", {}, "t")->kind() == pare::nn::ModuleKind::linear);
}

TEST_CASE("AttrReader: typed access") {
  const Attrs attrs = {{"n", int64_t{3}},
                       {"x", 0.5},
                       {"flag", true},
                       {"mode", std::string("tanh")},
                       {"dims", std::vector<int64_t>{1, 2, 3}}};
  pare::ir::AttrReader reader(attrs, "Custom", "block.0");
  CHECK(reader.has("n"));
  CHECK_FALSE(reader.has("m"));
  CHECK(reader.get_int("n") == 3);
  CHECK(reader.get_double("n") == 3.0);
  CHECK(reader.get_double("x") == 0.5);
  CHECK(reader.get_bool("flag"));
  CHECK(reader.get_string("mode") == "tanh");
  CHECK(reader.get_ints("dims") == std::vector<int64_t>{1, 2, 3});
  CHECK(reader.get_pair("n") == std::vector<int64_t>{3, 3});
  CHECK(reader.module_name() == "block.0");
  CHECK(contains(error_of([&] { reader.get_string("n"); }),
                 "module 'block.0' (Custom): attribute 'n' must be a string, got the integer 3"));
  CHECK(contains(error_of([&] { reader.get_int("x"); }), "attribute 'x' must be an integer"));
  CHECK(contains(error_of([&] { reader.get_ints("flag"); }),
                 "attribute 'flag' must be a list of integers"));
  CHECK(contains(error_of([&] { reader.get_pair("dims"); }), "must be a list of 2 integers"));
  CHECK(contains(error_of([&] { reader.get_bool("missing"); }), "missing attribute 'missing'"));
  CHECK_NOTHROW(reader.check_only({"n", "x", "flag", "mode", "dims"}));
  CHECK(contains(error_of([&] { reader.check_only({"n"}); }), "unknown attribute 'x'"));
}
