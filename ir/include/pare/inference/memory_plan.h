// The static memory plan of the inference path: given each intermediate buffer's size and the
// steps where it is written first and read last, assign offsets in one arena so that buffers
// whose lifetimes do not overlap share memory. Greedy by definition order: a new buffer takes the
// smallest free block that fits, else grows the largest free block, else extends the arena.
//
//   std::vector<pare::inference::BufferLifetime> buffers = {
//       {.bytes = 4096, .first_step = 0, .last_step = 1},
//       {.bytes = 4096, .first_step = 1, .last_step = 2},
//       {.bytes = 4096, .first_step = 2, .last_step = 3}};   // may reuse the first one's block
//   pare::inference::MemoryPlan plan = pare::inference::plan_memory(buffers, /*reuse=*/true);
//   // plan.offsets[2] == plan.offsets[0], plan.arena_bytes == 8192
#pragma once

#include <cstddef>
#include <vector>

namespace pare::inference {

// A buffer written by step first_step and read last by step last_step (>= first_step). A step's
// output never shares memory with a buffer that step reads.
struct BufferLifetime {
  size_t bytes = 0;
  size_t first_step = 0;
  size_t last_step = 0;
};

struct MemoryPlan {
  std::vector<size_t> offsets;  // per buffer, 64-byte aligned
  size_t arena_bytes = 0;
  size_t unshared_bytes = 0;  // what the buffers would take without reuse
};

// reuse = false gives every buffer its own block (the plan with memory planning off).
MemoryPlan plan_memory(const std::vector<BufferLifetime>& buffers, bool reuse = true);

}  // namespace pare::inference
