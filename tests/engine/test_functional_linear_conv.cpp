// pare::linear and pare::conv2d: hand-computed values, any leading dims / unbatched input,
// oneDNN (default) against the reference kernels for values and gradients, finite differences
// for every differentiable input, shape errors and what the tracer is told.
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "gradcheck.h"
#include "pare/pare.h"
#include "test_util.h"

namespace {

using pare::IntPair;
using pare::Shape;
using pare::Tensor;
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

std::vector<float> values(const Tensor& t) { return pare::to_float_vector(t); }

bool close(const Tensor& a, const Tensor& b, double tolerance = 1e-4) {
  return a.sizes() == b.sizes() &&
         pare::testing::allclose(values(a), values(b), tolerance, tolerance);
}

// The result and the gradients of every input of `op`, contracted with a fixed random tensor.
std::vector<Tensor> result_and_gradients(
    const std::function<Tensor(const std::vector<Tensor>&)>& op, std::vector<Tensor> inputs) {
  for (Tensor& input : inputs)
    if (input.defined()) input.mutable_grad() = Tensor();
  Tensor result = op(inputs);
  result.backward(random_tensor(result.sizes(), 99));
  std::vector<Tensor> outputs{result.detach()};
  for (const Tensor& input : inputs)
    if (input.defined()) outputs.push_back(input.grad());
  return outputs;
}

void check_cpu_matches_reference(const std::function<Tensor(const std::vector<Tensor>&)>& op,
                                 const std::vector<Tensor>& inputs) {
  std::vector<Tensor> cpu = result_and_gradients(op, inputs);
  std::vector<Tensor> reference;
  {
    ReferenceKernels use_reference;
    reference = result_and_gradients(op, inputs);
  }
  REQUIRE(cpu.size() == reference.size());
  for (size_t i = 0; i < cpu.size(); ++i) {
    CAPTURE(i);
    REQUIRE(cpu[i].defined());
    CHECK(close(cpu[i], reference[i]));
  }
}

}  // namespace

TEST_CASE("linear: hand-computed values with and without bias") {
  Tensor x = pare::tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor w = pare::tensor({1, 0, -1, 0.5f, 0.5f, 0.5f}, {2, 3});
  Tensor b = pare::tensor({0.1f, -0.2f}, {2});
  CHECK(close(pare::linear(x, w, b), pare::tensor({-1.9f, 2.8f, -1.9f, 7.3f}, {2, 2}), 1e-6));
  CHECK(close(pare::linear(x, w), pare::tensor({-2, 3, -2, 7.5f}, {2, 2}), 1e-6));
  // A 1-d input is one row and stays 1-d.
  CHECK(close(pare::linear(pare::tensor({1, 2, 3}), w, b), pare::tensor({-1.9f, 2.8f}), 1e-6));
}

TEST_CASE("linear: leading dims flatten to rows") {
  Tensor x = random_tensor({2, 3, 4}, 1);
  Tensor w = random_tensor({5, 4}, 2);
  Tensor b = random_tensor({5}, 3);
  Tensor y = pare::linear(x, w, b);
  REQUIRE(y.sizes() == Shape{2, 3, 5});
  CHECK(close(y.reshape({6, 5}), pare::linear(x.reshape({6, 4}), w, b), 1e-6));
  // A non-contiguous input reads the same values.
  Tensor xt = random_tensor({4, 6}, 4);
  CHECK(close(pare::linear(xt.t(), w, b), pare::linear(xt.t().contiguous(), w, b), 1e-6));
}

TEST_CASE("linear: the gradients of x, weight and bias") {
  Tensor x = pare::tensor({1, 2, 3, 4, 5, 6}, {2, 3}).set_requires_grad(true);
  Tensor w = pare::tensor({1, 0, -1, 0.5f, 0.5f, 0.5f}, {2, 3}).set_requires_grad(true);
  Tensor b = pare::tensor({0.1f, -0.2f}, {2}).set_requires_grad(true);
  pare::linear(x, w, b).backward(pare::ones({2, 2}));
  // d/dx = sum over outputs of W rows, d/dW = column sums of x, d/db = rows.
  CHECK(close(x.grad(), pare::tensor({1.5f, 0.5f, -0.5f, 1.5f, 0.5f, -0.5f}, {2, 3}), 1e-6));
  CHECK(close(w.grad(), pare::tensor({5, 7, 9, 5, 7, 9}, {2, 3}), 1e-6));
  CHECK(close(b.grad(), pare::tensor({2, 2}), 1e-6));
}

TEST_CASE("linear: empty sizes follow PyTorch") {
  CHECK(pare::linear(pare::zeros({0, 3}), random_tensor({2, 3}, 26)).sizes() == Shape{0, 2});
  // No input features: every row is the bias, and only the bias gets a non-zero gradient.
  Tensor w = pare::zeros({2, 0}).set_requires_grad(true);
  Tensor b = pare::tensor({0.5f, -1.0f}).set_requires_grad(true);
  Tensor y = pare::linear(pare::zeros({3, 0}), w, b);
  CHECK(close(y, pare::tensor({0.5f, -1, 0.5f, -1, 0.5f, -1}, {3, 2}), 1e-6));
  y.backward(pare::ones({3, 2}));
  CHECK(close(b.grad(), pare::tensor({3, 3}), 1e-6));
  CHECK(w.grad().sizes() == Shape{2, 0});
}

TEST_CASE("linear: oneDNN matches the reference kernels") {
  auto op = [](const std::vector<Tensor>& in) { return pare::linear(in[0], in[1], in[2]); };
  check_cpu_matches_reference(op, {random_tensor({3, 7, 9}, 5, true),
                                   random_tensor({11, 9}, 6, true), random_tensor({11}, 7, true)});
  auto no_bias = [](const std::vector<Tensor>& in) { return pare::linear(in[0], in[1]); };
  check_cpu_matches_reference(no_bias,
                              {random_tensor({16, 32}, 8, true), random_tensor({24, 32}, 9, true)});
}

TEST_CASE("linear: gradcheck of x, weight and bias") {
  CHECK(gradcheck([](const std::vector<Tensor>& in) { return pare::linear(in[0], in[1], in[2]); },
                  {random_tensor({2, 3, 4}, 10, true), random_tensor({5, 4}, 11, true),
                   random_tensor({5}, 12, true)}));
  CHECK(gradcheck([](const std::vector<Tensor>& in) { return pare::linear(in[0], in[1]); },
                  {random_tensor({3, 4}, 13, true), random_tensor({2, 4}, 14, true)}));
  // Through a transposed (non-contiguous) input.
  CHECK(
      gradcheck([](const std::vector<Tensor>& in) { return pare::linear(in[0].t(), in[1], in[2]); },
                {random_tensor({4, 3}, 15, true), random_tensor({2, 4}, 16, true),
                 random_tensor({2}, 17, true)}));
  // Only the bias needs a gradient.
  Tensor x = random_tensor({3, 4}, 18);
  Tensor w = random_tensor({2, 4}, 19);
  CHECK(gradcheck([&](const std::vector<Tensor>& in) { return pare::linear(x, w, in[0]); },
                  {random_tensor({2}, 20, true)}));
}

TEST_CASE("linear: shape errors name the op and the shapes") {
  Tensor x = random_tensor({2, 3}, 21);
  std::string message = error_of([&] { pare::linear(x, random_tensor({5, 4}, 22)); });
  CHECK(message.find("linear") != std::string::npos);
  CHECK(message.find("[2, 3]") != std::string::npos);
  CHECK(message.find("[5, 4]") != std::string::npos);
  message = error_of([&] { pare::linear(x, random_tensor({5, 3}, 23), random_tensor({4}, 24)); });
  CHECK(message.find("linear") != std::string::npos);
  CHECK(message.find("[4]") != std::string::npos);
  CHECK_THROWS_AS(pare::linear(x, random_tensor({3}, 25)), pare::Error);
}

TEST_CASE("conv2d: hand-computed values") {
  // x[r][c] = 3r + c + 1 over a 3 x 3 plane; w = [[1, 2], [3, 4]].
  Tensor x = pare::tensor({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  Tensor w = pare::tensor({1, 2, 3, 4}, {1, 1, 2, 2});
  Tensor b = pare::tensor({0.5f});
  CHECK(
      close(pare::conv2d(x, w, b), pare::tensor({37.5f, 47.5f, 67.5f, 77.5f}, {1, 1, 2, 2}), 1e-6));
  CHECK(
      close(pare::conv2d(x, w, Tensor(), 2, 1), pare::tensor({4, 18, 36, 77}, {1, 1, 2, 2}), 1e-6));
  CHECK(close(pare::conv2d(x, w, Tensor(), 1, 0, 2), pare::tensor({64}, {1, 1, 1, 1}), 1e-6));
  // Asymmetric stride and padding: rows padded by 1 with stride 2, columns unpadded.
  CHECK(close(pare::conv2d(x, w, Tensor(), IntPair{2, 1}, IntPair{1, 0}),
              pare::tensor({11, 18, 67, 77}, {1, 1, 2, 2}), 1e-6));
  // Depthwise: each channel has its own 1 x 1 filter.
  Tensor depthwise = pare::conv2d(pare::tensor({1, 2}, {1, 2, 1, 1}),
                                  pare::tensor({3, 4}, {2, 1, 1, 1}), Tensor(), 1, 0, 1, 2);
  CHECK(close(depthwise, pare::tensor({3, 8}, {1, 2, 1, 1}), 1e-6));
}

TEST_CASE("conv2d: unbatched input is a batch of one") {
  Tensor x = random_tensor({3, 6, 5}, 30, true);
  Tensor w = random_tensor({4, 3, 3, 3}, 31);
  Tensor b = random_tensor({4}, 32);
  Tensor y = pare::conv2d(x, w, b, 1, 1);
  REQUIRE(y.sizes() == Shape{4, 6, 5});
  CHECK(close(y.unsqueeze(0), pare::conv2d(x.detach().unsqueeze(0), w, b, 1, 1), 1e-6));
  CHECK(gradcheck([&](const std::vector<Tensor>& in) { return pare::conv2d(in[0], w, b, 2, 1); },
                  {x}));
}

TEST_CASE("conv2d: oneDNN matches the reference kernels") {
  struct Case {
    Shape x, w;
    IntPair stride, padding, dilation;
    int64_t groups;
  };
  for (const Case& c : std::vector<Case>{{{2, 3, 9, 8}, {5, 3, 3, 3}, 1, 1, 1, 1},
                                         {{1, 4, 10, 9}, {6, 2, 3, 2}, {2, 1}, {1, 0}, 1, 2},
                                         {{2, 4, 11, 11}, {4, 1, 3, 3}, 2, 2, 2, 4},
                                         {{3, 2, 7, 7}, {3, 2, 1, 1}, 1, 0, 1, 1}}) {
    CAPTURE(c.x);
    CAPTURE(c.w);
    auto op = [&](const std::vector<Tensor>& in) {
      return pare::conv2d(in[0], in[1], in[2], c.stride, c.padding, c.dilation, c.groups);
    };
    check_cpu_matches_reference(op, {random_tensor(c.x, 33, true), random_tensor(c.w, 34, true),
                                     random_tensor({c.w[0]}, 35, true)});
  }
}

TEST_CASE("conv2d: gradcheck of x, weight and bias") {
  struct Case {
    Shape x, w;
    IntPair stride, padding, dilation;
    int64_t groups;
  };
  for (const Case& c : std::vector<Case>{{{2, 2, 5, 5}, {3, 2, 3, 3}, 2, 1, 1, 1},
                                         {{1, 2, 6, 5}, {2, 2, 2, 2}, 1, {1, 2}, 2, 1},
                                         {{1, 4, 4, 5}, {4, 2, 3, 2}, {1, 2}, 1, 1, 2},
                                         {{2, 3, 4, 4}, {3, 1, 3, 3}, 1, 1, 1, 3}}) {
    CAPTURE(c.x);
    CAPTURE(c.w);
    auto op = [&](const std::vector<Tensor>& in) {
      return pare::conv2d(in[0], in[1], in[2], c.stride, c.padding, c.dilation, c.groups);
    };
    CHECK(gradcheck(op, {random_tensor(c.x, 36, true), random_tensor(c.w, 37, true),
                         random_tensor({c.w[0]}, 38, true)}));
  }
  // Without a bias, and with only the weight needing a gradient.
  Tensor x = random_tensor({1, 2, 4, 4}, 39);
  CHECK(gradcheck([&](const std::vector<Tensor>& in) { return pare::conv2d(x, in[0]); },
                  {random_tensor({2, 2, 2, 2}, 40, true)}));
}

TEST_CASE("conv2d: shape errors name the op and the shapes") {
  Tensor x = random_tensor({1, 3, 8, 8}, 41);
  std::string message = error_of([&] { pare::conv2d(x, random_tensor({4, 4, 3, 3}, 42)); });
  CHECK(message.find("conv2d") != std::string::npos);
  CHECK(message.find("weight of size [4, 4, 3, 3]") != std::string::npos);
  CHECK(message.find("expected input[1, 3, 8, 8] to have 4 channels, but got 3 channels "
                     "instead") != std::string::npos);
  // Grouped: 3 input channels cannot feed 2 groups of 2.
  message = error_of([&] {
    pare::conv2d(x, random_tensor({4, 2, 3, 3}, 43), Tensor(), 1, 0, 1, 2);
  });
  CHECK(message.find("groups=2") != std::string::npos);
  CHECK(message.find("input[1, 3, 8, 8]") != std::string::npos);
  message = error_of([&] {
    pare::conv2d(random_tensor({3, 8}, 44), random_tensor({4, 3, 3, 3}, 45));
  });
  CHECK(message.find("conv2d") != std::string::npos);
  CHECK(message.find("[3, 8]") != std::string::npos);
  message = error_of([&] {
    pare::conv2d(x, random_tensor({4, 3, 3, 3}, 46), random_tensor({5}, 47));
  });
  CHECK(message.find("conv2d") != std::string::npos);
  CHECK(message.find("[5]") != std::string::npos);
  // A kernel larger than the padded input.
  message = error_of([&] { pare::conv2d(x, random_tensor({4, 3, 9, 9}, 48)); });
  CHECK(message.find("conv2d") != std::string::npos);
  CHECK(message.find("[1, 3, 8, 8]") != std::string::npos);
  CHECK_THROWS_AS(pare::conv2d(x, random_tensor({4, 3, 3, 3}, 49), Tensor(), 0), pare::Error);
}

TEST_CASE("linear and conv2d report themselves to the tracer") {
  RecordingObserver observer;
  {
    pare::ObserverGuard guard(&observer);
    Tensor x = random_tensor({1, 2, 5, 5}, 50);
    Tensor y = pare::conv2d(x, random_tensor({4, 1, 3, 3}, 51), random_tensor({4}, 52),
                            IntPair{2, 1}, 1, IntPair{1, 2}, 2);
    pare::linear(y.reshape({1, -1}), random_tensor({3, y.numel()}, 53));
  }
  // conv2d, then the reshape (Tensor's shape methods report too), then linear.
  REQUIRE(observer.calls.size() == 3);
  const RecordedCall& conv = observer.calls[0];
  CHECK(conv.name == "conv2d");
  CHECK(conv.input_count == 3);
  CHECK(conv.output_count == 1);
  CHECK(std::get<std::vector<int64_t>>(attr(conv, "stride")) == std::vector<int64_t>{2, 1});
  CHECK(std::get<std::vector<int64_t>>(attr(conv, "padding")) == std::vector<int64_t>{1, 1});
  CHECK(std::get<std::vector<int64_t>>(attr(conv, "dilation")) == std::vector<int64_t>{1, 2});
  CHECK(std::get<int64_t>(attr(conv, "groups")) == 2);
  CHECK(observer.calls[1].name == "reshape");
  CHECK(observer.calls[2].name == "linear");
  CHECK(observer.calls[2].input_count == 3);
}
