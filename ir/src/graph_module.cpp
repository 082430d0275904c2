// GraphModule: the interpreter. The graph is compiled once into an execution plan (per node: its
// call_function kernel with parsed kwargs, where its inputs live, which values die after it);
// the plan is rebuilt whenever the graph's nodes, targets, args or kwargs change.
#include "pare/ir/graph_module.h"

#include <mutex>
#include <sstream>
#include <unordered_map>

#include "interpreter_functions.h"
#include "pare/autograd.h"
#include "pare/error.h"
#include "pare/inference/inference_session.h"
#include "pare/nn/lstm.h"

namespace pare::ir {

// ---- Value ----

const Tensor& Value::tensor() const {
  PARE_CHECK(is_tensor_, "Value: expected a tensor, got a tuple of ", items_.size(), " values");
  return tensor_;
}

const std::vector<Value>& Value::items() const {
  PARE_CHECK(!is_tensor_, "Value: expected a tuple, got a tensor of shape ",
             tensor_.defined() ? tensor_.sizes() : Shape{});
  return items_;
}

namespace {

void flatten_into(const Value& value, const std::string& path,
                  std::vector<std::pair<std::string, Tensor>>& out) {
  if (value.is_tensor()) {
    out.emplace_back(path, value.tensor());
    return;
  }
  const std::vector<Value>& items = value.items();
  for (size_t i = 0; i < items.size(); ++i)
    flatten_into(items[i], path.empty() ? std::to_string(i) : path + "." + std::to_string(i), out);
}

}  // namespace

std::vector<std::pair<std::string, Tensor>> Value::flatten() const {
  std::vector<std::pair<std::string, Tensor>> out;
  flatten_into(*this, "", out);
  return out;
}

// ---- The execution plan ----

namespace detail {

namespace {

constexpr size_t kNoSlot = static_cast<size_t>(-1);

// Where one positional argument's runtime value comes from: a node's slot, a list of sources,
// or nothing (a literal or None, which kernels read at compile time).
struct ArgSource {
  size_t slot = kNoSlot;
  std::vector<ArgSource> items;
  bool is_list = false;
};

struct PlannedNode {
  // What the plan was built from, to notice later edits of the graph.
  Node* node = nullptr;
  OpKind op = OpKind::placeholder;
  std::string target;
  std::vector<Argument> args;
  Kwargs kwargs;

  std::vector<ArgSource> sources;
  FunctionKernel kernel;                 // call_function
  std::vector<std::string> module_path;  // call_module: the module; get_attr: its owner
  std::string attribute_name;            // get_attr: the parameter or buffer
  std::vector<size_t> dead_after;        // slots nobody reads after this node
};

struct ExecutionPlan {
  std::vector<PlannedNode> nodes;
  size_t placeholder_count = 0;
};

std::vector<std::string> split_path(const std::string& qualified_name) {
  std::vector<std::string> parts;
  if (qualified_name.empty()) return parts;
  std::stringstream stream(qualified_name);
  std::string part;
  while (std::getline(stream, part, '.')) parts.push_back(part);
  return parts;
}

std::string node_label(const Node& node) {
  return str_cat("node '", node.name(), "' (", op_kind_name(node.op()), " ", node.target(), ")");
}

bool plan_matches(const ExecutionPlan& plan, const Graph& graph) {
  if (plan.nodes.size() != graph.size()) return false;
  std::vector<Node*> nodes = graph.nodes();
  for (size_t i = 0; i < nodes.size(); ++i) {
    const PlannedNode& planned = plan.nodes[i];
    const Node& node = *nodes[i];
    if (planned.node != nodes[i] || planned.op != node.op() || planned.target != node.target() ||
        planned.args != node.args() || planned.kwargs != node.kwargs())
      return false;
  }
  return true;
}

std::shared_ptr<const ExecutionPlan> build_plan(const Graph& graph) {
  auto plan = std::make_shared<ExecutionPlan>();
  std::vector<Node*> nodes = graph.nodes();
  std::unordered_map<const Node*, size_t> slot_of;
  std::vector<size_t> last_use(nodes.size(), kNoSlot);

  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& node = *nodes[i];
    PlannedNode planned;
    planned.node = nodes[i];
    planned.op = node.op();
    planned.target = node.target();
    planned.args = node.args();
    planned.kwargs = node.kwargs();
    std::function<ArgSource(const Argument&)> source_of = [&](const Argument& argument) {
      ArgSource source;
      if (argument.is_node()) {
        auto found = slot_of.find(argument.to_node());
        PARE_CHECK(found != slot_of.end(), node_label(node), ": uses '", argument.to_node()->name(),
                   "', which is not defined before it");
        source.slot = found->second;
        last_use[source.slot] = i;
      } else if (argument.is_list()) {
        source.is_list = true;
        for (const Argument& item : argument.to_list()) source.items.push_back(source_of(item));
      }
      return source;
    };
    for (const Argument& argument : node.args()) planned.sources.push_back(source_of(argument));
    try {
      switch (node.op()) {
        case OpKind::placeholder:
          ++plan->placeholder_count;
          break;
        case OpKind::get_attr: {
          planned.module_path = split_path(node.target());
          PARE_CHECK(!planned.module_path.empty(), "empty get_attr target");
          planned.attribute_name = planned.module_path.back();
          planned.module_path.pop_back();
          break;
        }
        case OpKind::call_module:
          planned.module_path = split_path(node.target());
          PARE_CHECK(node.kwargs().empty(), "call_module takes no keyword arguments");
          break;
        case OpKind::call_function:
          planned.kernel = compile_function(node);
          break;
        case OpKind::output:
          PARE_CHECK(node.args().size() == 1, "the output node must have one argument");
          break;
      }
    } catch (const std::exception& error) {
      throw Error(str_cat(node_label(node), ": ", error.what()));
    }
    slot_of[nodes[i]] = i;
    plan->nodes.push_back(std::move(planned));
  }
  // A value nobody reads dies right after its node; the others after their last reader.
  for (size_t slot = 0; slot < last_use.size(); ++slot)
    plan->nodes[last_use[slot] != kNoSlot ? last_use[slot] : slot].dead_after.push_back(slot);
  return plan;
}

Value gather(const ArgSource& source, const std::vector<Value>& values) {
  if (source.is_list) {
    std::vector<Value> items;
    items.reserve(source.items.size());
    for (const ArgSource& item : source.items) items.push_back(gather(item, values));
    return Value(std::move(items));
  }
  return source.slot == kNoSlot ? Value() : values[source.slot];
}

std::string describe_shapes(const std::vector<Value>& args) {
  std::string text = "[";
  for (size_t i = 0; i < args.size(); ++i) {
    text += i ? ", " : "";
    const Value& value = args[i];
    if (value.is_tensor()) {
      text += value.tensor().defined() ? str_cat(value.tensor().sizes()) : "undefined";
    } else if (value.items().empty()) {
      text += "None";
    } else {
      text += "(";
      const auto flat = value.flatten();
      for (size_t j = 0; j < flat.size(); ++j)
        text += str_cat(j ? ", " : "", flat[j].second.sizes());
      text += ")";
    }
  }
  return text + "]";
}

std::shared_ptr<nn::Module> walk(nn::Module& root, const std::vector<std::string>& path,
                                 const std::string& target) {
  std::shared_ptr<nn::Module> current = root.shared_from_this();
  for (const std::string& part : path) {
    std::shared_ptr<nn::Module> next = current->get_child(part);
    PARE_CHECK(next != nullptr, "GraphModule: no submodule '", target, "' in ", root.type_name(),
               " ('", part, "' is missing)");
    current = std::move(next);
  }
  return current;
}

Tensor read_attribute(nn::Module& owner, const std::string& name, const std::string& target) {
  if (owner.has_parameter(name)) return owner.get_parameter(name);
  if (owner.has_buffer(name)) return owner.get_buffer(name);
  throw Error(str_cat("GraphModule: no parameter or buffer '", target, "'"));
}

std::vector<TensorMeta> meta_of(const Value& value) {
  std::vector<TensorMeta> meta;
  for (const auto& [path, tensor] : value.flatten())
    meta.push_back(TensorMeta{tensor.sizes(), tensor.dtype()});
  return meta;
}

Value call_module(nn::Module& module, const std::vector<Value>& args) {
  if (auto* lstm = dynamic_cast<nn::LSTMImpl*>(&module)) {
    std::optional<nn::LSTMImpl::State> state;
    if (args.size() == 2) {
      const std::vector<Value>& pair = args[1].items();
      PARE_CHECK(pair.size() == 2, "LSTM: the state must be a pair (h_0, c_0)");
      state = nn::LSTMImpl::State{pair[0].tensor(), pair[1].tensor()};
    }
    PARE_CHECK(args.size() == 1 || args.size() == 2,
               "LSTM: expected (input) or (input, (h_0, c_0)), got ", args.size(), " arguments");
    auto [output, final_state] = (*lstm)(args[0].tensor(), state);
    return Value(std::vector<Value>{
        output, Value(std::vector<Value>{std::get<0>(final_state), std::get<1>(final_state)})});
  }
  PARE_CHECK(args.size() == 1, module.type_name(), ": expected one input tensor, got ", args.size(),
             " arguments");
  return Value(module.call(args[0].tensor()));
}

}  // namespace

struct ExecutionPlanCache {
  std::mutex mutex;
  std::shared_ptr<const ExecutionPlan> plan;
  uint64_t plan_version = 0;

  std::shared_ptr<const ExecutionPlan> get(const Graph& graph) {
    std::lock_guard<std::mutex> lock(mutex);
    // The version check is O(1); plan_matches stays as the guard when the graph changed.
    if (plan && plan_version == graph.version()) return plan;
    if (!plan || !plan_matches(*plan, graph)) plan = build_plan(graph);
    plan_version = graph.version();
    return plan;
  }
};

}  // namespace detail

// ---- GraphModule ----

GraphModule::GraphModule(std::shared_ptr<nn::Module> root, std::shared_ptr<Graph> graph)
    : root_(std::move(root)),
      graph_(std::move(graph)),
      plan_cache_(std::make_shared<detail::ExecutionPlanCache>()) {
  PARE_CHECK(root_ != nullptr, "GraphModule: the root module is null");
  PARE_CHECK(graph_ != nullptr, "GraphModule: the graph is null");
  // The compiled inference path, unless switched off (pare::inference::disable_by_default).
  forward_backend_ = inference::default_session();
}

std::shared_ptr<nn::Module> GraphModule::module(const std::string& qualified_name) const {
  return detail::walk(*root_, detail::split_path(qualified_name), qualified_name);
}

Tensor GraphModule::attribute(const std::string& qualified_name) const {
  std::vector<std::string> path = detail::split_path(qualified_name);
  PARE_CHECK(!path.empty(), "GraphModule: empty attribute name");
  const std::string name = path.back();
  path.pop_back();
  return detail::read_attribute(*detail::walk(*root_, path, qualified_name), name, qualified_name);
}

Value GraphModule::forward(const std::vector<Tensor>& inputs) {
  if (forward_backend_) {
    if (!root_->is_training() && !grad_mode_enabled()) {
      if (std::optional<Value> result = forward_backend_->forward(*this, inputs)) return *result;
    } else {
      forward_backend_->invalidate();
    }
  }
  return run(inputs, false);
}

Value GraphModule::interpret(const std::vector<Tensor>& inputs) { return run(inputs, false); }

Value GraphModule::interpret(const std::vector<Tensor>& inputs, const NodeVisitor& visit) {
  return run(inputs, false, &visit);
}

Value GraphModule::run_node(const Node& node, const std::vector<Value>& args) {
  try {
    switch (node.op()) {
      case OpKind::call_module:
        return detail::call_module(*module(node.target()), args);
      case OpKind::call_function:
        return detail::compile_function(node)(args);
      case OpKind::get_attr:
        return Value(attribute(node.target()));
      default:
        throw Error("only call_module, call_function and get_attr nodes can run on their own");
    }
  } catch (const std::exception& error) {
    throw Error(str_cat(detail::node_label(node), ", input shapes ", detail::describe_shapes(args),
                        ": ", error.what()));
  }
}

void GraphModule::record_meta(const std::vector<Tensor>& inputs) { run(inputs, true); }

Value GraphModule::run(const std::vector<Tensor>& inputs, bool record, const NodeVisitor* visit) {
  std::shared_ptr<const detail::ExecutionPlan> plan = plan_cache_->get(*graph_);
  PARE_CHECK(inputs.size() == plan->placeholder_count, "GraphModule::forward: expected ",
             plan->placeholder_count, " input tensor(s) (one per placeholder), got ",
             inputs.size());
  std::vector<Value> values(plan->nodes.size());
  std::vector<Value> args;
  size_t next_input = 0;
  Value result;
  for (size_t i = 0; i < plan->nodes.size(); ++i) {
    const detail::PlannedNode& planned = plan->nodes[i];
    args.clear();
    for (const detail::ArgSource& source : planned.sources)
      args.push_back(detail::gather(source, values));
    try {
      switch (planned.op) {
        case OpKind::placeholder:
          values[i] = Value(inputs[next_input++]);
          break;
        case OpKind::get_attr:
          values[i] = Value(
              detail::read_attribute(*detail::walk(*root_, planned.module_path, planned.target),
                                     planned.attribute_name, planned.target));
          break;
        case OpKind::call_module:
          values[i] =
              detail::call_module(*detail::walk(*root_, planned.module_path, planned.target), args);
          break;
        case OpKind::call_function:
          values[i] = planned.kernel(args);
          break;
        case OpKind::output:
          result = args[0];
          break;
      }
    } catch (const std::exception& error) {
      throw Error(str_cat(detail::node_label(*planned.node), ", input shapes ",
                          detail::describe_shapes(args), ": ", error.what()));
    }
    if (record && planned.op != OpKind::output) {
      planned.node->meta = detail::meta_of(values[i]);
      planned.node->produces_tuple = !values[i].is_tensor();
    }
    if (visit != nullptr && planned.op != OpKind::output) (*visit)(*planned.node, values[i]);
    for (size_t slot : planned.dead_after) values[slot] = Value();
  }
  return result;
}

}  // namespace pare::ir
