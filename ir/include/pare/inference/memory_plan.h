// The static memory plan of the inference path: given each intermediate buffer's size and the
// steps where it is written first and read last, assign offsets in one arena so that buffers
// whose lifetimes do not overlap share memory. Greedy by definition order: a new buffer takes the
// smallest free block that fits, else grows the largest free block, else extends the arena. A
// buffer whose step adds its result to another buffer (a residual add fused into a convolution)
// takes that buffer's block when that step reads it last: the step then updates it in place.
//
//   std::vector<pare::inference::BufferLifetime> buffers = {
//       {.bytes = 4096, .first_step = 0, .last_step = 1},
//       {.bytes = 4096, .first_step = 1, .last_step = 2},
//       {.bytes = 4096, .first_step = 2, .last_step = 3}};   // may reuse the first one's block
//   pare::inference::MemoryPlan plan = pare::inference::plan_memory(buffers, /*reuse=*/true);
//   // plan.offsets[2] == plan.offsets[0], plan.arena_bytes == 8192
//
//   buffers.push_back({.bytes = 4096, .first_step = 3, .last_step = 4});
//   plan = pare::inference::plan_memory(buffers, true, {{.buffer = 3, .into = 2}});
//   // step 3 reads buffer 2 last and writes buffer 3 over it: offsets[3] == offsets[2]
#pragma once

#include <cstddef>
#include <vector>

namespace pare::inference {

// A buffer written by step first_step and read last by step last_step (>= first_step). A step's
// output never shares memory with a buffer that step reads, but for an InPlaceUpdate.
struct BufferLifetime {
  size_t bytes = 0;
  size_t first_step = 0;
  size_t last_step = 0;
};

// The step that writes `buffer` adds its result to what buffer `into` (written by an earlier step)
// holds. When that step is `into`'s last reader and reuse is on, both get the same offset (an
// in-place update); otherwise they do not overlap, and the step must copy `into` over first.
struct InPlaceUpdate {
  size_t buffer = 0;
  size_t into = 0;
};

struct MemoryPlan {
  std::vector<size_t> offsets;  // per buffer, 64-byte aligned
  size_t arena_bytes = 0;
  size_t unshared_bytes = 0;  // what the buffers would take without reuse
};

// reuse = false gives every buffer its own block (the plan with memory planning off), and so
// performs no in-place update. At most one update per `into`.
MemoryPlan plan_memory(const std::vector<BufferLifetime>& buffers, bool reuse = true,
                       const std::vector<InPlaceUpdate>& in_place = {});

}  // namespace pare::inference
