#include "pare/inference/memory_plan.h"

#include <algorithm>
#include <map>
#include <optional>

#include "pare/error.h"

namespace pare::inference {
namespace {

constexpr size_t kAlignment = 64;

size_t aligned(size_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace

MemoryPlan plan_memory(const std::vector<BufferLifetime>& buffers, bool reuse,
                       const std::vector<InPlaceUpdate>& in_place) {
  MemoryPlan plan;
  plan.offsets.assign(buffers.size(), 0);
  for (const BufferLifetime& buffer : buffers) {
    PARE_CHECK(buffer.first_step <= buffer.last_step, "plan_memory: a buffer of ", buffer.bytes,
               " bytes is read last at step ", buffer.last_step, ", before it is written at step ",
               buffer.first_step);
    plan.unshared_bytes += aligned(buffer.bytes);
  }
  // Per buffer, the buffer its writer updates, when that writer reads it last.
  std::vector<std::optional<size_t>> takes_over(buffers.size());
  std::vector<bool> updated(buffers.size(), false), updating(buffers.size(), false);
  for (const InPlaceUpdate& update : in_place) {
    PARE_CHECK(update.buffer < buffers.size() && update.into < buffers.size(),
               "plan_memory: an in-place update of buffer ", update.into, " by buffer ",
               update.buffer, ", but there are ", buffers.size(), " buffers");
    const BufferLifetime& writer = buffers[update.buffer];
    PARE_CHECK(buffers[update.into].first_step < writer.first_step, "plan_memory: buffer ",
               update.buffer, " (written at step ", writer.first_step, ") updates buffer ",
               update.into, ", which is not written before that step");
    PARE_CHECK(!updated[update.into] && !updating[update.buffer], "plan_memory: buffer ",
               update.into, " or ", update.buffer, " is in two in-place updates; at most one each");
    updated[update.into] = true;
    updating[update.buffer] = true;
    if (reuse && buffers[update.into].last_step == writer.first_step)
      takes_over[update.buffer] = update.into;
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
    // The block of the buffer it updates in place: still held (released only after its last
    // step, which is this buffer's first), so it passes from one to the other.
    if (takes_over[index]) {
      const size_t block = block_of[*takes_over[index]];
      auto [begin, end] = release_at.equal_range(buffer.first_step);
      for (auto it = begin; it != end; ++it) {
        if (it->second != block) continue;
        release_at.erase(it);
        break;
      }
      block_size[block] = std::max(block_size[block], bytes);
      block_of[index] = block;
      release_at.emplace(buffer.last_step, block);
      continue;
    }
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
