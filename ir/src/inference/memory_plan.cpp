#include "pare/inference/memory_plan.h"

#include <algorithm>
#include <map>

#include "pare/error.h"

namespace pare::inference {
namespace {

constexpr size_t kAlignment = 64;

size_t aligned(size_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace

MemoryPlan plan_memory(const std::vector<BufferLifetime>& buffers, bool reuse) {
  MemoryPlan plan;
  plan.offsets.assign(buffers.size(), 0);
  for (const BufferLifetime& buffer : buffers) {
    PARE_CHECK(buffer.first_step <= buffer.last_step, "plan_memory: a buffer of ", buffer.bytes,
               " bytes is read last at step ", buffer.last_step, ", before it is written at step ",
               buffer.first_step);
    plan.unshared_bytes += aligned(buffer.bytes);
  }
  // Blocks of the arena: each holds one buffer at a time. `free_after[s]` lists the blocks whose
  // buffer is read last by step s.
  std::vector<size_t> block_size;
  std::vector<size_t> block_of(buffers.size());
  std::vector<size_t> free_blocks;
  std::multimap<size_t, size_t> release_at;  // last step -> block
  std::vector<size_t> order(buffers.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return buffers[a].first_step < buffers[b].first_step;
  });
  for (size_t index : order) {
    const BufferLifetime& buffer = buffers[index];
    // Blocks whose last reader ran before this buffer's writer are free again.
    while (reuse && !release_at.empty() && release_at.begin()->first < buffer.first_step) {
      free_blocks.push_back(release_at.begin()->second);
      release_at.erase(release_at.begin());
    }
    const size_t bytes = aligned(buffer.bytes);
    auto best = free_blocks.end();
    for (auto it = free_blocks.begin(); it != free_blocks.end(); ++it) {
      const bool fits = block_size[*it] >= bytes;
      if (best == free_blocks.end()) {
        best = it;
        continue;
      }
      const bool best_fits = block_size[*best] >= bytes;
      // Prefer the smallest block that fits; among blocks that do not, the largest (grown).
      if (fits ? (!best_fits || block_size[*it] < block_size[*best])
               : (!best_fits && block_size[*it] > block_size[*best]))
        best = it;
    }
    size_t block;
    if (best != free_blocks.end()) {
      block = *best;
      free_blocks.erase(best);
      block_size[block] = std::max(block_size[block], bytes);
    } else {
      block = block_size.size();
      block_size.push_back(bytes);
    }
    block_of[index] = block;
    release_at.emplace(buffer.last_step, block);
  }
  std::vector<size_t> block_offset(block_size.size());
  for (size_t block = 0; block < block_size.size(); ++block) {
    block_offset[block] = plan.arena_bytes;
    plan.arena_bytes += block_size[block];
  }
  for (size_t i = 0; i < buffers.size(); ++i) plan.offsets[i] = block_offset[block_of[i]];
  return plan;
}

}  // namespace pare::inference
