// Optimisers, schedulers and gradient clipping against hand-computed updates.
#include <doctest/doctest.h>

#include <cmath>

#include "pare/pare.h"

using pare::Tensor;

namespace {

Tensor parameter(std::vector<float> values) { return pare::tensor(values).set_requires_grad(true); }

void set_grad(Tensor& p, std::vector<float> values) { p.mutable_grad() = pare::tensor(values); }

float at(const Tensor& t, int64_t i) { return pare::to_float_vector(t)[i]; }

}  // namespace

TEST_CASE("SGD: plain, momentum with dampening, Nesterov, weight decay") {
  Tensor p = parameter({1.0f, -2.0f});
  pare::optim::SGD plain({p}, pare::optim::SGDOptions(0.1));
  set_grad(p, {0.5f, 1.0f});
  plain.step();
  CHECK(at(p, 0) == doctest::Approx(0.95));
  CHECK(at(p, 1) == doctest::Approx(-2.1));

  Tensor q = parameter({1.0f});
  pare::optim::SGD momentum(
      {q}, pare::optim::SGDOptions(0.1).momentum(0.9).dampening(0.5).weight_decay(0.1));
  set_grad(q, {1.0f});
  momentum.step();  // d = 1 + 0.1*1 = 1.1; buf = 1.1; q = 1 - 0.11
  CHECK(at(q, 0) == doctest::Approx(0.89));
  set_grad(q, {1.0f});
  momentum.step();  // d = 1 + 0.089 = 1.089; buf = 0.9*1.1 + 0.5*1.089 = 1.5345
  CHECK(at(q, 0) == doctest::Approx(0.89 - 0.15345));

  Tensor n = parameter({0.0f});
  pare::optim::SGD nesterov({n}, pare::optim::SGDOptions(1.0).momentum(0.5).nesterov(true));
  set_grad(n, {2.0f});
  nesterov.step();  // buf = 2; d = 2 + 0.5*2 = 3
  CHECK(at(n, 0) == doctest::Approx(-3.0));
  CHECK_THROWS_WITH_AS(pare::optim::SGD({n}, pare::optim::SGDOptions(1.0).nesterov(true)),
                       doctest::Contains("Nesterov"), pare::Error);
}

TEST_CASE("Adam and AdamW first steps match the closed form") {
  // After one step with zero weight decay, Adam moves every coordinate by lr * sign(g)
  // (m_hat = g, v_hat = g^2), up to eps.
  Tensor p = parameter({1.0f, 1.0f});
  pare::optim::Adam adam({p}, pare::optim::AdamOptions(0.01));
  set_grad(p, {3.0f, -0.5f});
  adam.step();
  CHECK(at(p, 0) == doctest::Approx(0.99).epsilon(1e-6));
  CHECK(at(p, 1) == doctest::Approx(1.01).epsilon(1e-6));
  // Second step with the same gradient: m_hat = g, v_hat = g^2 again.
  set_grad(p, {3.0f, -0.5f});
  adam.step();
  CHECK(at(p, 0) == doctest::Approx(0.98).epsilon(1e-6));

  Tensor w = parameter({2.0f});
  pare::optim::AdamW adamw({w}, pare::optim::AdamWOptions(0.1).weight_decay(0.5));
  set_grad(w, {1.0f});
  adamw.step();  // w *= 1 - 0.05 -> 1.9, then - 0.1
  CHECK(at(w, 0) == doctest::Approx(1.8).epsilon(1e-6));

  Tensor a = parameter({2.0f});
  pare::optim::Adam coupled({a}, pare::optim::AdamOptions(0.1).weight_decay(0.5));
  set_grad(a, {1.0f});
  coupled.step();  // g = 1 + 0.5*2 = 2 -> moves by lr
  CHECK(at(a, 0) == doctest::Approx(1.9).epsilon(1e-6));
}

TEST_CASE("AMSGrad keeps the largest second moment") {
  Tensor p = parameter({0.0f});
  pare::optim::Adam adam({p}, pare::optim::AdamOptions(0.1).amsgrad(true).betas(0.0, 0.5));
  set_grad(p, {4.0f});
  adam.step();
  set_grad(p, {1.0f});
  adam.step();
  auto state = adam.state_dict();
  float max_v = 0, v = 0;
  for (auto& [key, tensor] : state) {
    if (key == "state.0.max_exp_avg_sq") max_v = tensor.item<float>();
    if (key == "state.0.exp_avg_sq") v = tensor.item<float>();
  }
  CHECK(v == doctest::Approx(0.5 * 8 + 0.5 * 1));  // v1 = 8, v2 = 4.5
  CHECK(max_v == doctest::Approx(8.0));
}

TEST_CASE("parameter groups, zero_grad and state_dict round trip") {
  Tensor a = parameter({1.0f});
  Tensor b = parameter({1.0f});
  pare::optim::SGD sgd({{{a}, {{"lr", 0.5}}}, {{b}, {}}},
                       pare::optim::SGDOptions(0.1).momentum(0.9));
  set_grad(a, {1.0f});
  set_grad(b, {1.0f});
  sgd.step();
  CHECK(at(a, 0) == doctest::Approx(0.5));
  CHECK(at(b, 0) == doctest::Approx(0.9));
  auto state = sgd.state_dict();

  Tensor a2 = parameter({0.5f});
  Tensor b2 = parameter({0.9f});
  pare::optim::SGD restored({{{a2}, {}}, {{b2}, {}}}, pare::optim::SGDOptions(0.3).momentum(0.9));
  restored.load_state_dict(state);
  CHECK(restored.param_groups()[0].lr() == doctest::Approx(0.5));
  set_grad(a, {0.0f});
  set_grad(a2, {0.0f});
  sgd.step();
  restored.step();  // the restored momentum buffer moves a2 exactly like a
  CHECK(at(a2, 0) == doctest::Approx(at(a, 0)));

  sgd.zero_grad();
  CHECK_FALSE(a.grad().defined());
  set_grad(b, {2.0f});
  sgd.zero_grad(/*set_to_none=*/false);
  CHECK(at(b.grad(), 0) == 0.0f);
  CHECK_THROWS_WITH_AS(pare::optim::SGD({{{a}, {}}, {{a}, {}}}, pare::optim::SGDOptions(0.1)),
                       doctest::Contains("more than one group"), pare::Error);
}

TEST_CASE("StepLR and CosineAnnealingLR follow PyTorch's closed forms") {
  Tensor p = parameter({0.0f});
  pare::optim::SGD sgd({p}, pare::optim::SGDOptions(1.0));
  pare::optim::StepLR step(sgd, 2, 0.5);
  std::vector<double> rates;
  for (int i = 0; i < 5; ++i) {
    step.step();
    rates.push_back(step.get_last_lr()[0]);
  }
  CHECK(rates == std::vector<double>{1.0, 0.5, 0.5, 0.25, 0.25});

  Tensor q = parameter({0.0f});
  pare::optim::SGD sgd2({q}, pare::optim::SGDOptions(0.1));
  pare::optim::CosineAnnealingLR cosine(sgd2, 4, 0.01);
  cosine.step();
  CHECK(cosine.get_last_lr()[0] == doctest::Approx(0.01 + 0.09 * (1 + std::cos(M_PI / 4)) / 2));
  for (int i = 0; i < 3; ++i) cosine.step();
  CHECK(cosine.get_last_lr()[0] == doctest::Approx(0.01));
}

TEST_CASE("clip_grad_norm_ scales only when the norm is too large") {
  Tensor a = parameter({0.0f, 0.0f});
  Tensor b = parameter({0.0f});
  set_grad(a, {3.0f, 0.0f});
  set_grad(b, {4.0f});
  double total = pare::nn::utils::clip_grad_norm_({a, b}, 10.0);
  CHECK(total == doctest::Approx(5.0));
  CHECK(at(a.grad(), 0) == 3.0f);
  total = pare::nn::utils::clip_grad_norm_({a, b}, 1.0);
  CHECK(total == doctest::Approx(5.0));
  CHECK(at(a.grad(), 0) == doctest::Approx(0.6).epsilon(1e-5));
  CHECK(at(b.grad(), 0) == doctest::Approx(0.8).epsilon(1e-5));
  set_grad(a, {-7.0f, 1.0f});
  CHECK(pare::nn::utils::clip_grad_norm_({a, b}, 100.0, INFINITY) == doctest::Approx(7.0));
}
