#include "pare/kernels/matmul.h"

#include <algorithm>
#include <initializer_list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "dnnl_context.h"

namespace pare::kernels::cpu {
namespace {

using dnnl::memory;

// The caller's buffers are bound to `args` by set_data_handle under `mutex`, so one entry serves
// every call with the same params without allocating.
struct MatmulEntry {
  dnnl::matmul primitive;
  std::unordered_map<int, memory> args;
  std::mutex mutex;
};

// A [batch_dim, rows, cols] operand stored row-major (cols x rows when transposed), with
// `batch_stride` floats between matrices.
memory::desc operand_desc(int64_t batch_dim, int64_t rows, int64_t cols, bool transposed,
                          int64_t batch_stride) {
  const memory::dims strides =
      transposed ? memory::dims{batch_stride, 1, rows} : memory::dims{batch_stride, cols, 1};
  return memory::desc({batch_dim, rows, cols}, memory::data_type::f32, strides);
}

std::shared_ptr<MatmulEntry> make_entry(const MatmulParams& p) {
  auto entry = std::make_shared<MatmulEntry>();
  const int64_t a_stride = p.a_batch_stride <= 0 ? p.m * p.k : p.a_batch_stride;
  const int64_t b_stride = p.b_batch_stride <= 0 ? p.k * p.n : p.b_batch_stride;
  // oneDNN broadcasts an operand whose batch dimension is 1.
  const memory::desc a_desc =
      operand_desc(p.a_batch_stride == 0 ? 1 : p.batch, p.m, p.k, p.transpose_a, a_stride);
  const memory::desc b_desc =
      operand_desc(p.b_batch_stride == 0 ? 1 : p.batch, p.k, p.n, p.transpose_b, b_stride);
  const memory::desc c_desc({p.batch, p.m, p.n}, memory::data_type::f32, memory::format_tag::abc);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_desc, b_desc, c_desc), cpu_engine());
  entry->primitive = dnnl::matmul(pd);
  entry->args = {{DNNL_ARG_SRC, memory(a_desc, cpu_engine(), DNNL_MEMORY_NONE)},
                 {DNNL_ARG_WEIGHTS, memory(b_desc, cpu_engine(), DNNL_MEMORY_NONE)},
                 {DNNL_ARG_DST, memory(c_desc, cpu_engine(), DNNL_MEMORY_NONE)}};
  return entry;
}

void run(const MatmulParams& p, const float* a, const float* b, float* c) {
  const std::string key = cache_key("matmul", {p.batch, p.m, p.k, p.n, p.transpose_a, p.transpose_b,
                                               p.a_batch_stride, p.b_batch_stride});
  MatmulEntry& entry =
      primitive_cache().get_or_create<MatmulEntry>(key, [&] { return make_entry(p); });
  std::lock_guard<std::mutex> lock(entry.mutex);
  entry.args[DNNL_ARG_SRC].set_data_handle(const_cast<float*>(a));
  entry.args[DNNL_ARG_WEIGHTS].set_data_handle(const_cast<float*>(b));
  entry.args[DNNL_ARG_DST].set_data_handle(c);
  entry.primitive.execute(cpu_stream(), entry.args);
  cpu_stream().wait();
}

}  // namespace

void matmul(const MatmulParams& params, const float* a, const float* b, float* c) {
  params.validate();
  with_dnnl_errors("matmul", [&] {
    if (params.batch > 1 && params.a_batch_stride == 0 && params.b_batch_stride == 0) {
      // Both operands are broadcast, so every batch holds the same product: compute it once.
      MatmulParams single = params;
      single.batch = 1;
      run(single, a, b, c);
      const int64_t matrix_size = params.m * params.n;
      for (int64_t batch_index = 1; batch_index < params.batch; ++batch_index) {
        std::copy(c, c + matrix_size, c + batch_index * matrix_size);
      }
      return;
    }
    run(params, a, b, c);
  });
}

}  // namespace pare::kernels::cpu
