// The indexing, matrix-product and reduction ops as the tracer sees them: each small model below
// is traced, its nodes' targets, arguments and kwargs are checked, the graph is re-run on a fresh
// input against the eager model, shape inference reproduces every traced node's meta, and a .pare
// save/load round trip runs the same. Hand-built graphs cover the torch spellings the tracer does
// not write (positional literals, torch.max(a, b), argmax without a dim, norm's "fro").
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "pare/ir/pare_file.h"
#include "pare/ir/shape_inference.h"
#include "pare/ir/tracer.h"
#include "pare/pare.h"
#include "test_util.h"

using pare::Shape;
using pare::Tensor;
using pare::ir::Argument;
using pare::ir::Graph;
using pare::ir::GraphModule;
using pare::ir::Node;
using pare::ir::OpKind;
using pare::ir::TensorMeta;
using pare::ir::Value;
namespace nn = pare::nn;

namespace {

using pare::testing::contains;
using pare::testing::error_of;
using pare::testing::random_tensor;

std::vector<Tensor> random_inputs(const std::vector<Shape>& shapes, uint32_t seed) {
  std::vector<Tensor> inputs;
  for (const Shape& shape : shapes) inputs.push_back(random_tensor(shape, seed++));
  return inputs;
}

// A model whose forward is a function of the model (for its parameters) and its inputs.
struct FunctionModel : nn::Module {
  using Body = std::function<Value(const FunctionModel&, const std::vector<Tensor>&)>;
  explicit FunctionModel(Body body) : nn::Module("FunctionModel"), body(std::move(body)) {}
  Value forward(const std::vector<Tensor>& inputs) { return body(*this, inputs); }
  Body body;
};

std::shared_ptr<FunctionModel> make_model(FunctionModel::Body body) {
  return std::make_shared<FunctionModel>(std::move(body));
}

Value tuple(std::vector<Value> items) { return Value(std::move(items)); }

// "target(%arg, ...; key=value, ...)", e.g. "sum(%x; dim=[1], keepdim=True)".
std::string signature(const Node& node) {
  std::ostringstream text;
  text << node.target() << "(";
  for (size_t i = 0; i < node.args().size(); ++i) text << (i ? ", " : "") << node.args()[i];
  if (!node.kwargs().empty()) text << ";";
  for (size_t i = 0; i < node.kwargs().size(); ++i)
    text << (i ? ", " : " ") << node.kwargs()[i].first << "=" << node.kwargs()[i].second;
  return text.str() + ")";
}

// One per line, so that a failed comparison prints both sides.
std::string lines(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += item + "\n";
  return text;
}

// The signatures of the call_function nodes, in graph order.
std::string function_signatures(const GraphModule& graph_module) {
  std::vector<std::string> result;
  for (const Node* node : graph_module.graph().nodes())
    if (node->op() == OpKind::call_function) result.push_back(signature(*node));
  return lines(result);
}

// Same structure, same shapes and dtypes, every value within 1e-5.
void check_same(const Value& actual, const Value& expected) {
  const auto got = actual.flatten();
  const auto want = expected.flatten();
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(want[i].first);
    CHECK(got[i].first == want[i].first);
    REQUIRE(got[i].second.sizes() == want[i].second.sizes());
    CHECK(got[i].second.dtype() == want[i].second.dtype());
    CHECK(pare::testing::max_abs_diff(pare::to_float_vector(got[i].second),
                                      pare::to_float_vector(want[i].second)) <= 1e-5);
  }
}

// Forgets every node's meta, infers it again from the placeholders' and checks it matches.
void check_inferred_meta(GraphModule& graph_module) {
  const std::vector<Node*> nodes = graph_module.graph().nodes();
  std::vector<std::string> recorded;
  std::vector<bool> recorded_tuple;
  for (Node* node : nodes) {
    recorded.push_back(pare::ir::format_meta(node->meta));
    recorded_tuple.push_back(node->produces_tuple);
    if (node->op() == OpKind::placeholder) continue;
    node->meta.clear();
    node->produces_tuple = false;
  }
  pare::ir::infer_shapes(graph_module);
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i]->op() == OpKind::output) continue;
    CAPTURE(nodes[i]->name());
    CHECK(pare::ir::format_meta(nodes[i]->meta) == recorded[i]);
    CHECK(nodes[i]->produces_tuple == recorded_tuple[i]);
  }
}

// Saves to a .pare file and loads it back.
GraphModule round_trip(const GraphModule& graph_module) {
  static int count = 0;
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("pare_test_tracer_ops_" + std::to_string(getpid()) +
                                                "_" + std::to_string(count++) + ".pare");
  pare::ir::save(graph_module, path.string());
  GraphModule loaded = pare::ir::load(path.string());
  std::filesystem::remove(path);
  loaded.eval();
  return loaded;
}

// Traces `model` on inputs of `shapes`, then checks the graph, its inferred meta and its .pare
// round trip against the eager model on other inputs of the same shapes.
GraphModule trace_and_check(const std::shared_ptr<FunctionModel>& model,
                            const std::vector<Shape>& shapes) {
  GraphModule graph_module = pare::ir::trace(model, random_inputs(shapes, 1));
  const std::vector<Tensor> fresh = random_inputs(shapes, 100);
  const Value eager = model->forward(fresh);
  check_same(graph_module.forward(fresh), eager);
  check_inferred_meta(graph_module);
  check_same(round_trip(graph_module).forward(fresh), eager);
  return graph_module;
}

const Node& node_named(const GraphModule& graph_module, const std::string& name) {
  const Node* node = graph_module.graph().find(name);
  REQUIRE(node != nullptr);
  return *node;
}

}  // namespace

TEST_CASE("cat and stack record their tensors as one list argument") {
  auto model = make_model([](const FunctionModel&, const std::vector<Tensor>& in) {
    Tensor joined = pare::cat({pare::relu(in[0]), in[1]}, 1);
    Tensor stacked = pare::stack({in[0], pare::tanh(in[0])}, -1);
    return tuple({joined, stacked});
  });
  GraphModule gm = trace_and_check(model, {{2, 3}, {2, 4}});
  // stack's own unsqueeze and cat do not show up.
  CHECK(function_signatures(gm) == lines({"relu(%x0)", "cat([%relu, %x1]; dim=1)", "tanh(%x0)",
                                          "stack([%x0, %tanh]; dim=-1)"}));
}

TEST_CASE("split and chunk give tuples read through getitem; a single piece is a slice") {
  auto model = make_model([](const FunctionModel&, const std::vector<Tensor>& in) {
    const Tensor& x = in[0];
    std::vector<Tensor> columns = pare::split(x, 4, 1);  // [4, 4] and [4, 2]
    std::vector<Tensor> rows = pare::chunk(x, 3, 0);     // two [2, 6]: ceil(4 / 3) rows each
    Tensor whole_split = pare::split(x, 8, 1)[0];
    Tensor whole_chunk = pare::chunk(x, 1, 0)[0];
    return tuple({pare::relu(columns[1]), rows[1] - rows[0], pare::sigmoid(whole_split),
                  pare::tanh(whole_chunk)});
  });
  GraphModule gm = trace_and_check(model, {{4, 6}});
  CHECK(function_signatures(gm) ==
        lines({"split(%x; split_size=4, dim=1)", "chunk(%x; chunks=3, dim=0)",
               "slice(%x; dim=1, start=0, end=8, step=1)",
               "slice(%x; dim=0, start=0, end=9223372036854775807, step=1)", "getitem(%split, 1)",
               "relu(%getitem)", "getitem(%chunk, 1)", "getitem(%chunk, 0)",
               "sub(%getitem_1, %getitem_2)", "sigmoid(%slice)", "tanh(%slice_1)"}));
  CHECK(node_named(gm, "split").produces_tuple);
  CHECK(pare::ir::format_meta(node_named(gm, "split").meta) == "([4, 4] float32, [4, 2] float32)");
}

TEST_CASE("index_select takes its index as a tensor input; masked_fill its value as a kwarg") {
  auto model = make_model([](const FunctionModel&, const std::vector<Tensor>& in) {
    const Tensor& x = in[0];
    Tensor columns = pare::tensor(std::vector<int64_t>{4, 0, 2});  // made in forward: a constant
    Tensor picked = pare::index_select(x, 1, columns);
    Tensor best_rows = pare::argmax(x, 0);  // depends on the input
    Tensor gathered = x.index_select(0, best_rows);
    Tensor filled = pare::masked_fill(picked, picked > 0.25, -1.5);
    return tuple({filled, gathered});
  });
  GraphModule gm = trace_and_check(model, {{3, 5}});
  CHECK(function_signatures(gm) ==
        lines({"index_select(%x, %_tensor_constant0; dim=1)", "argmax(%x; dim=0, keepdim=False)",
               "index_select(%x, %argmax; dim=0)", "gt(%index_select; other=0.25)",
               "masked_fill(%index_select, %gt; value=-1.5)"}));
}

TEST_CASE("matmul, mm and bmm take two tensor inputs; their internal copies stay silent") {
  auto model = make_model([](const FunctionModel& self, const std::vector<Tensor>& in) {
    const Tensor& a = in[0];
    const Tensor weight = self.get_parameter("weight");
    Tensor projected = pare::matmul(a, weight);
    // Batch dims strided closer than a matrix apart: matmul copies the operand internally.
    Tensor permuted = pare::matmul(a.permute({1, 0, 2}), weight);
    Tensor pairs = pare::bmm(a, in[1]);
    Tensor first = pare::mm(a.select(0, 0), weight);
    Tensor dotted = a.matmul(in[2]);
    return tuple({projected, permuted, pairs, first, dotted});
  });
  model->register_parameter("weight", random_tensor({4, 5}, 9));
  GraphModule gm = trace_and_check(model, {{2, 3, 4}, {2, 4, 2}, {4}});
  CHECK(function_signatures(gm) ==
        lines({"matmul(%x0, %weight)", "permute(%x0; dims=[1, 0, 2])", "matmul(%permute, %weight)",
               "bmm(%x0, %x1)", "select(%x0; dim=0, index=0)", "mm(%select, %weight)",
               "matmul(%x0, %x2)"}));
}

TEST_CASE("sum, mean, norm and var report dim as a list (absent for everything) and keepdim") {
  auto model = make_model([](const FunctionModel&, const std::vector<Tensor>& in) {
    const Tensor& x = in[0];
    Tensor sum = pare::sum(x);
    Tensor total = sum + pare::mean(x);
    Tensor rows = x.sum({1}, true);
    Tensor positives = pare::sum(x > 0, {2});  // bool sums to int64
    Tensor averaged = pare::mean(x, {0, -1});
    Tensor lengths = pare::norm(x, 2.0, {2});
    Tensor l1 = pare::norm(x, 1.0);
    Tensor peak = pare::norm(x, INFINITY, {0}, true);
    Tensor spread = pare::var(x, {1});
    Tensor biased = pare::var(x, {0, 2}, false, true);
    return tuple({total, rows, positives, averaged, lengths, l1, peak, spread, biased});
  });
  GraphModule gm = trace_and_check(model, {{2, 3, 4}});
  CHECK(function_signatures(gm) ==
        lines({"sum(%x)", "mean(%x)", "add(%sum, %mean)", "sum(%x; dim=[1], keepdim=True)",
               "gt(%x; other=0)", "sum(%gt; dim=[2], keepdim=False)",
               "mean(%x; dim=[0, -1], keepdim=False)", "norm(%x; p=2, dim=[2], keepdim=False)",
               "norm(%x; p=1)", "norm(%x; p=\"inf\", dim=[0], keepdim=True)",
               "var(%x; dim=[1], unbiased=True, keepdim=False)",
               "var(%x; dim=[0, 2], unbiased=False, keepdim=True)"}));
  CHECK(pare::ir::format_meta(node_named(gm, "sum_2").meta) == "[2, 3] int64");
}

TEST_CASE("max and min along a dim have two outputs; argmax and argmin one") {
  auto model = make_model([](const FunctionModel&, const std::vector<Tensor>& in) {
    const Tensor& x = in[0];
    auto [values, indices] = pare::max(x, 1);
    auto [lowest, where] = x.min(0, true);
    Tensor top = pare::max(x);
    Tensor range = top - pare::min(x);
    Tensor best = pare::argmax(x, -1, true);
    Tensor worst = pare::argmin(x, 0);
    return tuple({pare::relu(values), indices, lowest, where, range, best, worst});
  });
  GraphModule gm = trace_and_check(model, {{3, 4}});
  CHECK(function_signatures(gm) ==
        lines({"max(%x; dim=1, keepdim=False)", "min(%x; dim=0, keepdim=True)", "max(%x)",
               "min(%x)", "sub(%max_1, %min_1)", "argmax(%x; dim=-1, keepdim=True)",
               "argmin(%x; dim=0, keepdim=False)", "getitem(%max, 0)", "relu(%getitem)",
               "getitem(%max, 1)", "getitem(%min, 0)", "getitem(%min, 1)"}));
  const Node& max_node = node_named(gm, "max");
  CHECK(max_node.produces_tuple);
  CHECK(pare::ir::format_meta(max_node.meta) == "([3] float32, [3] int64)");
}

TEST_CASE("reading values out with to_float_vector or to_int64_vector adds no node") {
  auto model = make_model([](const FunctionModel&, const std::vector<Tensor>& in) {
    Tensor flipped = in[0].t();  // not contiguous: reading it copies
    const std::vector<float> values = pare::to_float_vector(flipped);
    const std::vector<int64_t> rounded = pare::to_int64_vector(flipped);
    CHECK(values.size() == rounded.size());
    return Value(pare::relu(flipped));
  });
  GraphModule gm = trace_and_check(model, {{2, 3}});
  std::vector<std::string> ops;
  for (const Node* node : gm.graph().nodes())
    ops.push_back(std::string(pare::ir::op_kind_name(node->op())) + " " + node->target());
  CHECK(lines(ops) ==
        lines({"placeholder x", "call_function t", "call_function relu", "output output"}));
}

TEST_CASE("an op that still does not report is named in the trace error") {
  // gather_rows is nll_loss's helper, not a graph target.
  auto model = make_model([](const FunctionModel&, const std::vector<Tensor>& in) {
    return Value(pare::relu(pare::gather_rows(in[0], pare::tensor(std::vector<int64_t>{2, 0}))));
  });
  const std::string message = error_of([&] { pare::ir::trace(model, {random_tensor({2, 3}, 4)}); });
  CAPTURE(message);
  CHECK(contains(message, "relu reads a tensor of shape [2]"));
  CHECK(contains(message, "computed by 'gather_rows'"));
}

namespace {

// A graph of one call_function node on placeholders (and get_attr tensors), in eval mode.
struct OneNode {
  std::shared_ptr<nn::Module> root = std::make_shared<nn::Module>("Root");
  std::shared_ptr<Graph> graph = std::make_shared<Graph>();

  Node* input(const std::string& name) { return graph->placeholder(name); }
  Node* constant(const std::string& name, const Tensor& value) {
    root->register_buffer(name, value);
    return graph->get_attr(name);
  }
  GraphModule finish(const std::string& target, std::vector<Argument> args,
                     pare::ir::Kwargs kwargs = {}) {
    graph->output(graph->call_function(target, std::move(args), std::move(kwargs)));
    GraphModule graph_module(root, graph);
    graph_module.eval();
    return graph_module;
  }
};

// Runs the graph against `expected`, then checks shape inference against the recorded meta.
void check_runs_as(GraphModule& graph_module, const std::vector<Tensor>& inputs,
                   const Value& expected) {
  check_same(graph_module.forward(inputs), expected);
  graph_module.record_meta(inputs);
  check_inferred_meta(graph_module);
}

}  // namespace

TEST_CASE("the interpreter reads torch's other spellings of these ops") {
  const Tensor x = random_tensor({3, 4}, 11);
  const Tensor y = random_tensor({3, 4}, 12);
  SUBCASE("sum with one int as dim, var and chunk with positional literals") {
    OneNode sum;
    Node* input = sum.input("x");
    GraphModule sum_graph = sum.finish("sum", {input, 1});
    check_runs_as(sum_graph, {x}, pare::sum(x, {1}));
    OneNode var;
    input = var.input("x");
    GraphModule var_graph = var.finish("var", {input, 1, false, true});
    check_runs_as(var_graph, {x}, pare::var(x, {1}, false, true));
    OneNode chunk;
    input = chunk.input("x");
    GraphModule chunk_graph = chunk.finish("chunk", {input, 2, 1});
    const std::vector<Tensor> pieces = pare::chunk(x, 2, 1);
    check_runs_as(chunk_graph, {x}, tuple({pieces[0], pieces[1]}));
  }
  SUBCASE("torch.max(a, b) is the elementwise maximum; argmax without a dim flattens") {
    OneNode max;
    Node* a = max.input("a");
    Node* b = max.input("b");
    GraphModule max_graph = max.finish("max", {a, b});
    check_runs_as(max_graph, {x, y}, pare::maximum(x, y));
    OneNode argmin;
    Node* input = argmin.input("x");
    GraphModule argmin_graph = argmin.finish("argmin", {input});
    check_runs_as(argmin_graph, {x}, pare::argmin(x.reshape({-1}), 0));
  }
  SUBCASE("norm's p as \"fro\" and absent") {
    for (const Argument& p : {Argument("fro"), Argument()}) {
      CAPTURE(p);
      OneNode norm;
      Node* input = norm.input("x");
      GraphModule norm_graph = norm.finish("norm", {input, p, std::vector<int64_t>{0}});
      check_runs_as(norm_graph, {x}, pare::norm(x, 2.0, {0}));
    }
  }
  SUBCASE("split_size_or_sections, index_select (input, dim, index), masked_fill positional") {
    OneNode split;
    Node* input = split.input("x");
    GraphModule split_graph =
        split.finish("split", {input}, {{"split_size_or_sections", 3}, {"dim", 1}});
    const std::vector<Tensor> pieces = pare::split(x, 3, 1);
    check_runs_as(split_graph, {x}, tuple({pieces[0], pieces[1]}));
    OneNode select;
    input = select.input("x");
    const Tensor rows = pare::tensor(std::vector<int64_t>{2, 2, 0});
    Node* index = select.constant("rows", rows);
    GraphModule select_graph = select.finish("index_select", {input, 0, index});
    check_runs_as(select_graph, {x}, pare::index_select(x, 0, rows));
    OneNode fill;
    input = fill.input("x");
    Node* mask = fill.input("mask");
    GraphModule fill_graph = fill.finish("masked_fill", {input, mask, 0.5});
    check_runs_as(fill_graph, {x, y > 0}, pare::masked_fill(x, y > 0, 0.5));
  }
}

TEST_CASE("argument and shape errors name the op") {
  const Tensor x = random_tensor({3, 4}, 13);
  SUBCASE("an unknown norm order, section sizes, keepdim without dim") {
    OneNode norm;
    Node* input = norm.input("x");
    CHECK(contains(error_of([&] {
                     norm.finish("norm", {input}, {{"p", "nuc"}}).forward({x});
                   }),
                   "norm: argument 'p': expected a number, \"fro\" or \"inf\", got \"nuc\""));
    OneNode split;
    input = split.input("x");
    CHECK(contains(error_of([&] {
                     split.finish("split", {input, std::vector<int64_t>{1, 3}}).forward({x});
                   }),
                   "split: a list of section sizes is not supported"));
    OneNode max;
    input = max.input("x");
    CHECK(contains(error_of([&] {
                     max.finish("max", {input}, {{"keepdim", true}}).forward({x});
                   }),
                   "max: keepdim needs a dim"));
  }
  SUBCASE("shape inference fails where the run fails") {
    OneNode matmul;
    Node* a = matmul.input("a");
    Node* b = matmul.input("b");
    GraphModule gm = matmul.finish("matmul", {a, b});
    const Tensor wrong = random_tensor({3, 2}, 14);
    CHECK_THROWS_AS(gm.forward({x, wrong}), pare::Error);
    const std::string message = error_of([&] {
      pare::ir::infer_shapes(gm, {{{3, 4}, pare::kFloat32}, {{3, 2}, pare::kFloat32}});
    });
    CAPTURE(message);
    CHECK(contains(message, "node 'matmul' (call_function matmul)"));
    CHECK(contains(message, "cannot be multiplied (4 != 3)"));

    OneNode sum;
    Node* input = sum.input("x");
    GraphModule twice = sum.finish("sum", {input}, {{"dim", std::vector<int64_t>{1, -1}}});
    CHECK_THROWS_AS(twice.forward({x}), pare::Error);
    CHECK(contains(error_of([&] {
                     pare::ir::infer_shapes(twice, {{{3, 4}, pare::kFloat32}});
                   }),
                   "appears more than once"));

    OneNode select;
    input = select.input("x");
    Node* index = select.input("index");
    GraphModule floats = select.finish("index_select", {input, index}, {{"dim", 0}});
    CHECK_THROWS_AS(floats.forward({x, random_tensor({2}, 15)}), pare::Error);
    CHECK(contains(
        error_of([&] {
          pare::ir::infer_shapes(floats, {{{3, 4}, pare::kFloat32}, {{2}, pare::kFloat32}});
        }),
        "index_select: index must be int64"));
  }
}
