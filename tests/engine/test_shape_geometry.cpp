// The shape-level rules the engine's ops and the IR's shape rules share (pare/*_geometry.h): the
// usage examples of their headers, checked against sizes worked out by hand from PyTorch's
// semantics. That the engine op and the shape rule agree on every call is test_shape_inference's
// part.
#include <doctest/doctest.h>

#include "pare/dim_geometry.h"
#include "pare/indexing_geometry.h"
#include "pare/matmul_geometry.h"
#include "pare/norm_geometry.h"
#include "pare/reduction_geometry.h"
#include "pare/softmax_geometry.h"
#include "pare/view_geometry.h"
#include "test_util.h"

using pare::Shape;
using pare::testing::error_of;

TEST_CASE("wrap_dim: negative dims count from the end; a 0-d tensor takes -1 and 0") {
  CHECK(pare::wrap_dim(-1, 3, "softmax") == 2);
  CHECK(pare::wrap_dim(0, 0, "sum") == 0);
  CHECK(pare::wrap_dim(-1, 0, "sum") == 0);
  CHECK(error_of([] { pare::wrap_dim(3, 3, "softmax"); }) ==
        "softmax: dim 3 is out of range for a tensor of rank 3");
  CHECK(error_of([] { pare::wrap_dim(-4, 3, "sum"); }) ==
        "sum: dim -4 is out of range for a tensor of rank 3");
}

TEST_CASE("view geometry: reshape, flatten, permute, slice, narrow, select, squeeze") {
  CHECK(pare::reshape_shape({2, 3, 4}, {4, -1}, "reshape") == Shape{4, 6});
  CHECK(pare::reshape_shape({0, 3}, {3, 0}, "view") == Shape{3, 0});
  CHECK(pare::flatten_shape({2, 3, 4, 5}, 1, -1) == Shape{2, 60});
  CHECK(pare::flatten_shape({}, 0, -1) == Shape{1});
  CHECK(pare::permute_geometry({2, 3, 4}, {2, 0, 1}).shape == Shape{4, 2, 3});
  CHECK(pare::permute_geometry({2, 3, 4}, {-1, 0, 1}).dims == Shape{2, 0, 1});
  CHECK(pare::t_shape({2, 3}) == Shape{3, 2});
  CHECK(pare::transpose_geometry({2, 3, 4}, 0, -1).shape == Shape{4, 3, 2});
  // x[-4:100:2] of 10 rows: rows 6 and 8.
  const pare::SliceGeometry slice = pare::slice_geometry({10, 3}, 0, -4, 100, 2);
  CHECK(slice.start == 6);
  CHECK(slice.end == 10);
  CHECK(slice.shape == Shape{2, 3});
  // An empty range: start past end.
  CHECK(pare::slice_geometry({10}, 0, 7, 3, 1).shape == Shape{0});
  const pare::SliceGeometry narrow = pare::narrow_geometry({5, 3}, 0, -2, 2);
  CHECK(narrow.start == 3);
  CHECK(narrow.shape == Shape{2, 3});
  CHECK(pare::select_geometry({5, 3}, 0, -1).index == 4);
  CHECK(pare::select_geometry({5, 3}, -1, 0).shape == Shape{5});
  CHECK(pare::squeeze_shape({1, 2, 1, 3}) == Shape{2, 3});
  CHECK(pare::squeeze_shape({1, 2}, 1) == Shape{1, 2});
  CHECK(pare::unsqueeze_shape({2, 3}, -1) == Shape{2, 3, 1});
}

TEST_CASE("reduction geometry: kept and output shapes, counts, dtypes") {
  const pare::ReductionGeometry sum = pare::reduction_geometry({2, 3, 4}, {0, -1}, true, "sum");
  CHECK(sum.output_shape == Shape{1, 3, 1});
  CHECK(sum.kept_shape == Shape{1, 3, 1});
  CHECK(sum.reduced_count == 8);
  CHECK(sum.output_count == 3);
  CHECK(pare::reduction_geometry({2, 3}, {}, false, "mean").output_shape == Shape{});
  CHECK(pare::reduction_geometry({2, 3}, {1}, false, "mean").output_shape == Shape{2});
  CHECK(pare::along_dim_geometry({2, 3}, -1, false, "argmax").shape == Shape{2});
  CHECK(pare::along_dim_geometry({2, 3}, 0, true, "max").shape == Shape{1, 3});
  CHECK(pare::along_dim_geometry({}, -1, false, "max").shape == Shape{});
  CHECK(pare::sum_dtype(pare::kBool) == pare::kInt64);
  CHECK(pare::sum_dtype(pare::kFloat32) == pare::kFloat32);
}

TEST_CASE("matmul geometry: 1-d operands and broadcast batch dims, as torch.matmul") {
  using pare::MatrixProduct;
  const pare::DType f32 = pare::kFloat32;
  const pare::MatmulGeometry g =
      pare::matmul_geometry(MatrixProduct::matmul, {5, 1, 2, 3}, f32, {4, 3, 6}, f32);
  CHECK(g.batch == Shape{5, 4});
  CHECK(g.m == 2);
  CHECK(g.k == 3);
  CHECK(g.n == 6);
  CHECK(g.shape == Shape{5, 4, 2, 6});
  CHECK(pare::matmul_geometry(MatrixProduct::matmul, {3}, f32, {3, 6}, f32).shape == Shape{6});
  CHECK(pare::matmul_geometry(MatrixProduct::matmul, {2, 3}, f32, {3}, f32).shape == Shape{2});
  CHECK(pare::matmul_geometry(MatrixProduct::matmul, {3}, f32, {3}, f32).shape == Shape{});
  CHECK(pare::matmul_geometry(MatrixProduct::matmul, {7, 2, 3}, f32, {3}, f32).shape ==
        Shape{7, 2});
  CHECK(pare::matmul_geometry(MatrixProduct::bmm, {4, 2, 3}, f32, {4, 3, 5}, f32).shape ==
        Shape{4, 2, 5});
  CHECK(error_of([&] {
          pare::matmul_geometry(MatrixProduct::mm, {3}, f32, {3, 2}, f32);
        }) == "mm: expected 2-d tensors, got shapes [3] and [3, 2]");
}

TEST_CASE("norm and softmax geometry: the kernels' sizes") {
  const pare::OperandMeta gamma{{4}, pare::kFloat32};
  const pare::kernels::LayerNormParams layer =
      pare::layer_norm_geometry({2, 3, 4}, pare::kFloat32, {4}, gamma, std::nullopt, 1e-5);
  CHECK(layer.rows == 6);
  CHECK(layer.cols == 4);
  CHECK(
      pare::layer_norm_geometry({2, 3, 4}, pare::kFloat32, {3, 4}, std::nullopt, std::nullopt, 0.0)
          .rows == 2);
  pare::BatchNormOperands stats;
  stats.running_mean = stats.running_var = pare::OperandMeta{{16}, pare::kFloat32};
  const pare::kernels::BatchNormParams batch =
      pare::batch_norm_geometry({8, 16, 5, 5}, pare::kFloat32, stats, false, 1e-5);
  CHECK(batch.batch == 8);
  CHECK(batch.channels == 16);
  CHECK(batch.spatial == 25);
  // PyTorch checks a per-channel tensor's element count only.
  stats.weight = pare::OperandMeta{{4, 4}, pare::kFloat32};
  CHECK(pare::batch_norm_geometry({8, 16}, pare::kFloat32, stats, false, 1e-5).spatial == 1);
  const pare::kernels::SoftmaxParams softmax =
      pare::softmax_geometry({2, 3, 4}, pare::kFloat32, 1, "softmax");
  CHECK(softmax.outer == 2);
  CHECK(softmax.axis == 3);
  CHECK(softmax.inner == 4);
  const pare::kernels::SoftmaxParams scalar =
      pare::softmax_geometry({}, pare::kFloat32, -1, "log_softmax");
  CHECK(scalar.outer * scalar.axis * scalar.inner == 1);
}

TEST_CASE("indexing geometry: index_select's and masked_fill's shapes") {
  CHECK(pare::index_select_geometry({4, 5}, -1, {3}, pare::kInt64).shape == Shape{4, 3});
  CHECK(pare::index_select_geometry({4, 5}, -1, {3}, pare::kInt64).dim == 1);
  CHECK(pare::index_select_geometry({}, 0, {}, pare::kInt64).shape == Shape{});
  CHECK(pare::index_select_geometry({}, 0, {2}, pare::kInt64).shape == Shape{2});
  CHECK(pare::index_select_geometry({4, 5}, 0, {}, pare::kInt64).shape == Shape{1, 5});
  CHECK(pare::masked_fill_shape({2, 3}, {1, 3}, pare::kBool) == Shape{2, 3});
  CHECK(pare::masked_fill_shape({3}, {2, 1}, pare::kBool) == Shape{2, 3});
}
