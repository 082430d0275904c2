// Shape inference: for every module type and every call_function target, the meta inferred from
// the input shapes alone equals the meta GraphModule::record_meta records by running the graph on
// random inputs; pools and convolutions are swept over their geometry (including ceil_mode's
// last-window rule) with "inference fails exactly when the run fails"; errors name the node,
// its target and the input shapes.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "pare/ir/graph_module.h"
#include "pare/ir/shape_inference.h"
#include "pare/ir/tracer.h"
#include "pare/pare.h"
#include "test_util.h"

using pare::Shape;
using pare::Tensor;
using pare::ir::Argument;
using pare::ir::Graph;
using pare::ir::GraphModule;
using pare::ir::Kwargs;
using pare::ir::Node;
using pare::ir::OpKind;
using pare::ir::TensorMeta;
namespace nn = pare::nn;

namespace {

using pare::testing::contains;
using pare::testing::error_of;

Tensor random_tensor(const Shape& shape, uint32_t seed) {
  return pare::tensor(pare::testing::random_floats(pare::shape_numel(shape), seed, -2.0f, 2.0f),
                      shape);
}

Tensor random_labels(const Shape& shape, uint32_t seed) {
  std::vector<int64_t> values;
  for (float value : pare::testing::random_floats(pare::shape_numel(shape), seed, 0.0f, 5.0f))
    values.push_back(static_cast<int64_t>(value));
  return pare::tensor(values, shape);
}

// A root module and a graph built node by node.
struct Builder {
  std::shared_ptr<nn::Module> root = std::make_shared<nn::Module>("Root");
  std::shared_ptr<Graph> graph = std::make_shared<Graph>();

  Node* input(const std::string& name) { return graph->placeholder(name); }
  template <typename Holder>
  Node* layer(const std::string& name, Holder holder, std::vector<Argument> args) {
    root->register_module(name, holder);
    return graph->call_module(name, std::move(args));
  }
  Node* call(const std::string& name, std::vector<Argument> args) {
    return graph->call_module(name, std::move(args));
  }
  Node* fn(const std::string& target, std::vector<Argument> args, Kwargs kwargs = {}) {
    return graph->call_function(target, std::move(args), std::move(kwargs));
  }
  Node* parameter(const std::string& name, const Tensor& value) {
    root->register_parameter(name, value);
    return graph->get_attr(name);
  }
  // Integer and bool tensors (indices, masks) are buffers, not parameters.
  Node* buffer(const std::string& name, const Tensor& value) {
    root->register_buffer(name, value);
    return graph->get_attr(name);
  }
  GraphModule finish(Argument output) {
    graph->output(std::move(output));
    GraphModule graph_module(root, graph);
    graph_module.eval();
    return graph_module;
  }
};

std::vector<TensorMeta> metas_of(const std::vector<Tensor>& tensors) {
  std::vector<TensorMeta> metas;
  for (const Tensor& tensor : tensors) metas.push_back({tensor.sizes(), tensor.dtype()});
  return metas;
}

// Runs the graph to record every node's meta, forgets it, infers it again from the input shapes
// alone and checks both agree on every node; the output node's inferred meta must list the
// outputs of a forward run.
void check_matches_run(GraphModule& graph_module, const std::vector<Tensor>& inputs) {
  graph_module.record_meta(inputs);
  const std::vector<Node*> nodes = graph_module.graph().nodes();
  std::vector<std::string> recorded;
  std::vector<bool> recorded_tuple;
  for (Node* node : nodes) {
    recorded.push_back(pare::ir::format_meta(node->meta));
    recorded_tuple.push_back(node->produces_tuple);
    node->meta.clear();
    node->produces_tuple = false;
  }
  pare::ir::infer_shapes(graph_module, metas_of(inputs));
  for (size_t i = 0; i < nodes.size(); ++i) {
    CAPTURE(nodes[i]->name());
    if (nodes[i]->op() == OpKind::output) continue;
    CHECK(pare::ir::format_meta(nodes[i]->meta) == recorded[i]);
    CHECK(nodes[i]->produces_tuple == recorded_tuple[i]);
  }
  std::vector<TensorMeta> outputs;
  for (const auto& [path, tensor] : graph_module.forward(inputs).flatten())
    outputs.push_back({tensor.sizes(), tensor.dtype()});
  CHECK(pare::ir::format_meta(graph_module.graph().output_node()->meta) ==
        pare::ir::format_meta(outputs));
}

// The op's own words in an error: from the first "op:" on (the node label before it differs
// between the interpreter and shape inference).
std::string op_message(const std::string& error, const std::string& op) {
  const size_t at = error.find(op + ": ");
  return at == std::string::npos ? error : error.substr(at);
}

// For a sweep over sizes: when running `input` works, inference must match the run (true);
// when the run refuses it, inference must refuse it too, with the same message (false): the
// engine op and the shape rule share one rule.
bool check_matches_run_or_both_refuse(GraphModule& graph_module, const Tensor& input,
                                      const std::string& op) {
  std::string run_error;
  try {
    graph_module.forward({input});
  } catch (const pare::Error& error) {
    run_error = error.what();
  }
  if (!run_error.empty()) {
    const std::string inferred_error =
        error_of([&] { pare::ir::infer_shapes(graph_module, metas_of({input})); });
    CHECK(op_message(inferred_error, op) == op_message(run_error, op));
    return false;
  }
  check_matches_run(graph_module, {input});
  return true;
}

}  // namespace

TEST_CASE("an MLP on inputs with leading dims") {
  Builder b;
  Node* x = b.input("x");
  Node* fc1 = b.layer("fc1", nn::Linear(8, 16), {x});
  Node* act = b.layer("act", nn::ReLU(), {fc1});
  Node* fc2 = b.layer("fc2", nn::Linear(nn::LinearOptions(16, 4).bias(false)), {act});
  Node* probabilities = b.fn("log_softmax", {fc2}, {{"dim", -1}});
  GraphModule gm = b.finish(probabilities);
  check_matches_run(gm, {random_tensor({2, 3, 8}, 1)});
  check_matches_run(gm, {random_tensor({8}, 2)});
  CHECK(fc2->meta == std::vector<TensorMeta>{{{4}, pare::kFloat32}});
}

TEST_CASE("a CNN with batch norm, pools (ceil_mode, padding), adaptive pool, flatten, dropout") {
  Builder b;
  Node* x = b.input("x");
  Node* h = b.layer("conv1", nn::Conv2d(nn::Conv2dOptions(3, 6, 3).stride(2).padding(1)), {x});
  h = b.layer("bn", nn::BatchNorm2d(6), {h});
  h = b.layer("relu", nn::ReLU(), {h});
  h = b.layer("pool", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1).ceil_mode(true)),
              {h});
  h = b.layer("conv2", nn::Conv2d(nn::Conv2dOptions(6, 8, 3).padding(2).dilation(2).groups(2)),
              {h});
  h = b.layer("avg", nn::AvgPool2d(nn::AvgPool2dOptions(2).padding(1).ceil_mode(true)), {h});
  h = b.layer("gap", nn::AdaptiveAvgPool2d(pare::IntPair(2, 3)), {h});
  h = b.layer("flat", nn::Flatten(), {h});
  h = b.layer("drop", nn::Dropout(0.3), {h});
  Node* fc = b.layer("fc", nn::Linear(48, 5), {h});
  GraphModule gm = b.finish(fc);
  check_matches_run(gm, {random_tensor({2, 3, 11, 11}, 3)});
  CHECK(fc->meta[0].shape == Shape{2, 5});
  // Training mode: batch statistics and a live dropout give the same shapes.
  gm.train();
  check_matches_run(gm, {random_tensor({4, 3, 9, 12}, 4)});
}

TEST_CASE("an unbatched CNN: conv, pools and adaptive max pool on [C, H, W]") {
  Builder b;
  Node* x = b.input("x");
  Node* h =
      b.layer("conv", nn::Conv2d(nn::Conv2dOptions(2, 4, pare::IntPair(3, 2)).stride({1, 2})), {x});
  h = b.layer("act", nn::Hardswish(), {h});
  h = b.layer("pool", nn::MaxPool2d(nn::MaxPool2dOptions(2).dilation(2)), {h});
  h = b.layer("grid", nn::AdaptiveMaxPool2d(pare::IntPair(3, 1)), {h});
  h = b.fn("flatten", {h}, {{"start_dim", 0}});
  h = b.layer("fc", nn::Linear(12, 3), {h});
  GraphModule gm = b.finish(h);
  check_matches_run(gm, {random_tensor({2, 10, 13}, 5)});
}

TEST_CASE("LSTMs: batch_first with two layers, a state argument, getitem on nested tuples") {
  Builder b;
  Node* x = b.input("x");
  Node* lstm =
      b.layer("lstm", nn::LSTM(nn::LSTMOptions(6, 4).num_layers(2).batch_first(true)), {x});
  Node* sequence = b.fn("getitem", {lstm, 0});
  Node* state = b.fn("getitem", {lstm, 1});
  Node* h_n = b.fn("getitem", {state, 0});
  Node* c_n = b.fn("getitem", {state, -1});
  Node* last = b.fn("select", {sequence, 1, -1});
  Node* top = b.fn("select", {h_n}, {{"dim", 0}, {"index", 1}});
  Node* fc = b.layer("fc", nn::Linear(4, 2), {b.fn("add", {last, top})});
  // A second, time-major LSTM continuing from the first one's top-layer state.
  Node* time_major = b.fn("transpose", {sequence, 0, 1});
  Node* h0 = b.fn("narrow", {h_n, 0, 1, 1});
  Node* c0 = b.fn("narrow", {c_n, 0, 1, 1});
  Node* lstm2 = b.layer("lstm2", nn::LSTM(4, 4), {time_major, Argument::List{h0, c0}});
  Node* second = b.fn("getitem", {lstm2, 0});
  GraphModule gm = b.finish(Argument::List{fc, second, state});
  check_matches_run(gm, {random_tensor({3, 5, 6}, 6)});
  CHECK(lstm->produces_tuple);
  CHECK(lstm->meta.size() == 3);
  CHECK(state->meta ==
        std::vector<TensorMeta>{{{2, 3, 4}, pare::kFloat32}, {{2, 3, 4}, pare::kFloat32}});
}

TEST_CASE("infer_symbols: one symbol per node with the LSTM's nesting, the meta left alone") {
  Builder b;
  Node* x = b.input("x");
  Node* lstm = b.layer("lstm", nn::LSTM(nn::LSTMOptions(6, 4).num_layers(2)), {x});
  Node* state = b.fn("getitem", {lstm, 1});
  GraphModule gm = b.finish(Argument::List{b.fn("getitem", {lstm, 0}), state});
  const std::vector<pare::ir::Symbol> symbols =
      pare::ir::infer_symbols(gm, {{{5, 3, 6}, pare::kFloat32}});
  REQUIRE(symbols.size() == gm.graph().nodes().size());
  CHECK(symbols[0].describe() == "[5, 3, 6]");
  CHECK(symbols[1].describe() == "([5, 3, 4], ([2, 3, 4], [2, 3, 4]))");
  CHECK(symbols[2].describe() == "([2, 3, 4], [2, 3, 4])");
  CHECK(symbols.back().describe() == "([5, 3, 4], ([2, 3, 4], [2, 3, 4]))");
  for (const Node* node : gm.graph().nodes()) CHECK(node->meta.empty());
  // Errors are infer_shapes' own.
  CHECK(contains(error_of([&] {
                   pare::ir::infer_symbols(gm, {{{5, 3, 7}, pare::kFloat32}});
                 }),
                 "node 'lstm' (call_module lstm: LSTM), input shapes [5, 3, 7]"));
  CHECK(contains(error_of([&] { pare::ir::infer_symbols(gm, {}); }),
                 "infer_symbols: expected 1 input shape(s) (one per placeholder), got 0"));
}

TEST_CASE("infer_symbols: a fallback types the nodes inference refuses, and only those") {
  struct Twice : nn::UnaryModule {
    Twice() : nn::UnaryModule("Twice") {}
    Tensor forward(const Tensor& input) override { return input * 2.0; }
    bool is_leaf_layer() const override { return true; }
  };
  Builder b;
  Node* twice = b.layer("twice", std::make_shared<Twice>(), {b.input("x")});
  GraphModule gm = b.finish(b.fn("sum", {b.layer("fc", nn::Linear(4, 2), {twice})}));
  std::vector<std::string> asked;
  const std::vector<pare::ir::Symbol> symbols =
      pare::ir::infer_symbols(gm, {{{3, 4}, pare::kFloat32}},
                              [&](const Node& node, const std::vector<pare::ir::Symbol>& args) {
                                asked.push_back(node.name() + " " + args.at(0).describe());
                                return pare::ir::Symbol::of(args.at(0).meta.shape);
                              });
  CHECK(asked == std::vector<std::string>{"twice [3, 4]"});
  CHECK(symbols[2].describe() == "[3, 2]");
  CHECK(symbols[3].describe() == "[]");
  // Without one, the module type with no rule is an error.
  CHECK(contains(error_of([&] {
                   pare::ir::infer_symbols(gm, {{{3, 4}, pare::kFloat32}});
                 }),
                 "no shape rule for module type 'Twice'"));
}

TEST_CASE("an unbatched LSTM and one whose state is a tuple node") {
  Builder b;
  Node* x = b.input("x");
  Node* lstm = b.layer("lstm", nn::LSTM(6, 3), {x});
  Node* state = b.fn("getitem", {lstm, 1});
  Node* again = b.call("lstm", {b.fn("getitem", {lstm, 0}), state});
  GraphModule gm = b.finish(Argument::List{b.fn("getitem", {state, 1}), again});
  // The second call feeds a [T, 3] sequence into input_size 6, which must fail in both.
  CHECK_THROWS_AS(gm.forward({random_tensor({5, 6}, 7)}), pare::Error);
  CHECK_THROWS_AS(pare::ir::infer_shapes(gm, {{{5, 6}, pare::kFloat32}}), pare::Error);

  Builder c;
  Node* y = c.input("y");
  Node* first = c.layer("lstm", nn::LSTM(6, 6), {y});
  Node* second = c.call("lstm", {c.fn("getitem", {first, 0}), c.fn("getitem", {first, 1})});
  GraphModule gm2 = c.finish(second);
  check_matches_run(gm2, {random_tensor({5, 6}, 8)});
  check_matches_run(gm2, {random_tensor({5, 2, 6}, 9)});
}

TEST_CASE("views and shape functions") {
  Builder b;
  Node* x = b.input("x");
  Node* as_rows = b.fn("reshape", {x}, {{"shape", std::vector<int64_t>{-1, 20}}});
  std::vector<Node*> outs = {
      as_rows,
      b.fn("view", {x, 2, -1}),
      b.fn("reshape", {x, std::vector<int64_t>{4, -1, 5}}),
      b.fn("flatten", {x}, {{"start_dim", 1}, {"end_dim", 2}}),
      b.fn("flatten", {x}),
      b.fn("transpose", {x, 1, -1}),
      b.fn("contiguous", {b.fn("transpose", {x}, {{"dim0", 0}, {"dim1", 2}})}),
      b.fn("permute", {x, std::vector<int64_t>{0, 2, 3, 1}}),
      b.fn("permute", {x, 3, 2, 1, 0}),
      b.fn("select", {x, 1, -1}),
      b.fn("slice", {x}, {{"dim", 3}, {"start", 1}, {"end", -1}, {"step", 2}}),
      b.fn("slice", {x}, {{"dim", 1}, {"start", -2}}),
      b.fn("slice", {x}, {{"dim", 0}, {"start", 5}}),
      b.fn("narrow", {x, 2, 1, 2}),
      b.fn("narrow", {x}, {{"dim", -1}, {"start", -3}, {"length", 3}}),
      b.fn("unsqueeze", {x, -1}),
      b.fn("squeeze", {b.fn("unsqueeze", {x}, {{"dim", 1}})}),
      b.fn("squeeze", {b.fn("unsqueeze", {x, 4})}, {{"dim", 4}}),
      b.fn("squeeze", {x}, {{"dim", 0}}),
      b.fn("t", {as_rows}),
      b.fn("t", {b.fn("select", {as_rows, 0, 0})}),
  };
  GraphModule gm = b.finish(Argument::List(outs.begin(), outs.end()));
  check_matches_run(gm, {random_tensor({2, 3, 4, 5}, 10)});
  check_matches_run(gm, {random_tensor({1, 3, 4, 5}, 11)});
}

TEST_CASE("arithmetic with broadcasting, numbers, dtype promotion, comparisons and where") {
  Builder b;
  Node* a = b.input("a");  // float32 [4, 1, 3]
  Node* v = b.input("v");  // float32 [5, 1]
  Node* k = b.input("k");  // int64 [3]
  Node* positive = b.fn("add", {b.fn("abs", {a}), 0.5});
  Node* greater = b.fn("gt", {a, v});
  std::vector<Node*> outs = {
      b.fn("add", {a, v}),
      b.fn("sub", {a, v}, {{"alpha", 2.0}}),
      b.fn("mul", {a, v}),
      b.fn("div", {v, a}),
      b.fn("add", {a, 1.5}),
      b.fn("add", {a}, {{"other", 2}}),
      b.fn("sub", {2.0, a}),
      b.fn("mul", {3, k}),
      b.fn("add", {k, 3}),
      b.fn("add", {k, 0.5}),
      b.fn("sub", {k, 1}, {{"alpha", 2}}),
      b.fn("mul", {k, 2}),
      b.fn("mul", {k, 0.25}),
      b.fn("div", {k, 2}),
      b.fn("div", {4, k}),
      b.fn("rsub", {k}, {{"other", 5}}),
      b.fn("rsub", {a}, {{"other", 1.0}, {"alpha", 2.0}}),
      b.fn("rdiv", {k}, {{"other", 1.0}}),
      b.fn("add", {k, k}),
      b.fn("add", {a, k}),
      b.fn("mul", {k, v}),
      b.fn("maximum", {a, v}),
      b.fn("minimum", {k, k}),
      b.fn("pow", {a, 2.0}),
      b.fn("pow", {k, 2}),
      b.fn("pow", {k}, {{"exponent", 0.5}}),
      b.fn("pow", {positive, v}),
      b.fn("clamp", {a}, {{"min", -0.5}, {"max", 0.5}}),
      b.fn("clamp", {k}, {{"min", 1}}),
      b.fn("clamp", {k}, {{"max", 1.5}}),
      b.fn("neg", {k}),
      b.fn("abs", {k}),
      b.fn("exp", {k}),
      b.fn("log", {positive}),
      b.fn("sqrt", {positive}),
      b.fn("sign", {k}),
      b.fn("logical_not", {k}),
      greater,
      b.fn("lt", {a, 0.0}),
      b.fn("eq", {k, k}),
      b.fn("ne", {a, k}),
      b.fn("le", {k}, {{"other", 2}}),
      b.fn("ge", {v, a}),
      b.fn("where", {greater, a, v}),
      b.fn("where", {b.fn("logical_not", {k}), k, k}),
      b.fn("cat", {Argument::List{a, a, a}}, {{"dim", 1}}),
      b.fn("cat", {Argument::List{a, positive}, -1}),
      b.fn("stack", {Argument::List{a, a}}),
      b.fn("stack", {Argument::List{k, k}}, {{"dim", -1}}),
  };
  GraphModule gm = b.finish(Argument::List(outs.begin(), outs.end()));
  check_matches_run(
      gm, {random_tensor({4, 1, 3}, 12), random_tensor({5, 1}, 13), random_labels({3}, 14)});
}

TEST_CASE("the 21 activations as functions and as modules") {
  struct Activation {
    std::string target;
    Kwargs kwargs;
  };
  const std::vector<Activation> functions = {
      {"relu", {}},
      {"rrelu", {{"lower", 0.1}, {"upper", 0.3}}},
      {"hardtanh", {{"min_val", -0.5}, {"max_val", 0.5}}},
      {"relu6", {}},
      {"sigmoid", {}},
      {"hardsigmoid", {}},
      {"tanh", {}},
      {"silu", {}},
      {"mish", {}},
      {"hardswish", {}},
      {"elu", {{"alpha", 0.5}}},
      {"celu", {{"alpha", 2.0}}},
      {"selu", {}},
      {"hardshrink", {{"lambd", 0.25}}},
      {"softshrink", {{"lambd", 0.25}}},
      {"leaky_relu", {{"negative_slope", 0.2}}},
      {"logsigmoid", {}},
      {"softplus", {{"beta", 2.0}, {"threshold", 10.0}}},
      {"softsign", {}},
      {"tanhshrink", {}},
      {"gelu", {{"approximate", "tanh"}}},
  };
  Builder b;
  Node* x = b.input("x");
  std::vector<Argument> outs;
  for (const Activation& activation : functions)
    outs.emplace_back(b.fn(activation.target, {x}, activation.kwargs));
  outs.emplace_back(b.fn("prelu", {x, b.parameter("slopes", pare::full({3}, 0.25))}));
  outs.emplace_back(b.fn("prelu", {x, b.parameter("slope", pare::full({1}, 0.25))}));
  outs.emplace_back(b.layer("m_relu", nn::ReLU(), {x}));
  outs.emplace_back(b.layer("m_rrelu", nn::RReLU(0.1, 0.2), {x}));
  outs.emplace_back(b.layer("m_hardtanh", nn::Hardtanh(-2.0, 2.0), {x}));
  outs.emplace_back(b.layer("m_relu6", nn::ReLU6(), {x}));
  outs.emplace_back(b.layer("m_sigmoid", nn::Sigmoid(), {x}));
  outs.emplace_back(b.layer("m_hardsigmoid", nn::Hardsigmoid(), {x}));
  outs.emplace_back(b.layer("m_tanh", nn::Tanh(), {x}));
  outs.emplace_back(b.layer("m_silu", nn::SiLU(), {x}));
  outs.emplace_back(b.layer("m_mish", nn::Mish(), {x}));
  outs.emplace_back(b.layer("m_hardswish", nn::Hardswish(), {x}));
  outs.emplace_back(b.layer("m_elu", nn::ELU(), {x}));
  outs.emplace_back(b.layer("m_celu", nn::CELU(), {x}));
  outs.emplace_back(b.layer("m_selu", nn::SELU(), {x}));
  outs.emplace_back(b.layer("m_hardshrink", nn::Hardshrink(), {x}));
  outs.emplace_back(b.layer("m_softshrink", nn::Softshrink(0.3), {x}));
  outs.emplace_back(b.layer("m_leaky_relu", nn::LeakyReLU(0.2), {x}));
  outs.emplace_back(b.layer("m_logsigmoid", nn::LogSigmoid(), {x}));
  outs.emplace_back(b.layer("m_softplus", nn::Softplus(), {x}));
  outs.emplace_back(b.layer("m_prelu", nn::PReLU(3), {x}));
  outs.emplace_back(b.layer("m_softsign", nn::Softsign(), {x}));
  outs.emplace_back(b.layer("m_tanhshrink", nn::Tanhshrink(), {x}));
  outs.emplace_back(b.layer("m_gelu", nn::GELU(), {x}));
  outs.emplace_back(b.layer("m_identity", nn::Identity(), {x}));
  GraphModule gm = b.finish(Argument::List(outs.begin(), outs.end()));
  check_matches_run(gm, {random_tensor({2, 3, 4}, 15)});
}

TEST_CASE("layers as functions on get_attr weights, norms, softmax, dropout and every pool") {
  Builder b;
  Node* x = b.input("x");      // [2, 3, 4]
  Node* img = b.input("img");  // [2, 3, 7, 6]
  Node* w = b.parameter("w", random_tensor({5, 4}, 16));
  Node* bias = b.parameter("bias", random_tensor({5}, 17));
  Node* conv_w = b.parameter("conv_w", random_tensor({6, 1, 3, 3}, 18));
  Node* ln_w = b.parameter("ln_w", random_tensor({4}, 19));
  Node* ln_b = b.parameter("ln_b", random_tensor({4}, 20));
  Node* mean = b.parameter("mean", random_tensor({3}, 21));
  Node* var = b.parameter("var", pare::ones({3}));
  Node* gamma = b.parameter("gamma", random_tensor({3}, 22));
  Node* beta = b.parameter("beta", random_tensor({3}, 23));
  std::vector<Node*> lstm_weights = {b.parameter("w_ih", random_tensor({8, 4}, 24)),
                                     b.parameter("w_hh", random_tensor({8, 2}, 25)),
                                     b.parameter("b_ih", random_tensor({8}, 26)),
                                     b.parameter("b_hh", random_tensor({8}, 27))};
  Node* lstm = b.fn("lstm",
                    {x, Argument(), Argument(), lstm_weights[0], lstm_weights[1], lstm_weights[2],
                     lstm_weights[3]},
                    {{"num_layers", 1}, {"has_biases", true}, {"batch_first", true}});
  Node* pooled = b.fn("max_pool2d_with_indices", {img},
                      {{"kernel_size", std::vector<int64_t>{3, 3}},
                       {"stride", std::vector<int64_t>{2, 2}},
                       {"padding", std::vector<int64_t>{1, 1}},
                       {"ceil_mode", true}});
  std::vector<Node*> outs = {
      b.fn("linear", {x, w, bias}),
      b.fn("linear", {x, w}),
      b.fn("conv2d", {img, conv_w},
           {{"stride", std::vector<int64_t>{2, 1}}, {"padding", 1}, {"groups", 3}}),
      b.fn("conv2d", {img, conv_w, Argument(), 1, 0, 2, 3}),
      b.fn("layer_norm", {x, ln_w, ln_b}, {{"normalized_shape", std::vector<int64_t>{4}}}),
      b.fn("layer_norm", {x}, {{"normalized_shape", std::vector<int64_t>{3, 4}}, {"eps", 1e-3}}),
      b.fn("batch_norm", {img, mean, var, gamma, beta}, {{"training", false}}),
      b.fn("batch_norm", {img, mean, var}, {{"training", false}}),
      b.fn("batch_norm", {img}, {{"training", true}}),
      lstm,
      b.fn("getitem", {lstm, 2}),
      b.fn("dropout", {x}, {{"p", 0.5}, {"training", false}}),
      b.fn("dropout", {x}, {{"p", 0.25}}),
      b.fn("softmax", {x}, {{"dim", 1}}),
      b.fn("log_softmax", {img, -3}),
      b.fn("max_pool2d", {img}, {{"kernel_size", 2}}),
      b.fn("max_pool2d", {img, 3, 1, 1, 2, true}),
      b.fn("max_pool2d", {img}, {{"kernel_size", 2}, {"return_indices", true}}),
      pooled,
      b.fn("getitem", {pooled, 1}),
      b.fn("avg_pool2d", {img},
           {{"kernel_size", 3},
            {"stride", 2},
            {"padding", 1},
            {"ceil_mode", true},
            {"count_include_pad", false}}),
      b.fn("avg_pool2d", {img, std::vector<int64_t>{2, 3}}, {{"stride", Argument::List{}}}),
      b.fn("adaptive_avg_pool2d", {img}, {{"output_size", std::vector<int64_t>{1, 1}}}),
      b.fn("adaptive_max_pool2d", {img, 4}),
  };
  GraphModule gm = b.finish(Argument::List(outs.begin(), outs.end()));
  check_matches_run(gm, {random_tensor({2, 3, 4}, 28), random_tensor({2, 3, 7, 6}, 29)});
  CHECK(lstm->produces_tuple);
  CHECK(pooled->meta[1].dtype == pare::kInt64);
}

TEST_CASE("LayerNorm modules, a Sequential called as one module, a module called twice") {
  Builder b;
  Node* x = b.input("x");
  Node* h = b.layer("ln", nn::LayerNorm(Shape{3, 4}), {x});
  h = b.layer("ln_plain", nn::LayerNorm(nn::LayerNormOptions(Shape{4}).elementwise_affine(false)),
              {h});
  h = b.layer("block", nn::Sequential(nn::Linear(4, 6), nn::GELU(), nn::Linear(6, 4)), {h});
  h = b.layer("shared", nn::Linear(4, 4), {h});
  h = b.call("shared", {h});
  GraphModule gm = b.finish(h);
  check_matches_run(gm, {random_tensor({2, 3, 4}, 30)});
}

TEST_CASE("pool output sizes over kernel, stride, padding, dilation and ceil_mode") {
  // Inference must fail exactly when the run fails, and agree with it otherwise; ceil_mode's
  // rule that the last window starts inside the input or the left padding shows up at
  // in = 5, kernel 2, stride 2, padding 1 (4 windows by the plain formula, 3 by the rule).
  int checked = 0;
  for (int64_t in = 1; in <= 7; ++in) {
    for (int64_t kernel = 1; kernel <= 3; ++kernel) {
      for (int64_t stride = 1; stride <= 3; ++stride) {
        for (int64_t padding = 0; padding <= 1; ++padding) {
          for (int64_t dilation = 1; dilation <= 2; ++dilation) {
            for (bool ceil_mode : {false, true}) {
              for (const std::string target : {"max_pool2d", "avg_pool2d"}) {
                if (target == "avg_pool2d" && dilation != 1) continue;
                Builder b;
                Node* x = b.input("x");
                Kwargs kwargs = {{"kernel_size", kernel},
                                 {"stride", stride},
                                 {"padding", padding},
                                 {"ceil_mode", ceil_mode}};
                if (target == "max_pool2d") kwargs.emplace_back("dilation", dilation);
                GraphModule gm = b.finish(b.fn(target, {x}, kwargs));
                const Tensor input = random_tensor({1, 2, in, in + 1}, 31);
                CAPTURE(target);
                CAPTURE(in);
                CAPTURE(kernel);
                CAPTURE(stride);
                CAPTURE(padding);
                CAPTURE(dilation);
                CAPTURE(ceil_mode);
                if (check_matches_run_or_both_refuse(gm, input, target)) ++checked;
              }
            }
          }
        }
      }
    }
  }
  CHECK(checked > 300);

  Builder b;
  Node* x = b.input("x");
  GraphModule gm = b.finish(b.fn(
      "max_pool2d", {x}, {{"kernel_size", 2}, {"stride", 2}, {"padding", 1}, {"ceil_mode", true}}));
  pare::ir::infer_shapes(gm, {{{1, 1, 5, 5}, pare::kFloat32}});
  CHECK(gm.graph().nodes()[1]->meta[0].shape == Shape{1, 1, 3, 3});
}

TEST_CASE("linear and conv2d refusals: the run and inference say the same") {
  // Weights that do not fit the input, a bias of the wrong size, groups that do not divide:
  // the engine op and the shape rule share one rule, so the op's message is the same in both.
  struct Case {
    std::string op;
    Shape input, weight, bias;
    int64_t groups;
  };
  const std::vector<Case> cases = {{"conv2d", {1, 3, 8, 8}, {4, 4, 3, 3}, {}, 1},
                                   {"conv2d", {1, 3, 8, 8}, {4, 2, 3, 3}, {}, 2},
                                   {"conv2d", {1, 3, 8, 8}, {4, 3, 3, 3}, {5}, 1},
                                   {"conv2d", {3, 8}, {4, 3, 3, 3}, {}, 1},
                                   {"conv2d", {1, 3, 8, 8}, {4, 3, 9, 9}, {}, 1},
                                   {"conv2d", {1, 4, 8, 8}, {6, 2, 3, 3}, {}, 4},
                                   {"linear", {2, 5}, {3, 4}, {}, 1},
                                   {"linear", {2, 4}, {3, 4}, {2}, 1},
                                   {"linear", {2, 4}, {3, 4, 1}, {}, 1}};
  for (const Case& c : cases) {
    CAPTURE(c.op);
    CAPTURE(c.input);
    CAPTURE(c.weight);
    Builder b;
    Node* x = b.input("x");
    std::vector<Argument> args = {x, b.parameter("w", random_tensor(c.weight, 61))};
    if (!c.bias.empty()) args.push_back(b.parameter("b", random_tensor(c.bias, 62)));
    Kwargs kwargs;
    if (c.op == "conv2d") kwargs = {{"groups", c.groups}};
    GraphModule gm = b.finish(b.fn(c.op, args, kwargs));
    CHECK_FALSE(check_matches_run_or_both_refuse(gm, random_tensor(c.input, 63), c.op));
  }
}

TEST_CASE(
    "view, reduction, product, norm, softmax and indexing refusals: the run and inference "
    "say the same") {
  // Each call is refused by the engine op for the reason `expected` quotes (the engine's own
  // words); the shape rule shares the op's geometry function, so inference refuses it too, with
  // the same message.
  using Make = std::function<Node*(Builder&, Node*)>;
  struct Refusal {
    std::string op;  // as the message names it
    std::string expected;
    Shape input;
    Make make;
    pare::DType dtype = pare::kFloat32;
  };
  const auto ints = [](std::vector<int64_t> values) { return Argument(std::move(values)); };
  const auto weight = [](const Shape& shape) {
    return [shape](Builder& b, Node* x, const std::string& target) {
      return b.fn(target, {x, b.parameter("w", random_tensor(shape, 71))});
    };
  };
  const std::vector<Refusal> refusals = {
      // views and shape functions (pare/view_geometry.h); reshape checks its shape as the view
      // it makes
      {"view",
       "view: shape [4, -1] is invalid for input of size 6",
       {2, 3},
       [](Builder& b, Node* x) {
         return b.fn("reshape", {x, 4, -1});
       }},
      {"view",
       "view: only one dimension can be -1",
       {2, 3},
       [](Builder& b, Node* x) {
         return b.fn("reshape", {x, -1, -1});
       }},
      {"view",
       "view: shape [5] is invalid for input of size 6",
       {2, 3},
       [](Builder& b, Node* x) {
         return b.fn("view", {x, 5});
       }},
      {"flatten",
       "flatten: start_dim 2 is after end_dim 1",
       {2, 3, 4},
       [](Builder& b, Node* x) {
         return b.fn("flatten", {x}, {{"start_dim", 2}, {"end_dim", 1}});
       }},
      {"flatten",
       "flatten: dim 5 is out of range for a tensor of rank 3",
       {2, 3, 4},
       [](Builder& b, Node* x) {
         return b.fn("flatten", {x, 5});
       }},
      {"transpose",
       "transpose: dim 3 is out of range",
       {2, 3},
       [](Builder& b, Node* x) {
         return b.fn("transpose", {x, 0, 3});
       }},
      {"t",
       "t: expected a tensor of rank <= 2, got shape [2, 3, 4]",
       {2, 3, 4},
       [](Builder& b, Node* x) { return b.fn("t", {x}); }},
      {"permute",
       "permute: dim 0 repeated in [0, -2]",
       {2, 3},
       [&](Builder& b, Node* x) {
         return b.fn("permute", {x}, {{"dims", ints({0, -2})}});
       }},
      {"permute",
       "permute: got 1 dims for a tensor of shape [2, 3]",
       {2, 3},
       [&](Builder& b, Node* x) {
         return b.fn("permute", {x}, {{"dims", ints({1})}});
       }},
      {"select",
       "select: index 3 is out of range for dim 1 of shape [2, 3]",
       {2, 3},
       [](Builder& b, Node* x) {
         return b.fn("select", {x, 1, 3});
       }},
      {"select",
       "select: cannot select on a 0-d tensor",
       {},
       [](Builder& b, Node* x) {
         return b.fn("select", {x, 0, 0});
       }},
      {"slice",
       "slice: step must be positive, got 0",
       {2, 3},
       [](Builder& b, Node* x) {
         return b.fn("slice", {x}, {{"dim", 1}, {"step", 0}});
       }},
      {"slice",
       "slice: cannot slice a 0-d tensor",
       {},
       [](Builder& b, Node* x) { return b.fn("slice", {x}); }},
      {"narrow",
       "narrow: start 2 and length 2 are out of bounds for dim 1",
       {2, 3},
       [](Builder& b, Node* x) {
         return b.fn("narrow", {x, 1, 2, 2});
       }},
      {"narrow",
       "narrow: negative length -1",
       {2, 3},
       [](Builder& b, Node* x) {
         return b.fn("narrow", {x, 0, 0, -1});
       }},
      {"narrow",
       "narrow: cannot narrow a 0-d tensor",
       {},
       [](Builder& b, Node* x) {
         return b.fn("narrow", {x, 0, 0, 1});
       }},
      {"squeeze",
       "squeeze: dim 5 is out of range",
       {2, 1},
       [](Builder& b, Node* x) {
         return b.fn("squeeze", {x}, {{"dim", 5}});
       }},
      {"unsqueeze",
       "unsqueeze: dim 4 is out of range for a tensor of rank 3",
       {2, 3},
       [](Builder& b, Node* x) {
         return b.fn("unsqueeze", {x, 4});
       }},
      // reductions (pare/reduction_geometry.h)
      {"sum",
       "sum: dim 0 appears more than once in dims [0, -2] for shape [2, 3]",
       {2, 3},
       [&](Builder& b, Node* x) {
         return b.fn("sum", {x}, {{"dim", ints({0, -2})}});
       }},
      {"sum",
       "sum: dim 2 is out of range",
       {2, 3},
       [](Builder& b, Node* x) {
         return b.fn("sum", {x, 2});
       }},
      {"mean",
       "mean: expected a float32 tensor, got int64 of shape [2, 3]",
       {2, 3},
       [](Builder& b, Node* x) { return b.fn("mean", {x}); },
       pare::kInt64},
      {"var",
       "var: expected a float32 tensor, got int64",
       {2, 3},
       [&](Builder& b, Node* x) {
         return b.fn("var", {x}, {{"dim", ints({0})}});
       },
       pare::kInt64},
      {"norm",
       "norm: p must be positive or INFINITY, got -1",
       {2, 3},
       [](Builder& b, Node* x) {
         return b.fn("norm", {x}, {{"p", -1.0}});
       }},
      {"max",
       "max: cannot reduce dim 1 of size 0 in shape [2, 0]",
       {2, 0},
       [](Builder& b, Node* x) {
         return b.fn("max", {x}, {{"dim", 1}});
       }},
      {"min",
       "min: cannot reduce an empty tensor of shape [0, 3]; pass a dim instead",
       {0, 3},
       [](Builder& b, Node* x) { return b.fn("min", {x}); }},
      {"argmax",
       "argmax: cannot reduce dim 0 of size 0 in shape [0]",
       {0},
       [](Builder& b, Node* x) { return b.fn("argmax", {x}); }},
      {"argmin",
       "argmin: dim -3 is out of range",
       {2, 3},
       [](Builder& b, Node* x) {
         return b.fn("argmin", {x}, {{"dim", -3}});
       }},
      // matrix products (pare/matmul_geometry.h)
      {"matmul",
       "matmul: shapes [2, 3] and [4, 5] cannot be multiplied (3 != 4)",
       {2, 3},
       [&](Builder& b, Node* x) {
         return weight({4, 5})(b, x, "matmul");
       }},
      {"matmul",
       "matmul: batch dims of shapes [2, 3, 4] and [3, 4, 5] do not broadcast",
       {2, 3, 4},
       [&](Builder& b, Node* x) {
         return weight({3, 4, 5})(b, x, "matmul");
       }},
      {"matmul",
       "matmul: expected float32 tensors, got int64 [2, 3] and float32 [3, 4]",
       {2, 3},
       [&](Builder& b, Node* x) {
         return weight({3, 4})(b, x, "matmul");
       },
       pare::kInt64},
      {"matmul",
       "matmul: both operands need at least 1 dim",
       {},
       [&](Builder& b, Node* x) {
         return weight({3, 4})(b, x, "matmul");
       }},
      {"mm",
       "mm: expected 2-d tensors, got shapes [2, 3, 4] and [4, 5]",
       {2, 3, 4},
       [&](Builder& b, Node* x) {
         return weight({4, 5})(b, x, "mm");
       }},
      {"bmm",
       "bmm: batch sizes differ, got shapes [2, 3, 4] and [3, 4, 5]",
       {2, 3, 4},
       [&](Builder& b, Node* x) {
         return weight({3, 4, 5})(b, x, "bmm");
       }},
      // layer_norm and batch_norm (pare/norm_geometry.h), as functions and as modules
      {"layer_norm",
       "layer_norm: input of shape [2, 3] does not end with normalized_shape [4]",
       {2, 3},
       [&](Builder& b, Node* x) {
         return b.fn("layer_norm", {x}, {{"normalized_shape", ints({4})}});
       }},
      {"layer_norm",
       "layer_norm: normalized_shape must have at least one dim",
       {2, 3},
       [&](Builder& b, Node* x) {
         return b.fn("layer_norm", {x}, {{"normalized_shape", ints({})}});
       }},
      {"layer_norm",
       "layer_norm: expected weight of shape [4], got [3] for input of shape [2, 4]",
       {2, 4},
       [&](Builder& b, Node* x) {
         return b.fn("layer_norm", {x, b.parameter("w", pare::ones({3}))},
                     {{"normalized_shape", ints({4})}});
       }},
      {"layer_norm",
       "layer_norm: eps must be non-negative, got -1",
       {2, 4},
       [&](Builder& b, Node* x) {
         return b.fn("layer_norm", {x}, {{"normalized_shape", ints({4})}, {"eps", -1.0}});
       }},
      {"layer_norm",
       "layer_norm: input of shape [2, 3] does not end with normalized_shape [4]",
       {2, 3},
       [](Builder& b, Node* x) { return b.layer("ln", nn::LayerNorm(Shape{4}), {x}); }},
      {"batch_norm",
       "batch_norm: expected an input of rank >= 2 ([N, C, ...]), got shape [3]",
       {3},
       [](Builder& b, Node* x) {
         return b.fn("batch_norm", {x}, {{"training", true}});
       }},
      {"batch_norm",
       "batch_norm: running_mean should contain 3 elements",
       {2, 3, 4},
       [](Builder& b, Node* x) {
         return b.fn(
             "batch_norm",
             {x, b.parameter("mean", pare::zeros({4})), b.parameter("var", pare::ones({4}))},
             {{"training", false}});
       }},
      {"batch_norm",
       "batch_norm: running_mean and running_var must be defined in evaluation mode",
       {2, 3},
       [](Builder& b, Node* x) {
         return b.fn("batch_norm", {x}, {{"training", false}});
       }},
      {"batch_norm",
       "batch_norm: expected more than 1 value per channel when training",
       {1, 3},
       [](Builder& b, Node* x) {
         return b.fn("batch_norm", {x}, {{"training", true}});
       }},
      {"batch_norm",
       "batch_norm: eps must be non-negative, got -1",
       {2, 3},
       [](Builder& b, Node* x) {
         return b.fn("batch_norm", {x}, {{"training", true}, {"eps", -1.0}});
       }},
      {"batch_norm",
       "batch_norm: eps must be non-negative, got -1",
       {2, 3, 4, 4},
       [](Builder& b, Node* x) {
         return b.layer("bn", nn::BatchNorm2d(nn::BatchNorm2dOptions(3).eps(-1.0)), {x});
       }},
      // softmax (pare/softmax_geometry.h)
      {"softmax",
       "softmax: dim 2 is out of range for a tensor of rank 2",
       {2, 3},
       [](Builder& b, Node* x) {
         return b.fn("softmax", {x}, {{"dim", 2}});
       }},
      {"log_softmax",
       "log_softmax: expected a float32 input, got int64 of shape [2, 3]",
       {2, 3},
       [](Builder& b, Node* x) {
         return b.fn("log_softmax", {x, 0});
       },
       pare::kInt64},
      // indexing (pare/indexing_geometry.h)
      {"index_select",
       "index_select: index must be int64, got float32 of shape [2]",
       {2, 3},
       [](Builder& b, Node* x) {
         return b.fn("index_select", {x, 0, b.parameter("i", pare::zeros({2}))});
       }},
      {"index_select",
       "index_select: index must be 0-d or 1-d, got shape [1, 2]",
       {2, 3},
       [](Builder& b, Node* x) {
         return b.fn("index_select", {x, 0, b.buffer("i", pare::zeros({1, 2}, pare::kInt64))});
       }},
      {"index_select",
       "index_select: dim 2 is out of range for a tensor of rank 2",
       {2, 3},
       [](Builder& b, Node* x) {
         return b.fn("index_select", {x, 2, b.buffer("i", pare::zeros({2}, pare::kInt64))});
       }},
      {"masked_fill",
       "masked_fill: mask must be bool, got float32 of shape [3]",
       {2, 3},
       [](Builder& b, Node* x) {
         return b.fn("masked_fill", {x, b.parameter("m", pare::zeros({3})), 1.0});
       }},
      {"masked_fill",
       "masked_fill: shapes [2, 3] and [4] do not broadcast",
       {2, 3},
       [](Builder& b, Node* x) {
         return b.fn("masked_fill", {x, b.buffer("m", pare::zeros({4}, pare::kBool)), 1.0});
       }},
  };
  for (const Refusal& refusal : refusals) {
    CAPTURE(refusal.expected);
    Builder b;
    Node* x = b.input("x");
    GraphModule gm = b.finish(refusal.make(b, x));
    // pare::tensor reads an empty shape as 1-d, so 0-d inputs are made as such.
    const Tensor input = refusal.input.empty()           ? pare::scalar_tensor(0.5, refusal.dtype)
                         : refusal.dtype == pare::kInt64 ? random_labels(refusal.input, 72)
                                                         : random_tensor(refusal.input, 72);
    CHECK(contains(error_of([&] { gm.forward({input}); }), refusal.expected));
    CHECK_FALSE(check_matches_run_or_both_refuse(gm, input, refusal.op));
  }
}

TEST_CASE("Conv2d output sizes over stride, padding, dilation and groups") {
  int checked = 0;
  for (int64_t in = 2; in <= 6; ++in) {
    for (int64_t stride = 1; stride <= 3; ++stride) {
      for (int64_t padding = 0; padding <= 2; ++padding) {
        for (int64_t dilation = 1; dilation <= 2; ++dilation) {
          for (int64_t groups : {1, 2}) {
            Builder b;
            Node* x = b.input("x");
            GraphModule gm =
                b.finish(b.layer("conv",
                                 nn::Conv2d(nn::Conv2dOptions(4, 6, pare::IntPair(3, 2))
                                                .stride(stride)
                                                .padding(padding)
                                                .dilation(dilation)
                                                .groups(groups)),
                                 {x}));
            const Tensor input = random_tensor({2, 4, in, in + 1}, 32);
            CAPTURE(in);
            CAPTURE(stride);
            CAPTURE(padding);
            CAPTURE(dilation);
            CAPTURE(groups);
            if (check_matches_run_or_both_refuse(gm, input, "conv2d")) ++checked;
          }
        }
      }
    }
  }
  CHECK(checked > 100);
}

TEST_CASE("a traced model: inferred meta equals the tracer's, at the traced and another batch") {
  struct Net : nn::Module {
    Net() : nn::Module("Net") {
      conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(1, 4, 3).padding(1)));
      fc = register_module("fc", nn::Linear(4 * 4 * 4, 10));
    }
    Tensor forward(const Tensor& x) {
      Tensor h = pare::max_pool2d(pare::relu(conv(x)), 2);
      return fc(pare::flatten(h, 1)) + 1.0;
    }
    nn::Conv2d conv{nullptr};
    nn::Linear fc{nullptr};
  };
  auto net = std::make_shared<Net>();
  GraphModule gm = pare::ir::trace(net, {random_tensor({2, 1, 8, 8}, 33)});
  std::vector<std::string> traced;
  for (Node* node : gm.graph().nodes()) {
    traced.push_back(pare::ir::format_meta(node->meta));
    if (node->op() != OpKind::placeholder) node->meta.clear();
  }
  pare::ir::infer_shapes(gm);  // from the placeholder's traced meta
  const std::vector<Node*> nodes = gm.graph().nodes();
  for (size_t i = 0; i + 1 < nodes.size(); ++i) {
    CAPTURE(nodes[i]->name());
    CHECK(pare::ir::format_meta(nodes[i]->meta) == traced[i]);
  }
  CHECK(pare::ir::format_meta(gm.graph().output_node()->meta) == "[2, 10] float32");
  check_matches_run(gm, {random_tensor({7, 1, 8, 8}, 34)});
}

TEST_CASE("errors name the node, its target and the input shapes") {
  SUBCASE("Linear with the wrong number of input features") {
    Builder b;
    Node* x = b.input("x");
    GraphModule gm = b.finish(b.layer("fc", nn::Linear(64, 10), {x}));
    const std::string message = error_of([&] {
      pare::ir::infer_shapes(gm, {{{1, 100}, pare::kFloat32}});
    });
    CAPTURE(message);
    CHECK(contains(message, "node 'fc' (call_module fc: Linear)"));
    CHECK(contains(message, "input [1, 100] does not match in_features=64"));
  }
  SUBCASE("Conv2d with the wrong channels") {
    Builder b;
    Node* x = b.input("x");
    GraphModule gm = b.finish(b.layer("conv1", nn::Conv2d(3, 8, 3), {x}));
    const std::string message = error_of([&] {
      pare::ir::infer_shapes(gm, {{{1, 4, 8, 8}, pare::kFloat32}});
    });
    CAPTURE(message);
    CHECK(contains(message, "node 'conv1'"));
    CHECK(contains(message, "Conv2d"));
    CHECK(contains(message, "[1, 4, 8, 8]"));
    CHECK(contains(message, "in_channels=3"));
  }
  SUBCASE("LSTM with the wrong input size") {
    Builder b;
    Node* x = b.input("x");
    GraphModule gm = b.finish(b.layer("lstm", nn::LSTM(8, 4), {x}));
    const std::string message = error_of([&] {
      pare::ir::infer_shapes(gm, {{{5, 2, 7}, pare::kFloat32}});
    });
    CAPTURE(message);
    CHECK(contains(message, "node 'lstm' (call_module lstm: LSTM)"));
    CHECK(contains(message, "input_size=8"));
  }
  SUBCASE("shapes that do not broadcast") {
    Builder b;
    Node* x = b.input("x");
    Node* y = b.input("y");
    b.fn("relu", {x});
    GraphModule gm = b.finish(b.fn("add", {x, y}));
    const std::string message = error_of([&] {
      pare::ir::infer_shapes(gm, {{{2, 3}, pare::kFloat32}, {{4, 1, 2}, pare::kFloat32}});
    });
    CAPTURE(message);
    CHECK(contains(message, "node 'add' (call_function add)"));
    CHECK(contains(message, "input shapes [2, 3], [4, 1, 2]"));
    CHECK(contains(message, "cannot be broadcast"));
  }
  SUBCASE("a reshape to the wrong size, a too small pool, a bad cat, a bad dim") {
    const std::vector<std::pair<std::string, std::function<Node*(Builder&, Node*)>>> cases = {
        {"reshape",
         [](Builder& b, Node* x) {
           return b.fn("reshape", {x, 4, -1});
         }},
        {"max_pool2d",
         [](Builder& b, Node* x) {
           return b.fn("max_pool2d", {x, 8});
         }},
        {"cat",
         [](Builder& b, Node* x) {
           return b.fn("cat", {Argument::List{x, b.fn("transpose", {x, 2, 3})}}, {{"dim", 1}});
         }},
        {"softmax",
         [](Builder& b, Node* x) {
           return b.fn("softmax", {x}, {{"dim", 4}});
         }},
        {"select",
         [](Builder& b, Node* x) {
           return b.fn("select", {x, 1, 3});
         }},
        {"linear",
         [](Builder& b, Node* x) {
           return b.fn("linear", {x, b.parameter("w", pare::zeros({2, 3}))});
         }},
    };
    for (const auto& [target, make] : cases) {
      CAPTURE(target);
      Builder b;
      Node* x = b.input("x");
      GraphModule gm = b.finish(make(b, x));
      const TensorMeta input{{1, 3, 5, 6}, pare::kFloat32};
      CHECK_THROWS_AS(gm.forward({pare::zeros(input.shape)}), pare::Error);
      const std::string message = error_of([&] { pare::ir::infer_shapes(gm, {input}); });
      CAPTURE(message);
      CHECK(contains(message, "(call_function " + target + ")"));
      CHECK(contains(message, "[1, 3, 5, 6]"));
    }
  }
  SUBCASE("an int64 input to an activation") {
    Builder b;
    Node* x = b.input("x");
    GraphModule gm = b.finish(b.fn("relu", {x}));
    const std::string message = error_of([&] {
      pare::ir::infer_shapes(gm, {{{3}, pare::kInt64}});
    });
    CAPTURE(message);
    CHECK(contains(message, "node 'relu'"));
    CHECK(contains(message, "float32"));
  }
  SUBCASE("getitem on a tensor") {
    Builder b;
    Node* x = b.input("x");
    GraphModule gm = b.finish(b.fn("getitem", {x, 0}));
    CHECK(contains(error_of([&] {
                     pare::ir::infer_shapes(gm, {{{3}, pare::kFloat32}});
                   }),
                   "not a tuple"));
  }
  SUBCASE("an unknown call_function target") {
    Builder b;
    Node* x = b.input("x");
    GraphModule gm = b.finish(b.fn("frobnicate", {x}));
    const std::string message = error_of([&] {
      pare::ir::infer_shapes(gm, {{{3}, pare::kFloat32}});
    });
    CAPTURE(message);
    CHECK(contains(message, "node 'frobnicate'"));
    CHECK(contains(message, "frobnicate"));
  }
  SUBCASE("a module type without a shape rule, and a missing module") {
    struct Custom : nn::Module {
      Custom() : nn::Module("Custom") {}
    };
    Builder b;
    Node* x = b.input("x");
    b.root->register_module("custom", std::make_shared<Custom>());
    GraphModule gm = b.finish(b.call("ghost", {b.call("custom", {x})}));
    std::string message = error_of([&] { pare::ir::infer_shapes(gm, {{{3}, pare::kFloat32}}); });
    CAPTURE(message);
    CHECK(contains(message, "node 'custom' (call_module custom: Custom)"));
    CHECK(contains(message, "'Custom'"));
    gm.graph().nodes()[1]->set_target("ghost");
    message = error_of([&] { pare::ir::infer_shapes(gm, {{{3}, pare::kFloat32}}); });
    CHECK(contains(message, "node 'custom' (call_module ghost)"));
    CHECK(contains(message, "ghost"));
  }
  SUBCASE("the wrong number of inputs, or placeholders without meta") {
    Builder b;
    Node* x = b.input("x");
    GraphModule gm = b.finish(b.fn("relu", {x}));
    CHECK(contains(error_of([&] { pare::ir::infer_shapes(gm, {}); }), "expected 1 input"));
    CHECK(contains(error_of([&] { pare::ir::infer_shapes(gm); }), "placeholder 'x'"));
  }
}

TEST_CASE("infer_module_outputs for single modules") {
  CHECK(pare::ir::infer_module_outputs(*nn::Conv2d(nn::Conv2dOptions(3, 8, 3).stride(2)).ptr(),
                                       {{1, 3, 9, 9}, pare::kFloat32}) ==
        std::vector<TensorMeta>{{{1, 8, 4, 4}, pare::kFloat32}});
  CHECK(pare::ir::infer_module_outputs(*nn::LSTM(4, 5).ptr(), {{7, 2, 4}, pare::kFloat32}) ==
        std::vector<TensorMeta>{
            {{7, 2, 5}, pare::kFloat32}, {{1, 2, 5}, pare::kFloat32}, {{1, 2, 5}, pare::kFloat32}});
  CHECK(
      contains(error_of([] {
                 pare::ir::infer_module_outputs(*nn::Linear(4, 2).ptr(), {{3, 5}, pare::kFloat32});
               }),
               "Linear: input [3, 5] does not match in_features=4"));
}

TEST_CASE("every call_function target of the interpreter is exercised above") {
  // The targets the graphs in this file run through check_matches_run, then those that
  // test_tracer_ops.cpp checks the same way (traced or recorded meta against inferred meta); a
  // target added to the interpreter fails here until it has a shape rule and a test.
  std::istringstream names(
      "abs adaptive_avg_pool2d adaptive_max_pool2d add avg_pool2d batch_norm cat celu "
      "clamp contiguous conv2d div dropout elu eq exp flatten ge gelu getitem gt "
      "hardshrink hardsigmoid hardswish hardtanh layer_norm le leaky_relu linear log "
      "log_softmax logical_not logsigmoid lstm lt max_pool2d max_pool2d_with_indices "
      "maximum minimum mish mul narrow ne neg permute pow prelu rdiv relu relu6 reshape "
      "rrelu rsub select selu sigmoid sign silu slice softmax softplus softshrink softsign sqrt "
      "squeeze stack sub t tanh tanhshrink transpose unsqueeze view where "
      "argmax argmin bmm chunk index_select masked_fill matmul max mean min mm norm split sum "
      "var");
  std::vector<std::string> exercised{std::istream_iterator<std::string>(names),
                                     std::istream_iterator<std::string>()};
  std::sort(exercised.begin(), exercised.end());
  CHECK(pare::ir::function_targets() == exercised);
}
