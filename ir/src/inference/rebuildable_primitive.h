// Internal to the inference compiler (ir/src/inference): a prepared primitive
// (kernels/prepared_*.h) kept with the recipe that built it, so that thread tuning
// (thread_tuner.cpp) can build it again at other OpenMP thread counts, time each build on the step
// and keep one. oneDNN fixes a jit primitive's work split when it is created, so another count
// means another primitive, not just another omp_set_num_threads before run().
//
//   auto conv = std::make_shared<Rebuildable<PreparedConv2d>>(
//       [=] { return std::make_unique<PreparedConv2d>(p, w, b, options); });
//   state.add_step(description, {src}, [conv, ...] { (*conv)->run(src, dst); });
//   state.steps.back().primitive = conv;     // the tuner may now rebuild it
#pragma once

#include <functional>
#include <map>
#include <memory>

#include "scoped_thread_count.h"

namespace pare::inference::detail {

// What thread tuning needs of a step's primitive, whatever its type.
class RebuildablePrimitive {
 public:
  virtual ~RebuildablePrimitive() = default;
  // Builds the primitive for `threads` OpenMP threads (once per count). False when that build
  // computes in other layouts than the first one did (the slots around the step were laid out
  // for those), so the step cannot use it.
  virtual bool build(int threads) = 0;
  // The step runs the build for `threads` from now on (build(threads) returned true).
  virtual void select(int threads) = 0;
  // Keeps the selected build only and forgets the recipe (and the weights it holds).
  virtual void finish() = 0;
};

template <typename Primitive>
class Rebuildable final : public RebuildablePrimitive {
 public:
  using Recipe = std::function<std::unique_ptr<Primitive>()>;

  // Builds it once, at the calling thread's current count.
  explicit Rebuildable(Recipe recipe) : recipe_(std::move(recipe)) {
    current_ = builds_.emplace(omp_get_max_threads(), recipe_()).first->second.get();
    first_ = current_;
  }

  Primitive* operator->() const { return current_; }
  Primitive& operator*() const { return *current_; }

  bool build(int threads) override {
    if (builds_.count(threads) != 0) return true;
    std::unique_ptr<Primitive> built;
    {
      ScopedThreadCount scoped(threads);
      built = recipe_();
    }
    if (!same_layouts(*built, *first_)) return false;
    builds_.emplace(threads, std::move(built));
    return true;
  }

  void select(int threads) override { current_ = builds_.at(threads).get(); }

  void finish() override {
    for (auto it = builds_.begin(); it != builds_.end();)
      it = it->second.get() == current_ ? std::next(it) : builds_.erase(it);
    first_ = current_;
    recipe_ = nullptr;
  }

 private:
  // The layouts a primitive reads and writes, where it has a choice (conv: src and dst; pool: dst;
  // linear and LSTM: always plain).
  static bool same_layouts(const Primitive& a, const Primitive& b) {
    if constexpr (requires { a.src_layout(); }) {
      if (!(a.src_layout() == b.src_layout())) return false;
    }
    if constexpr (requires { a.dst_layout(); }) {
      if (!(a.dst_layout() == b.dst_layout())) return false;
    }
    return true;
  }

  Recipe recipe_;
  std::map<int, std::unique_ptr<Primitive>> builds_;
  Primitive* current_ = nullptr;
  Primitive* first_ = nullptr;  // the build the step's slots were laid out for
};

}  // namespace pare::inference::detail
