// Tensor basics: creation, accessors, views sharing storage, copies, conversions, printing and
// the errors of each.
#include <doctest/doctest.h>

#include <sstream>

#include "gradcheck.h"
#include "pare/pare.h"

using pare::Shape;
using pare::Tensor;

namespace {
std::vector<float> values(const Tensor& t) { return pare::to_float_vector(t); }
}  // namespace

TEST_CASE("factories fill shapes and dtypes") {
  Tensor z = pare::zeros({2, 3});
  CHECK(z.sizes() == Shape{2, 3});
  CHECK(z.strides() == Shape{3, 1});
  CHECK(z.dtype() == pare::kFloat32);
  CHECK(z.numel() == 6);
  CHECK(values(z) == std::vector<float>(6, 0.0f));
  CHECK(values(pare::ones({4})) == std::vector<float>(4, 1.0f));
  CHECK(values(pare::full({2}, 2.5)) == std::vector<float>{2.5f, 2.5f});
  CHECK(pare::arange(5).dtype() == pare::kInt64);
  CHECK(pare::to_int64_vector(pare::arange(1, 7, 2)) == std::vector<int64_t>{1, 3, 5});
  CHECK(values(pare::arange(0.0, 1.0, 0.25)) == std::vector<float>{0, 0.25f, 0.5f, 0.75f});
  CHECK(values(pare::eye(2)) == std::vector<float>{1, 0, 0, 1});
  Tensor s = pare::scalar_tensor(3.0);
  CHECK(s.dim() == 0);
  CHECK(s.numel() == 1);
  CHECK(s.item<float>() == 3.0f);
  Tensor b = pare::bool_tensor({1, 0, 1});
  CHECK(b.dtype() == pare::kBool);
  CHECK(b.data_ptr<bool>()[1] == false);
}

TEST_CASE("from_blob views user memory without copying and runs the deleter") {
  float buffer[6] = {1, 2, 3, 4, 5, 6};
  Tensor t = pare::from_blob(buffer, {2, 3});
  CHECK(t.data_ptr<float>() == buffer);
  buffer[4] = 50;
  CHECK(t.select(0, 1).select(0, 1).item<float>() == 50);
  bool deleted = false;
  {
    Tensor owned = pare::from_blob(new float[2]{1, 2}, {2}, pare::kFloat32, [&](void* p) {
      delete[] static_cast<float*>(p);
      deleted = true;
    });
    Tensor view = owned.slice(0, 1, 2);
    owned = Tensor();
    CHECK_FALSE(deleted);  // the view keeps the storage alive
  }
  CHECK(deleted);
}

TEST_CASE("views share storage and have the right strides") {
  Tensor x = pare::tensor({0, 1, 2, 3, 4, 5}, {2, 3});
  Tensor t = x.t();
  CHECK(t.sizes() == Shape{3, 2});
  CHECK(t.strides() == Shape{1, 3});
  CHECK_FALSE(t.is_contiguous());
  CHECK(values(t) == std::vector<float>{0, 3, 1, 4, 2, 5});
  CHECK(values(x.permute({1, 0})) == values(t));
  CHECK(values(x.select(1, 2)) == std::vector<float>{2, 5});
  CHECK(values(x.narrow(1, 1, 2)) == std::vector<float>{1, 2, 4, 5});
  CHECK(values(x.slice(1, 0, 3, 2)) == std::vector<float>{0, 2, 3, 5});
  CHECK(values(x[1]) == std::vector<float>{3, 4, 5});
  CHECK(x.view({3, 2}).sizes() == Shape{3, 2});
  CHECK(x.reshape({-1}).sizes() == Shape{6});
  CHECK(x.unsqueeze(0).sizes() == Shape{1, 2, 3});
  CHECK(x.unsqueeze(-1).sizes() == Shape{2, 3, 1});
  CHECK(x.unsqueeze(0).squeeze().sizes() == Shape{2, 3});
  CHECK(x.unsqueeze(1).squeeze(1).sizes() == Shape{2, 3});
  CHECK(x.flatten().sizes() == Shape{6});
  CHECK(pare::zeros({2, 3, 4, 5}).flatten(1, 2).sizes() == Shape{2, 12, 5});
  Tensor e = pare::tensor({1, 2}, {2, 1}).expand({2, 3});
  CHECK(e.strides() == Shape{1, 0});
  CHECK(values(e) == std::vector<float>{1, 1, 1, 2, 2, 2});

  // Writing through a view changes the base.
  {
    Tensor column = x.select(1, 0);
    column.fill_(9);
  }
  CHECK(values(x) == std::vector<float>{9, 1, 2, 9, 4, 5});
  CHECK(x.select(1, 0).storage().data() == x.storage().data());
}

TEST_CASE("contiguous, clone, copy_ and dtype conversion") {
  Tensor x = pare::tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor t = x.t();
  Tensor c = t.contiguous();
  CHECK(c.is_contiguous());
  CHECK(c.storage().data() != x.storage().data());
  CHECK(values(c) == values(t));
  CHECK(x.contiguous().is_same(x));  // already contiguous: no copy
  Tensor cl = x.clone();
  cl.fill_(0);
  CHECK(values(x)[0] == 1);
  Tensor target = pare::zeros({2, 3});
  target.copy_(pare::tensor({7, 8, 9}, {3}));  // broadcast copy
  CHECK(values(target) == std::vector<float>{7, 8, 9, 7, 8, 9});
  Tensor as_int = pare::tensor({1.7f, -2.2f}).to(pare::kInt64);
  CHECK(pare::to_int64_vector(as_int) == std::vector<int64_t>{1, -2});
  Tensor as_bool = pare::tensor({0.0f, 3.0f}).to(pare::kBool);
  CHECK(as_bool.data_ptr<bool>()[0] == false);
  CHECK(as_bool.data_ptr<bool>()[1] == true);
  CHECK(pare::tensor(std::vector<int64_t>{4}).item<double>() == 4.0);
}

TEST_CASE("printing shows values, shape and dtype") {
  std::ostringstream stream;
  stream << pare::tensor({1, 2, 3, 4}, {2, 2});
  CHECK(stream.str() ==
        "tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]], shape=[2, 2], dtype=float32)");
  std::ostringstream ints;
  ints << pare::arange(3);
  CHECK(ints.str() == "tensor([0, 1, 2], shape=[3], dtype=int64)");
  std::ostringstream big;
  big << pare::zeros({2000});
  CHECK(big.str().find("...") != std::string::npos);
}

TEST_CASE("bad shapes, dims and dtypes are pare::Errors naming the op") {
  Tensor x = pare::zeros({2, 3});
  CHECK_THROWS_WITH_AS(x.view({4, 2}), doctest::Contains("view: shape [4, 2] is invalid"),
                       pare::Error);
  CHECK_THROWS_WITH_AS(x.reshape({-1, -1}), doctest::Contains("only one dimension can be -1"),
                       pare::Error);
  CHECK_THROWS_WITH_AS(x.t().view({6}), doctest::Contains("not contiguous"), pare::Error);
  CHECK_THROWS_WITH_AS(x.select(2, 0), doctest::Contains("select: dim 2 is out of range"),
                       pare::Error);
  CHECK_THROWS_WITH_AS(x.select(0, 5), doctest::Contains("select: index 5"), pare::Error);
  CHECK_THROWS_WITH_AS(x.narrow(1, 2, 2), doctest::Contains("narrow"), pare::Error);
  // A 0-d tensor has no dim to narrow (its size was once read past the end of its sizes).
  CHECK_THROWS_WITH_AS(pare::scalar_tensor(1.0).narrow(0, 0, 1),
                       doctest::Contains("narrow: cannot narrow a 0-d tensor"), pare::Error);
  CHECK_THROWS_WITH_AS(x.expand({3, 3}), doctest::Contains("expand: cannot expand shape [2, 3]"),
                       pare::Error);
  CHECK_THROWS_WITH_AS(x.permute({0, 0}), doctest::Contains("permute"), pare::Error);
  CHECK_THROWS_WITH_AS(x.data_ptr<int64_t>(), doctest::Contains("holds float32"), pare::Error);
  CHECK_THROWS_WITH_AS(x.item<float>(), doctest::Contains("item: expected a tensor with one"),
                       pare::Error);
  CHECK_THROWS_WITH_AS(pare::zeros({-1}), doctest::Contains("negative size"), pare::Error);
  CHECK_THROWS_WITH_AS(pare::tensor({1, 2, 3}, {2, 2}), doctest::Contains("needs 4 values"),
                       pare::Error);
  CHECK_THROWS_WITH_AS(Tensor().sizes(), doctest::Contains("undefined"), pare::Error);
  CHECK_THROWS_WITH_AS(pare::arange(0, 5).set_requires_grad(true),
                       doctest::Contains("only float32"), pare::Error);
}

TEST_CASE("empty tensors are allowed where PyTorch allows them") {
  Tensor e = pare::zeros({0, 3});
  CHECK(e.numel() == 0);
  CHECK(e.reshape({3, 0}).sizes() == Shape{3, 0});
  CHECK(values(e.clone()).empty());
}

TEST_CASE("seeded generators repeat") {
  pare::manual_seed(3);
  std::vector<float> a = values(pare::randn({5}));
  pare::manual_seed(3);
  std::vector<float> b = values(pare::randn({5}));
  CHECK(a == b);
  pare::Generator g(11);
  Tensor u = pare::rand({1000}, g);
  for (float v : values(u)) CHECK((v >= 0 && v < 1));
  Tensor r = pare::randint(2, 5, {200}, g);
  for (int64_t v : pare::to_int64_vector(r)) CHECK((v >= 2 && v < 5));
  std::vector<int64_t> perm = pare::to_int64_vector(pare::randperm(6, g));
  std::sort(perm.begin(), perm.end());
  CHECK(perm == std::vector<int64_t>{0, 1, 2, 3, 4, 5});
  // Normal samples have roughly unit variance.
  std::vector<float> n = values(pare::randn({20000}, g));
  double mean = 0, square = 0;
  for (float v : n) mean += v, square += v * v;
  mean /= n.size();
  CHECK(std::fabs(mean) < 0.05);
  CHECK(std::fabs(square / n.size() - 1.0) < 0.05);
}

TEST_CASE("view ops are differentiable") {
  using pare::testing::gradcheck;
  Tensor x = pare::randn({2, 3, 4}).set_requires_grad(true);
  CHECK(gradcheck([](const std::vector<Tensor>& in) { return in[0].transpose(0, 2); }, {x}));
  CHECK(gradcheck([](const std::vector<Tensor>& in) { return in[0].permute({2, 0, 1}); }, {x}));
  CHECK(gradcheck([](const std::vector<Tensor>& in) { return in[0].reshape({6, 4}); }, {x}));
  CHECK(gradcheck([](const std::vector<Tensor>& in) { return in[0].slice(2, 1, 4, 2); }, {x}));
  CHECK(gradcheck([](const std::vector<Tensor>& in) { return in[0].select(1, -1); }, {x}));
  CHECK(gradcheck([](const std::vector<Tensor>& in) { return in[0].t().contiguous(); },
                  {pare::randn({3, 2}).set_requires_grad(true)}));
  CHECK(gradcheck(
      [](const std::vector<Tensor>& in) {
        return in[0].expand({4, 2, 3});
      },
      {pare::randn({2, 1}).set_requires_grad(true)}));
  CHECK(gradcheck([](const std::vector<Tensor>& in) { return in[0].clone(); }, {x}));
}
