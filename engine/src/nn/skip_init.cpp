// SkipInitGuard (skip_init.h): a thread-local switch the nn::init fills read.
#include "pare/nn/skip_init.h"

namespace pare::nn {

namespace {

// Thread-local: a loader skipping initialisation on one thread must not leave another thread's
// freshly built model uninitialised.
thread_local bool skipping_init = false;

}  // namespace

SkipInitGuard::SkipInitGuard() : previous_(skipping_init) { skipping_init = true; }

SkipInitGuard::~SkipInitGuard() { skipping_init = previous_; }

bool skip_init_enabled() { return skipping_init; }

}  // namespace pare::nn
