// Thread tuning on the compiled path (thread_tuning.h): primitives put on fewer threads than the
// session's (by an injected chooser, so that nothing depends on timings) compute what the untuned
// graph computes, the caller's OpenMP thread count is what it was after every step and after
// run(), and what the chooser is given and may return.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <string>
#include <vector>

#include "inference_test_models.h"
#include "pare/inference/inference.h"

namespace {

using pare::Tensor;
using pare::inference::CompiledGraph;
using pare::inference::InferenceOptions;
using pare::inference::ThreadChooser;
using pare::inference::ThreadTiming;

// The calling thread's OpenMP count set for the test's scope (the suite runs at
// OMP_NUM_THREADS=2, but a machine of one core may say 1): tuning needs more than one.
class OmpThreads {
 public:
  explicit OmpThreads(int threads) : previous_(omp_get_max_threads()) {
    omp_set_num_threads(threads);
  }
  ~OmpThreads() { omp_set_num_threads(previous_); }

 private:
  int previous_;
};

std::vector<pare::ir::TensorMeta> metas(const std::vector<Tensor>& inputs) {
  std::vector<pare::ir::TensorMeta> result;
  for (const Tensor& input : inputs) result.push_back({input.sizes(), input.dtype()});
  return result;
}

double max_output_diff(const pare::ir::Value& a, const pare::ir::Value& b) {
  const auto flat_a = a.flatten();
  const auto flat_b = b.flatten();
  REQUIRE(flat_a.size() == flat_b.size());
  double worst = 0.0;
  for (size_t i = 0; i < flat_a.size(); ++i)
    worst = std::max(worst, pare::testing::max_abs_diff(flat_a[i].second, flat_b[i].second));
  return worst;
}

int prepared_primitives(const CompiledGraph& compiled) {
  const pare::inference::CompileStats& stats = compiled.stats();
  return stats.prepared_convs + stats.prepared_linears + stats.prepared_pools +
         stats.prepared_lstms;
}

// What a chooser was asked: the steps and their timings.
struct ChooserLog {
  std::vector<std::string> steps;
  std::vector<std::vector<ThreadTiming>> timings;
};

// Every primitive on 1 thread, or (`alternate`) every other one, so that steps on 1 and on 2
// threads follow each other.
ThreadChooser forced_chooser(ChooserLog& log, bool alternate) {
  return [&log, alternate](const std::string& step, const std::vector<ThreadTiming>& timings) {
    log.steps.push_back(step);
    log.timings.push_back(timings);
    return !alternate || log.steps.size() % 2 == 1 ? 1 : timings.front().threads;
  };
}

TEST_CASE("thread tuning: primitives forced onto 1 thread compute what the untuned graph does") {
  pare::NoGradGuard no_grad;
  OmpThreads two(2);
  for (const pare::testing::InferenceCase& model : pare::testing::inference_cases()) {
    for (bool alternate : {false, true}) {
      CAPTURE(model.name);
      CAPTURE(alternate);
      pare::ir::GraphModule graph_module = model.make();
      const std::vector<Tensor> inputs = model.inputs(3);
      CompiledGraph untuned(graph_module, metas(inputs), {.thread_tuning = false});
      ChooserLog log;
      CompiledGraph forced(graph_module, metas(inputs), {}, forced_chooser(log, alternate));
      CAPTURE(forced.describe());
      const int primitives = prepared_primitives(forced);
      // Asked once per prepared primitive, with the session's count first and then 1, each
      // measured.
      REQUIRE(static_cast<int>(log.steps.size()) == primitives);
      for (const std::vector<ThreadTiming>& timings : log.timings) {
        REQUIRE(timings.size() == 2);
        CHECK(timings[0].threads == 2);
        CHECK(timings[1].threads == 1);
        for (const ThreadTiming& timing : timings)
          CHECK((timing.seconds > 0.0 && std::isfinite(timing.seconds)));
      }
      const int on_one = alternate ? (primitives + 1) / 2 : primitives;
      CHECK(forced.stats().fewer_thread_primitives == on_one);
      CHECK(untuned.stats().fewer_thread_primitives == 0);
      CHECK(pare::testing::count(forced.describe(), "[1 thread]") == on_one);
      CHECK(pare::testing::count(untuned.describe(), "[1 thread]") == 0);
      // The same primitives at another thread count: the same sums, in an order that may differ
      // where oneDNN splits a reduction between threads.
      const pare::ir::Value expected = untuned.run(inputs);
      CHECK(max_output_diff(forced.run(inputs), expected) <= 1e-5);
      CHECK(max_output_diff(graph_module.interpret(inputs), expected) <= 1e-4);
      CHECK(omp_get_max_threads() == 2);
    }
  }
}

// conv -> relu -> flatten -> a hooked Linear (run by the interpreter, its hook records the OpenMP
// count it runs at) -> Linear.
struct HookedNet {
  pare::ir::GraphModule graph_module;
  std::shared_ptr<std::vector<int>> seen = std::make_shared<std::vector<int>>();
};

HookedNet hooked_net() {
  auto hooked = pare::nn::Linear(8 * 6 * 6, 16);
  auto net = pare::nn::Sequential(pare::nn::Conv2d(pare::nn::Conv2dOptions(3, 8, 3).padding(1)),
                                  pare::nn::ReLU(), pare::nn::MaxPool2d(2), pare::nn::Flatten(),
                                  hooked, pare::nn::Linear(16, 4));
  HookedNet result{pare::testing::traced(net.ptr(), {pare::randn({1, 3, 12, 12})}, 11)};
  hooked->register_forward_hook(
      [seen = result.seen](pare::nn::Module&, const std::vector<Tensor>&, std::vector<Tensor>&) {
        seen->push_back(omp_get_max_threads());
      });
  return result;
}

TEST_CASE("thread tuning: a step on fewer threads gives the session's count back") {
  pare::NoGradGuard no_grad;
  OmpThreads two(2);
  HookedNet net = hooked_net();
  const Tensor x = pare::testing::random_tensor({2, 3, 12, 12}, 12);
  // The conv and the pool before the hooked Linear on 1 thread, the Linear after it on 2.
  ThreadChooser chooser = [](const std::string& step, const std::vector<ThreadTiming>& timings) {
    return step.rfind("linear", 0) == 0 ? timings.front().threads : 1;
  };
  CompiledGraph compiled(net.graph_module, {{x.sizes(), pare::kFloat32}}, {}, chooser);
  CAPTURE(compiled.describe());
  CHECK(compiled.stats().interpreted_nodes == 1);
  CHECK(compiled.stats().fewer_thread_primitives == 2);
  // Compiling ran no interpreted step (the hook did not fire) and left the count alone.
  CHECK(net.seen->empty());
  CHECK(omp_get_max_threads() == 2);
  const Tensor y = compiled.run({x}).tensor();
  // The interpreted step after the 1-thread ones ran at the session's count, as does the caller.
  CHECK(*net.seen == std::vector<int>{2});
  CHECK(omp_get_max_threads() == 2);
  CHECK(pare::testing::max_abs_diff(y, net.graph_module.interpret({x}).tensor()) <= 1e-4);
  // Compiled at 2 threads: still for 2 threads after running steps on 1 (InferenceSession's
  // cache key), not for 1.
  CHECK(compiled.matches({{x.sizes(), pare::kFloat32}}));
  {
    OmpThreads one(1);
    CHECK_FALSE(compiled.matches({{x.sizes(), pare::kFloat32}}));
  }
}

TEST_CASE("thread tuning: off, or a session of one thread, times nothing") {
  pare::NoGradGuard no_grad;
  HookedNet net = hooked_net();
  const std::vector<pare::ir::TensorMeta> inputs{{{1, 3, 12, 12}, pare::kFloat32}};
  int asked = 0;
  ThreadChooser counting = [&asked](const std::string&, const std::vector<ThreadTiming>& timings) {
    ++asked;
    return timings.back().threads;
  };
  {
    OmpThreads two(2);
    CompiledGraph off(net.graph_module, inputs, {.thread_tuning = false}, counting);
    CHECK(asked == 0);
    CHECK(off.stats().fewer_thread_primitives == 0);
    CHECK(pare::testing::count(off.describe(), "[2 threads]") ==
          pare::testing::count(off.describe(), "\n") - 1);  // every step; the arena line
  }
  {
    OmpThreads one(1);
    CompiledGraph single(net.graph_module, inputs, {}, counting);
    CHECK(asked == 0);
    CHECK(single.stats().fewer_thread_primitives == 0);
    CHECK(pare::testing::count(single.describe(), "[1 thread]") ==
          pare::testing::count(single.describe(), "\n") - 1);
  }
}

TEST_CASE("thread tuning: a chooser must pick a count it was given") {
  pare::NoGradGuard no_grad;
  OmpThreads two(2);
  HookedNet net = hooked_net();
  ThreadChooser untimed = [](const std::string&, const std::vector<ThreadTiming>&) { return 3; };
  try {
    CompiledGraph compiled(net.graph_module, {{{1, 3, 12, 12}, pare::kFloat32}}, {}, untimed);
    FAIL("compiled with an untimed thread count");
  } catch (const pare::Error& error) {
    CHECK(pare::testing::contains(error.what(), "thread chooser picked 3 thread(s)"));
    CHECK(pare::testing::contains(error.what(), "conv2d"));
  }
  CHECK(omp_get_max_threads() == 2);
}

TEST_CASE("fastest_thread_count: the smallest time, the fewest threads among equal ones") {
  using pare::inference::fastest_thread_count;
  CHECK(fastest_thread_count({{2, 0.5e-3}, {1, 0.3e-3}}) == 1);
  CHECK(fastest_thread_count({{4, 0.1e-3}, {1, 0.4e-3}, {2, 0.2e-3}}) == 4);
  CHECK(fastest_thread_count({{2, 1e-3}, {1, 1e-3}}) == 1);
  CHECK(fastest_thread_count({{2, 1e-3}}) == 2);
  CHECK_THROWS_AS(fastest_thread_count({}), pare::Error);
}

}  // namespace
