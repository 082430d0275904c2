// The graph IR (torch.fx's model, in C++): a Graph is an ordered list of Nodes. Each node has an
// op (placeholder, call_module, call_function, get_attr, output), a unique name, a target (a
// module's qualified name, a function name such as "relu", or a tensor name), positional args,
// keyword args, its users, and meta: the shapes and dtypes of what it produces.
//
//   pare::ir::Graph graph;
//   pare::ir::Node* x = graph.placeholder("x");
//   pare::ir::Node* fc = graph.call_module("fc", {x});
//   pare::ir::Node* y = graph.call_function("relu", {fc});
//   graph.output(y);
//   graph.lint();                       // throws pare::Error naming the offending node
//   std::cout << graph;                 // one line per node
//
// Contract: nodes are kept in topological order (every argument node comes earlier); names are
// unique; users() is always consistent with the args of the other nodes. Node pointers stay
// valid until the node is erased.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <ostream>
#include <string>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "pare/dtype.h"
#include "pare/tensor.h"

namespace pare::ir {

class Node;

enum class OpKind { placeholder, call_module, call_function, get_attr, output };
const char* op_kind_name(OpKind op);
// Parses "call_module" etc.; false for an unknown name.
bool parse_op_kind(const std::string& name, OpKind& op);

// A node argument: a JSON-like literal, a reference to an earlier node, or a list of arguments.
class Argument {
 public:
  using List = std::vector<Argument>;
  Argument() = default;                                         // none
  Argument(bool value) : value_(value) {}                       // NOLINT
  Argument(int64_t value) : value_(value) {}                    // NOLINT
  Argument(int value) : value_(static_cast<int64_t>(value)) {}  // NOLINT
  Argument(double value) : value_(value) {}                     // NOLINT
  Argument(std::string value) : value_(std::move(value)) {}     // NOLINT
  Argument(const char* value) : value_(std::string(value)) {}   // NOLINT
  Argument(Node* node) : value_(node) {}                        // NOLINT
  Argument(List list) : value_(std::move(list)) {}              // NOLINT
  Argument(const std::vector<int64_t>& ints);                   // NOLINT: a list of ints

  bool is_none() const { return std::holds_alternative<std::monostate>(value_); }
  bool is_bool() const { return std::holds_alternative<bool>(value_); }
  bool is_int() const { return std::holds_alternative<int64_t>(value_); }
  bool is_double() const { return std::holds_alternative<double>(value_); }
  bool is_number() const { return is_int() || is_double(); }
  bool is_string() const { return std::holds_alternative<std::string>(value_); }
  bool is_node() const { return std::holds_alternative<Node*>(value_); }
  bool is_list() const { return std::holds_alternative<List>(value_); }

  // Typed access; a pare::Error naming `what` when the type differs.
  bool to_bool(const std::string& what = "argument") const;
  int64_t to_int(const std::string& what = "argument") const;
  double to_double(const std::string& what = "argument") const;  // ints convert
  const std::string& to_string(const std::string& what = "argument") const;
  Node* to_node(const std::string& what = "argument") const;
  const List& to_list(const std::string& what = "argument") const;
  // A list of ints (or one int, repeated `expand_to` times when expand_to > 0).
  std::vector<int64_t> to_ints(const std::string& what = "argument", size_t expand_to = 0) const;

  // Calls fn(Node*) for every node referenced here, recursively through lists.
  template <typename Fn>
  void for_each_node(Fn&& fn) const {
    if (is_node()) {
      fn(std::get<Node*>(value_));
    } else if (is_list()) {
      for (const Argument& item : std::get<List>(value_)) item.for_each_node(fn);
    }
  }
  // Replaces references to `from` by `to`, recursively.
  void replace_node(Node* from, Node* to);

  bool operator==(const Argument& other) const = default;
  friend std::ostream& operator<<(std::ostream& stream, const Argument& argument);

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string, Node*, List> value_;
};

using Kwargs = std::vector<std::pair<std::string, Argument>>;

// What a node produces: one tensor, or (LSTM, getitem of a tuple) several, in order.
struct TensorMeta {
  Shape shape;
  DType dtype = kFloat32;
  bool operator==(const TensorMeta&) const = default;
};

class Graph;

class Node {
 public:
  const std::string& name() const { return name_; }
  OpKind op() const { return op_; }
  const std::string& target() const { return target_; }
  const std::vector<Argument>& args() const { return args_; }
  const Kwargs& kwargs() const { return kwargs_; }
  // The keyword argument `key`, or nullptr.
  const Argument* kwarg(const std::string& key) const;
  // Users in graph order (each user once, even if it uses this node several times).
  const std::vector<Node*>& users() const { return users_; }
  Graph& graph() const { return *graph_; }

  // The inferred outputs (empty until the tracer or shape inference fills them).
  std::vector<TensorMeta> meta;
  // True when the node produces a tuple (LSTM: output, (h_n, c_n)); meta then lists the
  // flattened tensors.
  bool produces_tuple = false;

  void set_args(std::vector<Argument> args);
  void set_kwargs(Kwargs kwargs);
  void set_kwarg(const std::string& key, Argument value);
  void set_target(std::string target);
  // Every node this node's args and kwargs reference, in order of first appearance.
  std::vector<Node*> input_nodes() const;
  // Makes every user of this node use `replacement` instead. Returns the users changed.
  std::vector<Node*> replace_all_uses_with(Node* replacement);

 private:
  friend class Graph;
  Node(Graph* graph, OpKind op, std::string name, std::string target)
      : graph_(graph), op_(op), name_(std::move(name)), target_(std::move(target)) {}
  void refresh_users_of_inputs(const std::vector<Node*>& before, bool is_last = false);

  Graph* graph_;
  OpKind op_;
  std::string name_;
  std::string target_;
  std::vector<Argument> args_;
  Kwargs kwargs_;
  std::vector<Node*> users_;
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // Creation appends at the insertion point (the end, unless an InsertionPoint is active).
  // `name` is made unique (relu, relu_1, ...) when empty or taken.
  Node* create_node(OpKind op, const std::string& target, std::vector<Argument> args = {},
                    Kwargs kwargs = {}, const std::string& name = "");
  Node* placeholder(const std::string& name);
  Node* get_attr(const std::string& target, const std::string& name = "");
  Node* call_module(const std::string& target, std::vector<Argument> args, Kwargs kwargs = {},
                    const std::string& name = "");
  Node* call_function(const std::string& target, std::vector<Argument> args, Kwargs kwargs = {},
                      const std::string& name = "");
  Node* output(Argument result);

  // Erases a node that has no users (a pare::Error naming it otherwise).
  void erase_node(Node* node);
  // Moves the insertion point before / after `node` for the guard's lifetime.
  class InsertionPoint {
   public:
    InsertionPoint(Graph& graph, Node* anchor, bool after);
    ~InsertionPoint();
    InsertionPoint(const InsertionPoint&) = delete;
    InsertionPoint& operator=(const InsertionPoint&) = delete;

   private:
    Graph& graph_;
    std::list<std::unique_ptr<Node>>::iterator previous_;
  };

  // Nodes in order.
  std::vector<Node*> nodes() const;
  // Changes whenever a node is added or erased or gets new args, kwargs or target, so that a
  // cache built from the graph (a compiled inference graph) can tell in O(1) that it is current.
  uint64_t version() const { return version_; }
  size_t size() const { return nodes_.size(); }
  Node* find(const std::string& name) const;
  std::vector<Node*> placeholders() const;
  Node* output_node() const;  // nullptr when the graph has none yet

  // Checks the contract (topological order, unique names, users, one output at the end, op
  // and argument sanity); throws pare::Error naming the node.
  void lint() const;
  // Removes nodes whose results nobody uses (never placeholders or the output). Returns the
  // number removed.
  size_t eliminate_dead_code();

  friend std::ostream& operator<<(std::ostream& stream, const Graph& graph);

 private:
  friend class Node;
  std::string unique_name(const std::string& wanted);
  void sort_users(Node* node);
  std::list<std::unique_ptr<Node>> nodes_;
  std::list<std::unique_ptr<Node>>::iterator insert_at_ = nodes_.end();
  std::unordered_set<std::string> names_;
  uint64_t version_ = 0;
};

// "[1, 3, 32, 32] float32", "([2, 5, 8] float32, [1, 2, 8] float32, ...)".
std::string format_meta(const std::vector<TensorMeta>& meta);

}  // namespace pare::ir
