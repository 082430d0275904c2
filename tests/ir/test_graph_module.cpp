// GraphModule: the interpreter. Every call_function target is checked against a direct call of
// its pare op; call_module / get_attr resolution, errors that name the node, record_meta, and
// the compiled plan following later edits of the graph and the modules.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "pare/ir/graph_module.h"
#include "pare/pare.h"
#include "test_util.h"

using pare::Tensor;
using pare::ir::Argument;
using pare::ir::Graph;
using pare::ir::GraphModule;
using pare::ir::Kwargs;
using pare::ir::Node;
using pare::ir::Value;
namespace nn = pare::nn;

namespace {

using pare::testing::contains;
using pare::testing::error_of;

Tensor random_tensor(const pare::Shape& shape, uint32_t seed, float low = -2.0f,
                     float high = 2.0f) {
  return pare::tensor(pare::testing::random_floats(pare::shape_numel(shape), seed, low, high),
                      shape);
}

void check_same(const Value& actual, const Value& expected) {
  const auto got = actual.flatten();
  const auto want = expected.flatten();
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].first == want[i].first);
    REQUIRE(got[i].second.sizes() == want[i].second.sizes());
    CHECK(got[i].second.dtype() == want[i].second.dtype());
    CHECK(pare::testing::max_abs_diff(pare::to_float_vector(got[i].second),
                                      pare::to_float_vector(want[i].second)) <= 1e-6);
  }
}

std::shared_ptr<nn::Module> empty_root() { return std::make_shared<nn::Module>("Root"); }

// A graph of placeholders for `inputs` and one call_function node; `args` may name the inputs
// as "$0", "$1", ... and otherwise holds literals.
GraphModule one_function(const std::string& target, size_t input_count,
                         const std::vector<Argument>& extra_args, const Kwargs& kwargs,
                         std::shared_ptr<nn::Module> root = empty_root()) {
  auto graph = std::make_shared<Graph>();
  std::vector<Argument> args;
  for (size_t i = 0; i < input_count; ++i)
    args.emplace_back(graph->placeholder(pare::str_cat("x", i)));
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  Node* node = graph->call_function(target, args, kwargs);
  graph->output(node);
  return GraphModule(root, graph);
}

struct UnaryCase {
  std::string target;
  Kwargs kwargs;
  std::function<Tensor(const Tensor&)> direct;
};

}  // namespace

TEST_CASE("Value holds a tensor or a tuple and flattens with paths") {
  Tensor a = pare::ones({2});
  Tensor b = pare::zeros({3});
  Value single(a);
  CHECK(single.is_tensor());
  CHECK(single.tensor().is_same(a));
  Tensor converted = single;
  CHECK(converted.is_same(a));
  CHECK(single.flatten().size() == 1);
  CHECK(single.flatten()[0].first.empty());
  Value nested(std::vector<Value>{a, Value(std::vector<Value>{b, a})});
  const auto flat = nested.flatten();
  REQUIRE(flat.size() == 3);
  CHECK(flat[0].first == "0");
  CHECK(flat[1].first == "1.0");
  CHECK(flat[2].first == "1.1");
  CHECK(flat[1].second.is_same(b));
  CHECK_THROWS_WITH_AS(nested.tensor(), doctest::Contains("got a tuple of 2 values"), pare::Error);
  CHECK_THROWS_WITH_AS(single.items(), doctest::Contains("got a tensor of shape [2]"), pare::Error);
}

TEST_CASE("every activation target runs its pare op with its keyword arguments") {
  const std::vector<UnaryCase> cases = {
      {"relu", {}, [](const Tensor& x) { return pare::relu(x); }},
      {"rrelu",
       {{"lower", 0.2}, {"upper", 0.4}, {"training", false}},
       [](const Tensor& x) { return pare::rrelu(x, 0.2, 0.4, false); }},
      {"hardtanh",
       {{"min_val", -0.5}, {"max_val", 0.75}},
       [](const Tensor& x) { return pare::hardtanh(x, -0.5, 0.75); }},
      {"relu6", {}, [](const Tensor& x) { return pare::relu6(x * 4.0); }},
      {"sigmoid", {}, [](const Tensor& x) { return pare::sigmoid(x); }},
      {"hardsigmoid", {}, [](const Tensor& x) { return pare::hardsigmoid(x); }},
      {"tanh", {}, [](const Tensor& x) { return pare::tanh(x); }},
      {"silu", {}, [](const Tensor& x) { return pare::silu(x); }},
      {"mish", {}, [](const Tensor& x) { return pare::mish(x); }},
      {"hardswish", {}, [](const Tensor& x) { return pare::hardswish(x); }},
      {"elu", {{"alpha", 0.3}}, [](const Tensor& x) { return pare::elu(x, 0.3); }},
      {"celu", {{"alpha", 1.7}}, [](const Tensor& x) { return pare::celu(x, 1.7); }},
      {"selu", {}, [](const Tensor& x) { return pare::selu(x); }},
      {"hardshrink", {{"lambd", 0.9}}, [](const Tensor& x) { return pare::hardshrink(x, 0.9); }},
      {"leaky_relu",
       {{"negative_slope", 0.2}},
       [](const Tensor& x) { return pare::leaky_relu(x, 0.2); }},
      {"logsigmoid", {}, [](const Tensor& x) { return pare::logsigmoid(x); }},
      {"softplus",
       {{"beta", 2.0}, {"threshold", 1.0}},
       [](const Tensor& x) { return pare::softplus(x, 2.0, 1.0); }},
      {"softsign", {}, [](const Tensor& x) { return pare::softsign(x); }},
      {"tanhshrink", {}, [](const Tensor& x) { return pare::tanhshrink(x); }},
      {"gelu", {{"approximate", "tanh"}}, [](const Tensor& x) { return pare::gelu(x, "tanh"); }},
      {"softmax", {{"dim", 1}}, [](const Tensor& x) { return pare::softmax(x, 1); }},
      {"log_softmax", {{"dim", 0}}, [](const Tensor& x) { return pare::log_softmax(x, 0); }},
      {"dropout",
       {{"p", 0.3}, {"training", false}},
       [](const Tensor& x) { return pare::dropout(x, 0.3, false); }},
      {"flatten",
       {{"start_dim", 1}, {"end_dim", 2}},
       [](const Tensor& x) { return pare::flatten(x, 1, 2); }},
      {"reshape",
       {{"shape", std::vector<int64_t>{4, -1}}},
       [](const Tensor& x) {
         return x.reshape({4, -1});
       }},
      {"max_pool2d",
       {{"kernel_size", std::vector<int64_t>{2, 2}}, {"stride", 1}, {"padding", 1}},
       [](const Tensor& x) { return pare::max_pool2d(x, 2, 1, 1); }},
      {"avg_pool2d",
       {{"kernel_size", 3},
        {"stride", std::vector<int64_t>{1, 2}},
        {"padding", 1},
        {"count_include_pad", false}},
       [](const Tensor& x) {
         return pare::avg_pool2d(x, 3, pare::IntPair{1, 2}, 1, false, false);
       }},
      {"adaptive_avg_pool2d",
       {{"output_size", std::vector<int64_t>{2, 1}}},
       [](const Tensor& x) {
         return pare::adaptive_avg_pool2d(x, pare::IntPair{2, 1});
       }},
      {"adaptive_max_pool2d",
       {{"output_size", 2}},
       [](const Tensor& x) { return pare::adaptive_max_pool2d(x, 2); }},
      {"transpose",
       {{"dim0", 1}, {"dim1", -1}},
       [](const Tensor& x) { return x.transpose(1, -1); }},
      {"permute",
       {{"dims", std::vector<int64_t>{3, 0, 2, 1}}},
       [](const Tensor& x) {
         return x.permute({3, 0, 2, 1});
       }},
      {"select", {{"dim", 2}, {"index", -1}}, [](const Tensor& x) { return x.select(2, -1); }},
      {"slice",
       {{"dim", 3}, {"start", 1}, {"end", 4}, {"step", 2}},
       [](const Tensor& x) { return x.slice(3, 1, 4, 2); }},
      {"narrow",
       {{"dim", 2}, {"start", 1}, {"length", 2}},
       [](const Tensor& x) { return x.narrow(2, 1, 2); }},
      {"squeeze", {{"dim", 0}}, [](const Tensor& x) { return x.squeeze(0); }},
      {"squeeze", {}, [](const Tensor& x) { return x.squeeze(); }},
      {"unsqueeze", {{"dim", -1}}, [](const Tensor& x) { return x.unsqueeze(-1); }},
      {"contiguous", {}, [](const Tensor& x) { return x.contiguous(); }},
      {"neg", {}, [](const Tensor& x) { return pare::neg(x); }},
      {"abs", {}, [](const Tensor& x) { return pare::abs(x); }},
      {"exp", {}, [](const Tensor& x) { return pare::exp(x); }},
      {"clamp",
       {{"min", -0.5}, {"max", 0.25}},
       [](const Tensor& x) { return pare::clamp(x, -0.5, 0.25); }},
      {"clamp", {{"min", 0.1}}, [](const Tensor& x) { return pare::clamp_min(x, 0.1); }},
      {"pow", {{"exponent", 2.0}}, [](const Tensor& x) { return pare::pow(x, 2.0); }},
      {"gt", {{"other", 0.5}}, [](const Tensor& x) { return x > 0.5; }},
      {"rsub", {{"other", 3.0}}, [](const Tensor& x) { return 3.0 - x; }},
      {"rdiv", {{"other", 2.0}}, [](const Tensor& x) { return 2.0 / x; }},
  };
  const Tensor x = random_tensor({1, 2, 4, 5}, 1);
  for (const UnaryCase& test : cases) {
    CAPTURE(test.target);
    Tensor input = test.target == "relu6" ? x * 4.0 : x;
    GraphModule graph_module = one_function(test.target, 1, {}, test.kwargs);
    check_same(graph_module.forward({input}), test.direct(x));
  }
  // t() needs a matrix.
  Tensor matrix = random_tensor({3, 5}, 2);
  check_same(one_function("t", 1, {}, {}).forward({matrix}), matrix.t());
}

TEST_CASE("binary arithmetic takes tensors or numbers, as kwargs or positional literals") {
  Tensor a = random_tensor({2, 3}, 3);
  Tensor b = random_tensor({3}, 4, 0.5f, 2.0f);
  check_same(one_function("add", 2, {}, {}).forward({a, b}), a + b);
  check_same(one_function("add", 2, {}, {{"alpha", 2.5}}).forward({a, b}), pare::add(a, b, 2.5));
  check_same(one_function("sub", 2, {}, {{"alpha", 0.5}}).forward({a, b}), pare::sub(a, b, 0.5));
  check_same(one_function("mul", 2, {}, {}).forward({a, b}), a * b);
  check_same(one_function("div", 2, {}, {}).forward({a, b}), a / b);
  check_same(one_function("add", 1, {}, {{"other", 1.5}}).forward({a}), a + 1.5);
  check_same(one_function("sub", 1, {}, {{"other", 1.5}}).forward({a}), a - 1.5);
  check_same(one_function("mul", 1, {}, {{"other", -3.0}}).forward({a}), a * -3.0);
  check_same(one_function("div", 1, {}, {{"other", 4.0}}).forward({a}), a / 4.0);
  check_same(one_function("maximum", 2, {}, {}).forward({a, b}), pare::maximum(a, b));
  check_same(one_function("pow", 2, {}, {}).forward({b, b}), pare::pow(b, b));
  check_same(one_function("le", 2, {}, {}).forward({a, b}), a <= b);

  // torch.fx style: numbers as positional arguments, on either side.
  check_same(one_function("add", 1, {2.0}, {}).forward({a}), a + 2.0);
  check_same(one_function("sub", 1, {2}, {{"alpha", 3.0}}).forward({a}), a - 6.0);
  auto number_first = [&](const std::string& target, double number) {
    auto graph = std::make_shared<Graph>();
    Node* x = graph->placeholder("x");
    graph->output(graph->call_function(target, {number, x}));
    return GraphModule(empty_root(), graph).forward({b});
  };
  check_same(number_first("sub", 1.0), 1.0 - b);
  check_same(number_first("add", 1.0), 1.0 + b);
  check_same(number_first("mul", 3.0), 3.0 * b);
  check_same(number_first("div", 3.0), 3.0 / b);

  Tensor condition = a > 0.0;
  check_same(one_function("where", 3, {}, {}).forward({condition, a, b}),
             pare::where(condition, a, b));
}

TEST_CASE("positional literals work like keywords (torch.fx exports)") {
  Tensor x = random_tensor({2, 3, 4}, 5);
  check_same(one_function("flatten", 1, {1}, {}).forward({x}), pare::flatten(x, 1));
  check_same(one_function("reshape", 1, {6, -1}, {}).forward({x}), x.reshape({6, -1}));
  check_same(one_function("view", 1, {std::vector<int64_t>{-1}}, {}).forward({x}), x.reshape({-1}));
  check_same(one_function("permute", 1, {2, 0, 1}, {}).forward({x}), x.permute({2, 0, 1}));
  check_same(one_function("leaky_relu", 1, {0.25}, {}).forward({x}), pare::leaky_relu(x, 0.25));
  check_same(one_function("softmax", 1, {-1}, {}).forward({x}), pare::softmax(x, -1));
  check_same(one_function("dropout", 1, {0.5, false}, {}).forward({x}), x);
  Tensor image = random_tensor({1, 2, 6, 6}, 6);
  check_same(one_function("max_pool2d", 1, {3, Argument(), 1}, {}).forward({image}),
             pare::max_pool2d(image, 3, 0, 1));
  // An unknown keyword is refused, naming the node and what it expected.
  std::string message = error_of([&] {
    one_function("leaky_relu", 1, {}, {{"slope", 0.1}}).forward({x});
  });
  CHECK(contains(message, "node 'leaky_relu' (call_function leaky_relu)"));
  CHECK(contains(message, "unknown keyword argument 'slope' (expected negative_slope)"));
  // torch's inplace flag is accepted and changes nothing.
  check_same(one_function("relu", 1, {}, {{"inplace", false}}).forward({x}), pare::relu(x));
}

TEST_CASE("layers as functions: linear, conv2d, layer_norm, batch_norm, prelu, lstm") {
  Tensor x = random_tensor({2, 3}, 7);
  Tensor weight = random_tensor({4, 3}, 8);
  Tensor bias = random_tensor({4}, 9);
  check_same(one_function("linear", 3, {}, {}).forward({x, weight, bias}),
             pare::linear(x, weight, bias));
  {
    auto graph = std::make_shared<Graph>();
    Node* input = graph->placeholder("x");
    Node* w = graph->placeholder("w");
    graph->output(graph->call_function("linear", {input, w, Argument()}));
    check_same(GraphModule(empty_root(), graph).forward({x, weight}), pare::linear(x, weight));
  }
  Tensor image = random_tensor({1, 4, 6, 6}, 10);
  Tensor kernel = random_tensor({6, 2, 3, 3}, 11);
  Tensor kernel_bias = random_tensor({6}, 12);
  check_same(
      one_function("conv2d", 3, {},
                   {{"stride", std::vector<int64_t>{2, 1}},
                    {"padding", 1},
                    {"dilation", std::vector<int64_t>{1, 2}},
                    {"groups", 2}})
          .forward({image, kernel, kernel_bias}),
      pare::conv2d(image, kernel, kernel_bias, pare::IntPair{2, 1}, 1, pare::IntPair{1, 2}, 2));

  Tensor gamma = random_tensor({3}, 13);
  Tensor beta = random_tensor({3}, 14);
  check_same(one_function("layer_norm", 3, {},
                          {{"normalized_shape", std::vector<int64_t>{3}}, {"eps", 1e-3}})
                 .forward({x, gamma, beta}),
             pare::layer_norm(x, {3}, gamma, beta, 1e-3));
  check_same(one_function("layer_norm", 1, {}, {{"normalized_shape", std::vector<int64_t>{3}}})
                 .forward({x}),
             pare::layer_norm(x, {3}));

  Tensor mean = random_tensor({4}, 15);
  Tensor var = random_tensor({4}, 16, 0.5f, 2.0f);
  Tensor scale = random_tensor({4}, 17);
  Tensor shift = random_tensor({4}, 18);
  check_same(one_function("batch_norm", 5, {}, {{"training", false}, {"eps", 1e-3}})
                 .forward({image, mean, var, scale, shift}),
             pare::batch_norm(image, mean, var, scale, shift, false, 0.1, 1e-3));
  check_same(one_function("batch_norm", 3, {}, {{"training", false}}).forward({image, mean, var}),
             pare::batch_norm(image, mean, var, Tensor(), Tensor(), false));

  Tensor slopes = random_tensor({4}, 19);
  check_same(one_function("prelu", 2, {}, {}).forward({image, slopes}), pare::prelu(image, slopes));

  // lstm(x, h0=None, c0=None, weights..., num_layers=, has_biases=, batch_first=)
  Tensor sequence = random_tensor({2, 5, 3}, 20);
  std::vector<Tensor> lstm_weights{random_tensor({8, 3}, 21), random_tensor({8, 2}, 22),
                                   random_tensor({8}, 23), random_tensor({8}, 24)};
  auto graph = std::make_shared<Graph>();
  std::vector<Argument> args{graph->placeholder("x"), Argument(), Argument()};
  for (size_t i = 0; i < lstm_weights.size(); ++i)
    args.emplace_back(graph->placeholder(pare::str_cat("w", i)));
  Node* lstm = graph->call_function(
      "lstm", args, {{"num_layers", 1}, {"has_biases", true}, {"batch_first", true}});
  graph->output(Argument::List{graph->call_function("getitem", {lstm, 0}),
                               graph->call_function("getitem", {lstm, -1})});
  std::vector<Tensor> inputs{sequence};
  inputs.insert(inputs.end(), lstm_weights.begin(), lstm_weights.end());
  auto [output, h_n, c_n] = pare::lstm(sequence, Tensor(), Tensor(), lstm_weights, true, 1, true);
  check_same(GraphModule(empty_root(), graph).forward(inputs),
             Value(std::vector<Value>{output, c_n}));
}

TEST_CASE("cat takes a list of nodes; max_pool2d_with_indices and getitem give tuples") {
  Tensor a = random_tensor({2, 3}, 25);
  Tensor b = random_tensor({2, 1}, 26);
  auto graph = std::make_shared<Graph>();
  Node* x = graph->placeholder("a");
  Node* y = graph->placeholder("b");
  Node* joined = graph->call_function("cat", {Argument::List{x, y, x}}, {{"dim", 1}});
  Node* pooled = graph->call_function("max_pool2d_with_indices",
                                      {graph->call_function("unsqueeze", {joined}, {{"dim", 0}})},
                                      {{"kernel_size", 2}});
  graph->output(Argument::List{joined, graph->call_function("getitem", {pooled, 1})});
  GraphModule graph_module(empty_root(), graph);
  Value result = graph_module.forward({a, b});
  Tensor expected_join = pare::cat({a, b, a}, 1);
  auto [values, indices] = pare::max_pool2d_with_indices(expected_join.unsqueeze(0), 2);
  check_same(result, Value(std::vector<Value>{expected_join, indices}));

  graph_module.record_meta({a, b});
  CHECK(pooled->produces_tuple);
  CHECK(pare::ir::format_meta(pooled->meta) == "([1, 1, 3] float32, [1, 1, 3] int64)");
  CHECK(pare::ir::format_meta(joined->meta) == "[2, 7] float32");
  CHECK(pare::ir::format_meta(x->meta) == "[2, 3] float32");
}

TEST_CASE("call_module runs the model's layers (with their hooks); get_attr reads parameters") {
  pare::manual_seed(3);
  auto root = std::make_shared<nn::Module>("Root");
  nn::Sequential body(nn::Linear(3, 4), nn::ReLU());
  root->register_module("body", body);
  nn::LSTM lstm(nn::LSTMOptions(4, 2));
  root->register_module("lstm", lstm);
  root->register_parameter("scale", random_tensor({2}, 27));

  auto graph = std::make_shared<Graph>();
  Node* x = graph->placeholder("x");
  Node* h0 = graph->placeholder("h0");
  Node* c0 = graph->placeholder("c0");
  Node* features = graph->call_module("body.0", {x});
  Node* activated = graph->call_module("body.1", {features});
  Node* recurrent = graph->call_module("lstm", {activated, Argument::List{h0, c0}});
  Node* sequence = graph->call_function("getitem", {recurrent, 0});
  Node* state = graph->call_function("getitem", {recurrent, 1});
  Node* scale = graph->get_attr("scale");
  Node* scaled = graph->call_function("mul", {sequence, scale});
  graph->output(Argument::List{scaled, state});
  GraphModule graph_module(root, graph);

  Tensor input = random_tensor({5, 1, 3}, 28);
  Tensor h = random_tensor({1, 1, 2}, 29);
  Tensor c = random_tensor({1, 1, 2}, 30);
  auto [out, final_state] = lstm(body(input), nn::LSTMImpl::State{h, c});
  Tensor scale_value = root->get_parameter("scale");
  Value expected(std::vector<Value>{
      out * scale_value,
      Value(std::vector<Value>{std::get<0>(final_state), std::get<1>(final_state)})});
  check_same(graph_module.forward({input, h, c}), expected);

  // A forward hook on a layer runs inside the graph too (the sparsifier relies on it).
  body->named_children()[1].second->register_forward_hook(
      [](nn::Module&, const std::vector<Tensor>&, std::vector<Tensor>& outputs) {
        outputs[0] = outputs[0] * 0.0;
      });
  auto [zero_out, zero_state] = lstm(pare::zeros({5, 1, 4}), nn::LSTMImpl::State{h, c});
  check_same(Value(graph_module.forward({input, h, c}).items()[0]), zero_out * scale_value);

  // A parametrized parameter reads through its parametrization.
  nn::register_parametrization(
      root->get_submodule("body.0"), "weight",
      nn::make_parametrization("Half", [](const Tensor& w) { return w * 0.5; }));
  CHECK(graph_module.attribute("body.0.weight").sizes() == pare::Shape{4, 3});
  CHECK(pare::testing::max_abs_diff(
            pare::to_float_vector(graph_module.attribute("body.0.weight")),
            pare::to_float_vector(
                graph_module.attribute("body.0.parametrizations.weight.original") * 0.5)) == 0.0);
  CHECK(graph_module.module("body.1").get() == body->named_children()[1].second.get());
  CHECK_THROWS_WITH_AS(graph_module.attribute("body.0.gamma"),
                       doctest::Contains("no parameter or buffer 'body.0.gamma'"), pare::Error);
  CHECK_THROWS_WITH_AS(graph_module.module("head"), doctest::Contains("no submodule 'head'"),
                       pare::Error);
}

TEST_CASE("errors name the node, its op and target, and its input shapes") {
  Tensor a = random_tensor({2, 3}, 31);
  Tensor b = random_tensor({4}, 32);
  std::string message = error_of([&] { one_function("add", 2, {}, {}).forward({a, b}); });
  CHECK(contains(message, "node 'add' (call_function add), input shapes [[2, 3], [4]]: add: "));
  CHECK(contains(message, "cannot be broadcast"));

  message = error_of([&] { one_function("bogus", 1, {}, {}).forward({a}); });
  CHECK(contains(message,
                 "node 'bogus' (call_function bogus): unknown call_function target "
                 "'bogus'"));
  message = error_of([&] { one_function("softmax", 1, {}, {}).forward({a}); });
  CHECK(contains(message,
                 "node 'softmax' (call_function softmax): softmax: missing argument "
                 "'dim'"));
  message = error_of([&] {
    one_function("leaky_relu", 1, {}, {{"negative_slope", "x"}}).forward({a});
  });
  CHECK(contains(message, "leaky_relu: argument 'negative_slope': expected a number"));
  message = error_of([&] { one_function("relu", 1, {}, {}).forward({a, b}); });
  CHECK(contains(message, "expected 1 input tensor(s) (one per placeholder), got 2"));

  auto graph = std::make_shared<Graph>();
  graph->output(graph->call_module("missing", {graph->placeholder("x")}));
  message = error_of([&] { GraphModule(empty_root(), graph).forward({a}); });
  CHECK(contains(message, "node 'missing' (call_module missing), input shapes [[2, 3]]: "));
  CHECK(contains(message, "no submodule 'missing'"));

  auto attr_graph = std::make_shared<Graph>();
  attr_graph->placeholder("x");
  attr_graph->output(attr_graph->get_attr("weight"));
  message = error_of([&] { GraphModule(empty_root(), attr_graph).forward({a}); });
  CHECK(contains(message, "node 'weight' (get_attr weight)"));
}

TEST_CASE("the compiled plan follows edits of the graph and of the modules") {
  Tensor x = random_tensor({2, 5}, 33);
  auto root = std::make_shared<nn::Module>("Root");
  root->register_module("fc", nn::Linear(5, 3));
  auto graph = std::make_shared<Graph>();
  Node* input = graph->placeholder("x");
  Node* fc = graph->call_module("fc", {input});
  Node* act = graph->call_function("leaky_relu", {fc}, {{"negative_slope", 0.1}});
  Node* out = graph->output(act);
  GraphModule graph_module(root, graph);
  Tensor hidden = root->get_submodule("fc")->call(x);
  check_same(graph_module.forward({x}), pare::leaky_relu(hidden, 0.1));

  act->set_kwarg("negative_slope", 0.5);  // same size, different kwarg
  check_same(graph_module.forward({x}), pare::leaky_relu(hidden, 0.5));

  act->set_target("elu");
  act->set_kwargs({{"alpha", 0.5}});
  check_same(graph_module.forward({x}), pare::elu(hidden, 0.5));

  Node* doubled;
  {
    Graph::InsertionPoint point(*graph, out, /*after=*/false);
    doubled = graph->call_function("mul", {act}, {{"other", 2.0}});
  }
  out->set_args({doubled});
  check_same(graph_module.forward({x}), pare::elu(hidden, 0.5) * 2.0);

  // Replace a node by another of the same graph size: erase one, add one.
  Node* sigmoid;
  {
    Graph::InsertionPoint point(*graph, act, /*after=*/true);
    sigmoid = graph->call_function("sigmoid", {fc});
  }
  act->replace_all_uses_with(sigmoid);
  graph->erase_node(act);
  check_same(graph_module.forward({x}), pare::sigmoid(hidden) * 2.0);

  // A module swapped in under the same name is the one that runs.
  root->register_module("fc", nn::Linear(5, 3));
  Tensor new_hidden = root->get_submodule("fc")->call(x);
  check_same(graph_module.forward({x}), pare::sigmoid(new_hidden) * 2.0);
}

TEST_CASE("the target list covers the format's call_function targets") {
  for (const char* target : {"relu",
                             "rrelu",
                             "hardtanh",
                             "relu6",
                             "sigmoid",
                             "hardsigmoid",
                             "tanh",
                             "silu",
                             "mish",
                             "hardswish",
                             "elu",
                             "celu",
                             "selu",
                             "hardshrink",
                             "leaky_relu",
                             "logsigmoid",
                             "softplus",
                             "prelu",
                             "softsign",
                             "tanhshrink",
                             "gelu",
                             "flatten",
                             "max_pool2d",
                             "avg_pool2d",
                             "adaptive_avg_pool2d",
                             "adaptive_max_pool2d",
                             "add",
                             "sub",
                             "mul",
                             "cat",
                             "getitem",
                             "reshape",
                             "softmax",
                             "log_softmax",
                             "dropout",
                             "div",
                             "linear",
                             "conv2d",
                             "layer_norm",
                             "batch_norm",
                             "lstm",
                             "transpose",
                             "permute",
                             "select",
                             "slice",
                             "narrow",
                             "squeeze",
                             "unsqueeze",
                             "contiguous",
                             "t"}) {
    CAPTURE(target);
    CHECK(pare::ir::is_function_target(target));
  }
  CHECK(!pare::ir::is_function_target("nonzero"));
  const auto& targets = pare::ir::function_targets();
  CHECK(std::is_sorted(targets.begin(), targets.end()));
}
