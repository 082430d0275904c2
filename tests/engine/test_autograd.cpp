// The autograd engine: accumulation, shared subexpressions, retain_graph, NoGradGuard, detach,
// explicit output gradients, and its errors.
#include <doctest/doctest.h>

#include "pare/pare.h"

using pare::Tensor;

namespace {
std::vector<float> values(const Tensor& t) { return pare::to_float_vector(t); }
}  // namespace

TEST_CASE("gradients of a shared subexpression add up") {
  Tensor x = pare::tensor({1, 2, 3}).set_requires_grad(true);
  Tensor y = x * x;          // dy/dx = 2x
  Tensor z = (y + y * 3.0);  // 4 x^2 -> 8x
  z.backward(pare::ones({3}));
  CHECK(values(x.grad()) == std::vector<float>{8, 16, 24});
  CHECK(x.is_leaf());
  CHECK_FALSE(y.is_leaf());
  CHECK(y.grad_fn() != nullptr);
}

TEST_CASE("a scalar output needs no explicit gradient; a tensor output does") {
  Tensor x = pare::tensor({1, 2}).set_requires_grad(true);
  pare::sum(x * 2.0).backward();
  CHECK(values(x.grad()) == std::vector<float>{2, 2});
  Tensor y = x * 2.0;
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("non-scalar"), pare::Error);
  CHECK_THROWS_WITH_AS(y.backward(pare::ones({3})), doctest::Contains("does not match"),
                       pare::Error);
}

TEST_CASE("gradients accumulate across backward calls until zeroed") {
  Tensor w = pare::tensor({3}).set_requires_grad(true);
  for (int i = 0; i < 3; ++i) pare::sum(w * 2.0).backward();
  CHECK(w.grad().item<float>() == 6);
  {
    pare::NoGradGuard no_grad;
    w.mutable_grad().zero_();
  }
  pare::sum(w * 5.0).backward();
  CHECK(w.grad().item<float>() == 5);
}

TEST_CASE("a second backward needs retain_graph") {
  Tensor x = pare::tensor({2}).set_requires_grad(true);
  Tensor y = pare::sum(pare::exp(x));
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  CHECK(x.grad().item<float>() == doctest::Approx(2 * std::exp(2.0f)));
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("second time"), pare::Error);
}

TEST_CASE("NoGradGuard and detach stop history") {
  Tensor x = pare::tensor({1, 2}).set_requires_grad(true);
  {
    pare::NoGradGuard no_grad;
    Tensor y = x * 2.0;
    CHECK_FALSE(y.requires_grad());
    CHECK_FALSE(pare::grad_mode_enabled());
    {
      pare::EnableGradGuard enable;
      CHECK((x * 2.0).requires_grad());
    }
  }
  CHECK(pare::grad_mode_enabled());
  Tensor d = (x * 2.0).detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  Tensor none = pare::tensor({1, 2}) * 2.0;
  CHECK_THROWS_WITH_AS(none.backward(pare::ones({2})), doctest::Contains("does not require grad"),
                       pare::Error);
}

TEST_CASE("in-place updates of tensors that need grad are refused outside NoGradGuard") {
  Tensor w = pare::zeros({2}).set_requires_grad(true);
  CHECK_THROWS_WITH_AS(w.add_(1.0), doctest::Contains("add_: in-place update"), pare::Error);
  CHECK_THROWS_AS(w.fill_(1.0), pare::Error);
  pare::NoGradGuard no_grad;
  w.add_(1.0);
  CHECK(values(w) == std::vector<float>{1, 1});
}

TEST_CASE("gradient flows through a view into the base") {
  Tensor x = pare::tensor({1, 2, 3, 4}, {2, 2}).set_requires_grad(true);
  Tensor row = x.select(0, 1);
  pare::sum(row * row).backward();
  CHECK(values(x.grad()) == std::vector<float>{0, 0, 6, 8});
}

TEST_CASE("the grad of a leaf is its own copy") {
  Tensor x = pare::tensor({1, 2}).set_requires_grad(true);
  Tensor seed = pare::tensor({5, 6});
  (x * 1.0).backward(seed);
  {
    pare::NoGradGuard no_grad;
    x.mutable_grad().zero_();
  }
  CHECK(values(seed) == std::vector<float>{5, 6});
}

TEST_CASE("a long chain runs without deep recursion") {
  Tensor x = pare::tensor({1}).set_requires_grad(true);
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = y * 1.0;
  pare::sum(y).backward();
  CHECK(x.grad().item<float>() == 1);
}

TEST_CASE("a long unused history is freed without deep recursion") {
  Tensor x = pare::tensor({1}).set_requires_grad(true);
  {
    Tensor y = x;
    for (int i = 0; i < 200000; ++i) y = y * 1.0;
  }
  CHECK(x.requires_grad());
}
