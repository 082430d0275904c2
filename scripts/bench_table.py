#!/usr/bin/env python3
"""Markdown tables of pare vs oneDNN from Google Benchmark JSON files (scripts/run-benchmarks.sh).

    python3 scripts/bench_table.py [--cpu-time] /tmp/pare-bench/bench_*_t*.json

Benchmarks are named "<op>/<implementation>/<shape>" (see bench/shapes.h); the tables use each
one's median over the repetitions. Throughput ratios are time ratios, so > 1 means faster.
Wall-clock time is used unless --cpu-time is given: the calling thread's CPU time, which leaves
out the time other processes held the core and is only meaningful with OMP_NUM_THREADS=1.
"""
import json
import re
import sys
from collections import defaultdict

LARGE_SHAPES = ("conv2d/N32_", "linear/N32_784", "linear/N32_512to512", "lstm/N16_")
TARGET = 0.90


UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def load(paths, clock):
    """Returns {threads: {(op, shape): {implementation: (median seconds, GFLOP/s, cv)}}}, timed
    by `clock` ("real_time" or "cpu_time")."""
    results = defaultdict(lambda: defaultdict(dict))
    for path in paths:
        with open(path) as file:
            report = json.load(file)
        threads = report["context"].get("OMP_NUM_THREADS", "?")
        stats = defaultdict(dict)
        for entry in report["benchmarks"]:
            if entry.get("run_type") != "aggregate":
                continue
            stats[entry["run_name"]][entry["aggregate_name"]] = entry
        for run_name, aggregates in stats.items():
            median = aggregates.get("median")
            if median is None:
                continue
            op, implementation, shape = run_name.split("/")[:3]
            seconds = median[clock] * UNIT_SECONDS[median["time_unit"]]
            # The counter is a rate over wall-clock time (the benchmarks use UseRealTime).
            gflops = median.get("FLOP/s", 0.0) / 1e9 * median["real_time"] / median[clock]
            mean, stddev = aggregates.get("mean"), aggregates.get("stddev")
            cv = stddev[clock] / mean[clock] if mean and stddev else None
            results[threads][(op, shape)][implementation] = (seconds, gflops, cv)
    for by_shape in results.values():
        for implementations in by_shape.values():
            keep_fastest_variant(implementations, "onednn_plain")
            keep_fastest_variant(implementations, "onednn_packed")
    return results


def keep_fastest_variant(implementations, family):
    """Folds "<family>_<variant>" results into "<family>", keeping the fastest, marked "(t)"
    when a forward_training variant won (see bench/bench_kernels.cpp)."""
    variants = {name: result for name, result in implementations.items()
                if name == family or name.startswith(family + "_")}
    if not variants:
        return
    fastest = min(variants, key=lambda name: variants[name][0])
    for name in variants:
        del implementations[name]
    implementations[family] = variants[fastest] + (fastest.endswith("_training"),)


def row_order(key):
    """Batch 1 first, then the layer order of the networks the shapes come from."""
    op, shape = key
    numbers = [int(number) for number in re.findall(r"\d+", shape)]
    op_rank = {"conv2d": 0, "linear": 1, "lstm": 2, "train_step": 3}.get(op, 9)
    if op == "conv2d":  # N, in, out, h, w: 32x32 layers before 16x16, then by channels
        return (op_rank, numbers[0], -numbers[3], numbers[1], numbers[2])
    if op == "linear":  # N, in, out: from the input layer towards the classifier
        return (op_rank, numbers[0], -numbers[1], -numbers[2])
    return (op_rank, numbers[:1], shape)


def is_large(op, shape):
    return any(f"{op}/{shape}".startswith(prefix) for prefix in LARGE_SHAPES)


def fmt_ratio(numerator, denominator, check=False):
    if numerator is None or denominator is None:
        return "-"
    ratio = denominator[0] / numerator[0]
    text = f"{ratio:.2f}"
    return f"**{text}**" if check and ratio < TARGET else text


def fmt_gflops(result):
    if result is None:
        return "-"
    cv = f" ±{100 * result[2]:.0f}%" if result[2] is not None else ""
    training = " (t)" if len(result) > 3 and result[3] else ""
    return f"{result[1]:.1f}{cv}{training}"


def fmt_us(result):
    return "-" if result is None else f"{result[0] * 1e6:.1f}"


def fmt_delta_us(slower, faster):
    if slower is None or faster is None:
        return "-"
    return f"{(slower[0] - faster[0]) * 1e6:+.1f}"


def throughput_table(rows):
    print("| op | shape | pare GFLOP/s | oneDNN plain | pare / plain | oneDNN packed "
          "| pare / packed | engine GFLOP/s | engine / pare |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for (op, shape), impls in rows:
        if op == "train_step":
            continue
        pare, plain, packed, engine = (impls.get(name) for name in
                                       ("pare", "onednn_plain", "onednn_packed", "engine"))
        large = " (large)" if is_large(op, shape) else ""
        print(f"| {op} | {shape}{large} | {fmt_gflops(pare)} | {fmt_gflops(plain)} "
              f"| {fmt_ratio(pare, plain, check=bool(large))} | {fmt_gflops(packed)} "
              f"| {fmt_ratio(pare, packed)} | {fmt_gflops(engine)} | {fmt_ratio(engine, pare)} |")


def overhead_table(rows):
    print("| op | shape | pare µs | oneDNN plain µs | pare − plain µs | engine µs "
          "| engine − pare µs |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for (op, shape), impls in rows:
        if not shape.startswith("N1_"):
            continue
        pare, plain, engine = (impls.get(name) for name in ("pare", "onednn_plain", "engine"))
        print(f"| {op} | {shape} | {fmt_us(pare)} | {fmt_us(plain)} | {fmt_delta_us(pare, plain)} "
              f"| {fmt_us(engine)} | {fmt_delta_us(engine, pare)} |")


def training_lines(rows):
    for (op, shape), impls in rows:
        if op != "train_step":
            continue
        for implementation, result in impls.items():
            print(f"- {op} {shape} ({implementation}): {result[0] * 1e3:.1f} ms per step, "
                  f"{result[1]:.1f} GFLOP/s (3 x forward FLOPs)")


def main(arguments):
    clock = "cpu_time" if "--cpu-time" in arguments else "real_time"
    paths = [argument for argument in arguments if argument != "--cpu-time"]
    if not paths:
        sys.exit(__doc__)
    for threads, by_shape in sorted(load(paths, clock).items()):
        rows = sorted(by_shape.items(), key=lambda item: row_order(item[0]))
        clock_name = "CPU time of the calling thread" if clock == "cpu_time" else "wall-clock time"
        print(f"\n### OMP_NUM_THREADS={threads} ({clock_name})\n")
        throughput_table(rows)
        print("\nPer-call time at batch 1 (medians):\n")
        overhead_table(rows)
        print()
        training_lines(rows)


if __name__ == "__main__":
    main(sys.argv[1:])
