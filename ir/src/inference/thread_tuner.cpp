// Thread tuning (thread_tuning.h): each prepared primitive is built at 1, 2, 4, ... threads and
// the session's count, timed on the compiled arena, and kept at the count the chooser picks.
#include "thread_tuner.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>

#include "pare/creation.h"
#include "pare/error.h"
#include "scoped_thread_count.h"

namespace pare::inference {

int fastest_thread_count(const std::vector<ThreadTiming>& timings) {
  PARE_CHECK(!timings.empty(), "fastest_thread_count: no timings to choose from");
  const ThreadTiming* best = &timings.front();
  for (const ThreadTiming& timing : timings) {
    if (timing.seconds < best->seconds ||
        (timing.seconds == best->seconds && timing.threads < best->threads))
      best = &timing;
  }
  return best->threads;
}

namespace detail {
namespace {

// The counts tried below the session's. Powers of two, not every count: each count tried costs a
// primitive build and its timing per step, and neighbouring counts differ little once past 4.
std::vector<int> smaller_counts(int session_threads) {
  std::vector<int> counts;
  for (int threads = 1; threads < session_threads; threads *= 2) counts.push_back(threads);
  return counts;
}

// The median of a few run times (the upper one of an even count).
double median(std::vector<double> seconds) {
  std::nth_element(seconds.begin(), seconds.begin() + seconds.size() / 2, seconds.end());
  return seconds[seconds.size() / 2];
}

// The step's median time per run at each of `counts` (builds made already). One untimed run per
// count first (it pages in the step's buffers and brings the OpenMP team to that size), then
// rounds that run every count once in turn, so that a burst of load from other processes falls on
// all counts alike: at least kMinRuns rounds, and more until every count has run kMinSeconds (a
// step of a few microseconds gets enough runs to mean something, one of tens of milliseconds
// only five), but no round begun after kMaxSeconds on the step (a loaded machine can make a run
// on more threads take a hundred times its usual time; the first rounds show that already). The
// median, not the minimum: on a machine shared with other processes, a parallel region waits for
// every one of its threads to get a core, so more threads are often delayed by milliseconds; the
// luckiest run would hide that, the typical one does not.
std::vector<ThreadTiming> time_builds(Step& step, const std::vector<int>& counts) {
  constexpr size_t kMinRuns = 5;
  constexpr size_t kMaxRuns = 201;
  constexpr double kMinSeconds = 1e-3;
  constexpr double kMaxSeconds = 0.1;
  using Clock = std::chrono::steady_clock;
  const Clock::time_point begin = Clock::now();
  auto run_at = [&step](int threads) {
    step.primitive->select(threads);
    ScopedThreadCount scoped(threads);
    const Clock::time_point start = Clock::now();
    step.run();
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  for (int threads : counts) run_at(threads);
  std::vector<std::vector<double>> runs(counts.size());
  std::vector<double> totals(counts.size(), 0.0);
  for (size_t round = 0; round < kMaxRuns; ++round) {
    if (round >= kMinRuns && std::all_of(totals.begin(), totals.end(),
                                         [](double total) { return total >= kMinSeconds; }))
      break;
    if (round >= 1 && std::chrono::duration<double>(Clock::now() - begin).count() > kMaxSeconds)
      break;
    for (size_t c = 0; c < counts.size(); ++c) {
      runs[c].push_back(run_at(counts[c]));
      totals[c] += runs[c].back();
    }
  }
  std::vector<ThreadTiming> timings;
  for (size_t c = 0; c < counts.size(); ++c) timings.push_back({counts[c], median(runs[c])});
  return timings;
}

// Zeros in every slot a primitive step reads from outside the arena (the graph's inputs, values
// interpreted nodes return, which exist only during run()) and in the arena itself: the steps run
// on real buffers of the real sizes, and zeros hold no denormal that would slow them. Removed again
// when it goes out of scope.
class StandInInputs {
 public:
  explicit StandInInputs(CompilerState& state) : state_(state) {
    for (const Step& step : state.steps) {
      if (!step.primitive) continue;
      for (int index : step.reads) {
        Slot& slot = state.slots[index];
        if (slot.fixed != nullptr || slot.tensor.defined()) continue;
        slot.tensor = zeros(slot.shape, slot.dtype);
        filled_.push_back(index);
      }
    }
    if (state.arena.defined() && state.arena.nbytes() > 0)
      std::memset(state.arena.raw_data(), 0, state.arena.nbytes());
  }
  ~StandInInputs() {
    for (int index : filled_) state_.slots[index].tensor = Tensor();
  }
  StandInInputs(const StandInInputs&) = delete;
  StandInInputs& operator=(const StandInInputs&) = delete;

 private:
  CompilerState& state_;
  std::vector<int> filled_;
};

int choose(const Step& step, const std::vector<ThreadTiming>& timings,
           const ThreadChooser& chooser) {
  const int chosen = chooser ? chooser(step.description, timings) : fastest_thread_count(timings);
  const bool timed =
      std::any_of(timings.begin(), timings.end(),
                  [chosen](const ThreadTiming& timing) { return timing.threads == chosen; });
  PARE_CHECK(timed, "CompiledGraph: the thread chooser picked ", chosen, " thread(s) for step '",
             step.description, "', a count it was given no timing for; return one of the ",
             timings.size(), " counts it is given");
  return chosen;
}

}  // namespace

void tune_thread_counts(CompilerState& state, const ThreadChooser& chooser) {
  const int session_threads = omp_get_max_threads();
  const bool tune = state.options.thread_tuning && session_threads > 1;
  std::optional<StandInInputs> stand_ins;
  if (tune) stand_ins.emplace(state);
  for (Step& step : state.steps) {
    step.threads = session_threads;
    if (!step.primitive) continue;
    if (tune) {
      std::vector<int> counts{session_threads};
      for (int threads : smaller_counts(session_threads)) {
        // A build in other layouts than the slots around the step were given is not a candidate.
        if (step.primitive->build(threads)) counts.push_back(threads);
      }
      step.threads = choose(step, time_builds(step, counts), chooser);
      step.primitive->select(step.threads);
    }
    step.primitive->finish();
    if (step.threads == session_threads) continue;
    step.run = [run = std::move(step.run), threads = step.threads] {
      ScopedThreadCount scoped(threads);
      run();
    };
    ++state.stats.fewer_thread_primitives;
  }
}

}  // namespace detail
}  // namespace pare::inference
