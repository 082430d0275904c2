// nn::Module with the built-in layers: qualified names and order of parameters, buffers and
// modules (with a Sequential and a shared submodule), state_dict keys exactly as PyTorch writes
// them, load_state_dict and its errors, train()/eval() recursion, forward hooks, printing, and
// the issue's example network.
#include <doctest/doctest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "pare/pare.h"
#include "test_util.h"

namespace {

namespace nn = pare::nn;
using pare::Tensor;

template <typename Value>
std::vector<std::string> names_of(const nn::NamedList<Value>& entries) {
  std::vector<std::string> names;
  for (const auto& [name, value] : entries) names.push_back(name);
  return names;
}

std::string message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const pare::Error& error) {
    return error.what();
  }
  return "";
}

bool same_values(const Tensor& a, const Tensor& b) {
  return a.sizes() == b.sizes() && pare::to_float_vector(a) == pare::to_float_vector(b);
}

// Features (a Sequential), one Linear registered under two names, a bias-free head, a parameter
// and a buffer of its own.
struct Net : nn::Module {
  Net() {
    features = register_module("features",
                               nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 2, 3).padding(1)),
                                              nn::BatchNorm2d(2), nn::ReLU(), nn::MaxPool2d(2)));
    shared = nn::Linear(8, 8);
    register_module("proj_a", shared);
    register_module("proj_b", shared);
    head = register_module("head", nn::Linear(nn::LinearOptions(8, 3).bias(false)));
    scale = register_parameter("scale", pare::ones({3}));
    register_buffer("step", pare::zeros({1}));
  }
  Tensor forward(const Tensor& x) {
    Tensor h = pare::flatten(features(x), 1);
    return head(shared(pare::relu(shared(h)))) * scale;
  }
  nn::Sequential features{nullptr};
  nn::Linear shared{nullptr};
  nn::Linear head{nullptr};
  Tensor scale;
};

TEST_CASE("named_parameters, named_buffers and named_modules: pre-order, shared module once") {
  auto net = std::make_shared<Net>();
  CHECK(names_of(net->named_parameters()) ==
        std::vector<std::string>{"scale", "features.0.weight", "features.0.bias",
                                 "features.1.weight", "features.1.bias", "proj_a.weight",
                                 "proj_a.bias", "head.weight"});
  CHECK(net->parameters().size() == 8);
  CHECK(names_of(net->named_parameters(/*recurse=*/false)) == std::vector<std::string>{"scale"});
  CHECK(names_of(net->named_buffers()) ==
        std::vector<std::string>{"step", "features.1.running_mean", "features.1.running_var",
                                 "features.1.num_batches_tracked"});
  CHECK(names_of(net->named_modules()) == std::vector<std::string>{"", "features", "features.0",
                                                                   "features.1", "features.2",
                                                                   "features.3", "proj_a", "head"});
  CHECK(names_of(net->named_modules("net")).front() == "net");
  CHECK(names_of(net->named_modules("net"))[1] == "net.features");
  CHECK(net->get_submodule("features.1").get() == &net->features->at<nn::BatchNorm2dImpl>(1));
  CHECK(net->get_submodule("proj_b").get() == net->shared.get());
  CHECK_THROWS_WITH_AS(net->get_submodule("features.7"),
                       doctest::Contains("no submodule '7' under 'features'"), pare::Error);

  CHECK(net->named_children()[0].second->type_name() == "Sequential");
  CHECK(names_of(net->features->named_children()) == std::vector<std::string>{"0", "1", "2", "3"});
}

// PyTorch's named_children and named_buffers skip a module or tensor seen before.
TEST_CASE("named_children and named_buffers list a shared module once") {
  auto net = std::make_shared<Net>();
  CHECK(names_of(net->named_children()) == std::vector<std::string>{"features", "proj_a", "head"});
  nn::Sequential twice(nn::BatchNorm2d(2));
  twice->push_back((*twice)[0]);
  CHECK(names_of(twice->named_buffers()) ==
        std::vector<std::string>{"0.running_mean", "0.running_var", "0.num_batches_tracked"});
  CHECK(names_of(twice->state_dict()).size() == 10);
}

TEST_CASE("state_dict keys are PyTorch's: parameters, then buffers, then children") {
  auto net = std::make_shared<Net>();
  const auto state = net->state_dict();
  // PyTorch lists a shared module under every name it is registered with.
  CHECK(names_of(state) ==
        std::vector<std::string>{"scale", "step", "features.0.weight", "features.0.bias",
                                 "features.1.weight", "features.1.bias", "features.1.running_mean",
                                 "features.1.running_var", "features.1.num_batches_tracked",
                                 "proj_a.weight", "proj_a.bias", "proj_b.weight", "proj_b.bias",
                                 "head.weight"});
  for (const auto& [name, tensor] : state) CHECK_FALSE(tensor.requires_grad());
  const Tensor& batches = state[8].second;
  CHECK(batches.dtype() == pare::kInt64);
  CHECK(batches.dim() == 0);

  struct Recurrent : nn::Module {
    Recurrent() {
      lstm = register_module("lstm", nn::LSTM(nn::LSTMOptions(3, 4).num_layers(2)));
      bn = register_module("bn", nn::BatchNorm2d(4));
    }
    nn::LSTM lstm{nullptr};
    nn::BatchNorm2d bn{nullptr};
  };
  auto recurrent = std::make_shared<Recurrent>();
  CHECK(names_of(recurrent->state_dict()) ==
        std::vector<std::string>{"lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0",
                                 "lstm.bias_hh_l0", "lstm.weight_ih_l1", "lstm.weight_hh_l1",
                                 "lstm.bias_ih_l1", "lstm.bias_hh_l1", "bn.weight", "bn.bias",
                                 "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"});
}

TEST_CASE("load_state_dict copies every value into the existing tensors") {
  pare::manual_seed(1);
  auto source = std::make_shared<Net>();
  pare::manual_seed(2);
  auto target = std::make_shared<Net>();
  // Give the source non-default running statistics and a batch count.
  Tensor x = pare::randn({4, 1, 4, 4});
  source->forward(x);
  REQUIRE(source->features->at<nn::BatchNorm2dImpl>(1).num_batches_tracked().item<int64_t>() == 1);
  REQUIRE_FALSE(same_values(source->shared->weight(), target->shared->weight()));

  Tensor target_weight = target->shared->weight();
  target->load_state_dict(source->state_dict());
  CHECK(target->shared->weight().is_same(target_weight));  // updated in place
  CHECK(target_weight.requires_grad());
  const auto expected = source->state_dict();
  const auto loaded = target->state_dict();
  REQUIRE(loaded.size() == expected.size());
  for (size_t i = 0; i < loaded.size(); ++i) {
    CAPTURE(loaded[i].first);
    CHECK(loaded[i].second.dtype() == expected[i].second.dtype());
    CHECK(same_values(loaded[i].second, expected[i].second));
  }
  source->eval();
  target->eval();
  CHECK(same_values(target->forward(x), source->forward(x)));
}

TEST_CASE("load_state_dict errors: missing and unexpected keys, shape mismatch") {
  auto net = std::make_shared<Net>();
  const auto original = net->state_dict();

  nn::StateDict missing;
  for (const auto& entry : original)
    if (entry.first != "features.1.running_var") missing.push_back(entry);
  CHECK_THROWS_WITH_AS(net->load_state_dict(missing),
                       doctest::Contains("missing keys [features.1.running_var]"), pare::Error);

  nn::StateDict unexpected = original;
  unexpected.emplace_back("features.9.weight", pare::zeros({2}));
  CHECK_THROWS_WITH_AS(net->load_state_dict(unexpected),
                       doctest::Contains("unexpected keys [features.9.weight]"), pare::Error);

  nn::StateDict wrong_shape = original;
  for (auto& [name, tensor] : wrong_shape)
    if (name == "head.weight") tensor = pare::zeros({3, 7});
  const std::string message = message_of([&] { net->load_state_dict(wrong_shape); });
  CHECK(message.find("head.weight") != std::string::npos);
  CHECK(message.find("[3, 7]") != std::string::npos);
  CHECK(message.find("[3, 8]") != std::string::npos);
  // The shape check runs before anything is copied: the model is unchanged.
  CHECK(same_values(net->head->weight(), original.back().second));

  // Non-strict loading skips the missing entry and ignores the unexpected one.
  nn::StateDict partial;
  partial.emplace_back("head.weight", pare::full({3, 8}, 0.5));
  partial.emplace_back("not_a_key", pare::zeros({1}));
  net->load_state_dict(partial, /*strict=*/false);
  CHECK(pare::to_float_vector(net->head->weight()) == std::vector<float>(24, 0.5f));
}

TEST_CASE("train() and eval() reach every submodule and change what layers do") {
  auto net = std::make_shared<Net>();
  for (const auto& module : net->modules()) CHECK(module->is_training());
  net->eval();
  for (const auto& module : net->modules()) CHECK_FALSE(module->is_training());
  auto& bn = net->features->at<nn::BatchNorm2dImpl>(1);
  Tensor running_mean = bn.running_mean().clone();
  net->forward(pare::randn({2, 1, 4, 4}));
  CHECK(same_values(bn.running_mean(), running_mean));  // evaluation leaves the stats alone
  CHECK(bn.num_batches_tracked().item<int64_t>() == 0);
  net->train();
  for (const auto& module : net->modules()) CHECK(module->is_training());
  net->forward(pare::randn({2, 1, 4, 4}));
  CHECK_FALSE(same_values(bn.running_mean(), running_mean));
  CHECK(bn.num_batches_tracked().item<int64_t>() == 1);
}

TEST_CASE("zero_grad drops or zeroes every parameter's gradient") {
  auto net = std::make_shared<Net>();
  net->forward(pare::randn({2, 1, 4, 4})).sum().backward();
  for (const Tensor& p : net->parameters()) CHECK(p.grad().defined());
  net->zero_grad(/*set_to_none=*/false);
  for (const Tensor& p : net->parameters())
    CHECK(pare::to_float_vector(p.grad()) == std::vector<float>(p.numel(), 0.0f));
  net->zero_grad();
  for (const Tensor& p : net->parameters()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("forward pre-hooks replace inputs, forward hooks replace outputs") {
  pare::manual_seed(3);
  nn::Linear fc(3, 2);
  Tensor x = pare::randn({4, 3});
  const Tensor plain = fc(x);

  std::vector<std::string> order;
  int doubling =
      fc->register_forward_pre_hook([&](nn::Module& module, std::vector<Tensor>& inputs) {
        order.push_back("pre:" + module.type_name());
        inputs[0] = inputs[0] * 2.0;
      });
  int observing = fc->register_forward_hook(
      [&](nn::Module&, const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) {
        order.push_back("hook");
        CHECK(pare::allclose(inputs[0], x * 2.0));  // hooks see the replaced inputs
        CHECK(outputs.size() == 1);
      });
  int negating =
      fc->register_forward_hook([](nn::Module&, const std::vector<Tensor>&,
                                   std::vector<Tensor>& outputs) { outputs[0] = -outputs[0]; },
                                "negate");
  CHECK(fc->has_hooks());
  CHECK(fc->has_hook_with_tag("negate"));

  // linear(2x) = 2 x W^T + b, then negated.
  Tensor expected = -(pare::linear(x * 2.0, fc->weight(), fc->bias()));
  CHECK(pare::allclose(fc(x), expected, 1e-5, 1e-6));
  CHECK(order == std::vector<std::string>{"pre:Linear", "hook"});
  // Hooks also run when the module is called through Sequential.
  nn::Sequential wrapped(fc);
  CHECK(pare::allclose(wrapped(x), expected, 1e-5, 1e-6));

  fc->remove_hooks_with_tag("negate");
  CHECK_FALSE(fc->has_hook_with_tag("negate"));
  CHECK(pare::allclose(fc(x), -expected, 1e-5, 1e-6));
  fc->remove_hook(doubling);
  fc->remove_hook(observing);
  CHECK_FALSE(fc->has_hooks());
  CHECK(same_values(fc(x), plain));
  fc->remove_hook(negating);  // removing an id twice is harmless
}

TEST_CASE("hooks on a user module and on an LSTM with three outputs") {
  auto net = std::make_shared<Net>();
  int calls = 0;
  net->features->register_forward_hook(
      [&](nn::Module& module, const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) {
        ++calls;
        CHECK(module.type_name() == "Sequential");
        CHECK(inputs[0].sizes() == pare::Shape{2, 1, 4, 4});
        CHECK(outputs[0].sizes() == pare::Shape{2, 2, 2, 2});
      });
  net->forward(pare::randn({2, 1, 4, 4}));
  CHECK(calls == 1);

  nn::LSTM lstm(3, 4);
  std::vector<pare::Shape> seen;
  lstm->register_forward_hook(
      [&](nn::Module&, const std::vector<Tensor>&, std::vector<Tensor>& outputs) {
        for (const Tensor& output : outputs) seen.push_back(output.sizes());
        outputs[2] = pare::zeros_like(outputs[2]);
      });
  auto [output, state] = lstm(pare::randn({5, 2, 3}));
  CHECK(seen == std::vector<pare::Shape>{{5, 2, 4}, {1, 2, 4}, {1, 2, 4}});
  CHECK(pare::to_float_vector(std::get<1>(state)) == std::vector<float>(8, 0.0f));
}

TEST_CASE("register_module with an existing name replaces the child in place") {
  auto net = std::make_shared<Net>();
  net->features->register_module("1", nn::Identity());
  CHECK(names_of(net->named_modules())[3] == "features.1");
  CHECK(net->get_submodule("features.1")->type_name() == "Identity");
  // Sequential runs its current children, so the replacement takes effect.
  Tensor x = pare::randn({2, 1, 4, 4});
  auto& conv = net->features->at<nn::Conv2dImpl>(0);
  Tensor expected = pare::max_pool2d(pare::relu(conv.forward(x)), 2);
  CHECK(pare::allclose(net->features(x), expected, 1e-5, 1e-6));
  CHECK(names_of(net->state_dict())[3] == "features.0.bias");
  CHECK(names_of(net->state_dict())[4] == "proj_a.weight");
}

TEST_CASE("printing a model gives PyTorch's text") {
  auto net = std::make_shared<Net>();
  std::ostringstream printed;
  printed << *net;
  CHECK(printed.str() ==
        "Net(\n"
        "  (features): Sequential(\n"
        "    (0): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
        "    (1): BatchNorm2d(2, eps=1e-05, momentum=0.1, affine=True, "
        "track_running_stats=True)\n"
        "    (2): ReLU()\n"
        "    (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
        "  )\n"
        "  (proj_a): Linear(in_features=8, out_features=8, bias=True)\n"
        "  (proj_b): Linear(in_features=8, out_features=8, bias=True)\n"
        "  (head): Linear(in_features=8, out_features=3, bias=False)\n"
        ")");
}

// The example of the issue, verbatim.
struct IssueNet : pare::nn::Module {
  IssueNet() {
    conv = register_module("conv", pare::nn::Conv2d(pare::nn::Conv2dOptions(1, 8, 3).padding(1)));
    fc = register_module("fc", pare::nn::Linear(8 * 14 * 14, 10));
  }
  pare::Tensor forward(const pare::Tensor& x) {
    auto h = pare::max_pool2d(pare::relu(conv(x)), 2);
    return fc(pare::flatten(h, 1));
  }
  pare::nn::Conv2d conv{nullptr};
  pare::nn::Linear fc{nullptr};
};

TEST_CASE("the issue's example network runs a forward and a backward") {
  pare::manual_seed(0);
  auto net = std::make_shared<IssueNet>();
  Tensor x = pare::randn({2, 1, 28, 28});
  Tensor y = net->forward(x);
  CHECK(y.sizes() == pare::Shape{2, 10});
  Tensor h = pare::conv2d(x, net->conv->weight(), net->conv->bias(), 1, 1);
  Tensor expected = pare::linear(pare::flatten(pare::max_pool2d(pare::relu(h), 2), 1),
                                 net->fc->weight(), net->fc->bias());
  CHECK(pare::allclose(y, expected, 1e-5, 1e-5));
  y.sum().backward();
  CHECK(net->conv->weight().grad().sizes() == pare::Shape{8, 1, 3, 3});
  CHECK(net->fc->bias().grad().sizes() == pare::Shape{10});
  CHECK(names_of(net->state_dict()) ==
        std::vector<std::string>{"conv.weight", "conv.bias", "fc.weight", "fc.bias"});
}

}  // namespace

namespace {
struct ScaledLinearImpl : pare::nn::LinearImpl {
  ScaledLinearImpl() : pare::nn::LinearImpl(2, 2) {}
};
}  // namespace

TEST_CASE("a subclass of a built-in layer reports its own type name") {
  ScaledLinearImpl scaled;
  CHECK(scaled.type_name() == "ScaledLinear");
  pare::nn::LinearImpl plain(2, 2);
  CHECK(plain.type_name() == "Linear");
}
