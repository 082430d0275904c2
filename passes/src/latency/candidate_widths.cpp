// The candidate widths of a prunable group (pare/passes/latency/candidate_widths.h).
#include "pare/passes/latency/candidate_widths.h"

#include <algorithm>
#include <set>

#include "pare/error.h"

namespace pare::latency {

namespace {

// The group pruner's kept count at `ratio` (GroupPruner::choose_local for a one-block group): the
// same arithmetic, so that a profile has a time for every width `pare prune --ratio` can give.
int64_t kept_at_ratio(int64_t size, double ratio, int64_t round_to) {
  const auto keep = static_cast<int64_t>(static_cast<double>(size) * (1.0 - ratio));
  if (round_to <= 1 || size < round_to) return std::max<int64_t>(keep, 1);
  return keep - keep % round_to;
}

}  // namespace

std::vector<int64_t> candidate_widths(const CandidateRule& rule) {
  PARE_CHECK(rule.size >= 1, "candidate widths: a group of ", rule.size,
             " channels; it needs at least one");
  PARE_CHECK(rule.channel_block >= 1, "candidate widths: channel block ", rule.channel_block,
             " must be at least 1");
  PARE_CHECK(rule.round_to >= 1, "candidate widths: round_to ", rule.round_to,
             " must be at least 1");
  PARE_CHECK(rule.max_ratio >= 0.0 && rule.max_ratio < 1.0, "candidate widths: max_ratio ",
             rule.max_ratio, " must be in [0, 1)");
  const bool rounded = rule.round_to > 1 && rule.size >= rule.round_to;
  // The narrowest width pruning may leave; where max_ratio's count rounds down to nothing, the
  // pruner keeps one multiple of round_to, so that is the floor.
  int64_t floor = kept_at_ratio(rule.size, rule.max_ratio, rule.round_to);
  if (floor < 1) floor = rounded ? rule.round_to : 1;

  std::set<int64_t> widths = {rule.size};
  auto offer = [&](int64_t width) {
    if (width < floor || width >= rule.size) return;
    if (rounded && width % rule.round_to != 0) return;
    widths.insert(width);
  };
  for (int64_t width = rule.channel_block; width < rule.size; width += rule.channel_block)
    offer(width);
  // k / 10.0 is the double a user's "0.k" parses to, as `pare prune --ratio` reads it.
  for (int k = 1; k <= 9; ++k) {
    const double ratio = k / 10.0;
    if (ratio > rule.max_ratio) break;
    offer(kept_at_ratio(rule.size, ratio, rule.round_to));
  }
  return {widths.begin(), widths.end()};
}

}  // namespace pare::latency
