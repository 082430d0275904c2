// Graph / Node / Argument: creation, unique names, use lists, replace_all_uses_with, erasure,
// insertion points, lint, dead-code elimination and printing.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "pare/ir/graph.h"
#include "test_util.h"

using pare::ir::Argument;
using pare::ir::Graph;
using pare::ir::Node;
using pare::ir::OpKind;

namespace {

using pare::testing::contains;

std::string printed(const Graph& graph) {
  std::ostringstream stream;
  stream << graph;
  return stream.str();
}

std::vector<std::string> names_of(const std::vector<Node*>& nodes) {
  std::vector<std::string> names;
  for (const Node* node : nodes) names.push_back(node->name());
  return names;
}

std::string lint_error(const Graph& graph) {
  try {
    graph.lint();
  } catch (const pare::Error& error) {
    return error.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a small graph prints one line per node, with kwargs and meta") {
  Graph graph;
  Node* x = graph.placeholder("x");
  x->meta = {{{2, 4}, pare::kFloat32}};
  Node* fc = graph.call_module("fc", {x});
  Node* act = graph.call_function("leaky_relu", {fc}, {{"negative_slope", 0.5}});
  Node* flat = graph.call_function("flatten", {act}, {{"start_dim", int64_t{1}}, {"end_dim", -1}});
  Node* both = graph.call_function("cat", {Argument::List{flat, x}}, {{"dim", 1}});
  graph.output(Argument::List{both, Argument()});
  graph.lint();
  CHECK(printed(graph) ==
        "%x = placeholder[x]() : [2, 4] float32\n"
        "%fc = call_module[fc](%x)\n"
        "%leaky_relu = call_function[leaky_relu](%fc, negative_slope=0.5)\n"
        "%flatten = call_function[flatten](%leaky_relu, start_dim=1, end_dim=-1)\n"
        "%cat = call_function[cat]([%flatten, %x], dim=1)\n"
        "%output = output[output]([%cat, None])\n");
  CHECK(graph.size() == 6);
  CHECK(graph.find("cat") == both);
  CHECK(graph.find("missing") == nullptr);
  CHECK(graph.output_node()->op() == OpKind::output);
  CHECK(names_of(graph.placeholders()) == std::vector<std::string>{"x"});
  CHECK(*act->kwarg("negative_slope") == Argument(0.5));
  CHECK(act->kwarg("alpha") == nullptr);
}

TEST_CASE("names are unique and sanitised") {
  Graph graph;
  Node* x = graph.placeholder("x");
  Node* a = graph.call_function("relu", {x});
  Node* b = graph.call_function("relu", {a});
  Node* c = graph.call_module("features.0", {b});
  Node* d = graph.call_module("features.0", {c});
  Node* e = graph.call_function("relu", {d}, {}, "relu");  // an explicit but taken name
  Node* f = graph.get_attr("fc.weight");
  CHECK(a->name() == "relu");
  CHECK(b->name() == "relu_1");
  CHECK(c->name() == "features_0");
  CHECK(d->name() == "features_0_1");
  CHECK(e->name() == "relu_2");
  CHECK(f->name() == "fc_weight");
  CHECK(c->target() == "features.0");  // the target keeps the qualified name
  // A freed name can be taken again.
  graph.erase_node(f);
  CHECK(graph.get_attr("fc.weight")->name() == "fc_weight");
}

TEST_CASE("users are kept in graph order, once per user") {
  Graph graph;
  Node* x = graph.placeholder("x");
  Node* y = graph.placeholder("y");
  Node* sum = graph.call_function("add", {x, x});
  Node* prod = graph.call_function("mul", {sum, y});
  Node* joined = graph.call_function("cat", {Argument::List{x, prod, x}});
  graph.output(joined);
  CHECK(names_of(x->users()) == std::vector<std::string>{"add", "cat"});
  CHECK(names_of(y->users()) == std::vector<std::string>{"mul"});
  CHECK(names_of(joined->input_nodes()) == std::vector<std::string>{"x", "mul"});
  CHECK(joined->users().size() == 1);

  // set_args / set_kwarg move the use lists along.
  prod->set_args({x, y});
  CHECK(sum->users().empty());
  CHECK(names_of(x->users()) == std::vector<std::string>{"add", "mul", "cat"});
  prod->set_kwarg("scale", sum);
  CHECK(names_of(sum->users()) == std::vector<std::string>{"mul"});
  prod->set_kwarg("scale", 2.0);
  CHECK(sum->users().empty());
  CHECK(*prod->kwarg("scale") == Argument(2.0));
  graph.lint();
}

TEST_CASE("replace_all_uses_with rewrites args, lists and kwargs") {
  Graph graph;
  Node* x = graph.placeholder("x");
  Node* a = graph.call_function("relu", {x});
  Node* b = graph.call_function("sigmoid", {x});
  Node* c = graph.call_function("add", {a, x}, {{"other", a}});
  Node* d = graph.call_function("cat", {Argument::List{a, b}});
  graph.output(Argument::List{c, d});

  std::vector<Node*> changed = a->replace_all_uses_with(b);
  CHECK(names_of(changed) == std::vector<std::string>{"add", "cat"});
  CHECK(a->users().empty());
  CHECK(names_of(b->users()) == std::vector<std::string>{"add", "cat"});
  CHECK(c->args()[0] == Argument(b));
  CHECK(*c->kwarg("other") == Argument(b));
  CHECK(d->args()[0] == Argument(Argument::List{b, b}));
  graph.lint();
  CHECK_THROWS_WITH_AS(b->replace_all_uses_with(b), doctest::Contains("sigmoid"), pare::Error);
  graph.erase_node(a);
  graph.lint();
}

TEST_CASE("erase_node refuses a node that is still used and leaves the graph intact") {
  Graph graph;
  Node* x = graph.placeholder("x");
  Node* a = graph.call_function("relu", {x});
  Node* b = graph.call_function("tanh", {a});
  graph.output(b);
  CHECK_THROWS_WITH_AS(graph.erase_node(a), doctest::Contains("'relu' still has 1 user(s)"),
                       pare::Error);
  CHECK(graph.size() == 4);
  CHECK(names_of(x->users()) == std::vector<std::string>{"relu"});
  graph.lint();

  Node* other_graph_node;
  Graph other;
  other_graph_node = other.placeholder("z");
  CHECK_THROWS_WITH_AS(graph.erase_node(other_graph_node), doctest::Contains("not in this graph"),
                       pare::Error);

  // The insertion anchor cannot go while a guard points at it; refusing it changes nothing.
  Node* dead = graph.call_function("sigmoid", {x});
  {
    Graph::InsertionPoint point(graph, dead, /*after=*/false);
    CHECK_THROWS_WITH_AS(graph.erase_node(dead), doctest::Contains("insertion anchor"),
                         pare::Error);
    CHECK(names_of(x->users()) == std::vector<std::string>{"relu", "sigmoid"});
  }
  b->replace_all_uses_with(a);
  graph.erase_node(b);
  CHECK(names_of(a->users()) == std::vector<std::string>{"output"});
}

TEST_CASE("insertion points put new nodes before or after an anchor") {
  Graph graph;
  Node* x = graph.placeholder("x");
  Node* a = graph.call_function("relu", {x});
  Node* out = graph.output(a);
  {
    Graph::InsertionPoint point(graph, a, /*after=*/true);
    Node* scaled = graph.call_function("mul", {a}, {{"other", 2.0}});
    Node* shifted = graph.call_function("add", {scaled}, {{"other", 1.0}});
    out->set_args({shifted});
  }
  {
    Graph::InsertionPoint point(graph, a, /*after=*/false);
    graph.call_function("sigmoid", {x});
  }
  graph.call_function("tanh", {x});  // the guard is gone: appended at the end again
  CHECK(names_of(graph.nodes()) ==
        std::vector<std::string>{"x", "sigmoid", "relu", "mul", "add", "output", "tanh"});
  // Users follow graph order, not creation order.
  CHECK(names_of(x->users()) == std::vector<std::string>{"sigmoid", "relu", "tanh"});
  // tanh landed after the output: lint says so.
  CHECK(contains(lint_error(graph), "'tanh' comes after the output node"));
  graph.erase_node(graph.find("tanh"));
  graph.lint();
}

TEST_CASE("lint reports each broken rule with the node's name") {
  SUBCASE("no output") {
    Graph graph;
    graph.call_function("relu", {graph.placeholder("x")});
    CHECK(contains(lint_error(graph), "no output node"));
  }
  SUBCASE("a use before its definition") {
    Graph graph;
    Node* x = graph.placeholder("x");
    Node* a = graph.call_function("relu", {x});
    graph.output(a);
    Node* late = graph.call_function("tanh", {x});
    {
      Graph::InsertionPoint point(graph, a, /*after=*/false);
      graph.call_function("sigmoid", {late}, {}, "early");
    }
    CHECK(contains(lint_error(graph), "'early' uses 'tanh', which is not defined before it"));
  }
  SUBCASE("a placeholder with arguments") {
    Graph graph;
    Node* x = graph.placeholder("x");
    Node* bad = graph.create_node(OpKind::placeholder, "y", {x});
    graph.output(bad);
    CHECK(contains(lint_error(graph), "placeholder node 'y' has arguments"));
  }
  SUBCASE("a call without a target") {
    Graph graph;
    Node* x = graph.placeholder("x");
    Node* bad = graph.call_function("", {x}, {}, "nameless");
    graph.output(bad);
    CHECK(contains(lint_error(graph), "node 'nameless' has no target"));
  }
  SUBCASE("an output with two arguments") {
    Graph graph;
    Node* x = graph.placeholder("x");
    graph.create_node(OpKind::output, "output", {x, x});
    CHECK(contains(lint_error(graph), "output node must have one argument"));
  }
  SUBCASE("a second output") {
    Graph graph;
    graph.output(graph.placeholder("x"));
    CHECK_THROWS_WITH_AS(graph.output(Argument()), doctest::Contains("already has an output"),
                         pare::Error);
  }
}

TEST_CASE("dead-code elimination removes dead chains in one pass and keeps inputs") {
  Graph graph;
  Node* x = graph.placeholder("x");
  Node* unused_input = graph.placeholder("unused");
  Node* live = graph.call_function("relu", {x});
  Node* dead1 = graph.call_function("sigmoid", {x});
  Node* dead2 = graph.call_function("tanh", {dead1});
  graph.call_function("add", {dead2, live});  // dead, and makes the others dead only after it
  graph.get_attr("fc.weight");                // an unused attribute
  graph.output(live);
  CHECK(graph.eliminate_dead_code() == 4);
  CHECK(names_of(graph.nodes()) == std::vector<std::string>{"x", "unused", "relu", "output"});
  CHECK(names_of(x->users()) == std::vector<std::string>{"relu"});
  CHECK(unused_input->users().empty());
  CHECK(graph.eliminate_dead_code() == 0);
  graph.lint();

  // A graph whose every removable node is dead, first node included.
  Graph all_dead;
  all_dead.get_attr("w");
  all_dead.get_attr("b");
  CHECK(all_dead.eliminate_dead_code() == 2);
  CHECK(all_dead.size() == 0);
}

TEST_CASE("arguments convert, compare and print") {
  Argument ints(std::vector<int64_t>{3, 4});
  CHECK(ints.to_ints() == std::vector<int64_t>{3, 4});
  CHECK(Argument(int64_t{5}).to_ints("kernel_size", 2) == std::vector<int64_t>{5, 5});
  CHECK(Argument(std::vector<int64_t>{7}).to_ints("kernel_size", 2) == std::vector<int64_t>{7, 7});
  CHECK_THROWS_WITH_AS(Argument(std::vector<int64_t>{1, 2, 3}).to_ints("stride", 2),
                       doctest::Contains("stride: expected 2 integers"), pare::Error);
  CHECK(Argument(3).to_double() == 3.0);
  CHECK_THROWS_WITH_AS(Argument(2.5).to_int("dim"), doctest::Contains("dim: expected an integer"),
                       pare::Error);
  CHECK_THROWS_AS(Argument("text").to_bool(), pare::Error);
  CHECK_THROWS_AS(Argument().to_node(), pare::Error);
  CHECK(Argument(true).is_bool());
  CHECK(Argument().is_none());
  CHECK(Argument(1) == Argument(int64_t{1}));
  CHECK(Argument(1) != Argument(1.0));

  std::ostringstream stream;
  stream << Argument(Argument::List{true, false, Argument(), "none", 1, 0.25});
  CHECK(stream.str() == "[True, False, None, \"none\", 1, 0.25]");
  CHECK(pare::ir::format_meta({{{1, 3}, pare::kFloat32}}) == "[1, 3] float32");
  CHECK(pare::ir::format_meta({{{2}, pare::kFloat32}, {{2}, pare::kInt64}}) ==
        "([2] float32, [2] int64)");
  OpKind op;
  CHECK(pare::ir::parse_op_kind("get_attr", op));
  CHECK(op == OpKind::get_attr);
  CHECK(!pare::ir::parse_op_kind("call_method", op));
}
