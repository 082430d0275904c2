// The tracer: graphs recorded from C++ models (printed lines, node ops and targets), and every
// traced graph re-run on a fresh input against the eager model.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "pare/ir/tracer.h"
#include "pare/pare.h"
#include "test_util.h"

using pare::Tensor;
using pare::ir::GraphModule;
using pare::ir::Node;
using pare::ir::OpKind;
using pare::ir::Value;
namespace nn = pare::nn;

namespace {

using pare::testing::contains;
using pare::testing::error_of;
using pare::testing::random_tensor;

std::string printed(const GraphModule& graph_module) {
  std::ostringstream stream;
  stream << graph_module.graph();
  return stream.str();
}

// "op target" for every node, in order.
std::vector<std::string> ops_and_targets(const GraphModule& graph_module) {
  std::vector<std::string> result;
  for (const Node* node : graph_module.graph().nodes())
    result.push_back(std::string(pare::ir::op_kind_name(node->op())) + " " + node->target());
  return result;
}

std::vector<std::string> function_targets(const GraphModule& graph_module) {
  std::vector<std::string> result;
  for (const Node* node : graph_module.graph().nodes())
    if (node->op() == OpKind::call_function) result.push_back(node->target());
  return result;
}

// Same structure, same shapes, every value within 1e-5.
void check_same(const Value& actual, const Value& expected) {
  const auto got = actual.flatten();
  const auto want = expected.flatten();
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(want[i].first);
    CHECK(got[i].first == want[i].first);
    REQUIRE(got[i].second.sizes() == want[i].second.sizes());
    CHECK(pare::testing::max_abs_diff(pare::to_float_vector(got[i].second),
                                      pare::to_float_vector(want[i].second)) <= 1e-5);
  }
}

// The CNN: a conv layer, functional relu / max_pool2d / flatten, a Linear head.
struct SmallCnn : nn::Module {
  SmallCnn() {
    conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(1, 4, 3).padding(1)));
    fc = register_module("fc", nn::Linear(4 * 4 * 4, 10));
  }
  Tensor forward(const Tensor& x) {
    Tensor h = pare::max_pool2d(pare::relu(conv1(x)), 2);
    return fc(pare::flatten(h, 1));
  }
  nn::Conv2d conv1{nullptr};
  nn::Linear fc{nullptr};
};

struct SharedLayer : nn::Module {
  SharedLayer() {
    fc = register_module("fc", nn::Linear(4, 4));
    head = register_module("head", nn::Linear(4, 2));
  }
  Tensor forward(const Tensor& x) { return head(pare::tanh(fc(pare::relu(fc(x))))); }
  nn::Linear fc{nullptr};
  nn::Linear head{nullptr};
};

struct TwoInTwoOut : nn::Module {
  TwoInTwoOut() {
    left = register_module("left", nn::Linear(3, 4));
    right = register_module("right", nn::Linear(5, 4));
  }
  std::tuple<Tensor, std::tuple<Tensor, Tensor>> forward(const Tensor& a, const Tensor& b) {
    Tensor l = left(a);
    Tensor r = right(b);
    return {l + r, {pare::sigmoid(l), r * 0.5}};
  }
  nn::Linear left{nullptr};
  nn::Linear right{nullptr};
};

struct LstmHead : nn::Module {
  LstmHead() {
    lstm = register_module("lstm", nn::LSTM(nn::LSTMOptions(3, 5).batch_first(true)));
    fc = register_module("fc", nn::Linear(5, 2));
  }
  std::tuple<Tensor, Tensor> forward(const Tensor& x) {
    auto [output, state] = lstm(x);
    Tensor last_hidden = std::get<0>(state).select(0, -1);
    Tensor sequence = fc(output);
    Tensor first_cell = std::get<1>(state).select(0, 0);
    return {sequence, fc(last_hidden + first_cell)};
  }
  nn::LSTM lstm{nullptr};
  nn::Linear fc{nullptr};
};

struct DirectParameters : nn::Module {
  DirectParameters() {
    fc = register_module("fc", nn::Linear(4, 3));
    scale = register_parameter("scale", random_tensor({3}, 7));
    register_buffer("shift", random_tensor({3}, 8));
  }
  Tensor forward(const Tensor& x) {
    Tensor y = pare::linear(x, fc->weight(), fc->bias()) * scale;
    return pare::add(y, get_buffer("shift"), 2.0);
  }
  nn::Linear fc{nullptr};
  Tensor scale;
};

struct WithConstant : nn::Module {
  Tensor forward(const Tensor& x) {
    Tensor offsets = pare::arange(4.0);
    return pare::relu(x - offsets) * 3.0;
  }
};

struct ViewMethods : nn::Module {
  Tensor forward(const Tensor& x) {                                 // x: [2, 3, 4]
    Tensor a = x.reshape({2, 12}).view({2, 3, 4}).transpose(1, 2);  // [2, 4, 3]
    Tensor b = a.select(2, 1).unsqueeze(1).squeeze(1);              // [2, 4]
    Tensor c = a.permute({0, 2, 1}).contiguous().flatten(1);        // [2, 12]
    Tensor d = c.slice(1, 2, 10, 2).narrow(1, 1, 2);                // [2, 2]
    Tensor e = x.select(0, 0).t().squeeze();                        // [4, 3]
    Tensor f = e.select(1, 2).unsqueeze(0).reshape({2, 2});         // [2, 2]
    Tensor g = b.narrow(1, 0, 2);                                   // [2, 2]
    return g + d + f;
  }
};

}  // namespace

TEST_CASE("an MLP in a Sequential becomes one call_module node per layer") {
  pare::manual_seed(1);
  nn::Sequential mlp(nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 3));
  GraphModule graph_module = pare::ir::trace(mlp.ptr(), {random_tensor({2, 4}, 1)});
  CHECK(printed(graph_module) ==
        "%x = placeholder[x]() : [2, 4] float32\n"
        "%0 = call_module[0](%x) : [2, 8] float32\n"
        "%1 = call_module[1](%0) : [2, 8] float32\n"
        "%2 = call_module[2](%1) : [2, 3] float32\n"
        "%output = output[output](%2)\n");
  Tensor x = random_tensor({5, 4}, 2);  // another batch size than the example
  check_same(graph_module.forward({x}), mlp(x));
  // The graph module shares the model's layers.
  CHECK(graph_module.module("0").get() == mlp->named_children()[0].second.get());
}

TEST_CASE("the issue's CNN: functional relu, max_pool2d and flatten become call_function nodes") {
  pare::manual_seed(2);
  auto net = std::make_shared<SmallCnn>();
  GraphModule graph_module = pare::ir::trace(net, {random_tensor({1, 1, 8, 8}, 3)});
  CHECK(printed(graph_module) ==
        "%x = placeholder[x]() : [1, 1, 8, 8] float32\n"
        "%conv1 = call_module[conv1](%x) : [1, 4, 8, 8] float32\n"
        "%relu = call_function[relu](%conv1) : [1, 4, 8, 8] float32\n"
        "%max_pool2d = call_function[max_pool2d](%relu, kernel_size=[2, 2], stride=[2, 2], "
        "padding=[0, 0], dilation=[1, 1], ceil_mode=False) : [1, 4, 4, 4] float32\n"
        "%flatten = call_function[flatten](%max_pool2d, start_dim=1, end_dim=-1) : [1, 64] "
        "float32\n"
        "%fc = call_module[fc](%flatten) : [1, 10] float32\n"
        "%output = output[output](%fc)\n");
  Tensor x = random_tensor({3, 1, 8, 8}, 4);
  check_same(graph_module.forward({x}), net->forward(x));
}

TEST_CASE("a submodule called twice gives two nodes with the same target") {
  pare::manual_seed(3);
  auto net = std::make_shared<SharedLayer>();
  GraphModule graph_module = pare::ir::trace(net, {random_tensor({2, 4}, 5)});
  CHECK(ops_and_targets(graph_module) ==
        std::vector<std::string>{"placeholder x", "call_module fc", "call_function relu",
                                 "call_module fc", "call_function tanh", "call_module head",
                                 "output output"});
  CHECK(graph_module.graph().find("fc_1") != nullptr);
  Tensor x = random_tensor({3, 4}, 6);
  check_same(graph_module.forward({x}), net->forward(x));
}

TEST_CASE("nested Sequentials are named by their qualified paths") {
  pare::manual_seed(4);
  nn::Sequential inner(nn::Linear(6, 6), nn::Sequential(nn::Tanh()));
  nn::Sequential model(nn::Sequential(nn::Linear(3, 6), nn::ReLU()), inner, nn::Linear(6, 2));
  GraphModule graph_module = pare::ir::trace(model.ptr(), {random_tensor({2, 3}, 7)});
  CHECK(ops_and_targets(graph_module) ==
        std::vector<std::string>{"placeholder x", "call_module 0.0", "call_module 0.1",
                                 "call_module 1.0", "call_module 1.1.0", "call_module 2",
                                 "output output"});
  CHECK(graph_module.graph().nodes()[4]->name() == "1_1_0");
  Tensor x = random_tensor({4, 3}, 8);
  check_same(graph_module.forward({x}), model(x));
}

TEST_CASE("two inputs and a nested tuple of outputs") {
  pare::manual_seed(5);
  auto net = std::make_shared<TwoInTwoOut>();
  GraphModule graph_module =
      pare::ir::trace(net, {random_tensor({2, 3}, 9), random_tensor({2, 5}, 10)});
  CHECK(printed(graph_module) ==
        "%x0 = placeholder[x0]() : [2, 3] float32\n"
        "%x1 = placeholder[x1]() : [2, 5] float32\n"
        "%left = call_module[left](%x0) : [2, 4] float32\n"
        "%right = call_module[right](%x1) : [2, 4] float32\n"
        "%add = call_function[add](%left, %right) : [2, 4] float32\n"
        "%sigmoid = call_function[sigmoid](%left) : [2, 4] float32\n"
        "%mul = call_function[mul](%right, other=0.5) : [2, 4] float32\n"
        "%output = output[output]([%add, [%sigmoid, %mul]])\n");
  Tensor a = random_tensor({3, 3}, 11);
  Tensor b = random_tensor({3, 5}, 12);
  Value result = graph_module.forward({a, b});
  check_same(result, pare::ir::to_value(net->forward(a, b)));
  CHECK(result.items()[1].items().size() == 2);
  CHECK_THROWS_WITH_AS(graph_module.forward({a}),
                       doctest::Contains("expected 2 input tensor(s) (one per placeholder), got 1"),
                       pare::Error);

  pare::ir::TraceOptions options;
  options.input_names = {"image", "features"};
  GraphModule named =
      pare::ir::trace(net, {random_tensor({2, 3}, 9), random_tensor({2, 5}, 10)}, options);
  CHECK(named.graph().placeholders()[1]->name() == "features");
}

TEST_CASE("LSTM -> Linear: the LSTM's outputs are reached through getitem nodes") {
  pare::manual_seed(6);
  auto net = std::make_shared<LstmHead>();
  GraphModule graph_module = pare::ir::trace(net, {random_tensor({2, 4, 3}, 13)});
  CHECK(ops_and_targets(graph_module) ==
        std::vector<std::string>{"placeholder x", "call_module lstm", "call_function getitem",
                                 "call_function getitem", "call_function select",
                                 "call_function getitem", "call_module fc", "call_function getitem",
                                 "call_function select", "call_function add", "call_module fc",
                                 "output output"});
  const Node* lstm = graph_module.graph().find("lstm");
  CHECK(lstm->produces_tuple);
  CHECK(pare::ir::format_meta(lstm->meta) ==
        "([2, 4, 5] float32, [1, 2, 5] float32, [1, 2, 5] float32)");
  // getitem(lstm, 1) is the (h_n, c_n) pair; h_n is getitem(getitem(lstm, 1), 0).
  std::ostringstream lines;
  lines << graph_module.graph();
  CHECK(contains(lines.str(),
                 "%getitem = call_function[getitem](%lstm, 1) : ([1, 2, 5] float32, "
                 "[1, 2, 5] float32)\n"));
  CHECK(contains(lines.str(), "%getitem_1 = call_function[getitem](%getitem, 0) : [1, 2, 5]"));
  CHECK(contains(lines.str(), "%getitem_2 = call_function[getitem](%lstm, 0) : [2, 4, 5]"));
  CHECK(contains(lines.str(), "%getitem_3 = call_function[getitem](%getitem, 1) : [1, 2, 5]"));
  CHECK(contains(lines.str(), "%fc = call_module[fc](%getitem_2)"));
  Tensor x = random_tensor({3, 6, 3}, 14);
  check_same(graph_module.forward({x}), pare::ir::to_value(net->forward(x)));
}

TEST_CASE("an LSTM given a state and returned whole keeps PyTorch's call shape") {
  struct Stateful : nn::Module {
    Stateful() { lstm = register_module("lstm", nn::LSTM(nn::LSTMOptions(2, 3))); }
    std::tuple<Tensor, std::tuple<Tensor, Tensor>> forward(const Tensor& x, const Tensor& h0,
                                                           const Tensor& c0) {
      return lstm(x, nn::LSTMImpl::State{h0, c0});
    }
    nn::LSTM lstm{nullptr};
  };
  pare::manual_seed(7);
  auto net = std::make_shared<Stateful>();
  std::vector<Tensor> example{random_tensor({4, 1, 2}, 15), random_tensor({1, 1, 3}, 16),
                              random_tensor({1, 1, 3}, 17)};
  GraphModule graph_module = pare::ir::trace(net, example);
  const Node* lstm = graph_module.graph().find("lstm");
  std::ostringstream args;
  args << lstm->args()[0] << " " << lstm->args()[1];
  CHECK(args.str() == "%x0 [%x1, %x2]");
  CHECK(graph_module.graph().output_node()->args()[0].is_list());
  std::vector<Tensor> inputs{random_tensor({5, 2, 2}, 18), random_tensor({1, 2, 3}, 19),
                             random_tensor({1, 2, 3}, 20)};
  check_same(graph_module.forward(inputs),
             pare::ir::to_value(net->forward(inputs[0], inputs[1], inputs[2])));
}

TEST_CASE("parameters and buffers used directly become get_attr nodes") {
  pare::manual_seed(8);
  auto net = std::make_shared<DirectParameters>();
  GraphModule graph_module = pare::ir::trace(net, {random_tensor({2, 4}, 21)});
  CHECK(printed(graph_module) ==
        "%x = placeholder[x]() : [2, 4] float32\n"
        "%fc_weight = get_attr[fc.weight]() : [3, 4] float32\n"
        "%fc_bias = get_attr[fc.bias]() : [3] float32\n"
        "%linear = call_function[linear](%x, %fc_weight, %fc_bias) : [2, 3] float32\n"
        "%scale = get_attr[scale]() : [3] float32\n"
        "%mul = call_function[mul](%linear, %scale) : [2, 3] float32\n"
        "%shift = get_attr[shift]() : [3] float32\n"
        "%add = call_function[add](%mul, %shift, alpha=2) : [2, 3] float32\n"
        "%output = output[output](%add)\n");
  Tensor x = random_tensor({3, 4}, 22);
  check_same(graph_module.forward({x}), net->forward(x));
  // get_attr reads the current value: a changed parameter shows up in the next forward.
  {
    pare::NoGradGuard no_grad;
    net->scale.mul_(2.0);
  }
  check_same(graph_module.forward({x}), net->forward(x));
}

TEST_CASE("a tensor created in forward becomes a _tensor_constant buffer") {
  auto net = std::make_shared<WithConstant>();
  GraphModule graph_module = pare::ir::trace(net, {random_tensor({2, 4}, 23)});
  CHECK(ops_and_targets(graph_module) ==
        std::vector<std::string>{"placeholder x", "get_attr _tensor_constant0", "call_function sub",
                                 "call_function relu", "call_function mul", "output output"});
  REQUIRE(net->has_buffer("_tensor_constant0"));
  CHECK(pare::to_float_vector(net->get_buffer("_tensor_constant0")) ==
        std::vector<float>{0, 1, 2, 3});
  Tensor x = random_tensor({3, 4}, 24) * 4.0;
  check_same(graph_module.forward({x}), net->forward(x));
  // Tracing again takes the next free name.
  GraphModule again = pare::ir::trace(net, {random_tensor({2, 4}, 23)});
  CHECK(again.graph().nodes()[1]->target() == "_tensor_constant1");
}

TEST_CASE("tensor view methods called in forward are recorded and replayed") {
  auto net = std::make_shared<ViewMethods>();
  GraphModule graph_module = pare::ir::trace(net, {random_tensor({2, 3, 4}, 25)});
  CHECK(function_targets(graph_module) ==
        std::vector<std::string>{"reshape",   "reshape", "transpose",  "select",  "unsqueeze",
                                 "squeeze",   "permute", "contiguous", "flatten", "slice",
                                 "narrow",    "select",  "t",          "squeeze", "select",
                                 "unsqueeze", "reshape", "narrow",     "add",     "add"});
  const Node* transpose = graph_module.graph().find("transpose");
  CHECK(transpose->kwargs() == pare::ir::Kwargs{{"dim0", 1}, {"dim1", 2}});
  const Node* slice = graph_module.graph().find("slice");
  CHECK(slice->kwargs() == pare::ir::Kwargs{{"dim", 1}, {"start", 2}, {"end", 10}, {"step", 2}});
  const Node* reshape = graph_module.graph().find("reshape");
  CHECK(*reshape->kwarg("shape") == pare::ir::Argument(std::vector<int64_t>{2, 12}));
  Tensor x = random_tensor({2, 3, 4}, 26);
  check_same(graph_module.forward({x}), net->forward(x));
}

TEST_CASE("a bare layer traces through its forward: its own functional op and parameters") {
  pare::manual_seed(11);
  nn::Linear linear(4, 2);
  GraphModule graph_module = pare::ir::trace(linear.ptr(), {random_tensor({1, 4}, 38)});
  CHECK(ops_and_targets(graph_module) ==
        std::vector<std::string>{"placeholder x", "get_attr weight", "get_attr bias",
                                 "call_function linear", "output output"});
  Tensor x = random_tensor({3, 4}, 39);
  check_same(graph_module.forward({x}), linear(x));
}

TEST_CASE("ops inside layers and inside other ops are not recorded twice") {
  // Linear on a 3-d input reshapes internally; LayerNorm and the loss-free head add nothing.
  pare::manual_seed(9);
  nn::Sequential model(nn::Linear(4, 6), nn::LayerNorm(nn::LayerNormOptions({6})), nn::GELU(),
                       nn::Flatten());
  GraphModule graph_module = pare::ir::trace(model.ptr(), {random_tensor({2, 3, 4}, 27)});
  CHECK(ops_and_targets(graph_module) ==
        std::vector<std::string>{"placeholder x", "call_module 0", "call_module 1", "call_module 2",
                                 "call_module 3", "output output"});
  // Functional flatten calls Tensor::flatten, which must stay silent inside it.
  struct FunctionalOnly : nn::Module {
    Tensor forward(const Tensor& x) {
      return pare::log_softmax(pare::reshape(pare::flatten(x, 1), {-1, 6}), 1);
    }
  };
  GraphModule functional =
      pare::ir::trace(std::make_shared<FunctionalOnly>(), {random_tensor({2, 2, 3}, 28)});
  CHECK(function_targets(functional) ==
        std::vector<std::string>{"flatten", "reshape", "log_softmax"});
}

TEST_CASE("the model keeps its mode, its buffers and its parameters") {
  pare::manual_seed(10);
  nn::Sequential model(nn::Conv2d(nn::Conv2dOptions(2, 3, 3)), nn::BatchNorm2d(3), nn::ReLU(),
                       nn::Dropout(0.5));
  model->train();
  auto& batch_norm = model->at<nn::BatchNorm2dImpl>(1);
  const std::vector<float> mean_before = pare::to_float_vector(batch_norm.running_mean());
  const std::vector<float> weight_before =
      pare::to_float_vector(model->named_parameters()[0].second);
  Tensor example = random_tensor({2, 2, 5, 5}, 29);
  // In training mode dropout draws random numbers: the check replays the same stream.
  GraphModule graph_module = pare::ir::trace(model.ptr(), {example});
  CHECK(model->is_training());
  CHECK(pare::to_float_vector(batch_norm.running_mean()) == mean_before);
  CHECK(pare::to_float_vector(batch_norm.num_batches_tracked()) == std::vector<float>{0});
  CHECK(pare::to_float_vector(model->named_parameters()[0].second) == weight_before);
  CHECK(!model->named_parameters()[0].second.grad().defined());
  CHECK(!example.requires_grad());

  graph_module.eval();
  CHECK(!model->is_training());
  Tensor x = random_tensor({1, 2, 5, 5}, 30);
  check_same(graph_module.forward({x}), model(x));
}

TEST_CASE("tracing errors are clear") {
  SUBCASE("a module that is not registered under the traced model") {
    struct Outsider : nn::Module {
      Tensor forward(const Tensor& x) { return hidden(x); }
      nn::Linear hidden{4, 4};
    };
    std::string message = error_of([] {
      pare::ir::trace(std::make_shared<Outsider>(), {random_tensor({1, 4}, 31)});
    });
    CHECK(contains(message, "a Linear module that is not a submodule of the traced Outsider"));
  }
  SUBCASE("a layer called through run on itself") {
    auto linear = nn::Linear(4, 2).ptr();
    std::string message = error_of([&] {
      pare::ir::trace_function(
          linear, {random_tensor({1, 4}, 32)},
          [&](const std::vector<Tensor>& in) { return Value((*linear)(in[0])); });
    });
    CHECK(contains(message, "Linear is itself a built-in layer; wrap it in a Sequential"));
  }
  SUBCASE("a forward whose output changes between calls") {
    struct Counting : nn::Module {
      Tensor forward(const Tensor& x) {
        Tensor y = pare::relu(x);
        ++calls;
        y.data_ptr<float>()[0] += static_cast<float>(calls);  // raw data: invisible to the tracer
        return y;
      }
      int calls = 0;
    };
    auto net = std::make_shared<Counting>();
    std::string message = error_of([&] { pare::ir::trace(net, {random_tensor({2, 3}, 33)}); });
    CHECK(contains(message, "the traced graph of Counting does not reproduce forward"));
    CHECK(contains(message, "the output differs by 1"));
    CHECK(contains(message, "tolerance 1e-05"));
    pare::ir::TraceOptions unchecked;
    unchecked.check = false;
    CHECK_NOTHROW(pare::ir::trace(net, {random_tensor({2, 3}, 33)}, unchecked));
  }
  SUBCASE("a reported call its op definition does not take") {
    // An op reporting itself (pare/observer.h) the way no definition reads: the trace refuses it
    // at once, naming the op, instead of writing a graph the interpreter cannot run (also when
    // the replay check is off, which would otherwise be the first to notice).
    struct Reports : nn::Module {
      explicit Reports(pare::Attrs attrs, std::string op) : attrs(std::move(attrs)), op(op) {}
      Tensor forward(const Tensor& x) {
        pare::OpScope scope;
        Tensor y = x * 2.0;
        if (scope.should_report()) pare::notify_function(op, {x}, attrs, {y});
        return y;
      }
      pare::Attrs attrs;
      std::string op;
    };
    pare::ir::TraceOptions unchecked;
    unchecked.check = false;
    std::string unknown_keyword = error_of([&] {
      pare::ir::trace(std::make_shared<Reports>(pare::Attrs{{"slope", 0.5}}, "relu"),
                      {random_tensor({2, 3}, 35)}, unchecked);
    });
    CHECK(contains(unknown_keyword, "relu: unknown keyword argument 'slope'"));
    std::string unknown_op = error_of([&] {
      pare::ir::trace(std::make_shared<Reports>(pare::Attrs{}, "double_it"),
                      {random_tensor({2, 3}, 36)}, unchecked);
    });
    CHECK(contains(unknown_op, "unknown call_function target 'double_it'"));
  }
  SUBCASE("an op the tracer does not see") {
    struct UsesGatherRows : nn::Module {
      Tensor forward(const Tensor& x) {
        return pare::relu(pare::gather_rows(x, pare::tensor(std::vector<int64_t>{2, 0})));
      }
    };
    std::string message = error_of([] {
      pare::ir::trace(std::make_shared<UsesGatherRows>(), {random_tensor({2, 3}, 34)});
    });
    CHECK(contains(message, "relu reads a tensor of shape [2]"));
    CHECK(contains(message, "computed by 'gather_rows', an op the tracer does not see"));
  }
  SUBCASE("an in-place update of an intermediate") {
    struct InPlace : nn::Module {
      Tensor forward(const Tensor& x) {
        Tensor y = pare::relu(x);
        y.mul_(2.0);
        return y;
      }
    };
    std::string message = error_of([] {
      pare::ir::trace(std::make_shared<InPlace>(), {random_tensor({2, 3}, 35)});
    });
    CHECK(contains(message, "trace: InPlace::forward failed while tracing: mul_: in-place"));
  }
  SUBCASE("the wrong number of example inputs") {
    std::string message = error_of([] {
      pare::ir::trace(std::make_shared<SmallCnn>(),
                      {random_tensor({1, 1, 8, 8}, 36), random_tensor({1}, 37)});
    });
    CHECK(contains(message, "SmallCnn::forward does not take 2 tensor argument(s)"));
  }
}
