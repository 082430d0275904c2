// The 2-d pools: hand-computed values (padding, ceil_mode, dilation, count_include_pad, adaptive
// windows), max-pool indices, unbatched input, oneDNN (default) against the reference kernels,
// finite differences, shape errors and what the tracer is told.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <numeric>
#include <random>
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
  pare::Attrs attrs;
  size_t output_count = 0;
};

class RecordingObserver : public pare::OpObserver {
 public:
  void on_function(const std::string& name, const std::vector<Tensor>&, const pare::Attrs& attrs,
                   const std::vector<Tensor>& outputs) override {
    calls.push_back({name, attrs, outputs.size()});
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

std::vector<int64_t> pair_attr(const RecordedCall& call, const std::string& name) {
  return std::get<std::vector<int64_t>>(attr(call, name));
}

// 0, 1, 2, ... in the given shape.
Tensor iota(const Shape& shape) {
  std::vector<float> data(pare::shape_numel(shape));
  std::iota(data.begin(), data.end(), 0.0f);
  return pare::tensor(data, shape);
}

// Distinct values 0.1 apart in shuffled order, so that max pools have no ties and finite
// differences never move an argmax.
Tensor distinct_tensor(const Shape& shape, uint32_t seed, bool requires_grad = false) {
  std::vector<float> data(pare::shape_numel(shape));
  for (size_t i = 0; i < data.size(); ++i) data[i] = 0.1f * static_cast<float>(i) - 1.0f;
  std::shuffle(data.begin(), data.end(), std::mt19937(seed));
  Tensor t = pare::tensor(data, shape);
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

Tensor random_tensor(const Shape& shape, uint32_t seed, bool requires_grad = false) {
  Tensor t = pare::tensor(random_floats(pare::shape_numel(shape), seed), shape);
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

bool close(const Tensor& a, const Tensor& b, double tolerance = 1e-5) {
  return a.sizes() == b.sizes() &&
         pare::testing::allclose(pare::to_float_vector(a), pare::to_float_vector(b), tolerance,
                                 tolerance);
}

using PoolOp = std::function<Tensor(const Tensor&)>;

// The pool's result and the gradient of its input for a fixed output gradient.
std::pair<Tensor, Tensor> result_and_gradient(const PoolOp& op, const Tensor& x) {
  Tensor input = x.detach().clone().set_requires_grad(true);
  Tensor y = op(input);
  y.backward(random_tensor(y.sizes(), 77));
  return {y.detach(), input.grad()};
}

void check_cpu_matches_reference(const PoolOp& op, const Tensor& x) {
  auto [y_cpu, grad_cpu] = result_and_gradient(op, x);
  ReferenceKernels use_reference;
  auto [y_reference, grad_reference] = result_and_gradient(op, x);
  CHECK(close(y_cpu, y_reference));
  CHECK(close(grad_cpu, grad_reference));
}

}  // namespace

TEST_CASE("max_pool2d: hand-computed values and indices") {
  Tensor x = iota({1, 1, 4, 4});
  CHECK(close(pare::max_pool2d(x, 2), pare::tensor({5, 7, 13, 15}, {1, 1, 2, 2})));
  // Stride 0 means kernel_size.
  CHECK(close(pare::max_pool2d(x, 2, 0), pare::max_pool2d(x, 2, 2)));
  CHECK(close(pare::max_pool2d(x, 3, 2, 1), pare::tensor({5, 7, 13, 15}, {1, 1, 2, 2})));
  CHECK(close(pare::max_pool2d(x, 2, 1, 0, 2), pare::tensor({10, 11, 14, 15}, {1, 1, 2, 2})));
  CHECK(close(pare::max_pool2d(x, IntPair{1, 2}, IntPair{2, 1}),
              pare::tensor({1, 2, 3, 9, 10, 11}, {1, 1, 2, 3})));
  Tensor x5 = iota({1, 1, 5, 5});
  CHECK(close(pare::max_pool2d(x5, 2, 2, 0, 1, /*ceil_mode=*/true),
              pare::tensor({6, 8, 9, 16, 18, 19, 21, 23, 24}, {1, 1, 3, 3})));
  CHECK(pare::max_pool2d(x5, 2, 2, 0, 1, /*ceil_mode=*/false).sizes() == Shape{1, 1, 2, 2});

  // Decreasing values: every window's maximum is its top-left element.
  Tensor decreasing =
      pare::tensor({15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, {1, 1, 4, 4});
  auto [values, indices] = pare::max_pool2d_with_indices(decreasing, 2);
  CHECK(close(values, pare::tensor({15, 13, 7, 5}, {1, 1, 2, 2})));
  REQUIRE(indices.dtype() == pare::kInt64);
  CHECK(pare::to_int64_vector(indices) == std::vector<int64_t>{0, 2, 8, 10});
}

TEST_CASE("max_pool2d: the gradient goes to each window's maximum") {
  Tensor x = pare::tensor({15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, {1, 1, 4, 4})
                 .set_requires_grad(true);
  pare::max_pool2d(x, 2).backward(pare::tensor({1, 2, 3, 4}, {1, 1, 2, 2}));
  CHECK(close(x.grad(),
              pare::tensor({1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0}, {1, 1, 4, 4})));
  // Overlapping windows accumulate into a shared maximum.
  Tensor y = iota({1, 1, 3, 3}).set_requires_grad(true);
  pare::max_pool2d(y, 2, 1).backward(pare::ones({1, 1, 2, 2}));
  CHECK(close(y.grad(), pare::tensor({0, 0, 0, 0, 1, 1, 0, 1, 1}, {1, 1, 3, 3})));
}

TEST_CASE("avg_pool2d: hand-computed values with and without the padding in the divisor") {
  Tensor x = iota({1, 1, 4, 4});
  CHECK(close(pare::avg_pool2d(x, 2), pare::tensor({2.5f, 4.5f, 10.5f, 12.5f}, {1, 1, 2, 2})));
  Tensor included = pare::avg_pool2d(x, 2, 2, 1, false, /*count_include_pad=*/true);
  Tensor excluded = pare::avg_pool2d(x, 2, 2, 1, false, /*count_include_pad=*/false);
  REQUIRE(included.sizes() == Shape{1, 1, 3, 3});
  std::vector<float> in = pare::to_float_vector(included), ex = pare::to_float_vector(excluded);
  CHECK(in[0] == doctest::Approx(0.0));
  CHECK(in[1] == doctest::Approx(0.75));  // (1 + 2) / 4
  CHECK(ex[1] == doctest::Approx(1.5));   // (1 + 2) / 2
  CHECK(in[4] == doctest::Approx(7.5));   // (5 + 6 + 9 + 10) / 4
  CHECK(ex[4] == doctest::Approx(7.5));
  CHECK(in[8] == doctest::Approx(3.75));  // 15 / 4
  CHECK(ex[8] == doctest::Approx(15.0));

  Tensor z = pare::zeros({1, 1, 4, 4}).set_requires_grad(true);
  pare::avg_pool2d(z, 2).backward(pare::tensor({4, 8, 12, 16}, {1, 1, 2, 2}));
  CHECK(close(z.grad(),
              pare::tensor({1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, {1, 1, 4, 4})));
}

TEST_CASE("adaptive pools: PyTorch's overlapping windows") {
  // 5 -> 2 cells: rows and columns [0, 3) and [2, 5).
  Tensor x = iota({1, 1, 5, 5});
  CHECK(close(pare::adaptive_avg_pool2d(x, 2), pare::tensor({6, 8, 16, 18}, {1, 1, 2, 2})));
  CHECK(close(pare::adaptive_max_pool2d(x, 2), pare::tensor({12, 14, 22, 24}, {1, 1, 2, 2})));
  CHECK(close(pare::adaptive_avg_pool2d(x, 1), pare::tensor({12}, {1, 1, 1, 1})));
  CHECK(close(pare::adaptive_avg_pool2d(x, IntPair{1, 5}),
              pare::tensor({10, 11, 12, 13, 14}, {1, 1, 1, 5})));
  // Larger output than input repeats cells.
  CHECK(close(pare::adaptive_max_pool2d(iota({1, 1, 2, 2}), 3),
              pare::tensor({0, 1, 1, 2, 3, 3, 2, 3, 3}, {1, 1, 3, 3})));

  Tensor g = pare::zeros({1, 1, 5, 5}).set_requires_grad(true);
  pare::adaptive_avg_pool2d(g, 1).backward(pare::ones({1, 1, 1, 1}));
  CHECK(close(g.grad(), pare::full({1, 1, 5, 5}, 1.0 / 25)));
  Tensor m = iota({1, 1, 5, 5}).set_requires_grad(true);
  pare::adaptive_max_pool2d(m, 2).backward(pare::ones({1, 1, 2, 2}));
  std::vector<float> expected(25, 0.0f);
  for (int index : {12, 14, 22, 24}) expected[index] = 1.0f;
  CHECK(close(m.grad(), pare::tensor(expected, {1, 1, 5, 5})));
}

TEST_CASE("pools: unbatched input is a batch of one") {
  Tensor x = distinct_tensor({3, 6, 7}, 1);
  Tensor batched = x.unsqueeze(0);
  const std::vector<PoolOp> ops{
      [](const Tensor& t) { return pare::max_pool2d(t, 3, 2, 1); },
      [](const Tensor& t) { return pare::avg_pool2d(t, 2, 1, 1, true, false); },
      [](const Tensor& t) {
        return pare::adaptive_avg_pool2d(t, IntPair{4, 3});
      },
      [](const Tensor& t) {
        return pare::adaptive_max_pool2d(t, IntPair{2, 5});
      },
      [](const Tensor& t) { return std::get<0>(pare::max_pool2d_with_indices(t, 2)); }};
  for (size_t i = 0; i < ops.size(); ++i) {
    CAPTURE(i);
    Tensor y = ops[i](x);
    REQUIRE(y.dim() == 3);
    CHECK(close(y.unsqueeze(0), ops[i](batched)));
  }
  auto [values, indices] = pare::max_pool2d_with_indices(x, 2);
  CHECK(indices.sizes() == values.sizes());
}

TEST_CASE("pools: oneDNN matches the reference kernels") {
  const std::vector<PoolOp> ops{
      [](const Tensor& t) { return pare::max_pool2d(t, 2); },
      [](const Tensor& t) { return pare::max_pool2d(t, 3, 2, 1); },
      [](const Tensor& t) {
        return pare::max_pool2d(t, IntPair{3, 2}, IntPair{2, 1}, 1, 2);
      },
      [](const Tensor& t) { return pare::max_pool2d(t, 3, 2, 1, 1, /*ceil_mode=*/true); },
      [](const Tensor& t) { return std::get<0>(pare::max_pool2d_with_indices(t, 3, 2, 1)); },
      [](const Tensor& t) { return pare::avg_pool2d(t, 2); },
      [](const Tensor& t) { return pare::avg_pool2d(t, 3, 2, 1); },
      [](const Tensor& t) { return pare::avg_pool2d(t, 3, 2, 1, true, false); },
      [](const Tensor& t) {
        return pare::avg_pool2d(t, IntPair{2, 3}, IntPair{1, 2}, IntPair{1, 0});
      },
      [](const Tensor& t) {
        return pare::adaptive_avg_pool2d(t, IntPair{3, 4});
      },
      [](const Tensor& t) { return pare::adaptive_avg_pool2d(t, 1); },
      [](const Tensor& t) {
        return pare::adaptive_max_pool2d(t, IntPair{4, 3});
      },
      [](const Tensor& t) { return pare::adaptive_max_pool2d(t, 10); }};
  Tensor x = distinct_tensor({2, 3, 9, 8}, 2);
  for (size_t i = 0; i < ops.size(); ++i) {
    CAPTURE(i);
    check_cpu_matches_reference(ops[i], x);
  }
}

TEST_CASE("pools: gradcheck") {
  const std::vector<PoolOp> ops{
      [](const Tensor& t) { return pare::max_pool2d(t, 2); },
      [](const Tensor& t) { return pare::max_pool2d(t, 3, 2, 1, 1, /*ceil_mode=*/true); },
      [](const Tensor& t) { return pare::max_pool2d(t, 2, 1, 1, 2); },
      [](const Tensor& t) { return std::get<0>(pare::max_pool2d_with_indices(t, 3, 1, 1)); },
      [](const Tensor& t) { return pare::avg_pool2d(t, 2); },
      [](const Tensor& t) { return pare::avg_pool2d(t, 3, 2, 1); },
      [](const Tensor& t) { return pare::avg_pool2d(t, 3, 2, 1, true, false); },
      [](const Tensor& t) {
        return pare::adaptive_avg_pool2d(t, IntPair{2, 3});
      },
      [](const Tensor& t) {
        return pare::adaptive_max_pool2d(t, IntPair{3, 2});
      }};
  for (size_t i = 0; i < ops.size(); ++i) {
    CAPTURE(i);
    const PoolOp& op = ops[i];
    CHECK(gradcheck([&](const std::vector<Tensor>& in) { return op(in[0]); },
                    {distinct_tensor({2, 2, 5, 6}, 3 + static_cast<uint32_t>(i), true)}));
    CHECK(gradcheck([&](const std::vector<Tensor>& in) { return op(in[0]); },
                    {distinct_tensor({2, 5, 6}, 20 + static_cast<uint32_t>(i), true)}));
  }
}

TEST_CASE("pools: errors name the op and the shapes") {
  std::string message = error_of([] { pare::max_pool2d(iota({4, 4}), 2); });
  CHECK(contains(message, "max_pool2d"));
  CHECK(contains(message, "[4, 4]"));
  message = error_of([] { pare::avg_pool2d(iota({1, 1, 4, 4}), 2, 2, 2); });
  CHECK(contains(message, "avg_pool2d"));
  CHECK(contains(message, "padding"));
  message = error_of([] { pare::max_pool2d(iota({1, 1, 2, 2}), 3); });
  CHECK(contains(message, "max_pool2d"));
  CHECK(contains(message, "[1, 1, 2, 2]"));
  message = error_of([] { pare::max_pool2d_with_indices(iota({1, 1, 4, 4}), 0); });
  CHECK(contains(message, "max_pool2d_with_indices"));
  message = error_of([] { pare::adaptive_avg_pool2d(iota({1, 2, 4, 4}), IntPair{0, 2}); });
  CHECK(contains(message, "adaptive_avg_pool2d"));
  CHECK(contains(message, "[1, 2, 4, 4]"));
  message = error_of([] { pare::adaptive_max_pool2d(iota({2, 1, 2, 4, 4}), 2); });
  CHECK(contains(message, "adaptive_max_pool2d"));
  CHECK(contains(message, "[2, 1, 2, 4, 4]"));
  CHECK_THROWS_AS(pare::max_pool2d(iota({1, 1, 4, 4}), 2, -1), pare::Error);
  CHECK_THROWS_AS(pare::avg_pool2d(pare::zeros({1, 1, 4, 4}, pare::kInt64), 2), pare::Error);
}

TEST_CASE("pools report themselves to the tracer") {
  RecordingObserver observer;
  {
    pare::ObserverGuard guard(&observer);
    Tensor x = iota({1, 2, 8, 8});
    pare::max_pool2d(x, 3, 0, 1, IntPair{1, 2}, true);
    pare::max_pool2d_with_indices(x, 2);
    pare::avg_pool2d(x, IntPair{2, 3}, 1, 1, false, false);
    pare::adaptive_avg_pool2d(x, IntPair{3, 2});
    pare::adaptive_max_pool2d(x, 4);
  }
  REQUIRE(observer.calls.size() == 5);
  const RecordedCall& max_pool = observer.calls[0];
  CHECK(max_pool.name == "max_pool2d");
  CHECK(pair_attr(max_pool, "kernel_size") == std::vector<int64_t>{3, 3});
  CHECK(pair_attr(max_pool, "stride") == std::vector<int64_t>{3, 3});
  CHECK(pair_attr(max_pool, "padding") == std::vector<int64_t>{1, 1});
  CHECK(pair_attr(max_pool, "dilation") == std::vector<int64_t>{1, 2});
  CHECK(std::get<bool>(attr(max_pool, "ceil_mode")));
  CHECK(observer.calls[1].name == "max_pool2d_with_indices");
  CHECK(observer.calls[1].output_count == 2);
  const RecordedCall& avg_pool = observer.calls[2];
  CHECK(avg_pool.name == "avg_pool2d");
  CHECK(pair_attr(avg_pool, "kernel_size") == std::vector<int64_t>{2, 3});
  CHECK(pair_attr(avg_pool, "stride") == std::vector<int64_t>{1, 1});
  CHECK(!std::get<bool>(attr(avg_pool, "ceil_mode")));
  CHECK(!std::get<bool>(attr(avg_pool, "count_include_pad")));
  CHECK(observer.calls[3].name == "adaptive_avg_pool2d");
  CHECK(pair_attr(observer.calls[3], "output_size") == std::vector<int64_t>{3, 2});
  CHECK(observer.calls[4].name == "adaptive_max_pool2d");
  CHECK(pair_attr(observer.calls[4], "output_size") == std::vector<int64_t>{4, 4});
}
