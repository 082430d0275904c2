// The libtorch spellings a ported program uses, compiled as written in libtorch and checked for
// what they do: the values against pare's own spelling of the same thing, hand-computed numbers or
// the PyTorch goldens of tests/golden/idioms.safetensors (scripts/make_goldens.py).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <sstream>
#include <tuple>

#include "golden.h"
#include "pare/ir/ir.h"
#include "pare/pare.h"
#include "test_util.h"

namespace {

struct TwoLayerNet : pare::nn::Module {
  TwoLayerNet() {
    fc1 = register_module("fc1", pare::nn::Linear(3, 4));
    fc2 = register_module("fc2", pare::nn::Linear(4, 2));
  }
  pare::Tensor forward(const pare::Tensor& x) { return fc2(pare::relu(fc1(x))); }
  pare::nn::Linear fc1{nullptr};
  pare::nn::Linear fc2{nullptr};
};

std::string scratch(const std::string& name) {
  auto folder = std::filesystem::temp_directory_path() / "pare_test_libtorch_spellings";
  std::filesystem::create_directories(folder);
  return (folder / name).string();
}

}  // namespace

TEST_CASE("pare::save / pare::load take a module holder as torch::save / torch::load do") {
  pare::manual_seed(3);
  auto model = std::make_shared<TwoLayerNet>();
  const std::string path = scratch("holder.safetensors");
  pare::save(model, path);

  pare::manual_seed(4);
  auto restored = std::make_shared<TwoLayerNet>();
  pare::Tensor x = pare::randn({5, 3});
  CHECK_FALSE(pare::equal(restored->forward(x), model->forward(x)));
  pare::load(restored, path);
  CHECK(pare::equal(restored->forward(x), model->forward(x)));

  // A built-in layer's holder goes the same way.
  pare::nn::Linear layer(3, 4);
  pare::save(layer, scratch("linear.safetensors"));
  pare::nn::Linear other(3, 4);
  pare::load(other, scratch("linear.safetensors"));
  CHECK(pare::equal(other->weight(), layer->weight()));
  CHECK(pare::equal(other->bias(), layer->bias()));

  std::shared_ptr<TwoLayerNet> empty;
  CHECK(pare::testing::contains(pare::testing::error_of([&] { pare::load(empty, path); }),
                                "holder for '" + path + "' is empty"));
}

TEST_CASE("AdamOptions().betas(std::make_tuple(b1, b2)) steps as PyTorch's Adam(betas=(b1, b2))") {
  // optim.safetensors' adam_weight_decay case: Adam(lr=0.01, betas=(0.8, 0.95), eps=1e-6,
  // weight_decay=0.1), three steps on Linear(3, 2) with mse_loss.
  pare::testing::GoldenFile golden("optim");
  const std::string name = "adam_weight_decay";
  REQUIRE(golden.arguments(name).at("betas") == nlohmann::json::array({0.8, 0.95}));
  pare::nn::Linear model(3, 2);
  model->load_state_dict(golden.group(name, "param."));
  auto options =
      pare::optim::AdamOptions(0.01).betas(std::make_tuple(0.8, 0.95)).eps(1e-6).weight_decay(0.1);
  CHECK(options.betas() == std::make_tuple(0.8, 0.95));
  pare::optim::Adam adam(model->parameters(), options);
  for (int step = 1; step <= 3; ++step) {
    adam.zero_grad();
    pare::mse_loss(model(golden.get(name, "input")), golden.get(name, "target")).backward();
    adam.step();
    for (const auto& [key, value] : model->state_dict())
      pare::testing::check_close(value, golden.get(name, "step" + std::to_string(step) + "." + key),
                                 name + ".step" + std::to_string(step) + "." + key,
                                 pare::testing::kElementwiseTolerance);
  }
}

TEST_CASE("param_group.options() is the optimiser's options type, as in libtorch") {
  // One parameter p = 1 with loss 3 p: every gradient is 3, so a plain SGD step subtracts 3 lr.
  pare::Tensor p = pare::ones({1}).set_requires_grad(true);
  pare::optim::SGD sgd(std::vector<pare::Tensor>{p}, pare::optim::SGDOptions(0.1));
  auto step = [&] {
    sgd.zero_grad();
    pare::mul(p, 3.0).sum().backward();
    sgd.step();
  };
  for (auto& group : sgd.param_groups())
    static_cast<pare::optim::SGDOptions&>(group.options()).lr(0.05);
  CHECK(sgd.param_groups()[0].options().get_lr() == doctest::Approx(0.05));
  step();
  CHECK(p.item<float>() == doctest::Approx(1.0 - 0.05 * 3));
  sgd.param_groups()[0].options().set_lr(0.2);
  step();
  CHECK(p.item<float>() == doctest::Approx(1.0 - 0.05 * 3 - 0.2 * 3));

  // A group given a whole options object keeps it (momentum 0 although the defaults have 0.9);
  // a group given named numbers takes the rest from the defaults.
  pare::Tensor a = pare::ones({1}).set_requires_grad(true);
  pare::Tensor b = pare::ones({1}).set_requires_grad(true);
  pare::optim::SGD grouped({{{a}, pare::optim::SGDOptions(0.01)}, {{b}, {{"lr", 0.5}}}},
                           pare::optim::SGDOptions(0.1).momentum(0.9));
  const auto& first =
      static_cast<const pare::optim::SGDOptions&>(grouped.param_groups()[0].options());
  const auto& second =
      static_cast<const pare::optim::SGDOptions&>(grouped.param_groups()[1].options());
  CHECK(first.lr() == doctest::Approx(0.01));
  CHECK(first.momentum() == 0.0);
  CHECK(second.lr() == doctest::Approx(0.5));
  CHECK(second.momentum() == doctest::Approx(0.9));
  // add_param_group fills the defaults too.
  pare::Tensor c = pare::ones({1}).set_requires_grad(true);
  grouped.add_param_group({{c}, {{"lr", 0.3}}});
  const auto& third =
      static_cast<const pare::optim::SGDOptions&>(grouped.param_groups()[2].options());
  CHECK(third.momentum() == doctest::Approx(0.9));

  pare::Tensor d = pare::ones({1}).set_requires_grad(true);
  CHECK(pare::testing::contains(
      pare::testing::error_of([&] {
        pare::optim::SGD({{{d}, pare::optim::AdamOptions(0.1)}}, pare::optim::SGDOptions(0.1));
      }),
      "another optimiser's options type"));
}

namespace F = pare::nn::functional;

TEST_CASE("F::cross_entropy with CrossEntropyFuncOptions().label_smoothing(0.1) is PyTorch's") {
  pare::testing::GoldenFile golden("loss");
  const std::string name = "cross_entropy_mean_smoothing";
  REQUIRE(golden.arguments(name).at("label_smoothing") == 0.1);
  pare::Tensor logits = golden.get(name, "input").clone().set_requires_grad(true);
  pare::Tensor loss = F::cross_entropy(logits, golden.get(name, "target"),
                                       F::CrossEntropyFuncOptions().label_smoothing(0.1));
  pare::testing::check_close(loss, golden.get(name, "output"), name + ".output",
                             pare::testing::kElementwiseTolerance);
  loss.backward(golden.get(name, "grad_output"));
  pare::testing::check_close(logits.grad(), golden.get(name, "grad_input"), name + ".grad_input",
                             pare::testing::kElementwiseTolerance);
}

TEST_CASE("F::relu(x, F::ReLUFuncOptions()) is PyTorch's relu; inplace writes into x") {
  pare::testing::GoldenFile golden("activation");
  pare::Tensor x = golden.get("relu", "input").clone();
  pare::testing::check_close(F::relu(x, F::ReLUFuncOptions()), golden.get("relu", "output"),
                             "relu.output", pare::testing::kElementwiseTolerance);
  pare::Tensor same = F::relu(x, F::ReLUFuncOptions().inplace(true));
  CHECK(same.is_same(x));
  pare::testing::check_close(x, golden.get("relu", "output"), "relu.inplace",
                             pare::testing::kElementwiseTolerance);
  pare::Tensor leaf = pare::randn({3}).set_requires_grad(true);
  CHECK(pare::testing::contains(
      pare::testing::error_of([&] { F::elu(leaf, F::ELUFuncOptions().inplace(true)); }),
      "elu: inplace(true) on an input of shape [3] that requires grad"));
}

TEST_CASE("every F:: function with its FuncOptions computes pare's own op with those arguments") {
  pare::manual_seed(7);
  const pare::Tensor x = pare::randn({2, 3, 6, 5});
  auto same = [](const pare::Tensor& a, const pare::Tensor& b) { return pare::equal(a, b); };
  CHECK(same(F::relu6(x, F::ReLU6FuncOptions()), pare::relu6(x)));
  CHECK(same(F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.2)),
             pare::leaky_relu(x, 0.2)));
  CHECK(same(F::elu(x, F::ELUFuncOptions().alpha(0.7)), pare::elu(x, 0.7)));
  CHECK(same(F::celu(x, F::CELUFuncOptions().alpha(1.3)), pare::celu(x, 1.3)));
  CHECK(same(F::selu(x, F::SELUFuncOptions()), pare::selu(x)));
  CHECK(same(F::hardtanh(x, F::HardtanhFuncOptions().min_val(-0.5).max_val(0.8)),
             pare::hardtanh(x, -0.5, 0.8)));
  CHECK(same(F::rrelu(x, F::RReLUFuncOptions().lower(0.1).upper(0.3)),
             pare::rrelu(x, 0.1, 0.3, false)));
  CHECK(same(F::hardshrink(x, F::HardshrinkFuncOptions().lambda(0.3)), pare::hardshrink(x, 0.3)));
  CHECK(same(F::softplus(x, F::SoftplusFuncOptions().beta(2.0).threshold(3.0)),
             pare::softplus(x, 2.0, 3.0)));
  CHECK(same(F::gelu(x, F::GELUFuncOptions().approximate("tanh")), pare::gelu(x, "tanh")));
  CHECK(same(F::silu(x), pare::silu(x)));
  CHECK(same(F::softmax(x, F::SoftmaxFuncOptions(1)), pare::softmax(x, 1)));
  CHECK(same(F::log_softmax(x, 2), pare::log_softmax(x, 2)));

  const pare::Tensor w = pare::randn({4, 3, 3, 3});
  const pare::Tensor b = pare::randn({4});
  CHECK(same(F::conv2d(x, w, F::Conv2dFuncOptions().bias(b).stride(2).padding({1, 0})),
             pare::conv2d(x, w, b, 2, {1, 0})));
  CHECK(same(F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(2).padding(1)),
             pare::max_pool2d(x, 3, 2, 1)));
  CHECK(F::max_pool2d(x, F::MaxPool2dFuncOptions(2)).sizes() == pare::Shape{2, 3, 3, 2});
  CHECK(same(F::avg_pool2d(x, F::AvgPool2dFuncOptions({3, 2}).count_include_pad(false).padding(1)),
             pare::avg_pool2d(x, {3, 2}, {3, 2}, 1, false, false)));
  CHECK(same(F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions({2, 3})),
             pare::adaptive_avg_pool2d(x, {2, 3})));
  CHECK(same(F::adaptive_max_pool2d(x, F::AdaptiveMaxPool2dFuncOptions(1)),
             pare::adaptive_max_pool2d(x, 1)));
  CHECK(same(F::dropout(x, F::DropoutFuncOptions().p(0.3).training(false)), x));
  const pare::Tensor gamma = pare::randn({5});
  CHECK(same(F::layer_norm(x, F::LayerNormFuncOptions({5}).weight(gamma).eps(1e-3)),
             pare::layer_norm(x, {5}, gamma, pare::Tensor(), 1e-3)));
  const pare::Tensor mean = pare::randn({3});
  const pare::Tensor var = pare::rand({3}) + 0.5;
  CHECK(same(F::batch_norm(x, mean, var, F::BatchNormFuncOptions().eps(1e-3)),
             pare::batch_norm(x, mean, var, pare::Tensor(), pare::Tensor(), false, 0.1, 1e-3)));
  const pare::Tensor fc = pare::randn({2, 5});
  CHECK(same(F::linear(x, fc), pare::linear(x, fc)));

  const pare::Tensor logits = pare::randn({4, 3});
  const pare::Tensor labels = pare::tensor(std::vector<int64_t>{0, 2, 1, 2});
  CHECK(same(F::cross_entropy(logits, labels,
                              F::CrossEntropyFuncOptions().reduction(pare::Reduction::sum)),
             pare::cross_entropy(logits, labels, pare::Reduction::sum)));
  CHECK(same(F::nll_loss(logits, labels, F::NLLLossFuncOptions().reduction(pare::Reduction::none)),
             pare::nll_loss(logits, labels, pare::Reduction::none)));
  CHECK(same(F::mse_loss(logits, logits * 0.5), pare::mse_loss(logits, logits * 0.5)));
  CHECK(same(F::l1_loss(logits, logits * 2.0, F::L1LossFuncOptions()),
             pare::l1_loss(logits, logits * 2.0)));
}

namespace {

pare::Reduction reduction_named(const std::string& name) {
  if (name == "sum") return pare::Reduction::sum;
  if (name == "none") return pare::Reduction::none;
  REQUIRE(name == "mean");
  return pare::Reduction::mean;
}

// The loss module the golden case's torch.nn.functional call corresponds to.
std::function<pare::Tensor(const pare::Tensor&, const pare::Tensor&)> loss_module_for(
    const nlohmann::json& a) {
  const std::string function = a.at("function");
  const pare::Reduction reduction = reduction_named(a.at("reduction"));
  if (function == "cross_entropy") {
    pare::nn::CrossEntropyLoss loss(
        pare::nn::CrossEntropyLossOptions().reduction(reduction).label_smoothing(
            a.value("label_smoothing", 0.0)));
    return loss;
  }
  if (function == "nll_loss")
    return pare::nn::NLLLoss(pare::nn::NLLLossOptions().reduction(reduction));
  if (function == "mse_loss")
    return pare::nn::MSELoss(pare::nn::MSELossOptions().reduction(reduction));
  REQUIRE(function == "l1_loss");
  return pare::nn::L1Loss(pare::nn::L1LossOptions().reduction(reduction));
}

}  // namespace

TEST_CASE("nn::CrossEntropyLoss / NLLLoss / MSELoss / L1Loss with options match PyTorch") {
  pare::testing::GoldenFile golden("loss");
  int checked = 0;
  for (const std::string& name : golden.cases()) {
    const nlohmann::json a = golden.arguments(name);
    if (a.contains("weight") || a.contains("ignore_index")) continue;  // the next test's cases
    INFO("case " << name);
    auto loss = loss_module_for(a);
    pare::Tensor input = golden.get(name, "input").clone().set_requires_grad(true);
    pare::Tensor output = loss(input, golden.get(name, "target"));
    pare::testing::check_close(output, golden.get(name, "output"), name + ".output",
                               pare::testing::kElementwiseTolerance);
    output.backward(golden.get(name, "grad_output"));
    pare::testing::check_close(input.grad(), golden.get(name, "grad_input"), name + ".grad_input",
                               pare::testing::kElementwiseTolerance);
    ++checked;
  }
  CHECK(checked == 17);

  std::ostringstream printed;
  printed << *pare::nn::CrossEntropyLoss();
  CHECK(printed.str() == "CrossEntropyLoss()");
  pare::nn::MSELoss mse(pare::nn::MSELossOptions().reduction(pare::Reduction::sum));
  CHECK(mse->options().reduction() == pare::Reduction::sum);
}

TEST_CASE("pare::kSum / kMean / kNone are the reductions of libtorch's spelling") {
  const pare::Tensor a = pare::tensor({1.0f, -2.0f, 4.0f});
  const pare::Tensor b = pare::tensor({0.0f, 0.0f, 1.0f});
  // |a - b| = 1, 2, 3 by hand.
  CHECK(F::l1_loss(a, b, F::L1LossFuncOptions().reduction(pare::kSum)).item<float>() == 6.0f);
  CHECK(F::l1_loss(a, b, F::L1LossFuncOptions().reduction(pare::kMean)).item<float>() == 2.0f);
  CHECK(pare::testing::values(F::l1_loss(a, b, F::L1LossFuncOptions().reduction(pare::kNone))) ==
        std::vector<float>{1.0f, 2.0f, 3.0f});
  CHECK(pare::nn::MSELoss(pare::nn::MSELossOptions().reduction(pare::kSum))(a, b).item<float>() ==
        1.0f + 4.0f + 9.0f);
}

TEST_CASE("Tensor::item() returns a Scalar that converts to float and int64 (exactly)") {
  const pare::Tensor loss = pare::tensor({2.5f});
  float as_float = loss.item();
  double as_double = loss.item().toDouble();
  CHECK(as_float == 2.5f);
  CHECK(as_double == 2.5);
  CHECK(loss.item().isFloatingPoint());
  CHECK(loss.item().toLong() == 2);

  // 2^53 + 1 has no double: item<int64_t>() goes through double, item() does not.
  const int64_t big = (int64_t{1} << 53) + 1;
  const pare::Tensor label = pare::tensor(std::vector<int64_t>{big});
  int64_t exact = label.item();
  CHECK(exact == big);
  CHECK(label.item().isIntegral());
  CHECK(label.item().toLong() == big);
  CHECK(label.item().toFloat() == static_cast<float>(big));
  CHECK(pare::testing::contains(pare::testing::error_of([] { (void)pare::zeros({2}).item(); }),
                                "item: expected a tensor with one element, got shape [2]"));
}

TEST_CASE("factories take TensorOptions: dtype and requires_grad") {
  pare::Tensor labels = pare::zeros({2, 3}, pare::TensorOptions().dtype(pare::kInt64));
  CHECK(labels.dtype() == pare::kInt64);
  CHECK(labels.sizes() == pare::Shape{2, 3});
  CHECK(pare::to_int64_vector(labels) == std::vector<int64_t>(6, 0));
  pare::Tensor ones = pare::ones({4}, pare::TensorOptions().requires_grad(true));
  CHECK(ones.requires_grad());
  CHECK(pare::testing::values(ones) == std::vector<float>(4, 1.0f));
  CHECK(pare::to_int64_vector(pare::full({2}, 7.0, pare::TensorOptions().dtype(pare::kInt64))) ==
        std::vector<int64_t>{7, 7});
  pare::manual_seed(11);
  pare::Tensor w = pare::randn({4, 3}, pare::TensorOptions().requires_grad(true));
  pare::manual_seed(11);
  CHECK(pare::equal(w, pare::randn({4, 3})));
  CHECK(w.requires_grad());
  CHECK(pare::empty({3}, pare::TensorOptions(pare::kUInt8)).dtype() == pare::kUInt8);
  CHECK(pare::testing::contains(
      pare::testing::error_of(
          [] { pare::zeros({2}, pare::TensorOptions().dtype(pare::kInt64).requires_grad(true)); }),
      "only float32 tensors can require gradients"));
  CHECK(pare::testing::contains(
      pare::testing::error_of([] { pare::randn({2}, pare::TensorOptions().dtype(pare::kInt64)); }),
      "randn: draws float32 values"));
}

TEST_CASE("cross_entropy / nll_loss with a class weight and ignore_index: forward and gradient") {
  pare::testing::GoldenFile golden("loss_weighted");
  int checked = 0;
  for (const std::string& name : golden.cases()) {
    const nlohmann::json a = golden.arguments(name);
    INFO("case " << name);
    const pare::Tensor weight = a.at("weight") ? golden.get(name, "weight") : pare::Tensor();
    const pare::Reduction reduction = reduction_named(a.at("reduction"));
    const int64_t ignore_index = a.value("ignore_index", int64_t{-100});
    const pare::Tensor target = golden.get(name, "target");
    // pare's own spelling, F:: with FuncOptions and the module: all three must be PyTorch's.
    std::vector<std::function<pare::Tensor(const pare::Tensor&)>> spellings;
    if (a.at("function") == "cross_entropy") {
      const double smoothing = a.value("label_smoothing", 0.0);
      spellings.push_back([=](const pare::Tensor& x) {
        return pare::cross_entropy(x, target, reduction, smoothing, weight, ignore_index);
      });
      spellings.push_back([=](const pare::Tensor& x) {
        return F::cross_entropy(x, target,
                                F::CrossEntropyFuncOptions()
                                    .weight(weight)
                                    .ignore_index(ignore_index)
                                    .reduction(reduction)
                                    .label_smoothing(smoothing));
      });
      pare::nn::CrossEntropyLoss module(pare::nn::CrossEntropyLossOptions()
                                            .weight(weight)
                                            .ignore_index(ignore_index)
                                            .reduction(reduction)
                                            .label_smoothing(smoothing));
      spellings.push_back([module, &target](const pare::Tensor& x) { return module(x, target); });
    } else {
      REQUIRE(a.at("function") == "nll_loss");
      spellings.push_back([=](const pare::Tensor& x) {
        return pare::nll_loss(x, target, reduction, weight, ignore_index);
      });
      spellings.push_back([=](const pare::Tensor& x) {
        return F::nll_loss(
            x, target,
            F::NLLLossFuncOptions().weight(weight).ignore_index(ignore_index).reduction(reduction));
      });
      pare::nn::NLLLoss module(pare::nn::NLLLossOptions()
                                   .weight(weight)
                                   .ignore_index(ignore_index)
                                   .reduction(reduction));
      spellings.push_back([module, &target](const pare::Tensor& x) { return module(x, target); });
    }
    for (const auto& loss : spellings) {
      pare::Tensor input = golden.get(name, "input").clone().set_requires_grad(true);
      pare::Tensor output = loss(input);
      pare::testing::check_close(output, golden.get(name, "output"), name + ".output",
                                 pare::testing::kElementwiseTolerance);
      output.backward(golden.get(name, "grad_output"));
      pare::testing::check_close(input.grad(), golden.get(name, "grad_input"), name + ".grad_input",
                                 pare::testing::kElementwiseTolerance);
    }
    ++checked;
  }
  CHECK(checked == 20);

  // The module keeps its weight as a buffer, under PyTorch's state_dict key.
  pare::nn::CrossEntropyLoss weighted(
      pare::nn::CrossEntropyLossOptions().weight(pare::tensor({1.0f, 2.0f})));
  REQUIRE(weighted->state_dict().size() == 1);
  CHECK(weighted->state_dict()[0].first == "weight");
  CHECK(pare::testing::contains(
      pare::testing::error_of([] {
        pare::cross_entropy(pare::zeros({2, 3}), pare::tensor(std::vector<int64_t>{0, 1}),
                            pare::kMean, 0.0, pare::ones({2}));
      }),
      "cross_entropy: weight must be a float32 tensor of shape [3] (one per class), got float32 "
      "of shape [2]"));
  CHECK(pare::testing::contains(
      pare::testing::error_of([] {
        pare::nll_loss(pare::zeros({2, 3}), pare::tensor(std::vector<int64_t>{-100, 3}));
      }),
      "nll_loss: target 3 is out of bounds for 3 classes"));
}

namespace {

// Softmax over channels, LogSoftmax over the last axis and Softshrink, as modules and F::.
struct HeadNet : pare::nn::Module {
  HeadNet() {
    fc = register_module("fc", pare::nn::Linear(5, 6));
    shrink =
        register_module("shrink", pare::nn::Softshrink(pare::nn::SoftshrinkOptions().lambda(0.3)));
    softmax = register_module("softmax", pare::nn::Softmax(1));
    log_softmax =
        register_module("log_softmax", pare::nn::LogSoftmax(pare::nn::LogSoftmaxOptions(-1)));
  }
  pare::Tensor forward(const pare::Tensor& x) {
    pare::Tensor h = shrink(fc(x));
    return softmax(h) + log_softmax(F::softshrink(h, F::SoftshrinkFuncOptions().lambda(0.1)));
  }
  pare::nn::Linear fc{nullptr};
  pare::nn::Softshrink shrink{nullptr};
  pare::nn::Softmax softmax{nullptr};
  pare::nn::LogSoftmax log_softmax{nullptr};
};

}  // namespace

TEST_CASE("nn::Softshrink and F::softshrink match PyTorch, gradient 0 at exactly +-lambd") {
  pare::testing::GoldenFile golden("softshrink");
  for (const std::string& name : golden.cases()) {
    INFO("case " << name);
    const double lambd = golden.arguments(name).at("lambd");
    for (int spelling = 0; spelling < 2; ++spelling) {
      pare::Tensor input = golden.get(name, "input").clone().set_requires_grad(true);
      pare::nn::Softshrink module(lambd);
      pare::Tensor output = spelling == 0
                                ? module(input)
                                : F::softshrink(input, F::SoftshrinkFuncOptions().lambda(lambd));
      pare::testing::check_close(output, golden.get(name, "output"), name + ".output",
                                 pare::testing::kElementwiseTolerance);
      output.backward(golden.get(name, "grad_output"));
      pare::testing::check_close(input.grad(), golden.get(name, "grad_input"), name + ".grad_input",
                                 pare::testing::kElementwiseTolerance);
    }
  }
  std::ostringstream printed;
  printed << *pare::nn::Softshrink() << " " << *pare::nn::Softmax(1) << " "
          << *pare::nn::LogSoftmax(-1);
  CHECK(printed.str() == "Softshrink(0.5) Softmax(dim=1) LogSoftmax(dim=-1)");
  CHECK(pare::testing::contains(pare::testing::error_of([] { pare::nn::Softshrink(-0.1); }),
                                "Softshrink: lambd must be >= 0, got -0.1"));
}

TEST_CASE("nn::Softmax / nn::LogSoftmax match PyTorch's softmax goldens") {
  pare::testing::GoldenFile golden("activation");
  for (const std::string name : {"softmax_last", "softmax_first", "log_softmax_middle"}) {
    INFO("case " << name);
    const nlohmann::json a = golden.arguments(name);
    const int64_t dim = a.at("dim");
    std::shared_ptr<pare::nn::UnaryModule> module;
    if (a.at("function") == "softmax") {
      module = pare::nn::Softmax(dim).ptr();
    } else {
      module = pare::nn::LogSoftmax(dim).ptr();
    }
    pare::Tensor input = golden.get(name, "input").clone().set_requires_grad(true);
    pare::Tensor output = (*module)(input);
    pare::testing::check_close(output, golden.get(name, "output"), name + ".output",
                               pare::testing::kElementwiseTolerance);
    output.backward(golden.get(name, "grad_output"));
    pare::testing::check_close(input.grad(), golden.get(name, "grad_input"), name + ".grad_input",
                               pare::testing::kElementwiseTolerance);
  }
}

TEST_CASE("Softmax, LogSoftmax and Softshrink trace, save to .pare, load and run the same") {
  pare::manual_seed(5);
  auto net = std::make_shared<HeadNet>();
  net->eval();
  const pare::Tensor x = pare::randn({3, 5});
  pare::ir::GraphModule traced = pare::ir::trace(net, {x});
  // Softshrink is a layer (call_module "shrink"); Softmax and LogSoftmax record the functions
  // they compute, with their dims, as tools/pare_export.py writes torch's nn.Softmax.
  std::map<std::string, const pare::ir::Node*> by_target;
  for (const pare::ir::Node* node : traced.graph().nodes()) by_target[node->target()] = node;
  for (const std::string target : {"shrink", "softshrink", "softmax", "log_softmax"})
    CHECK_MESSAGE(by_target.count(target) == 1, target);
  REQUIRE(by_target.count("log_softmax") == 1);
  const pare::ir::Argument* dim = by_target["log_softmax"]->kwarg("dim");
  REQUIRE(dim != nullptr);
  CHECK(dim->to_int() == -1);
  const std::string path = scratch("head.pare");
  pare::ir::save(traced, path);
  pare::ir::GraphModule loaded = pare::ir::load(path);
  CHECK(loaded.root().get_submodule("shrink")->type_name() == "Softshrink");
  CHECK(loaded.root().get_submodule("shrink")->config() == pare::Attrs{{"lambd", 0.3}});
  const pare::Tensor expected = net->forward(x);
  CHECK(pare::testing::max_abs_diff(loaded.forward({x}), expected) == 0.0);
  CHECK(pare::testing::max_abs_diff(traced.forward({x}), expected) == 0.0);
}

TEST_CASE("BatchNorm2d with momentum = None keeps PyTorch's cumulative moving average") {
  pare::testing::GoldenFile golden("batch_norm_cumulative");
  const std::string name = "momentum_none";
  REQUIRE(golden.arguments(name).at("momentum").is_null());
  pare::nn::BatchNorm2d bn(pare::nn::BatchNorm2dOptions(3).momentum(std::nullopt));
  CHECK_FALSE(bn->options().momentum().has_value());
  bn->load_state_dict(golden.group(name, "param."));
  for (int step = 1; step <= golden.arguments(name).at("steps").get<int>(); ++step) {
    const std::string prefix = "step" + std::to_string(step) + ".";
    pare::Tensor input = golden.get(name, prefix + "input").clone().set_requires_grad(true);
    pare::Tensor output = bn(input);
    pare::testing::check_close(output, golden.get(name, prefix + "output"), name + prefix,
                               pare::testing::kElementwiseTolerance);
    output.backward(golden.get(name, prefix + "grad_output"));
    pare::testing::check_close(input.grad(), golden.get(name, prefix + "grad_input"),
                               name + prefix + "grad_input", pare::testing::kElementwiseTolerance);
    for (const auto& [key, expected] : golden.group(name, prefix + "buffer_after."))
      pare::testing::check_close(bn->get_buffer(key), expected, name + prefix + key,
                                 pare::testing::kElementwiseTolerance);
  }
  std::ostringstream printed;
  printed << *bn;
  CHECK(printed.str() ==
        "BatchNorm2d(3, eps=1e-05, momentum=None, affine=True, track_running_stats=True)");

  // The cumulative layer survives a .pare file (no momentum attribute means None).
  struct Wrapper : pare::nn::Module {
    Wrapper() {
      bn = register_module(
          "bn", pare::nn::BatchNorm2d(pare::nn::BatchNorm2dOptions(3).momentum(std::nullopt)));
    }
    pare::Tensor forward(const pare::Tensor& x) { return bn(x); }
    pare::nn::BatchNorm2d bn{nullptr};
  };
  auto wrapper = std::make_shared<Wrapper>();
  wrapper->eval();
  pare::ir::GraphModule traced = pare::ir::trace(wrapper, {pare::randn({2, 3, 4, 4})});
  pare::ir::save(traced, scratch("cumulative.pare"));
  pare::ir::GraphModule loaded = pare::ir::load(scratch("cumulative.pare"));
  auto* layer = pare::nn::as<pare::nn::BatchNorm2dImpl>(loaded.root().get_submodule("bn").get());
  REQUIRE(layer != nullptr);
  CHECK_FALSE(layer->options().momentum().has_value());
}

TEST_CASE("Conv2d and the pools on an empty batch: empty results of PyTorch's shapes, both ways") {
  // Shapes as PyTorch 1.13 gives them for a [0, 3, 7, 6] input (and by hand: the conv's output
  // is (7 + 2 - 3) / 2 + 1 = 4 by (6 + 2 - 3) / 2 + 1 = 3).
  pare::nn::Conv2d conv(pare::nn::Conv2dOptions(3, 4, 3).stride(2).padding(1));
  pare::Tensor x = pare::zeros({0, 3, 7, 6}).set_requires_grad(true);
  pare::Tensor y = conv(x);
  CHECK(y.sizes() == pare::Shape{0, 4, 4, 3});
  pare::sum(y).backward();
  CHECK(x.grad().sizes() == pare::Shape{0, 3, 7, 6});
  // Sums over no samples: zero, as PyTorch's.
  CHECK(pare::testing::values(conv->weight().grad()) ==
        std::vector<float>(conv->weight().numel(), 0.0f));
  CHECK(pare::testing::values(conv->bias().grad()) == std::vector<float>(4, 0.0f));

  const std::vector<std::pair<std::function<pare::Tensor(const pare::Tensor&)>, pare::Shape>>
      pools = {
          {[](const pare::Tensor& t) {
             return F::max_pool2d(t, F::MaxPool2dFuncOptions(3).stride(2).padding(1));
           },
           {0, 3, 4, 3}},
          {[](const pare::Tensor& t) { return pare::max_pool2d(t, 2); }, {0, 3, 3, 3}},
          {[](const pare::Tensor& t) {
             return F::avg_pool2d(t, F::AvgPool2dFuncOptions({3, 2}));
           },
           {0, 3, 2, 3}},
          {[](const pare::Tensor& t) {
             return pare::adaptive_avg_pool2d(t, {2, 3});
           },
           {0, 3, 2, 3}},
          {[](const pare::Tensor& t) { return pare::adaptive_max_pool2d(t, 1); }, {0, 3, 1, 1}},
      };
  for (const auto& [pool, shape] : pools) {
    pare::Tensor input = pare::zeros({0, 3, 7, 6}).set_requires_grad(true);
    pare::Tensor output = pool(input);
    CHECK(output.sizes() == shape);
    pare::sum(output).backward();
    CHECK(input.grad().sizes() == pare::Shape{0, 3, 7, 6});
  }
  // Only the batch may be empty.
  CHECK(pare::testing::contains(pare::testing::error_of([&] {
                                  conv(pare::zeros({2, 3, 0, 6}));
                                }),
                                "conv2d: sizes must be positive (only the batch may be 0)"));
  CHECK(
      pare::testing::contains(pare::testing::error_of([] {
                                pare::max_pool2d(pare::zeros({2, 0, 4, 4}), 2);
                              }),
                              "max_pool2d: expected a non-empty input (only the batch may be 0)"));
}
