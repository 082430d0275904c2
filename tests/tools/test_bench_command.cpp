// `pare bench`: the latency statistics and the --batch / --threads lists against hand-computed
// values, the engine's storage byte counter behind "peak memory", and the built `pare` binary
// run as a separate process: the JSON rows of docs/cli.md with hand-counted params, MACs and
// peak bytes, the comparison columns of a second model, row order, and its errors (exit 2 on
// wrong usage, exit 1 with one line naming the file). No timing is asserted, only the
// relations between the numbers the command reports.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "../../tools/bench_stats.h"
#include "cli_runner.h"
#include "pare/ir/pare_file.h"
#include "pare/ir/tracer.h"
#include "pare/memory_stats.h"
#include "pare/pare.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using pare::Shape;
using pare::Tensor;
using Json = nlohmann::json;
using pare::testing::check_file_error;
using pare::testing::count_lines;
using pare::testing::read_text;
using pare::testing::Result;
using pare::testing::run_pare;
using pare::testing::TempDir;

void check_usage_error(const Result& result, const std::string& also = "") {
  INFO("stderr: ", result.err);
  CHECK(result.status == 2);
  CHECK(result.err.rfind("pare bench: ", 0) == 0);
  CHECK(result.err.find("usage: pare bench") != std::string::npos);
  if (!also.empty()) CHECK(result.err.find(also) != std::string::npos);
  CHECK(result.out.empty());
}

// x [N, 4] -> Linear(4, out_features): params 4 * out + out, MACs N * 4 * out.
struct OneLinear : pare::nn::Module {
  explicit OneLinear(int64_t out_features) {
    fc = register_module("fc", pare::nn::Linear(4, out_features));
  }
  Tensor forward(const Tensor& x) { return fc(x); }
  pare::nn::Linear fc{nullptr};
};

std::string save_linear(const TempDir& dir, const std::string& name, int64_t out_features) {
  pare::manual_seed(static_cast<uint64_t>(out_features));
  auto model = std::make_shared<OneLinear>(out_features);
  model->eval();
  const std::string path = dir.file(name);
  pare::ir::save(pare::ir::trace(model, {pare::randn({2, 4})}), path);
  return path;
}

// The options that keep a test run short: no minimum time, a few runs.
const std::vector<std::string> kQuick = {"--warmup", "1", "--iters", "3", "--min-time", "0"};

Result run_bench(std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), "bench");
  arguments.insert(arguments.end(), kQuick.begin(), kQuick.end());
  return run_pare(arguments);
}

Json run_bench_json(const TempDir& dir, std::vector<std::string> arguments) {
  const std::string json_path = dir.file("rows.json");
  arguments.push_back("--json");
  arguments.push_back(json_path);
  const Result result = run_bench(arguments);
  INFO("stderr: ", result.err);
  REQUIRE(result.status == 0);
  CHECK(result.err.empty());
  return Json::parse(read_text(json_path));
}

std::vector<std::string> keys_of(const Json& object) {
  std::vector<std::string> keys;
  for (const auto& item : object.items()) keys.push_back(item.key());
  std::sort(keys.begin(), keys.end());
  return keys;
}

double median_seconds(const Json& row) { return row["latency_ms"]["median"].get<double>() / 1e3; }

}  // namespace

TEST_CASE("bench: min, median and p90 interpolate linearly between sorted samples") {
  using pare::cli::summarise_latencies;
  // Sorted 1 2 3 4 5: the median is the middle one; p90 sits at rank 0.9 * 4 = 3.6, between
  // 4 and 5.
  const pare::cli::LatencyStats odd = summarise_latencies({5, 1, 4, 2, 3});
  CHECK(odd.min == 1.0);
  CHECK(odd.median == 3.0);
  CHECK(odd.p90 == doctest::Approx(4.6));
  // Sorted 10 20 30 40: median at rank 1.5 -> 25; p90 at rank 2.7 -> 30 + 0.7 * 10 = 37.
  const pare::cli::LatencyStats even = summarise_latencies({40, 10, 30, 20});
  CHECK(even.min == 10.0);
  CHECK(even.median == doctest::Approx(25.0));
  CHECK(even.p90 == doctest::Approx(37.0));
  const pare::cli::LatencyStats one = summarise_latencies({7.5});
  CHECK(one.min == 7.5);
  CHECK(one.median == 7.5);
  CHECK(one.p90 == 7.5);
  // Ten samples 1..10: p90 at rank 8.1 -> 9.1.
  CHECK(summarise_latencies({10, 9, 8, 7, 6, 5, 4, 3, 2, 1}).p90 == doctest::Approx(9.1));
}

TEST_CASE("bench: --batch and --threads lists") {
  using pare::cli::parse_positive_list;
  CHECK(parse_positive_list("batch", "1,32", 1024) == std::vector<int64_t>{1, 32});
  CHECK(parse_positive_list("batch", "8", 1024) == std::vector<int64_t>{8});
  CHECK(parse_positive_list("threads", "4,1,2", 16) == std::vector<int64_t>{4, 1, 2});
  CHECK(parse_positive_list("threads", "16", 16) == std::vector<int64_t>{16});
  for (const std::string bad : {"", ",", "1,", ",1", "1,,2", "0", "-1", "abc", "2x", "1.5", " 1",
                                "17", "1;2", "99999999999999999999"}) {
    INFO("'", bad, "'");
    CHECK_THROWS_AS(parse_positive_list("threads", bad, 16), pare::cli::UsageError);
  }
  CHECK_THROWS_WITH(parse_positive_list("batch", "1,x", 64),
                    "--batch expects a comma-separated list of integers from 1 to 64, got '1,x'");
  CHECK_THROWS_WITH(parse_positive_list("batch", "2,1,2", 64), "--batch lists 2 twice");
}

TEST_CASE("bench: storage_bytes counts live bytes and the peak since the last reset") {
  const pare::StorageBytes start = pare::storage_bytes();
  pare::reset_peak_storage_bytes();
  CHECK(pare::storage_bytes().peak == start.live);
  {
    const pare::Storage a = pare::Storage::allocate(4000);
    CHECK(pare::storage_bytes().live == start.live + 4000);
    {
      const pare::Storage b = pare::Storage::allocate(1000);
      CHECK(pare::storage_bytes().live == start.live + 5000);
    }
    CHECK(pare::storage_bytes().live == start.live + 4000);
    const pare::Storage c = pare::Storage::allocate(500);
    CHECK(pare::storage_bytes().live == start.live + 4500);
    CHECK(pare::storage_bytes().peak == start.live + 5000);
    // Views share storage: no new bytes.
    const Tensor x = pare::zeros({10, 10});
    CHECK(pare::storage_bytes().live == start.live + 4900);
    const Tensor row = x.select(0, 3);
    CHECK(pare::storage_bytes().live == start.live + 4900);
    // Wrapped memory is the caller's, not pare's.
    float outside[16] = {};
    const pare::Storage wrapped = pare::Storage::wrap(outside, sizeof(outside));
    CHECK(pare::storage_bytes().live == start.live + 4900);
  }
  CHECK(pare::storage_bytes().live == start.live);
  CHECK(pare::storage_bytes().peak == start.live + 5000);
  pare::reset_peak_storage_bytes();
  CHECK(pare::storage_bytes().peak == start.live);
}

TEST_CASE("bench: --json writes one row per batch and thread count, as docs/cli.md lists") {
  TempDir dir;
  const std::string model = save_linear(dir, "fc5.pare", 5);
  const Json json = run_bench_json(dir, {model, "--batch", "1,3", "--threads", "1"});
  REQUIRE(keys_of(json) == std::vector<std::string>{"rows"});
  const Json& rows = json["rows"];
  REQUIRE(rows.size() == 2);
  for (size_t index = 0; index < rows.size(); ++index) {
    const Json& row = rows[index];
    const int64_t batch = index == 0 ? 1 : 3;
    INFO(row.dump());
    CHECK(keys_of(row) == std::vector<std::string>{"batch", "gflops", "iterations", "latency_ms",
                                                   "macs", "model", "params", "peak_bytes",
                                                   "threads", "throughput"});
    CHECK(keys_of(row["latency_ms"]) == std::vector<std::string>{"median", "min", "p90"});
    CHECK(row["model"] == model);
    CHECK(row["batch"] == batch);
    CHECK(row["threads"] == 1);
    // Linear(4, 5): 4 * 5 + 5 params; N * 4 * 5 MACs.
    CHECK(row["params"] == 25);
    CHECK(row["macs"] == batch * 20);
    // Weights 25 floats, input N x 4, output N x 5: nothing else is alive during the forward.
    CHECK(row["peak_bytes"] == 4 * (25 + batch * 4 + batch * 5));
    CHECK(row["iterations"].get<int64_t>() >= 3);
    const Json& latency = row["latency_ms"];
    CHECK(latency["min"].get<double>() > 0.0);
    CHECK(latency["min"].get<double>() <= latency["median"].get<double>());
    CHECK(latency["median"].get<double>() <= latency["p90"].get<double>());
    CHECK(row["throughput"].get<double>() == doctest::Approx(batch / median_seconds(row)));
    CHECK(row["gflops"].get<double>() ==
          doctest::Approx(2.0 * batch * 20 / median_seconds(row) / 1e9));
  }
}

TEST_CASE("bench: later models show speedup, MAC ratio and dense GFLOP/s against the first") {
  TempDir dir;
  const std::string dense = save_linear(dir, "dense.pare", 8);
  const std::string pruned = save_linear(dir, "pruned.pare", 2);
  const Json json =
      run_bench_json(dir, {dense, pruned, "--batch", "4,2", "--threads", "2,1"})["rows"];
  // Model by model, then batch, then threads, in the order the options give them.
  REQUIRE(json.size() == 8);
  const std::vector<std::pair<int64_t, int64_t>> order = {{4, 2}, {4, 1}, {2, 2}, {2, 1}};
  for (size_t index = 0; index < json.size(); ++index) {
    const Json& row = json[index];
    INFO(row.dump());
    CHECK(row["model"] == (index < 4 ? dense : pruned));
    CHECK(row["batch"] == order[index % 4].first);
    CHECK(row["threads"] == order[index % 4].second);
    CHECK(row["macs"] == row["batch"].get<int64_t>() * 4 * (index < 4 ? 8 : 2));
    if (index < 4) {
      CHECK_FALSE(row.contains("speedup"));
      CHECK_FALSE(row.contains("mac_ratio"));
      CHECK_FALSE(row.contains("dense_gflops"));
      continue;
    }
    const Json& baseline = json[index - 4];
    CHECK(row["speedup"].get<double>() ==
          doctest::Approx(median_seconds(baseline) / median_seconds(row)));
    CHECK(row["mac_ratio"].get<double>() == doctest::Approx(2.0 / 8.0));
    CHECK(row["dense_gflops"].get<double>() ==
          doctest::Approx(2.0 * baseline["macs"].get<double>() / median_seconds(row) / 1e9));
  }
}

TEST_CASE("bench: the table has comparison columns only with several models") {
  TempDir dir;
  const std::string a = save_linear(dir, "a.pare", 3);
  const Result one = run_bench({a, "--batch", "2", "--threads", "1"});
  INFO(one.err);
  REQUIRE(one.status == 0);
  CHECK(one.err.empty());
  CHECK(one.out.find("median ms") != std::string::npos);
  CHECK(one.out.find("peak mem") != std::string::npos);
  CHECK(one.out.find("speedup") == std::string::npos);
  // A header line, the column names and one row.
  CHECK(count_lines(one.out) == 3);

  const Result two = run_bench({a, a, "--batch", "2", "--threads", "1"});
  REQUIRE(two.status == 0);
  CHECK(two.out.find("speedup") != std::string::npos);
  CHECK(two.out.find("MAC ratio") != std::string::npos);
  CHECK(count_lines(two.out) == 4);
  // The same model against itself: MAC ratio 1; the baseline row shows "-" in the last three
  // columns (speedup, MAC ratio, dense GFLOP/s).
  std::istringstream lines(two.out);
  std::vector<std::vector<std::string>> cells;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    cells.emplace_back(std::istream_iterator<std::string>(words),
                       std::istream_iterator<std::string>());
  }
  const std::vector<std::string>& baseline = cells[2];
  const std::vector<std::string>& other = cells[3];
  REQUIRE(baseline.size() == other.size());
  const size_t n = other.size();
  CHECK(std::vector<std::string>(baseline.end() - 3, baseline.end()) ==
        std::vector<std::string>{"-", "-", "-"});
  CHECK(other[n - 3].back() == 'x');
  CHECK(other[n - 2] == "1.000");
}

TEST_CASE("bench: wrong usage exits 2 with the usage") {
  check_usage_error(run_pare({"bench"}), "missing MODEL.pare");
  check_usage_error(run_pare({"bench", "m.pare", "--batch", "1,,2"}), "--batch expects");
  check_usage_error(run_pare({"bench", "m.pare", "--batch", "0"}), "--batch expects");
  check_usage_error(run_pare({"bench", "m.pare", "--batch", "32,32"}), "--batch lists 32 twice");
  check_usage_error(run_pare({"bench", "m.pare", "--threads", "two"}), "--threads expects");
  check_usage_error(run_pare({"bench", "m.pare", "--iters", "0"}), "--iters expects");
  check_usage_error(run_pare({"bench", "m.pare", "--warmup", "-1"}), "--warmup expects");
  check_usage_error(run_pare({"bench", "m.pare", "--min-time", "-1"}), "--min-time expects");
  check_usage_error(run_pare({"bench", "m.pare", "--min-time", "soon"}), "--min-time expects");
  check_usage_error(run_pare({"bench", "m.pare", "--json"}), "--json needs a value");
  const Result help = run_pare({"bench", "--help"});
  CHECK(help.status == 0);
  CHECK(help.out.rfind("usage: pare bench MODEL.pare [MORE.pare ...]", 0) == 0);
  CHECK(run_pare({"--help"}).out.find("bench") != std::string::npos);
}

TEST_CASE("bench: bad files exit 1 with one line naming the file, and no JSON is written") {
  TempDir dir;
  const std::string good = save_linear(dir, "good.pare", 3);
  const std::string missing = dir.file("missing.pare");
  const std::string text_file = dir.file("notes.pare");
  std::ofstream(text_file) << "not a model\n";
  const std::string json_path = dir.file("rows.json");
  check_file_error(run_bench({missing, "--json", json_path}), missing);
  // A bad second model fails before anything is timed, naming that file.
  check_file_error(run_bench({good, text_file, "--json", json_path}), text_file);
  check_file_error(run_bench({good, dir.path.string()}), dir.path.string(), "is a directory");
  CHECK_FALSE(fs::exists(json_path));
  // The JSON never overwrites a model, nor goes to a folder that does not exist.
  check_file_error(run_bench({good, "--json", good}), good, "model file");
  const std::string nowhere = dir.file("no_such_folder/rows.json");
  check_file_error(run_bench({good, "--json", nowhere}), nowhere, "no such folder");
  for (const auto& entry : fs::directory_iterator(dir.path))
    CHECK(entry.path().filename().string().find("rows") == std::string::npos);
}
