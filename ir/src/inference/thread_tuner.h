// Internal to the inference compiler (ir/src/inference): chooses the OpenMP thread count of every
// step that runs a prepared primitive (thread_tuning.h says why), once the arena is placed.
#pragma once

#include "compiler_state.h"
#include "pare/inference/thread_tuning.h"

namespace pare::inference::detail {

// Sets every step's `threads`. With options.thread_tuning and a session count above 1, times each
// primitive step on the compiled arena at 1, 2, 4, ... threads and the session's count (a few warm
// runs each), asks `chooser` (fastest_thread_count when empty) which count to keep, and makes a
// step on fewer threads than the session's run inside a ScopedThreadCount. Runs no step but those
// (no interpreted node, so no hook of the model, runs at compile time).
void tune_thread_counts(CompilerState& state, const ThreadChooser& chooser);

}  // namespace pare::inference::detail
