// The built-in layers and nn::init: each layer's forward against hand-computed values or naive
// loops written here, and against its functional op on the layer's own parameters; parameter
// names and shapes; output shapes; default initialisation statistics; config() and printing.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "pare/pare.h"
#include "test_util.h"

namespace {

namespace nn = pare::nn;
namespace init = pare::nn::init;
using pare::Attrs;
using pare::IntPair;
using pare::Shape;
using pare::Tensor;

void assign(Tensor target, const std::vector<float>& values) {
  pare::NoGradGuard no_grad;
  target.copy_(pare::tensor(values, target.sizes()));
}

std::string printed(const nn::Module& module) {
  std::ostringstream stream;
  stream << module;
  return stream.str();
}

bool close(const Tensor& a, const Tensor& b, double tolerance = 1e-5) {
  return a.sizes() == b.sizes() && pare::allclose(a, b, tolerance, tolerance);
}

std::vector<std::string> parameter_names(const nn::Module& module) {
  std::vector<std::string> names;
  for (const auto& [name, tensor] : module.named_parameters()) names.push_back(name);
  return names;
}

struct Moments {
  double mean = 0, variance = 0, max_abs = 0;
};

Moments moments_of(const Tensor& tensor) {
  std::vector<float> values = pare::to_float_vector(tensor);
  Moments m;
  for (float v : values) {
    m.mean += v;
    m.max_abs = std::max(m.max_abs, std::fabs(static_cast<double>(v)));
  }
  m.mean /= static_cast<double>(values.size());
  for (float v : values) m.variance += (v - m.mean) * (v - m.mean);
  m.variance /= static_cast<double>(values.size());
  return m;
}

// Naive convolution in double precision (PyTorch's definition).
std::vector<float> conv2d_reference(const Tensor& input, const Tensor& weight, const Tensor& bias,
                                    IntPair stride, IntPair padding, IntPair dilation,
                                    int64_t groups, Shape& out_shape) {
  const auto x = pare::to_float_vector(input);
  const auto w = pare::to_float_vector(weight);
  const int64_t n = input.size(0), c = input.size(1), h = input.size(2), wd = input.size(3);
  const int64_t oc = weight.size(0), icg = weight.size(1), kh = weight.size(2), kw = weight.size(3);
  const int64_t oh = (h + 2 * padding.first - dilation.first * (kh - 1) - 1) / stride.first + 1;
  const int64_t ow = (wd + 2 * padding.second - dilation.second * (kw - 1) - 1) / stride.second + 1;
  const int64_t ocg = oc / groups;
  out_shape = {n, oc, oh, ow};
  std::vector<float> out(n * oc * oh * ow);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t o = 0; o < oc; ++o)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t xx = 0; xx < ow; ++xx) {
          double sum = bias.defined() ? pare::to_float_vector(bias)[o] : 0.0;
          const int64_t g = o / ocg;
          for (int64_t i = 0; i < icg; ++i)
            for (int64_t p = 0; p < kh; ++p)
              for (int64_t q = 0; q < kw; ++q) {
                const int64_t iy = y * stride.first - padding.first + p * dilation.first;
                const int64_t ix = xx * stride.second - padding.second + q * dilation.second;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                sum += static_cast<double>(x[((b * c + g * icg + i) * h + iy) * wd + ix]) *
                       w[((o * icg + i) * kh + p) * kw + q];
              }
          out[((b * oc + o) * oh + y) * ow + xx] = static_cast<float>(sum);
        }
  return out;
}

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

TEST_CASE("Linear: parameters, hand-computed forward, functional agreement, printing") {
  nn::Linear fc(3, 2);
  CHECK(parameter_names(*fc) == std::vector<std::string>{"weight", "bias"});
  CHECK(fc->weight().sizes() == Shape{2, 3});
  CHECK(fc->weight().requires_grad());
  CHECK(fc->is_leaf_layer());
  CHECK(fc->type_name() == "Linear");
  assign(fc->weight(), {1, 2, 3, 0, -1, 0.5f});
  assign(fc->bias(), {0.5f, -1});
  Tensor x = pare::tensor({1, 1, 1, 2, 0, -2}, {2, 3});
  CHECK(pare::to_float_vector(fc(x)) == std::vector<float>{6.5f, -1.5f, -3.5f, -2.0f});

  nn::Linear plain(nn::LinearOptions(4, 5).bias(false));
  CHECK_FALSE(plain->bias().defined());
  CHECK(parameter_names(*plain) == std::vector<std::string>{"weight"});
  Tensor batch = pare::randn({2, 3, 4});
  CHECK(plain(batch).sizes() == Shape{2, 3, 5});
  CHECK(close(plain(batch), pare::linear(batch, plain->weight())));
  CHECK(plain->config() ==
        Attrs{{"in_features", int64_t{4}}, {"out_features", int64_t{5}}, {"bias", false}});
  CHECK(printed(*fc) == "Linear(in_features=3, out_features=2, bias=True)");
  CHECK(printed(*plain) == "Linear(in_features=4, out_features=5, bias=False)");
}

TEST_CASE("Linear and Conv2d default initialisation: kaiming_uniform(a=sqrt(5)) and bias bound") {
  pare::manual_seed(11);
  nn::Linear fc(400, 300);
  const double bound = 1.0 / std::sqrt(400.0);
  Moments w = moments_of(fc->weight());
  CHECK(w.max_abs <= bound);
  CHECK(w.max_abs > 0.99 * bound);
  CHECK(std::fabs(w.mean) < 5e-4);
  CHECK(w.variance == doctest::Approx(bound * bound / 3.0).epsilon(0.03));
  Moments b = moments_of(fc->bias());
  CHECK(b.max_abs <= bound);
  CHECK(b.max_abs > 0.9 * bound);

  nn::Conv2d conv(nn::Conv2dOptions(64, 128, 3).groups(2));
  const double conv_bound = 1.0 / std::sqrt(32.0 * 9.0);  // fan_in = in / groups * kh * kw
  Moments cw = moments_of(conv->weight());
  CHECK(cw.max_abs <= conv_bound);
  CHECK(cw.max_abs > 0.99 * conv_bound);
  CHECK(cw.variance == doctest::Approx(conv_bound * conv_bound / 3.0).epsilon(0.03));
  CHECK(moments_of(conv->bias()).max_abs <= conv_bound);

  pare::manual_seed(11);
  nn::Linear again(400, 300);
  CHECK(pare::equal(again->weight(), fc->weight()));
}

TEST_CASE("Conv2d: naive reference, functional agreement, shapes, printing, errors") {
  pare::manual_seed(12);
  struct Case {
    nn::Conv2dOptions options;
    Shape input;
  };
  std::vector<Case> cases = {
      {nn::Conv2dOptions(1, 8, 3).padding(1), {2, 1, 6, 6}},
      {nn::Conv2dOptions(4, 6, {3, 2}).stride({2, 1}).padding({1, 0}).dilation(2).groups(2),
       {1, 4, 9, 7}},
      {nn::Conv2dOptions(3, 3, 3).groups(3).bias(false), {2, 3, 5, 5}},
  };
  for (const Case& c : cases) {
    nn::Conv2d conv(c.options);
    const auto& o = c.options;
    CHECK(conv->weight().sizes() == Shape{o.out_channels(), o.in_channels() / o.groups(),
                                          o.kernel_size().first, o.kernel_size().second});
    CHECK(conv->bias().defined() == o.bias());
    Tensor x = pare::randn(c.input);
    Tensor y = conv(x);
    Shape expected_shape;
    auto expected = conv2d_reference(x, conv->weight(), conv->bias(), o.stride(), o.padding(),
                                     o.dilation(), o.groups(), expected_shape);
    CHECK(y.sizes() == expected_shape);
    CHECK(pare::testing::allclose(pare::to_float_vector(y), expected, 1e-4, 1e-4));
    CHECK(close(y, pare::conv2d(x, conv->weight(), conv->bias(), o.stride(), o.padding(),
                                o.dilation(), o.groups())));
  }
  nn::Conv2d conv(nn::Conv2dOptions(1, 8, 3).padding(1));
  CHECK(printed(*conv) == "Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))");
  nn::Conv2d fancy(nn::Conv2dOptions(4, 8, {3, 1}).stride(2).dilation(2).groups(2).bias(false));
  CHECK(printed(*fancy) ==
        "Conv2d(4, 8, kernel_size=(3, 1), stride=(2, 2), dilation=(2, 2), groups=2, bias=False)");
  CHECK(fancy->config() == Attrs{{"in_channels", int64_t{4}},
                                 {"out_channels", int64_t{8}},
                                 {"kernel_size", std::vector<int64_t>{3, 1}},
                                 {"stride", std::vector<int64_t>{2, 2}},
                                 {"padding", std::vector<int64_t>{0, 0}},
                                 {"dilation", std::vector<int64_t>{2, 2}},
                                 {"groups", int64_t{2}},
                                 {"bias", false}});
  nn::Conv2d positional(3, 5, 2);
  CHECK(positional(pare::randn({3, 7, 7})).sizes() == Shape{5, 6, 6});  // unbatched
  CHECK_THROWS_WITH_AS(nn::Conv2d(nn::Conv2dOptions(6, 4, 3).groups(4)),
                       doctest::Contains("divisible by groups"), pare::Error);
}

TEST_CASE("LSTM: parameter names and shapes, initialisation, forward, state, printing") {
  pare::manual_seed(13);
  nn::LSTM lstm(nn::LSTMOptions(3, 4).num_layers(2));
  CHECK(parameter_names(*lstm) ==
        std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                 "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"});
  CHECK(lstm->get_parameter("weight_ih_l0").sizes() == Shape{16, 3});
  CHECK(lstm->get_parameter("weight_ih_l1").sizes() == Shape{16, 4});
  CHECK(lstm->get_parameter("weight_hh_l1").sizes() == Shape{16, 4});
  CHECK(lstm->get_parameter("bias_hh_l1").sizes() == Shape{16});
  for (const Tensor& p : lstm->parameters()) CHECK(moments_of(p).max_abs <= 0.5);
  nn::LSTM wide(10, 100);
  Moments w = moments_of(wide->get_parameter("weight_hh_l0"));
  CHECK(w.max_abs <= 0.1);
  CHECK(w.max_abs > 0.099);

  Tensor x = pare::randn({5, 2, 3});
  auto [output, state] = lstm(x);
  auto [h_n, c_n] = state;
  CHECK(output.sizes() == Shape{5, 2, 4});
  CHECK(h_n.sizes() == Shape{2, 2, 4});
  CHECK(c_n.sizes() == Shape{2, 2, 4});
  auto [ref_output, ref_h, ref_c] =
      pare::lstm(x, Tensor(), Tensor(), lstm->flat_weights(), true, 2, false);
  CHECK(close(output, ref_output));
  CHECK(close(h_n, ref_h));
  CHECK(close(c_n, ref_c));
  // The last layer's final hidden state is the last output step.
  CHECK(close(h_n.select(0, 1), output.select(0, 4)));

  Tensor h0 = pare::randn({2, 2, 4}), c0 = pare::randn({2, 2, 4});
  auto [continued, continued_state] = lstm(x, nn::LSTMImpl::State{h0, c0});
  CHECK(close(continued, std::get<0>(pare::lstm(x, h0, c0, lstm->flat_weights(), true, 2, false))));
  CHECK(close(lstm->call(x), output));

  nn::LSTM batch_first(nn::LSTMOptions(3, 4).batch_first(true).bias(false));
  CHECK(parameter_names(*batch_first) == std::vector<std::string>{"weight_ih_l0", "weight_hh_l0"});
  auto [bf_output, bf_state] = batch_first(pare::randn({2, 5, 3}));
  CHECK(bf_output.sizes() == Shape{2, 5, 4});
  CHECK(std::get<0>(bf_state).sizes() == Shape{1, 2, 4});

  CHECK(printed(*lstm) == "LSTM(3, 4, num_layers=2)");
  CHECK(printed(*batch_first) == "LSTM(3, 4, bias=False, batch_first=True)");
  CHECK(lstm->config() == Attrs{{"input_size", int64_t{3}},
                                {"hidden_size", int64_t{4}},
                                {"num_layers", int64_t{2}},
                                {"bias", true},
                                {"batch_first", false}});
}

TEST_CASE("LSTM: one unit by hand (gates i, f, g, o)") {
  nn::LSTM lstm(1, 1);
  const std::vector<float> w_ih = {0.5f, -0.3f, 0.8f, 0.2f}, w_hh = {0.1f, 0.4f, -0.6f, 0.7f};
  const std::vector<float> b_ih = {0.05f, 0.1f, -0.2f, 0.3f}, b_hh = {-0.1f, 0.2f, 0.1f, 0.0f};
  assign(lstm->get_parameter("weight_ih_l0"), w_ih);
  assign(lstm->get_parameter("weight_hh_l0"), w_hh);
  assign(lstm->get_parameter("bias_ih_l0"), b_ih);
  assign(lstm->get_parameter("bias_hh_l0"), b_hh);
  const std::vector<float> inputs = {1.0f, -2.0f, 0.5f};
  double h = 0, c = 0;
  std::vector<float> expected;
  for (float input : inputs) {
    double gate[4];
    for (int k = 0; k < 4; ++k) gate[k] = w_ih[k] * input + b_ih[k] + w_hh[k] * h + b_hh[k];
    c = sigmoid(gate[1]) * c + sigmoid(gate[0]) * std::tanh(gate[2]);
    h = sigmoid(gate[3]) * std::tanh(c);
    expected.push_back(static_cast<float>(h));
  }
  auto [output, state] = lstm(pare::tensor(inputs, {3, 1, 1}));
  CHECK(pare::testing::max_abs_diff(pare::to_float_vector(output), expected) < 1e-5);
  CHECK(std::get<1>(state).item<double>() == doctest::Approx(c).epsilon(1e-5));
}

TEST_CASE("LayerNorm: normalised rows, affine parameters, printing") {
  pare::manual_seed(14);
  nn::LayerNorm norm(Shape{6});
  CHECK(pare::to_float_vector(norm->weight()) == std::vector<float>(6, 1.0f));
  CHECK(pare::to_float_vector(norm->bias()) == std::vector<float>(6, 0.0f));
  Tensor x = pare::randn({4, 6}) * 3.0 + 1.0;
  Tensor y = norm(x);
  for (int64_t row = 0; row < 4; ++row) {
    Moments m = moments_of(y.select(0, row));
    CHECK(std::fabs(m.mean) < 1e-5);
    CHECK(m.variance == doctest::Approx(1.0).epsilon(1e-3));
  }
  assign(norm->weight(), {1, 2, 3, 4, 5, 6});
  assign(norm->bias(), {0, 0, 1, 1, 2, 2});
  CHECK(close(norm(x), pare::layer_norm(x, {6}, norm->weight(), norm->bias())));
  CHECK(printed(*norm) == "LayerNorm((6,), eps=1e-05, elementwise_affine=True)");

  nn::LayerNorm plain(nn::LayerNormOptions({2, 3}).eps(1e-6).elementwise_affine(false));
  CHECK(plain->named_parameters().empty());
  Tensor z = pare::randn({5, 2, 3});
  CHECK(close(plain(z), pare::layer_norm(z, {2, 3}, Tensor(), Tensor(), 1e-6)));
  CHECK(printed(*plain) == "LayerNorm((2, 3), eps=1e-06, elementwise_affine=False)");
  CHECK(plain->config() == Attrs{{"normalized_shape", std::vector<int64_t>{2, 3}},
                                 {"eps", 1e-6},
                                 {"elementwise_affine", false}});
}

TEST_CASE("BatchNorm2d: batch statistics and running updates when training, running ones in eval") {
  pare::manual_seed(15);
  nn::BatchNorm2d bn(2);
  CHECK(parameter_names(*bn) == std::vector<std::string>{"weight", "bias"});
  assign(bn->weight(), {2.0f, -1.0f});
  assign(bn->bias(), {0.5f, 0.0f});
  Tensor x = pare::randn({4, 2, 3, 3}) + 1.0;
  const auto values = pare::to_float_vector(x);
  double mean[2] = {0, 0}, var[2] = {0, 0};
  const int count = 4 * 9;
  for (int n = 0; n < 4; ++n)
    for (int ch = 0; ch < 2; ++ch)
      for (int i = 0; i < 9; ++i) mean[ch] += values[(n * 2 + ch) * 9 + i] / double(count);
  for (int n = 0; n < 4; ++n)
    for (int ch = 0; ch < 2; ++ch)
      for (int i = 0; i < 9; ++i) {
        const double d = values[(n * 2 + ch) * 9 + i] - mean[ch];
        var[ch] += d * d / double(count);
      }
  const double gamma[2] = {2.0, -1.0}, beta[2] = {0.5, 0.0};
  std::vector<float> expected(values.size());
  for (int n = 0; n < 4; ++n)
    for (int ch = 0; ch < 2; ++ch)
      for (int i = 0; i < 9; ++i) {
        const int at = (n * 2 + ch) * 9 + i;
        expected[at] = static_cast<float>(
            (values[at] - mean[ch]) / std::sqrt(var[ch] + 1e-5) * gamma[ch] + beta[ch]);
      }
  Tensor y = bn(x);
  CHECK(pare::testing::max_abs_diff(pare::to_float_vector(y), expected) < 1e-4);
  const auto running_mean = pare::to_float_vector(bn->running_mean());
  const auto running_var = pare::to_float_vector(bn->running_var());
  for (int ch = 0; ch < 2; ++ch) {
    CHECK(running_mean[ch] == doctest::Approx(0.1 * mean[ch]).epsilon(1e-4));
    CHECK(running_var[ch] ==
          doctest::Approx(0.9 + 0.1 * var[ch] * count / (count - 1)).epsilon(1e-4));
  }
  CHECK(bn->num_batches_tracked().item<int64_t>() == 1);

  bn->eval();
  Tensor z = pare::randn({1, 2, 2, 2});
  const auto z_values = pare::to_float_vector(z);
  std::vector<float> eval_expected(z_values.size());
  for (int ch = 0; ch < 2; ++ch)
    for (int i = 0; i < 4; ++i)
      eval_expected[ch * 4 + i] =
          static_cast<float>((z_values[ch * 4 + i] - running_mean[ch]) /
                                 std::sqrt(running_var[ch] + 1e-5) * gamma[ch] +
                             beta[ch]);
  CHECK(pare::testing::max_abs_diff(pare::to_float_vector(bn(z)), eval_expected) < 1e-5);
  CHECK(bn->num_batches_tracked().item<int64_t>() == 1);
  CHECK(printed(*bn) ==
        "BatchNorm2d(2, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");

  nn::BatchNorm2d bare(nn::BatchNorm2dOptions(3).affine(false).track_running_stats(false));
  CHECK(bare->state_dict().empty());
  bare->eval();  // no running statistics: evaluation still uses the batch's
  Tensor w = pare::randn({4, 3, 2, 2});
  CHECK(close(bare(w), pare::batch_norm(w, Tensor(), Tensor(), Tensor(), Tensor(), true)));
  CHECK(bare->config() == Attrs{{"num_features", int64_t{3}},
                                {"eps", 1e-5},
                                {"momentum", 0.1},
                                {"affine", false},
                                {"track_running_stats", false}});
  CHECK_THROWS_WITH_AS(bn(pare::randn({2, 2, 3})), doctest::Contains("4-d input"), pare::Error);
}

TEST_CASE("pooling layers: functional agreement, stride defaults, shapes, printing") {
  pare::manual_seed(16);
  Tensor x = pare::randn({2, 3, 7, 7});
  nn::MaxPool2d pool(2);
  CHECK(pool(x).sizes() == Shape{2, 3, 3, 3});
  CHECK(pool->config() == Attrs{{"kernel_size", std::vector<int64_t>{2, 2}},
                                {"stride", std::vector<int64_t>{2, 2}},
                                {"padding", std::vector<int64_t>{0, 0}},
                                {"dilation", std::vector<int64_t>{1, 1}},
                                {"ceil_mode", false}});
  nn::MaxPool2d overlap(nn::MaxPool2dOptions(3).stride(2).padding(1).ceil_mode(true));
  CHECK(close(overlap(x), pare::max_pool2d(x, 3, 2, 1, 1, true)));
  CHECK(printed(*pool) ==
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
  CHECK(printed(*overlap) ==
        "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True)");

  nn::AvgPool2d avg(nn::AvgPool2dOptions(2).padding(1).count_include_pad(false));
  CHECK(close(avg(x), pare::avg_pool2d(x, 2, 2, 1, false, false)));
  CHECK(avg(x).sizes() == Shape{2, 3, 4, 4});
  CHECK(printed(*avg) == "AvgPool2d(kernel_size=2, stride=2, padding=1)");
  CHECK(avg->config().back() ==
        std::pair<std::string, pare::AttrValue>{"count_include_pad", false});

  nn::AdaptiveAvgPool2d global(1);
  CHECK(close(global(x), pare::mean(x, {2, 3}, true)));
  CHECK(printed(*global) == "AdaptiveAvgPool2d(output_size=1)");
  nn::AdaptiveMaxPool2d grid(IntPair(3, 2));
  CHECK(grid(x).sizes() == Shape{2, 3, 3, 2});
  CHECK(close(grid(x), pare::adaptive_max_pool2d(x, {3, 2})));
  CHECK(printed(*grid) == "AdaptiveMaxPool2d(output_size=(3, 2))");
  CHECK(grid->config() == Attrs{{"output_size", std::vector<int64_t>{3, 2}}});
  // 7 -> 1 window covering everything per channel: the global maximum.
  nn::AdaptiveMaxPool2d global_max(1);
  CHECK(close(global_max(x).flatten(), std::get<0>(pare::max(x.reshape({6, 49}), 1))));
}

TEST_CASE("Flatten, Dropout and Identity") {
  nn::Flatten flatten;
  CHECK(flatten(pare::zeros({2, 3, 4, 5})).sizes() == Shape{2, 60});
  nn::Flatten middle(1, 2);
  CHECK(middle(pare::zeros({2, 3, 4, 5})).sizes() == Shape{2, 12, 5});
  CHECK(printed(*flatten) == "Flatten(start_dim=1, end_dim=-1)");
  CHECK(middle->config() == Attrs{{"start_dim", int64_t{1}}, {"end_dim", int64_t{2}}});

  pare::manual_seed(17);
  nn::Dropout drop(0.3);
  Tensor ones = pare::ones({20000});
  const auto dropped = pare::to_float_vector(drop(ones));
  int64_t zeros = 0, scaled = 0;
  for (float v : dropped) {
    zeros += v == 0.0f;
    scaled += std::fabs(v - 1.0f / 0.7f) < 1e-6f;
  }
  CHECK(zeros + scaled == 20000);
  CHECK(static_cast<double>(zeros) / 20000.0 == doctest::Approx(0.3).epsilon(0.05));
  drop->eval();
  CHECK(pare::equal(drop(ones), ones));
  CHECK(printed(*drop) == "Dropout(p=0.3, inplace=False)");
  CHECK(drop->config() == Attrs{{"p", 0.3}});
  CHECK_THROWS_WITH_AS(nn::Dropout(1.5), doctest::Contains("between 0 and 1"), pare::Error);

  nn::Identity identity;
  Tensor x = pare::randn({3});
  CHECK(identity(x).is_same(x));
  CHECK(printed(*identity) == "Identity()");
  CHECK(identity->is_leaf_layer());
}

TEST_CASE("Sequential: chaining, indexing, push_back, LSTM inside, a module without call()") {
  pare::manual_seed(18);
  nn::Sequential mlp(nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 2));
  CHECK(mlp->size() == 3);
  CHECK_FALSE(mlp->is_leaf_layer());
  auto& first = mlp->at<nn::LinearImpl>(0);
  auto& last = mlp->at<nn::LinearImpl>(2);
  Tensor x = pare::randn({5, 4});
  Tensor expected = pare::linear(pare::relu(pare::linear(x, first.weight(), first.bias())),
                                 last.weight(), last.bias());
  CHECK(close(mlp(x), expected));
  CHECK((*mlp)[1]->type_name() == "ReLU");
  CHECK_THROWS_WITH_AS(mlp->at<nn::ReLUImpl>(0), doctest::Contains("is a Linear"), pare::Error);
  CHECK_THROWS_WITH_AS((*mlp)[3], doctest::Contains("out of range"), pare::Error);
  mlp->push_back(std::make_shared<nn::SigmoidImpl>());
  CHECK(mlp->size() == 4);
  CHECK(close(mlp(x), pare::sigmoid(expected)));

  nn::Sequential recurrent(nn::LSTM(3, 6), nn::Linear(6, 2));
  CHECK(recurrent(pare::randn({7, 2, 3})).sizes() == Shape{7, 2, 2});

  nn::Sequential nested;
  nested->push_back(nn::Sequential(nn::Linear(2, 2)));
  nested->push_back(nn::Tanh());
  CHECK(nested->named_parameters().front().first == "0.0.weight");

  nn::Sequential broken(nn::Linear(2, 2));
  broken->push_back(std::make_shared<nn::Module>("Bare"));
  CHECK_THROWS_WITH_AS(broken(pare::randn({1, 2})), doctest::Contains("Bare"), pare::Error);
}

// Every activation equals its functional op with the module's arguments and prints as PyTorch.
TEST_CASE("the 21 activation modules") {
  struct Case {
    std::shared_ptr<nn::UnaryModule> module;
    std::function<Tensor(const Tensor&)> functional;
    std::string printed;
    Attrs config;
  };
  nn::PReLU prelu(3);
  assign(prelu->weight(), {0.1f, 0.2f, 0.3f});
  const std::vector<Case> cases = {
      {nn::ReLU().ptr(), [](const Tensor& x) { return pare::relu(x); }, "ReLU()", {}},
      {nn::RReLU(0.1, 0.3).ptr(),
       [](const Tensor& x) { return pare::rrelu(x, 0.1, 0.3, false); },
       "RReLU(lower=0.1, upper=0.3)",
       {{"lower", 0.1}, {"upper", 0.3}}},
      {nn::Hardtanh(-2.0, 2.0).ptr(),
       [](const Tensor& x) { return pare::hardtanh(x, -2.0, 2.0); },
       "Hardtanh(min_val=-2.0, max_val=2.0)",
       {{"min_val", -2.0}, {"max_val", 2.0}}},
      {nn::ReLU6().ptr(), [](const Tensor& x) { return pare::relu6(x); }, "ReLU6()", {}},
      {nn::Sigmoid().ptr(), [](const Tensor& x) { return pare::sigmoid(x); }, "Sigmoid()", {}},
      {nn::Hardsigmoid().ptr(),
       [](const Tensor& x) { return pare::hardsigmoid(x); },
       "Hardsigmoid()",
       {}},
      {nn::Tanh().ptr(), [](const Tensor& x) { return pare::tanh(x); }, "Tanh()", {}},
      {nn::SiLU().ptr(), [](const Tensor& x) { return pare::silu(x); }, "SiLU()", {}},
      {nn::Mish().ptr(), [](const Tensor& x) { return pare::mish(x); }, "Mish()", {}},
      {nn::Hardswish().ptr(),
       [](const Tensor& x) { return pare::hardswish(x); },
       "Hardswish()",
       {}},
      {nn::ELU(0.5).ptr(),
       [](const Tensor& x) { return pare::elu(x, 0.5); },
       "ELU(alpha=0.5)",
       {{"alpha", 0.5}}},
      {nn::CELU(1.5).ptr(),
       [](const Tensor& x) { return pare::celu(x, 1.5); },
       "CELU(alpha=1.5)",
       {{"alpha", 1.5}}},
      {nn::SELU().ptr(), [](const Tensor& x) { return pare::selu(x); }, "SELU()", {}},
      {nn::Hardshrink(0.3).ptr(),
       [](const Tensor& x) { return pare::hardshrink(x, 0.3); },
       "Hardshrink(0.3)",
       {{"lambd", 0.3}}},
      {nn::LeakyReLU(0.2).ptr(),
       [](const Tensor& x) { return pare::leaky_relu(x, 0.2); },
       "LeakyReLU(negative_slope=0.2)",
       {{"negative_slope", 0.2}}},
      {nn::LogSigmoid().ptr(),
       [](const Tensor& x) { return pare::logsigmoid(x); },
       "LogSigmoid()",
       {}},
      {nn::Softplus(2.0, 10.0).ptr(),
       [](const Tensor& x) { return pare::softplus(x, 2.0, 10.0); },
       "Softplus(beta=2.0, threshold=10.0)",
       {{"beta", 2.0}, {"threshold", 10.0}}},
      {prelu.ptr(),
       [&](const Tensor& x) { return pare::prelu(x, prelu->weight()); },
       "PReLU(num_parameters=3)",
       {{"num_parameters", int64_t{3}}}},
      {nn::Softsign().ptr(), [](const Tensor& x) { return pare::softsign(x); }, "Softsign()", {}},
      {nn::Tanhshrink().ptr(),
       [](const Tensor& x) { return pare::tanhshrink(x); },
       "Tanhshrink()",
       {}},
      {nn::GELU("tanh").ptr(),
       [](const Tensor& x) { return pare::gelu(x, "tanh"); },
       "GELU(approximate='tanh')",
       {{"approximate", std::string("tanh")}}},
  };
  CHECK(cases.size() == 21);
  pare::manual_seed(19);
  Tensor x = pare::randn({2, 3, 4}) * 3.0;
  for (const Case& c : cases) {
    CAPTURE(c.printed);
    c.module->eval();  // RReLU: the deterministic slope
    CHECK(c.module->is_leaf_layer());
    CHECK(close(c.module->forward(x), c.functional(x)));
    CHECK(close((*c.module)(x), c.functional(x)));
    CHECK(printed(*c.module) == c.printed);
    CHECK(c.module->config() == c.config);
    CHECK(c.printed.rfind(c.module->type_name() + "(", 0) == 0);
  }
}

TEST_CASE("activation defaults, PReLU parameter, RReLU modes, argument errors") {
  CHECK(printed(*nn::RReLU()) == "RReLU(lower=0.125, upper=0.3333333333333333)");
  CHECK(printed(*nn::Hardtanh()) == "Hardtanh(min_val=-1.0, max_val=1.0)");
  CHECK(printed(*nn::ELU()) == "ELU(alpha=1.0)");
  CHECK(printed(*nn::LeakyReLU()) == "LeakyReLU(negative_slope=0.01)");
  CHECK(printed(*nn::Softplus()) == "Softplus(beta=1.0, threshold=20.0)");
  CHECK(printed(*nn::Hardshrink()) == "Hardshrink(0.5)");
  CHECK(printed(*nn::GELU()) == "GELU(approximate='none')");
  CHECK(printed(*nn::PReLU()) == "PReLU(num_parameters=1)");

  nn::PReLU prelu;
  CHECK(parameter_names(*prelu) == std::vector<std::string>{"weight"});
  CHECK(pare::to_float_vector(prelu->weight()) == std::vector<float>{0.25f});
  CHECK(pare::to_float_vector(prelu(pare::tensor({-4.0f, 2.0f}))) ==
        std::vector<float>{-1.0f, 2.0f});
  nn::PReLU custom(4, 0.5);
  CHECK(pare::to_float_vector(custom->weight()) == std::vector<float>(4, 0.5f));

  nn::RReLU rrelu(0.1, 0.3);
  Tensor negative = pare::full({1000}, -1.0);
  rrelu->eval();
  CHECK(pare::to_float_vector(rrelu(negative)) == std::vector<float>(1000, -0.2f));
  rrelu->train();
  const auto slopes = pare::to_float_vector(rrelu(negative));
  CHECK(std::all_of(slopes.begin(), slopes.end(),
                    [](float v) { return v <= -0.1f + 1e-6f && v >= -0.3f - 1e-6f; }));
  CHECK(moments_of(pare::tensor(slopes)).variance > 1e-4);  // random when training

  CHECK_THROWS_WITH_AS(nn::GELU("fast"), doctest::Contains("'none' or 'tanh'"), pare::Error);
  CHECK_THROWS_WITH_AS(nn::Hardtanh(1.0, -1.0), doctest::Contains("max_val"), pare::Error);
}

TEST_CASE("init: gains and fans") {
  CHECK(init::calculate_gain("linear") == 1.0);
  CHECK(init::calculate_gain("conv2d") == 1.0);
  CHECK(init::calculate_gain("sigmoid") == 1.0);
  CHECK(init::calculate_gain("tanh") == doctest::Approx(5.0 / 3.0));
  CHECK(init::calculate_gain("relu") == doctest::Approx(std::sqrt(2.0)));
  CHECK(init::calculate_gain("leaky_relu") == doctest::Approx(std::sqrt(2.0 / (1 + 0.0001))));
  CHECK(init::calculate_gain("leaky_relu", 0.2) == doctest::Approx(std::sqrt(2.0 / 1.04)));
  CHECK(init::calculate_gain("selu") == 0.75);
  CHECK_THROWS_WITH_AS(init::calculate_gain("swish"), doctest::Contains("swish"), pare::Error);

  CHECK(init::calculate_fan_in_and_fan_out(pare::empty({8, 3, 5, 2})) ==
        std::pair<int64_t, int64_t>{30, 80});
  CHECK(init::calculate_fan_in_and_fan_out(pare::empty({6, 4})) ==
        std::pair<int64_t, int64_t>{4, 6});
  CHECK_THROWS_WITH_AS(init::kaiming_uniform_(pare::empty({5})),
                       doctest::Contains("fewer than 2 dims"), pare::Error);
}

TEST_CASE("init: distributions, no autograd history, repeatability") {
  pare::manual_seed(20);
  Tensor w = pare::empty({200, 100, 3, 3}).set_requires_grad(true);  // fan_in 900, fan_out 1800

  init::kaiming_uniform_(w, 0.0, init::FanMode::fan_in, "relu");
  CHECK(w.is_leaf());
  CHECK(w.requires_grad());
  const double kaiming_bound = std::sqrt(2.0) * std::sqrt(3.0 / 900.0);
  Moments m = moments_of(w);
  CHECK(m.max_abs <= kaiming_bound * (1 + 1e-6));
  CHECK(m.max_abs > 0.999 * kaiming_bound);
  CHECK(m.variance == doctest::Approx(kaiming_bound * kaiming_bound / 3.0).epsilon(0.02));

  init::kaiming_normal_(w, 0.0, init::FanMode::fan_out, "relu");
  m = moments_of(w);
  CHECK(std::fabs(m.mean) < 1e-3);
  CHECK(std::sqrt(m.variance) == doctest::Approx(std::sqrt(2.0 / 1800.0)).epsilon(0.02));

  init::xavier_uniform_(w, 2.0);
  const double xavier_bound = 2.0 * std::sqrt(6.0 / 2700.0);
  m = moments_of(w);
  CHECK(m.max_abs <= xavier_bound * (1 + 1e-6));
  CHECK(m.max_abs > 0.999 * xavier_bound);

  init::xavier_normal_(w);
  CHECK(std::sqrt(moments_of(w).variance) ==
        doctest::Approx(std::sqrt(2.0 / 2700.0)).epsilon(0.02));

  init::normal_(w, 3.0, 0.5);
  m = moments_of(w);
  CHECK(m.mean == doctest::Approx(3.0).epsilon(0.01));
  CHECK(std::sqrt(m.variance) == doctest::Approx(0.5).epsilon(0.02));

  init::uniform_(w, 2.0, 4.0);
  const auto values = pare::to_float_vector(w);
  CHECK(*std::min_element(values.begin(), values.end()) >= 2.0f);
  CHECK(*std::max_element(values.begin(), values.end()) <= 4.0f);
  CHECK(moments_of(w).mean == doctest::Approx(3.0).epsilon(0.01));

  Tensor small = pare::empty({2, 3});
  CHECK(pare::to_float_vector(init::constant_(small, 1.5)) == std::vector<float>(6, 1.5f));
  CHECK(pare::to_float_vector(init::zeros_(small)) == std::vector<float>(6, 0.0f));
  CHECK(pare::to_float_vector(init::ones_(small)) == std::vector<float>(6, 1.0f));
  CHECK(init::ones_(small).is_same(small));

  pare::manual_seed(21);
  Tensor a = init::xavier_uniform_(pare::empty({4, 4}));
  pare::manual_seed(21);
  Tensor b = init::xavier_uniform_(pare::empty({4, 4}));
  CHECK(pare::equal(a, b));
}

}  // namespace
