// Thread tuning of the compiled inference path (compiled_graph.h): each prepared oneDNN primitive
// (conv, linear, pool, LSTM) runs at the OpenMP thread count that was fastest for it when compiled,
// at most the session's count. More threads do not always help: oneDNN 2.6's LSTM at batch 1 runs
// almost twice as slow on 2 threads as on 1, and a small conv gains little while paying for the
// threads' synchronisation. The compiler times each primitive at a few counts and hands the times
// to a ThreadChooser; the default one (fastest_thread_count) keeps the fastest.
//
//   // A test's chooser: every primitive whose step names "lstm" on 1 thread, the rest as measured.
//   pare::inference::ThreadChooser chooser = [](const std::string& step,
//                                                const std::vector<ThreadTiming>& timings) {
//     return step.find("lstm") != std::string::npos ? 1
//                                                   :
//                                                   pare::inference::fastest_thread_count(timings);
//   };
//   pare::inference::CompiledGraph compiled(graph_module, inputs, {}, chooser);
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace pare::inference {

// One measurement: the step's median time per run (seconds) at `threads` OpenMP threads.
struct ThreadTiming {
  int threads = 0;
  double seconds = 0.0;
};

// Picks a primitive's thread count from its timings (one per count tried, the session's count
// first); must return one of the counts in `timings`. `step` is the step's description (the
// line CompiledGraph::describe() prints for it).
using ThreadChooser =
    std::function<int(const std::string& step, const std::vector<ThreadTiming>& timings)>;

// The count of the smallest time; the fewest threads among equal times.
int fastest_thread_count(const std::vector<ThreadTiming>& timings);

}  // namespace pare::inference
