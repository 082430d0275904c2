// pare::lstm: a hand-computed single-unit sequence, layer stacking, batch_first, unbatched input
// and default states, the inference path against the training path, oneDNN (default) against
// the reference kernels for values and every gradient, finite differences through each of the
// three outputs, shape errors and what the tracer is told.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "gradcheck.h"
#include "pare/pare.h"
#include "test_util.h"

namespace {

using pare::Shape;
using pare::Tensor;
using pare::testing::contains;
using pare::testing::error_of;
using pare::testing::gradcheck;
using pare::testing::random_floats;

class ReferenceKernels {
 public:
  ReferenceKernels() { pare::set_reference_kernels(true); }
  ~ReferenceKernels() { pare::set_reference_kernels(false); }
};

struct RecordedCall {
  std::string name;
  size_t input_count = 0;
  pare::Attrs attrs;
  size_t output_count = 0;
};

class RecordingObserver : public pare::OpObserver {
 public:
  void on_function(const std::string& name, const std::vector<Tensor>& inputs,
                   const pare::Attrs& attrs, const std::vector<Tensor>& outputs) override {
    calls.push_back({name, inputs.size(), attrs, outputs.size()});
  }
  void on_module(const pare::nn::Module&, const std::vector<Tensor>&,
                 const std::vector<Tensor>&) override {}
  std::vector<RecordedCall> calls;
};

pare::AttrValue attr(const RecordedCall& call, const std::string& name) {
  for (const auto& [key, value] : call.attrs)
    if (key == name) return value;
  FAIL("attribute " << name << " missing from " << call.name);
  return pare::AttrValue{};
}

Tensor random_tensor(const Shape& shape, uint32_t seed, bool requires_grad = false) {
  Tensor t = pare::tensor(random_floats(pare::shape_numel(shape), seed), shape);
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

// Per layer w_ih [4H, I or H], w_hh [4H, H] and, with biases, b_ih and b_hh [4H].
std::vector<Tensor> make_weights(int64_t layers, int64_t input_size, int64_t hidden,
                                 bool has_biases, uint32_t seed, bool requires_grad = false) {
  std::vector<Tensor> weights;
  for (int64_t l = 0; l < layers; ++l) {
    const uint32_t layer_seed = seed + 10 * static_cast<uint32_t>(l);
    weights.push_back(
        random_tensor({4 * hidden, l == 0 ? input_size : hidden}, layer_seed, requires_grad));
    weights.push_back(random_tensor({4 * hidden, hidden}, layer_seed + 1, requires_grad));
    if (has_biases) {
      weights.push_back(random_tensor({4 * hidden}, layer_seed + 2, requires_grad));
      weights.push_back(random_tensor({4 * hidden}, layer_seed + 3, requires_grad));
    }
  }
  return weights;
}

bool close(const Tensor& a, const Tensor& b, double tolerance = 1e-5) {
  return a.sizes() == b.sizes() &&
         pare::testing::allclose(pare::to_float_vector(a), pare::to_float_vector(b), tolerance,
                                 tolerance);
}

double sigmoid_of(double value) { return 1.0 / (1.0 + std::exp(-value)); }

struct LstmConfig {
  int64_t layers = 2, seq_len = 3, batch = 2, input_size = 3, hidden = 2;
  bool has_biases = true, batch_first = false, with_states = true;
};

struct LstmInputs {
  Tensor x, h0, c0;
  std::vector<Tensor> weights;

  std::vector<Tensor> all() const {
    std::vector<Tensor> tensors{x, h0, c0};
    tensors.insert(tensors.end(), weights.begin(), weights.end());
    return tensors;
  }
};

LstmInputs make_inputs(const LstmConfig& c, uint32_t seed, bool requires_grad) {
  LstmInputs in;
  in.x = random_tensor(c.batch_first ? Shape{c.batch, c.seq_len, c.input_size}
                                     : Shape{c.seq_len, c.batch, c.input_size},
                       seed, requires_grad);
  if (c.with_states) {
    in.h0 = random_tensor({c.layers, c.batch, c.hidden}, seed + 1, requires_grad);
    in.c0 = random_tensor({c.layers, c.batch, c.hidden}, seed + 2, requires_grad);
  }
  in.weights =
      make_weights(c.layers, c.input_size, c.hidden, c.has_biases, seed + 3, requires_grad);
  return in;
}

// Calls pare::lstm on the flat list {x, h0, c0, weights...}, as gradcheck hands it over.
std::tuple<Tensor, Tensor, Tensor> run_lstm(const LstmConfig& c, const std::vector<Tensor>& in) {
  return pare::lstm(in[0], in[1], in[2], std::vector<Tensor>(in.begin() + 3, in.end()),
                    c.has_biases, c.layers, c.batch_first);
}

// Outputs, then the gradient of every defined input for fixed random output gradients.
std::vector<Tensor> outputs_and_gradients(const LstmConfig& c, const LstmInputs& inputs) {
  std::vector<Tensor> all = inputs.all();
  for (Tensor& input : all)
    if (input.defined()) input.mutable_grad() = Tensor();
  auto [output, h_n, c_n] = run_lstm(c, all);
  pare::autograd::run_backward({output, h_n, c_n},
                               {random_tensor(output.sizes(), 101), random_tensor(h_n.sizes(), 102),
                                random_tensor(c_n.sizes(), 103)},
                               false);
  std::vector<Tensor> result{output.detach(), h_n.detach(), c_n.detach()};
  for (const Tensor& input : all)
    if (input.defined()) result.push_back(input.grad());
  return result;
}

}  // namespace

TEST_CASE("lstm: one unit over two steps, computed by hand") {
  const std::vector<double> w_ih{0.5, -0.3, 0.8, 0.1}, w_hh{0.2, 0.4, -0.6, 0.7},
      b_ih{0.1, 0.2, -0.1, 0.05}, b_hh{0.0, 0.1, 0.2, -0.05}, xs{1.0, -2.0};
  double h = 0.3, c = -0.5;
  std::vector<float> expected_output;
  for (double x : xs) {
    auto gate = [&](int k) { return w_ih[k] * x + b_ih[k] + w_hh[k] * h + b_hh[k]; };
    const double i = sigmoid_of(gate(0)), f = sigmoid_of(gate(1)), g = std::tanh(gate(2)),
                 o = sigmoid_of(gate(3));
    c = f * c + i * g;
    h = o * std::tanh(c);
    expected_output.push_back(static_cast<float>(h));
  }
  auto to_tensor = [](const std::vector<double>& v, const Shape& shape) {
    return pare::tensor(std::vector<float>(v.begin(), v.end()), shape);
  };
  std::vector<Tensor> weights{to_tensor(w_ih, {4, 1}), to_tensor(w_hh, {4, 1}),
                              to_tensor(b_ih, {4}), to_tensor(b_hh, {4})};
  for (bool reference : {false, true}) {
    CAPTURE(reference);
    pare::set_reference_kernels(reference);
    auto [output, h_n, c_n] = pare::lstm(to_tensor(xs, {2, 1, 1}), pare::tensor({0.3f}, {1, 1, 1}),
                                         pare::tensor({-0.5f}, {1, 1, 1}), weights, true, 1, false);
    pare::set_reference_kernels(false);
    CHECK(close(output, pare::tensor(expected_output, {2, 1, 1})));
    CHECK(close(h_n, pare::tensor({static_cast<float>(h)}, {1, 1, 1})));
    CHECK(close(c_n, pare::tensor({static_cast<float>(c)}, {1, 1, 1})));
  }
}

TEST_CASE("lstm: layers stack, batch_first transposes, unbatched and default states") {
  const int64_t T = 4, N = 3, I = 5, H = 6;
  Tensor x = random_tensor({T, N, I}, 1);
  Tensor h0 = random_tensor({2, N, H}, 2), c0 = random_tensor({2, N, H}, 3);
  std::vector<Tensor> weights = make_weights(2, I, H, true, 4);
  auto [output, h_n, c_n] = pare::lstm(x, h0, c0, weights, true, 2, false);
  REQUIRE(output.sizes() == Shape{T, N, H});
  REQUIRE(h_n.sizes() == Shape{2, N, H});
  REQUIRE(c_n.sizes() == Shape{2, N, H});

  // Layer 1 consumes layer 0's output.
  std::vector<Tensor> layer0(weights.begin(), weights.begin() + 4);
  std::vector<Tensor> layer1(weights.begin() + 4, weights.end());
  auto [y0, h0_n, c0_n] =
      pare::lstm(x, h0.narrow(0, 0, 1), c0.narrow(0, 0, 1), layer0, true, 1, false);
  auto [y1, h1_n, c1_n] =
      pare::lstm(y0, h0.narrow(0, 1, 1), c0.narrow(0, 1, 1), layer1, true, 1, false);
  CHECK(close(output, y1));
  CHECK(close(h_n.narrow(0, 0, 1), h0_n));
  CHECK(close(h_n.narrow(0, 1, 1), h1_n));
  CHECK(close(c_n.narrow(0, 0, 1), c0_n));
  CHECK(close(c_n.narrow(0, 1, 1), c1_n));
  // The last step of the top layer is h_n's last row.
  CHECK(close(output.select(0, T - 1), h_n.select(0, 1)));

  // batch_first: [N, T, I] in and out; states stay [L, N, H].
  auto [bf_output, bf_h_n, bf_c_n] =
      pare::lstm(x.transpose(0, 1).contiguous(), h0, c0, weights, true, 2, true);
  CHECK(bf_output.sizes() == Shape{N, T, H});
  CHECK(close(bf_output, output.transpose(0, 1).contiguous()));
  CHECK(close(bf_h_n, h_n));
  CHECK(close(bf_c_n, c_n));

  // Unbatched: [T, I] input, [L, H] states.
  auto [u_output, u_h_n, u_c_n] =
      pare::lstm(x.select(1, 1), h0.select(1, 1), c0.select(1, 1), weights, true, 2, false);
  CHECK(u_output.sizes() == Shape{T, H});
  CHECK(u_h_n.sizes() == Shape{2, H});
  CHECK(close(u_output, output.select(1, 1)));
  CHECK(close(u_h_n, h_n.select(1, 1)));
  CHECK(close(u_c_n, c_n.select(1, 1)));

  // Undefined states are zeros.
  auto [z_output, z_h_n, z_c_n] = pare::lstm(x, Tensor(), Tensor(), weights, true, 2, false);
  auto [e_output, e_h_n, e_c_n] =
      pare::lstm(x, pare::zeros({2, N, H}), pare::zeros({2, N, H}), weights, true, 2, false);
  CHECK(close(z_output, e_output));
  CHECK(close(z_h_n, e_h_n));
  CHECK(close(z_c_n, e_c_n));
}

TEST_CASE("lstm: the inference path matches the training path") {
  for (bool reference : {false, true}) {
    CAPTURE(reference);
    pare::set_reference_kernels(reference);
    LstmConfig config;
    config.layers = 3;
    LstmInputs training = make_inputs(config, 30, /*requires_grad=*/true);
    auto [output, h_n, c_n] = run_lstm(config, training.all());
    CHECK(output.requires_grad());
    pare::NoGradGuard no_grad;
    auto [i_output, i_h_n, i_c_n] = run_lstm(config, training.all());
    pare::set_reference_kernels(false);
    CHECK(!i_output.requires_grad());
    CHECK(close(output, i_output));
    CHECK(close(h_n, i_h_n));
    CHECK(close(c_n, i_c_n));
  }
}

TEST_CASE("lstm: one autograd node per layer") {
  LstmConfig config;
  LstmInputs inputs = make_inputs(config, 40, /*requires_grad=*/true);
  auto [output, h_n, c_n] = run_lstm(config, inputs.all());
  REQUIRE(output.grad_fn() != nullptr);
  CHECK(output.grad_fn()->name == "lstm_layer");
  const Tensor& layer0_output = output.grad_fn()->inputs[0];
  REQUIRE(layer0_output.grad_fn() != nullptr);
  CHECK(layer0_output.grad_fn()->name == "lstm_layer");
  CHECK(layer0_output.grad_fn() != output.grad_fn());
  CHECK(layer0_output.grad_fn()->inputs[0].is_same(inputs.x));
}

TEST_CASE("lstm: oneDNN matches the reference kernels, values and gradients") {
  std::vector<LstmConfig> configs(4);
  configs[0].layers = 3;
  configs[0].seq_len = 5;
  configs[0].batch = 4;
  configs[0].input_size = 7;
  configs[0].hidden = 8;
  configs[1].has_biases = false;
  configs[1].batch_first = true;
  configs[2].with_states = false;
  configs[3].layers = 1;
  configs[3].batch_first = true;
  for (size_t k = 0; k < configs.size(); ++k) {
    CAPTURE(k);
    LstmInputs inputs = make_inputs(configs[k], 50 + static_cast<uint32_t>(k), true);
    std::vector<Tensor> cpu = outputs_and_gradients(configs[k], inputs);
    std::vector<Tensor> reference;
    {
      ReferenceKernels use_reference;
      reference = outputs_and_gradients(configs[k], inputs);
    }
    REQUIRE(cpu.size() == reference.size());
    for (size_t i = 0; i < cpu.size(); ++i) {
      CAPTURE(i);
      REQUIRE(cpu[i].defined());
      CHECK(close(cpu[i], reference[i], 1e-4));
    }
  }
}

// gradcheck wants every input defined; this puts undefined states back where pare::lstm expects
// them.
std::function<Tensor(const std::vector<Tensor>&)> lstm_output(const LstmConfig& config, int which) {
  return [config, which](const std::vector<Tensor>& in) {
    std::vector<Tensor> all = in;
    if (!config.with_states) all.insert(all.begin() + 1, 2, Tensor());
    auto [output, h_n, c_n] = run_lstm(config, all);
    switch (which) {
      case 0:
        return output;
      case 1:
        return h_n;
      case 2:
        return c_n;
      default:
        return pare::cat({output.flatten(), h_n.flatten(), c_n.flatten()});
    }
  };
}

std::vector<Tensor> defined_inputs(const LstmInputs& inputs) {
  std::vector<Tensor> defined;
  for (const Tensor& input : inputs.all())
    if (input.defined()) defined.push_back(input);
  return defined;
}

constexpr int kAllOutputs = 3;

// The finite differences run many forwards, so they use the fast naive kernels; the oneDNN
// gradients are held to the reference ones above, and checked directly on one small case below.
TEST_CASE("lstm: gradcheck of every input, reference kernels") {
  ReferenceKernels use_reference;
  std::vector<LstmConfig> configs(5);
  configs[1].batch_first = true;
  configs[2].has_biases = false;
  configs[2].batch_first = true;
  configs[3].has_biases = false;
  configs[4].with_states = false;
  configs[4].batch_first = true;
  for (size_t k = 0; k < configs.size(); ++k) {
    CAPTURE(k);
    LstmInputs inputs = make_inputs(configs[k], 60 + static_cast<uint32_t>(k), true);
    CHECK(gradcheck(lstm_output(configs[k], kAllOutputs), defined_inputs(inputs)));
  }
  // Through one output at a time: the other two get no gradient at all.
  LstmInputs inputs = make_inputs(configs[0], 65, true);
  for (int which = 0; which < 3; ++which) {
    CAPTURE(which);
    CHECK(gradcheck(lstm_output(configs[0], which), defined_inputs(inputs)));
  }
}

TEST_CASE("lstm: gradcheck of every input, oneDNN kernels") {
  LstmConfig config;
  config.layers = 1;
  config.seq_len = 2;
  config.input_size = 2;
  LstmInputs inputs = make_inputs(config, 66, true);
  CHECK(gradcheck(lstm_output(config, kAllOutputs), defined_inputs(inputs)));
  // Only h_n receives a gradient: the kernel sees null diff_y and diff_c_n.
  CHECK(gradcheck(lstm_output(config, 1), defined_inputs(inputs)));
}

TEST_CASE("lstm: gradcheck of unbatched input") {
  ReferenceKernels use_reference;
  const int64_t T = 3, I = 2, H = 2;
  std::vector<Tensor> unbatched{random_tensor({T, I}, 71, true), random_tensor({2, H}, 72, true),
                                random_tensor({2, H}, 73, true)};
  std::vector<Tensor> weights = make_weights(2, I, H, true, 74, true);
  unbatched.insert(unbatched.end(), weights.begin(), weights.end());
  CHECK(gradcheck(lstm_output(LstmConfig{}, kAllOutputs), unbatched));
}

TEST_CASE("lstm: shape errors name the op and the shapes") {
  Tensor x = random_tensor({4, 2, 3}, 80);
  std::vector<Tensor> weights = make_weights(2, 3, 5, true, 81);
  std::string message = error_of([&] {
    pare::lstm(x, Tensor(), Tensor(), std::vector<Tensor>(weights.begin(), weights.begin() + 2),
               true, 1, false);
  });
  CHECK(contains(message, "lstm"));
  CHECK(contains(message, "expected 4 weight tensors"));
  message = error_of([&] {
    pare::lstm(random_tensor({4, 2, 6}, 82), Tensor(), Tensor(), weights, true, 2, false);
  });
  CHECK(contains(message, "lstm"));
  CHECK(contains(message, "[20, 3]"));
  CHECK(contains(message, "[20, 6]"));
  message = error_of([&] {
    pare::lstm(x, random_tensor({2, 3, 5}, 83), Tensor(), weights, true, 2, false);
  });
  CHECK(contains(message, "h0"));
  CHECK(contains(message, "[2, 2, 5]"));
  CHECK(contains(message, "[2, 3, 5]"));
  message = error_of([&] {
    pare::lstm(random_tensor({1, 4, 2, 3}, 84), Tensor(), Tensor(), weights, true, 2, false);
  });
  CHECK(contains(message, "lstm"));
  CHECK(contains(message, "[1, 4, 2, 3]"));
  std::vector<Tensor> bad_layer1 = weights;
  bad_layer1[5] = random_tensor({20, 4}, 85);
  message = error_of([&] { pare::lstm(x, Tensor(), Tensor(), bad_layer1, true, 2, false); });
  CHECK(contains(message, "layer 1"));
  CHECK(contains(message, "[20, 4]"));
}

TEST_CASE("lstm reports itself once to the tracer") {
  RecordingObserver observer;
  {
    pare::ObserverGuard guard(&observer);
    LstmConfig config;
    config.has_biases = false;
    config.batch_first = true;
    LstmInputs inputs = make_inputs(config, 90, true);
    run_lstm(config, inputs.all());
  }
  REQUIRE(observer.calls.size() == 1);
  const RecordedCall& call = observer.calls[0];
  CHECK(call.name == "lstm");
  CHECK(call.input_count == 3 + 4);
  CHECK(call.output_count == 3);
  CHECK(std::get<int64_t>(attr(call, "num_layers")) == 2);
  CHECK(!std::get<bool>(attr(call, "has_biases")));
  CHECK(std::get<bool>(attr(call, "batch_first")));
}
