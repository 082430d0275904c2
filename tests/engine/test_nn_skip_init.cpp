// nn::SkipInitGuard: under it the nn::init fills leave their tensor as it is and draw nothing from
// the generator, so a built-in layer is allocated with its usual shapes but never written; the
// guard nests, ends with its scope and is per thread; outside it construction is unchanged.
#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "pare/pare.h"
#include "test_util.h"

namespace {

namespace nn = pare::nn;
using pare::Tensor;

// The next values the default generator hands out after manual_seed(seed) and `action`.
template <typename Action>
std::vector<float> draws_after(uint64_t seed, Action action) {
  pare::manual_seed(seed);
  action();
  return pare::to_float_vector(pare::rand({8}));
}

}  // namespace

TEST_CASE("under SkipInitGuard the init fills leave the tensor as it was") {
  Tensor tensor = pare::full({4, 3}, 2.5);
  {
    nn::SkipInitGuard skip_init;
    CHECK(nn::skip_init_enabled());
    nn::init::constant_(tensor, 7.0);
    nn::init::zeros_(tensor);
    nn::init::ones_(tensor);
    nn::init::uniform_(tensor, -1.0, 1.0);
    nn::init::normal_(tensor);
    nn::init::kaiming_uniform_(tensor);
    nn::init::kaiming_normal_(tensor);
    nn::init::xavier_uniform_(tensor);
    nn::init::xavier_normal_(tensor);
  }
  CHECK(pare::to_float_vector(tensor) == std::vector<float>(12, 2.5f));
  // The checks of the argument still apply: an undefined tensor is an error as before.
  nn::SkipInitGuard skip_init;
  CHECK(pare::testing::contains(pare::testing::error_of([] { nn::init::uniform_(Tensor()); }),
                                "undefined"));
}

TEST_CASE("a layer built under SkipInitGuard has its usual tensors and drew no random numbers") {
  const std::vector<float> untouched = draws_after(11, [] {});
  nn::Linear linear(nullptr);
  nn::Conv2d conv(nullptr);
  nn::LSTM lstm(nullptr);
  const std::vector<float> after_building = draws_after(11, [&] {
    nn::SkipInitGuard skip_init;
    linear = nn::Linear(6, 5);
    conv = nn::Conv2d(nn::Conv2dOptions(3, 4, 3));
    lstm = nn::LSTM(nn::LSTMOptions(4, 6));
  });
  // Normal construction draws the kaiming / uniform values from the generator ...
  CHECK(draws_after(11, [] { nn::Linear(6, 5); }) != untouched);
  // ... the guarded one drew none.
  CHECK(after_building == untouched);
  CHECK(linear->get_parameter("weight").sizes() == pare::Shape{5, 6});
  CHECK(linear->get_parameter("bias").sizes() == pare::Shape{5});
  CHECK(linear->get_parameter("weight").requires_grad());
  CHECK(conv->get_parameter("weight").sizes() == pare::Shape{4, 3, 3, 3});
  CHECK(lstm->get_parameter("weight_hh_l0").sizes() == pare::Shape{24, 6});
}

TEST_CASE("SkipInitGuard nests, ends with its scope, and leaves construction unchanged after") {
  pare::manual_seed(3);
  const Tensor expected = nn::Linear(4, 3)->get_parameter("weight");
  {
    nn::SkipInitGuard outer;
    {
      nn::SkipInitGuard inner;
      CHECK(nn::skip_init_enabled());
    }
    CHECK(nn::skip_init_enabled());
  }
  CHECK_FALSE(nn::skip_init_enabled());
  pare::manual_seed(3);
  const Tensor again = nn::Linear(4, 3)->get_parameter("weight");
  CHECK(pare::to_float_vector(again) == pare::to_float_vector(expected));
}

TEST_CASE("SkipInitGuard is per thread: another thread's layers are initialised") {
  nn::SkipInitGuard skip_init;
  bool other_thread_skips = true;
  Tensor filled = pare::full({2, 2}, 1.0);
  std::thread other([&] {
    other_thread_skips = nn::skip_init_enabled();
    nn::init::constant_(filled, 4.0);
  });
  other.join();
  CHECK_FALSE(other_thread_skips);
  CHECK(pare::to_float_vector(filled) == std::vector<float>(4, 4.0f));
}
