// Graph and Node: construction, use lists, erasure, lint, dead-code elimination, printing.
#include "pare/ir/graph.h"

#include <algorithm>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "pare/error.h"

namespace pare::ir {

const char* op_kind_name(OpKind op) {
  switch (op) {
    case OpKind::placeholder:
      return "placeholder";
    case OpKind::call_module:
      return "call_module";
    case OpKind::call_function:
      return "call_function";
    case OpKind::get_attr:
      return "get_attr";
    case OpKind::output:
      return "output";
  }
  return "unknown";
}

bool parse_op_kind(const std::string& name, OpKind& op) {
  for (OpKind candidate : {OpKind::placeholder, OpKind::call_module, OpKind::call_function,
                           OpKind::get_attr, OpKind::output}) {
    if (name == op_kind_name(candidate)) {
      op = candidate;
      return true;
    }
  }
  return false;
}

// ---- Argument ----

Argument::Argument(const std::vector<int64_t>& ints) {
  List list;
  for (int64_t value : ints) list.emplace_back(value);
  value_ = std::move(list);
}

bool Argument::to_bool(const std::string& what) const {
  PARE_CHECK(is_bool(), what, ": expected a bool, got ", *this);
  return std::get<bool>(value_);
}

int64_t Argument::to_int(const std::string& what) const {
  PARE_CHECK(is_int(), what, ": expected an integer, got ", *this);
  return std::get<int64_t>(value_);
}

double Argument::to_double(const std::string& what) const {
  if (is_int()) return static_cast<double>(std::get<int64_t>(value_));
  PARE_CHECK(is_double(), what, ": expected a number, got ", *this);
  return std::get<double>(value_);
}

const std::string& Argument::to_string(const std::string& what) const {
  PARE_CHECK(is_string(), what, ": expected a string, got ", *this);
  return std::get<std::string>(value_);
}

Node* Argument::to_node(const std::string& what) const {
  PARE_CHECK(is_node(), what, ": expected a node reference, got ", *this);
  return std::get<Node*>(value_);
}

const Argument::List& Argument::to_list(const std::string& what) const {
  PARE_CHECK(is_list(), what, ": expected a list, got ", *this);
  return std::get<List>(value_);
}

std::vector<int64_t> Argument::to_ints(const std::string& what, size_t expand_to) const {
  if (is_int() && expand_to > 0) return std::vector<int64_t>(expand_to, to_int(what));
  std::vector<int64_t> values;
  for (const Argument& item : to_list(what)) values.push_back(item.to_int(what));
  PARE_CHECK(expand_to == 0 || values.size() == expand_to || values.size() == 1, what,
             ": expected ", expand_to, " integers, got ", *this);
  if (expand_to > 0 && values.size() == 1) values.assign(expand_to, values[0]);
  return values;
}

void Argument::replace_node(Node* from, Node* to) {
  if (is_node()) {
    if (std::get<Node*>(value_) == from) value_ = to;
  } else if (is_list()) {
    for (Argument& item : std::get<List>(value_)) item.replace_node(from, to);
  }
}

std::ostream& operator<<(std::ostream& stream, const Argument& argument) {
  std::visit(
      [&](const auto& value) {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          stream << "None";
        } else if constexpr (std::is_same_v<T, bool>) {
          stream << (value ? "True" : "False");
        } else if constexpr (std::is_same_v<T, std::string>) {
          stream << '"' << value << '"';
        } else if constexpr (std::is_same_v<T, Node*>) {
          stream << '%' << value->name();
        } else if constexpr (std::is_same_v<T, Argument::List>) {
          stream << '[';
          for (size_t i = 0; i < value.size(); ++i) stream << (i ? ", " : "") << value[i];
          stream << ']';
        } else {
          stream << value;
        }
      },
      argument.value_);
  return stream;
}

// ---- Node ----

const Argument* Node::kwarg(const std::string& key) const {
  for (const auto& [name, value] : kwargs_)
    if (name == key) return &value;
  return nullptr;
}

std::vector<Node*> Node::input_nodes() const {
  std::vector<Node*> inputs;
  auto add = [&](Node* node) {
    if (std::find(inputs.begin(), inputs.end(), node) == inputs.end()) inputs.push_back(node);
  };
  for (const Argument& argument : args_) argument.for_each_node(add);
  for (const auto& [key, argument] : kwargs_) argument.for_each_node(add);
  return inputs;
}

void Node::refresh_users_of_inputs(const std::vector<Node*>& before, bool is_last) {
  ++graph_->version_;  // every change of args or kwargs, and every new node, passes here
  for (Node* input : before) std::erase(input->users_, this);
  for (Node* input : input_nodes()) {
    input->users_.push_back(this);
    // Users stay in graph order so that passes see them deterministically; a node appended at
    // the end is already in order, which keeps building a graph linear in its size.
    if (!is_last) graph_->sort_users(input);
  }
}

void Node::set_target(std::string target) {
  target_ = std::move(target);
  ++graph_->version_;
}

void Node::set_args(std::vector<Argument> args) {
  std::vector<Node*> before = input_nodes();
  args_ = std::move(args);
  refresh_users_of_inputs(before);
}

void Node::set_kwargs(Kwargs kwargs) {
  std::vector<Node*> before = input_nodes();
  kwargs_ = std::move(kwargs);
  refresh_users_of_inputs(before);
}

void Node::set_kwarg(const std::string& key, Argument value) {
  Kwargs updated = kwargs_;
  bool found = false;
  for (auto& [name, existing] : updated) {
    if (name == key) {
      existing = value;
      found = true;
    }
  }
  if (!found) updated.emplace_back(key, std::move(value));
  set_kwargs(std::move(updated));
}

std::vector<Node*> Node::replace_all_uses_with(Node* replacement) {
  PARE_CHECK(replacement != this, "replace_all_uses_with: node '", name_,
             "' cannot replace itself");
  std::vector<Node*> changed = users_;
  for (Node* user : changed) {
    std::vector<Argument> args = user->args_;
    for (Argument& argument : args) argument.replace_node(this, replacement);
    Kwargs kwargs = user->kwargs_;
    for (auto& [key, argument] : kwargs) argument.replace_node(this, replacement);
    std::vector<Node*> before = user->input_nodes();
    user->args_ = std::move(args);
    user->kwargs_ = std::move(kwargs);
    user->refresh_users_of_inputs(before);
  }
  return changed;
}

// ---- Graph ----

std::string Graph::unique_name(const std::string& wanted) {
  std::string base = wanted.empty() ? "node" : wanted;
  for (char& c : base)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) c = '_';
  std::string candidate = base;
  for (int suffix = 1; names_.count(candidate); ++suffix)
    candidate = base + "_" + std::to_string(suffix);
  names_.insert(candidate);
  return candidate;
}

Node* Graph::create_node(OpKind op, const std::string& target, std::vector<Argument> args,
                         Kwargs kwargs, const std::string& name) {
  std::string node_name = unique_name(name.empty() ? target : name);
  std::unique_ptr<Node> node(new Node(this, op, node_name, target));
  Node* raw = node.get();
  nodes_.insert(insert_at_, std::move(node));
  raw->args_ = std::move(args);
  raw->kwargs_ = std::move(kwargs);
  raw->refresh_users_of_inputs({}, insert_at_ == nodes_.end());
  return raw;
}

Node* Graph::placeholder(const std::string& name) {
  return create_node(OpKind::placeholder, name, {}, {}, name);
}

Node* Graph::get_attr(const std::string& target, const std::string& name) {
  return create_node(OpKind::get_attr, target, {}, {}, name);
}

Node* Graph::call_module(const std::string& target, std::vector<Argument> args, Kwargs kwargs,
                         const std::string& name) {
  return create_node(OpKind::call_module, target, std::move(args), std::move(kwargs), name);
}

Node* Graph::call_function(const std::string& target, std::vector<Argument> args, Kwargs kwargs,
                           const std::string& name) {
  return create_node(OpKind::call_function, target, std::move(args), std::move(kwargs), name);
}

Node* Graph::output(Argument result) {
  PARE_CHECK(output_node() == nullptr, "Graph::output: the graph already has an output node");
  return create_node(OpKind::output, "output", {std::move(result)}, {}, "output");
}

void Graph::erase_node(Node* node) {
  PARE_CHECK(node->users_.empty(), "Graph::erase_node: node '", node->name(), "' still has ",
             node->users_.size(), " user(s), e.g. '", node->users_.front()->name(), "'");
  auto it = std::find_if(nodes_.begin(), nodes_.end(),
                         [&](const std::unique_ptr<Node>& owned) { return owned.get() == node; });
  PARE_CHECK(it != nodes_.end(), "Graph::erase_node: node '", node->name(),
             "' is not in this graph");
  PARE_CHECK(it != insert_at_, "Graph::erase_node: cannot erase the insertion anchor '",
             node->name(), "'");
  // Only after every check, so that a refused erase leaves the use lists intact.
  for (Node* input : node->input_nodes()) std::erase(input->users_, node);
  names_.erase(node->name());
  nodes_.erase(it);
  ++version_;
}

void Graph::sort_users(Node* node) {
  std::unordered_map<const Node*, size_t> position;
  size_t index = 0;
  for (const auto& owned : nodes_) position[owned.get()] = index++;
  std::sort(node->users_.begin(), node->users_.end(),
            [&](Node* a, Node* b) { return position[a] < position[b]; });
  node->users_.erase(std::unique(node->users_.begin(), node->users_.end()), node->users_.end());
}

Graph::InsertionPoint::InsertionPoint(Graph& graph, Node* anchor, bool after)
    : graph_(graph), previous_(graph.insert_at_) {
  auto it = std::find_if(graph.nodes_.begin(), graph.nodes_.end(),
                         [&](const std::unique_ptr<Node>& owned) { return owned.get() == anchor; });
  PARE_CHECK(it != graph.nodes_.end(), "InsertionPoint: node '", anchor->name(),
             "' is not in this graph");
  graph.insert_at_ = after ? std::next(it) : it;
}

Graph::InsertionPoint::~InsertionPoint() { graph_.insert_at_ = previous_; }

std::vector<Node*> Graph::nodes() const {
  std::vector<Node*> result;
  result.reserve(nodes_.size());
  for (const auto& owned : nodes_) result.push_back(owned.get());
  return result;
}

Node* Graph::find(const std::string& name) const {
  for (const auto& owned : nodes_)
    if (owned->name() == name) return owned.get();
  return nullptr;
}

std::vector<Node*> Graph::placeholders() const {
  std::vector<Node*> result;
  for (const auto& owned : nodes_)
    if (owned->op() == OpKind::placeholder) result.push_back(owned.get());
  return result;
}

Node* Graph::output_node() const {
  for (const auto& owned : nodes_)
    if (owned->op() == OpKind::output) return owned.get();
  return nullptr;
}

void Graph::lint() const {
  std::unordered_set<const Node*> seen;
  std::unordered_set<std::string> names;
  bool output_seen = false;
  for (const auto& owned : nodes_) {
    const Node* node = owned.get();
    PARE_CHECK(node->graph_ == this, "lint: node '", node->name(), "' belongs to another graph");
    PARE_CHECK(names.insert(node->name()).second, "lint: duplicate node name '", node->name(), "'");
    PARE_CHECK(!output_seen, "lint: node '", node->name(), "' comes after the output node");
    for (Node* input : node->input_nodes()) {
      PARE_CHECK(seen.count(input), "lint: node '", node->name(), "' uses '", input->name(),
                 "', which is not defined before it");
      PARE_CHECK(std::count(input->users_.begin(), input->users_.end(), node) == 1, "lint: '",
                 input->name(), "' does not list its user '", node->name(), "'");
    }
    for (const Node* user : node->users_) {
      auto inputs = user->input_nodes();
      PARE_CHECK(std::find(inputs.begin(), inputs.end(), node) != inputs.end(), "lint: '",
                 node->name(), "' lists '", user->name(), "' as a user, but it does not use it");
    }
    switch (node->op()) {
      case OpKind::placeholder:
      case OpKind::get_attr:
        PARE_CHECK(node->args().empty() && node->kwargs().empty(),
                   "lint: ", op_kind_name(node->op()), " node '", node->name(), "' has arguments");
        PARE_CHECK(!node->target().empty(), "lint: node '", node->name(), "' has no target");
        break;
      case OpKind::call_module:
      case OpKind::call_function:
        PARE_CHECK(!node->target().empty(), "lint: node '", node->name(), "' has no target");
        break;
      case OpKind::output:
        PARE_CHECK(node->args().size() == 1, "lint: the output node must have one argument");
        output_seen = true;
        break;
    }
    seen.insert(node);
  }
  PARE_CHECK(output_seen, "lint: the graph has no output node");
}

size_t Graph::eliminate_dead_code() {
  size_t removed = 0;
  // Walk backwards so that a chain of dead nodes goes in one pass. The walk runs over a copy of
  // the order: erasing through a reverse_iterator would free the node its base() points at.
  std::vector<Node*> order = nodes();
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* node = *it;
    bool removable =
        node->users_.empty() && node->op() != OpKind::placeholder && node->op() != OpKind::output;
    if (!removable) continue;
    erase_node(node);
    ++removed;
  }
  return removed;
}

std::string format_meta(const std::vector<TensorMeta>& meta) {
  std::ostringstream stream;
  if (meta.size() != 1) stream << '(';
  for (size_t i = 0; i < meta.size(); ++i)
    stream << (i ? ", " : "") << str_cat(meta[i].shape) << ' ' << dtype_name(meta[i].dtype);
  if (meta.size() != 1) stream << ')';
  return stream.str();
}

std::ostream& operator<<(std::ostream& stream, const Graph& graph) {
  for (const auto& owned : graph.nodes_) {
    const Node& node = *owned;
    stream << '%' << node.name() << " = " << op_kind_name(node.op()) << '[' << node.target()
           << "](";
    bool first = true;
    for (const Argument& argument : node.args()) {
      stream << (first ? "" : ", ") << argument;
      first = false;
    }
    for (const auto& [key, argument] : node.kwargs()) {
      stream << (first ? "" : ", ") << key << '=' << argument;
      first = false;
    }
    stream << ')';
    if (!node.meta.empty()) stream << " : " << format_meta(node.meta);
    stream << '\n';
  }
  return stream;
}

}  // namespace pare::ir
