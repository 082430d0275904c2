// Parametrizations on the built-in layers: the weight becomes fn(original) in forward, gradients
// reach the original, state_dict keys are PyTorch's, chains apply in order, removal with and
// without leave_parametrized, and a shape-changing parametrization is rejected.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "pare/pare.h"
#include "test_util.h"

namespace {

namespace nn = pare::nn;
using pare::Shape;
using pare::Tensor;

std::vector<std::string> state_keys(const nn::Module& module) {
  std::vector<std::string> keys;
  for (const auto& [name, tensor] : module.state_dict()) keys.push_back(name);
  return keys;
}

std::vector<std::string> parameter_names(const nn::Module& module) {
  std::vector<std::string> names;
  for (const auto& [name, tensor] : module.named_parameters()) names.push_back(name);
  return names;
}

void assign(Tensor target, const std::vector<float>& values) {
  pare::NoGradGuard no_grad;
  target.copy_(pare::tensor(values, target.sizes()));
}

// Keeps the output rows whose mask entry is 1, as the structured sparsifier does. The mask is a
// buffer, so it is saved with the model.
class RowMask : public nn::Parametrization {
 public:
  explicit RowMask(const std::vector<float>& mask) : nn::Parametrization("RowMask") {
    register_buffer("mask", pare::tensor(mask));
  }
  Tensor apply(const Tensor& original) override {
    Shape per_row(original.dim(), 1);
    per_row[0] = original.size(0);
    return original * get_buffer("mask").reshape(per_row);
  }
};

TEST_CASE("a parametrized Linear weight is fn(original) in forward, with PyTorch's keys") {
  nn::Linear fc(3, 2);
  assign(fc->weight(), {1, 2, 3, 4, 5, 6});
  assign(fc->bias(), {0.5f, -0.5f});
  Tensor original = fc->weight();
  nn::register_parametrization(fc.ptr(), "weight",
                               std::make_shared<RowMask>(std::vector<float>{0, 1}));

  CHECK(nn::is_parametrized(*fc));
  CHECK(nn::is_parametrized(*fc, "weight"));
  CHECK_FALSE(nn::is_parametrized(*fc, "bias"));
  CHECK(fc->has_parameter("weight"));
  CHECK(pare::to_float_vector(fc->weight()) == std::vector<float>{0, 0, 0, 4, 5, 6});
  CHECK(fc->parametrization("weight")->original().is_same(original));
  // x W^T + b by hand with the first row masked.
  Tensor x = pare::tensor({1, 0, -1, 2, 1, 1}, {2, 3});
  CHECK(pare::to_float_vector(fc(x)) == std::vector<float>{0.5f, -2.5f, 0.5f, 18.5f});

  CHECK(state_keys(*fc) == std::vector<std::string>{"bias", "parametrizations.weight.original",
                                                    "parametrizations.weight.0.mask"});
  CHECK(parameter_names(*fc) ==
        std::vector<std::string>{"bias", "parametrizations.weight.original"});

  // The gradient reaches the original through the mask: d sum(y) / dW = mask * sum_n x_n.
  fc(x).sum().backward();
  CHECK(pare::to_float_vector(original.grad()) == std::vector<float>{0, 0, 0, 3, 1, 0});
  CHECK(pare::to_float_vector(fc->bias().grad()) == std::vector<float>{2, 2});
}

TEST_CASE(
    "a parametrized Conv2d matches conv2d on the parametrized weight; chains apply in order") {
  pare::manual_seed(31);
  nn::Conv2d conv(nn::Conv2dOptions(2, 3, 3).padding(1));
  Tensor original = conv->weight().clone();
  nn::register_parametrization(conv.ptr(), "weight",
                               std::make_shared<RowMask>(std::vector<float>{1, 0, 1}));
  nn::register_parametrization(
      conv.ptr(), "weight",
      nn::make_parametrization("Double", [](const Tensor& w) { return w * 2.0; }));
  CHECK(conv->parametrization("weight")->size() == 2);
  CHECK(conv->parametrization("weight")->at(1)->type_name() == "Double");

  Tensor mask = pare::tensor({1, 0, 1}, {3, 1, 1, 1});
  Tensor expected_weight = original * mask * 2.0;
  CHECK(pare::allclose(conv->weight(), expected_weight));
  Tensor x = pare::randn({1, 2, 5, 5});
  CHECK(pare::allclose(conv(x), pare::conv2d(x, expected_weight, conv->bias(), 1, 1), 1e-5, 1e-5));
  // A pruned output channel is its bias alone.
  Tensor channel = conv(x).select(1, 1);
  CHECK(pare::allclose(channel, pare::full({1, 5, 5}, conv->bias().select(0, 1).item<double>())));
}

TEST_CASE("remove_parametrizations with and without leave_parametrized") {
  nn::Linear fc(2, 2);
  assign(fc->weight(), {1, 2, 3, 4});
  auto half = nn::make_parametrization("Half", [](const Tensor& w) { return w * 0.5; });

  nn::register_parametrization(fc.ptr(), "weight", half);
  nn::remove_parametrizations(fc.ptr(), "weight", /*leave_parametrized=*/true);
  CHECK_FALSE(nn::is_parametrized(*fc));
  CHECK(fc->get_child("parametrizations") == nullptr);
  CHECK(pare::to_float_vector(fc->weight()) == std::vector<float>{0.5f, 1, 1.5f, 2});
  CHECK(fc->weight().requires_grad());
  CHECK(fc->weight().is_leaf());
  std::vector<std::string> keys = state_keys(*fc);
  std::sort(keys.begin(), keys.end());
  CHECK(keys == std::vector<std::string>{"bias", "weight"});

  Tensor before = fc->weight();
  nn::register_parametrization(fc.ptr(), "weight", half);
  CHECK(pare::to_float_vector(fc->weight()) == std::vector<float>{0.25f, 0.5f, 0.75f, 1});
  nn::remove_parametrizations(fc.ptr(), "weight", /*leave_parametrized=*/false);
  CHECK(fc->weight().is_same(before));
  CHECK(pare::to_float_vector(fc->weight()) == std::vector<float>{0.5f, 1, 1.5f, 2});
  // Forward uses the plain weight again.
  Tensor x = pare::tensor({1, 1}, {1, 2});
  CHECK(pare::allclose(fc(x), pare::linear(x, before, fc->bias())));

  CHECK_THROWS_WITH_AS(nn::remove_parametrizations(fc.ptr(), "weight"),
                       doctest::Contains("not parametrized"), pare::Error);
}

TEST_CASE("rejected parametrizations: shape changes, unknown names, replacing a parametrized one") {
  nn::Linear fc(4, 3);
  auto drop_row = nn::make_parametrization(
      "DropRow", [](const Tensor& w) { return w.narrow(0, 0, w.size(0) - 1); });
  CHECK_THROWS_WITH_AS(nn::register_parametrization(fc.ptr(), "weight", drop_row),
                       doctest::Contains("changes its shape from [3, 4] to [2, 4]"), pare::Error);
  CHECK_FALSE(nn::is_parametrized(*fc));
  CHECK(fc->weight().sizes() == Shape{3, 4});

  auto identity = nn::make_parametrization("Same", [](const Tensor& w) { return w; });
  CHECK_THROWS_WITH_AS(nn::register_parametrization(fc.ptr(), "kernel", identity),
                       doctest::Contains("no parameter named 'kernel'"), pare::Error);
  nn::Linear no_bias(nn::LinearOptions(4, 3).bias(false));
  CHECK_THROWS_AS(nn::register_parametrization(no_bias.ptr(), "bias", identity), pare::Error);

  nn::register_parametrization(fc.ptr(), "weight", identity);
  CHECK_THROWS_WITH_AS(fc->register_parameter("weight", pare::zeros({3, 4})),
                       doctest::Contains("is parametrized"), pare::Error);
}

TEST_CASE("a parametrized model saves and loads through state_dict") {
  pare::manual_seed(32);
  nn::Sequential source(nn::Linear(3, 2), nn::ReLU());
  nn::register_parametrization((*source)[0], "weight",
                               std::make_shared<RowMask>(std::vector<float>{1, 0}));
  pare::manual_seed(33);
  nn::Sequential target(nn::Linear(3, 2), nn::ReLU());
  nn::register_parametrization((*target)[0], "weight",
                               std::make_shared<RowMask>(std::vector<float>{0, 1}));
  CHECK(state_keys(*target) == std::vector<std::string>{"0.bias",
                                                        "0.parametrizations.weight.original",
                                                        "0.parametrizations.weight.0.mask"});
  target->load_state_dict(source->state_dict());
  Tensor x = pare::randn({4, 3});
  CHECK(pare::equal(target(x), source(x)));  // the mask buffer came along
}

}  // namespace
