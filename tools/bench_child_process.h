// Runs a piece of work in a forked child process and hands its text result (or its error) back
// to the parent. `pare bench` measures each thread count this way: oneDNN builds some primitives
// (convolutions) for the OpenMP thread count current when they are created, and pare's kernel
// cache keeps them, so a second thread count in the same process would reuse the first one's.
// Call it before the parent process has run any OpenMP parallel region: GNU OpenMP does not
// survive a fork once its thread pool exists.
//
//   std::string rows = pare::cli::run_in_child_process([&] {
//     omp_set_num_threads(2);
//     return measure_everything_as_json();
//   });   // a pare::Error with the child's message if the work threw
#pragma once

#include <functional>
#include <string>

namespace pare::cli {

std::string run_in_child_process(const std::function<std::string()>& work);

}  // namespace pare::cli
