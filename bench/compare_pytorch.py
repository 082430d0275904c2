#!/usr/bin/env python3
"""Inference latency of the benchmark models: pare against PyTorch 1.13 and raw oneDNN, same run.

For each model (bench/models/*.pare from scripts/make-bench-models.sh), batch size and thread
count, one row times, interleaved in rounds with each other and with the row of the model's
pruned (or dense) form, so that they share the machine's noise:

  pare      `pare bench MODEL.pare --batch B --threads T --json ...` (a subprocess, per round)
  oneDNN    bench_models_onednn, the model as a hand-written chain of oneDNN primitives (prepacked
            weights, fused bias + ReLU, blocked activations): the practical speed limit
  eager     the same architecture in PyTorch, eval() under torch.no_grad()
  script    the same, torch.jit.trace -> torch.jit.freeze -> torch.jit.optimize_for_inference

Each framework's latency is the median of single forward passes (at least --iters of them and
--min-time seconds, after --warmup passes) per round; the row reports the median over --rounds
rounds (each round runs them in a rotated order), and the pair of rows is run again (up to
--retries times) when one framework's round medians spread by more than --max-spread or its p90
exceeds --max-p90 times its median (another process took a core). The PyTorch models have the
architectures read from the .pare files (`pare info --json`) and seeded random weights; their
parameter counts and tensor shapes are checked against pare's. ResNet-18 (pare::models::resnet18,
torchvision's layout) is torchvision's resnet18 when torchvision imports, else the same
architecture written out below; it loads pare's own weights from the .pare file (a safetensors
file whose tensor names are torchvision's), and `pare run` on the timing input must give
PyTorch's output at every batch size. It has no oneDNN chain (that column shows "-").

    bash scripts/make-bench-models.sh
    /usr/bin/python3 bench/compare_pytorch.py --pare build/tools/pare \\
        --onednn build/bench/bench_models_onednn --json /tmp/compare.json
    /usr/bin/python3 bench/compare_pytorch.py --only resnet18 --threads 1   # ResNet-18 alone

Needs Debian's python3-torch (not needed by the build or the tests). PyTorch's Linear and LSTM
use the system BLAS (libblas.so.3); for the OpenBLAS backend `apt-get install
libopenblas0-openmp`. The header prints what was loaded.
"""
import argparse
import ctypes
import json
import os
import platform
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# (model, batch sizes); a model and its pruned form are timed together. The LSTM's larger batch
# is 16 (its serving batch in docs/benchmarks.md); ResNet-18's 8.
DEFAULT_ROWS = [("mlp", [1, 32]), ("mlp_pruned", [1, 32]), ("cnn", [1, 32]),
                ("cnn_pruned", [1, 32]), ("lstm", [1, 16]), ("lstm_pruned", [1, 16]),
                ("resnet18", [1, 8])]
FRAMEWORKS = ["pare", "onednn", "eager", "script"]
# The models bench_models_onednn has a hand-written chain of.
ONEDNN_MODELS = {"mlp", "mlp_pruned", "cnn", "cnn_pruned", "lstm", "lstm_pruned"}

# The inference targets: pare / best PyTorch at (model, batch), pare / oneDNN chain, and the pruned
# CNN's speedup as a share of its MAC ratio.
TORCH_TARGETS = {("cnn", 1): 0.75, ("cnn", 32): 1.0, ("mlp", 1): 0.3, ("lstm", 1): 0.25,
                 ("resnet18", 1): 0.8, ("resnet18", 8): 0.8}
ONEDNN_TARGET = 1.1
PRUNED_SHARE_TARGETS = {("cnn", 32): 0.9, ("cnn", 1): 0.8}


# ---- the models in PyTorch (bench/models/bench_models.h) -------------------------------------

class Mlp(nn.Module):
    def __init__(self, hidden1, hidden2):
        super().__init__()
        self.fc1 = nn.Linear(784, hidden1)
        self.fc2 = nn.Linear(hidden1, hidden2)
        self.fc3 = nn.Linear(hidden2, 10)

    def forward(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class VggCnn(nn.Module):
    def __init__(self, widths):
        super().__init__()
        c1, c2, c3, c4, c5 = widths
        self.conv1 = nn.Conv2d(3, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.conv3 = nn.Conv2d(c2, c3, 3, padding=1)
        self.conv4 = nn.Conv2d(c3, c4, 3, padding=1)
        self.conv5 = nn.Conv2d(c4, c5, 3, padding=1)
        self.fc = nn.Linear(c5, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv2(F.relu(self.conv1(x)))), 2)
        h = F.max_pool2d(F.relu(self.conv4(F.relu(self.conv3(h)))), 2)
        h = F.relu(self.conv5(h))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


class LstmTagger(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.lstm = nn.LSTM(64, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, 10)

    def forward(self, x):
        sequence, _ = self.lstm(x)
        return self.fc(sequence)


class BasicBlock(nn.Module):
    """torchvision.models.resnet.BasicBlock: two 3x3 convs with BatchNorm, a residual add."""

    def __init__(self, in_channels, channels, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, channels, 1, stride, bias=False),
                                            nn.BatchNorm2d(channels))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet18(nn.Module):
    """torchvision.models.resnet18's architecture and module names, for when torchvision is not
    installed."""

    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths, in_channels = [64, 128, 256, 512], 64
        for stage, width in enumerate(widths):
            stride = 1 if stage == 0 else 2
            setattr(self, "layer%d" % (stage + 1),
                    nn.Sequential(BasicBlock(in_channels, width, stride),
                                  BasicBlock(width, width, 1)))
            in_channels = width
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18():
    """torchvision's resnet18 when it imports (the reference), else ResNet18 above; and which."""
    try:
        import torchvision
        return torchvision.models.resnet18(), "torchvision %s" % torchvision.__version__
    except ImportError:
        return ResNet18(), "the architecture written out in compare_pytorch.py (no torchvision)"


# ---- safetensors (the .pare container, docs/format.md) -----------------------------------------

SAFETENSORS_DTYPES = {"F32": torch.float32, "I64": torch.int64, "U8": torch.uint8,
                      "BOOL": torch.bool}


def read_safetensors(path):
    """Every tensor of a safetensors file (a .pare file is one), by name."""
    with open(path, "rb") as stream:
        size = struct.unpack("<Q", stream.read(8))[0]
        header = json.loads(stream.read(size))
        data = stream.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        dtype = SAFETENSORS_DTYPES[entry["dtype"]]
        flat = (torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if end > begin
                else torch.empty(0, dtype=dtype))
        tensors[name] = flat.reshape(entry["shape"])
    return tensors


def write_safetensors(path, tensors):
    names = {torch.float32: "F32", torch.int64: "I64", torch.uint8: "U8", torch.bool: "BOOL"}
    header, blobs, offset = {}, [], 0
    for name, tensor in tensors.items():
        blob = tensor.contiguous().numpy().tobytes()
        header[name] = {"dtype": names[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as stream:
        stream.write(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


def run(command, **kwargs):
    """subprocess.run that stops with the command's own error output when it fails."""
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise SystemExit("compare_pytorch: %s failed (exit %d):\n%s"
                         % (" ".join(command), result.returncode, result.stderr.strip()))
    return result


def pare_info(pare, path):
    return json.loads(run([pare, "info", path, "--json"]).stdout)


def torch_model(name, info, path):
    """The PyTorch model with the widths of the .pare file's tensors, and its input shape; for
    ResNet-18 also pare's weights."""
    tensors = {key: shape for module in info["modules"].values()
               for key, shape in module["tensors"].items()}
    family = name.split("_")[0]
    if family == "resnet18":
        model, origin = resnet18()
        print("compare_pytorch: %s: PyTorch's ResNet-18: %s; weights from %s"
              % (name, origin, path))
        model.load_state_dict(read_safetensors(path), strict=True)
    elif family == "mlp":
        model = Mlp(tensors["fc1.weight"][0], tensors["fc2.weight"][0])
    elif family == "cnn":
        model = VggCnn([tensors["conv%d.weight" % k][0] for k in range(1, 6)])
    elif family == "lstm":
        model = LstmTagger(tensors["lstm.weight_hh_l0"][1])
    else:
        raise SystemExit("compare_pytorch: unknown model family for %s" % name)
    params = sum(p.numel() for p in model.parameters())
    if params != info["params"]:
        raise SystemExit("compare_pytorch: %s: the PyTorch model has %d parameters, pare's %d"
                         % (name, params, info["params"]))
    for key, shape in tensors.items():
        if list(model.state_dict()[key].shape) != shape:
            raise SystemExit("compare_pytorch: %s: %s is %s in PyTorch, %s in pare"
                             % (name, key, list(model.state_dict()[key].shape), shape))
    return model.eval(), info["inputs"][0]["shape"]


# ---- timing -------------------------------------------------------------------------------------

def time_torch(forward, x, args):
    """Median and p90 (ms) of single forward passes."""
    with torch.no_grad():
        for _ in range(args.warmup):
            forward(x)
        samples = []
        start = time.perf_counter()
        while len(samples) < args.iters or time.perf_counter() - start < args.min_time:
            t0 = time.perf_counter()
            forward(x)
            samples.append(time.perf_counter() - t0)
    return summary([s * 1e3 for s in samples])


def summary(samples_ms):
    ordered = sorted(samples_ms)
    position = 0.9 * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    p90 = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return {"median": statistics.median(ordered), "p90": p90, "n": len(ordered)}


def time_pare(pare, path, batch, threads, args):
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "bench.json")
        run([pare, "bench", path, "--batch", str(batch), "--threads", str(threads), "--warmup",
             str(args.warmup), "--iters", str(args.iters), "--min-time", str(args.min_time),
             "--json", out] + args.pare_args.split())
        with open(out) as stream:
            row = json.load(stream)["rows"][0]
    return {"median": row["latency_ms"]["median"], "p90": row["latency_ms"]["p90"],
            "n": row["iterations"]}


def time_onednn(program, name, batch, threads, args):
    """Google Benchmark repetitions of the chain; median and max (as "p90") over repetitions of
    the mean time per call."""
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "bench.json")
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        run([program, "--benchmark_filter=^%s/onednn/b%d/" % (name, batch),
             "--benchmark_repetitions=%d" % args.onednn_repetitions,
             "--benchmark_min_time=%g" % (args.min_time / args.onednn_repetitions),
             "--benchmark_out=%s" % out, "--benchmark_out_format=json"], env=env)
        with open(out) as stream:
            runs = [b for b in json.load(stream)["benchmarks"] if b.get("run_type") == "iteration"]
    if not runs:
        raise SystemExit("compare_pytorch: %s has no benchmark %s/onednn/b%d"
                         % (program, name, batch))
    for entry in runs:
        if entry.get("error_occurred"):
            raise SystemExit("compare_pytorch: %s: %s"
                             % (entry["name"], entry.get("error_message")))
    scale = {"us": 1e-3, "ms": 1.0, "ns": 1e-6, "s": 1e3}[runs[0]["time_unit"]]
    times = [r["real_time"] * scale for r in runs]
    return {"median": statistics.median(times), "p90": max(times), "n": len(times)}


def prepare_torch(model, shape, batch, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x = torch.randn([batch] + shape[1:])
    with torch.no_grad():
        script = torch.jit.trace(model, x)
        script = torch.jit.optimize_for_inference(torch.jit.freeze(script.eval()))
        expected = model(x)
        got = script(x)
    if not torch.allclose(expected, got, rtol=1e-3, atol=1e-4):
        raise SystemExit("compare_pytorch: TorchScript and eager disagree")
    return x, script


def measure_group(cases, batch, threads, args):
    """A model and its pruned form at one batch size and thread count: every (model, framework)
    pair once per round, in an order rotated from round to round; per pair, the median over the
    rounds. Timing the dense and the pruned model in the same rounds keeps their ratio (the
    pruning speedup) out of the machine's slower drifts."""
    timers = []
    for case in cases:
        model, shape = case["torch"]
        x, script = prepare_torch(model, shape, batch, threads)
        name = case["name"]
        if case["pare_weights"]:
            check_pare_output(args.pare, case, model, x)
        timers += [
            (name, "pare", lambda c=case: time_pare(args.pare, c["path"], batch, threads, args)),
            (name, "eager", lambda m=model, x=x: time_torch(m, x, args)),
            (name, "script", lambda s=script, x=x: time_torch(s, x, args)),
        ]
        if args.onednn and name in ONEDNN_MODELS:
            timers.append((name, "onednn",
                           lambda n=name: time_onednn(args.onednn, n, batch, threads, args)))
    rounds = {}
    for index in range(args.rounds):
        shift = index * len(timers) // args.rounds
        for name, framework, timer in timers[shift:] + timers[:shift]:
            torch.set_num_threads(threads)
            rounds.setdefault(name, {}).setdefault(framework, []).append(timer())
    result = {}
    for name, frameworks in rounds.items():
        result[name] = {}
        for framework, results in frameworks.items():
            medians = [r["median"] for r in results]
            result[name][framework] = {
                "median": statistics.median(medians),
                "p90": statistics.median([r["p90"] for r in results]),
                "spread": max(medians) / min(medians), "rounds": results}
    return result


def check_pare_output(pare, case, model, x):
    """pare's compiled path (`pare run`) on x gives PyTorch's output, to float rounding of the
    magnitudes involved (ResNet-18's random weights give outputs in the hundreds)."""
    with tempfile.TemporaryDirectory() as folder:
        given, got = os.path.join(folder, "x.safetensors"), os.path.join(folder, "y.safetensors")
        write_safetensors(given, {case["input_name"]: x})
        run([pare, "run", case["path"], "--input", given, "--output", got, "--threads", "1"])
        y = read_safetensors(got)["output"]
    with torch.no_grad():
        expected = model(x)
    scale = max(1.0, expected.abs().max().item())
    worst = (y - expected).abs().max().item()
    print("compare_pytorch: %s b%d: pare vs eager PyTorch, max |difference| %.3g (outputs up to "
          "%.3g)" % (case["name"], x.shape[0], worst, scale), flush=True)
    if worst > 1e-4 * scale:
        raise SystemExit("compare_pytorch: %s b%d: pare's output differs from PyTorch's by %.3g "
                         "(more than 1e-4 x %.3g)" % (case["name"], x.shape[0], worst, scale))


def top_ops(forward, x, count=4):
    """The ops with the most self CPU time over a few passes: which library runs each layer
    (addmm and mm are the BLAS; mkldnn_* and TorchScript's prepacked ops are oneDNN)."""
    with torch.no_grad():
        for _ in range(3):
            forward(x)
        with torch.profiler.profile() as profile:
            for _ in range(5):
                forward(x)
    events = sorted(profile.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    names = [e.key.replace("aten::", "") for e in events if e.key != "forward"]
    return ", ".join(names[:count])


# ---- report -------------------------------------------------------------------------------------

def loaded_libraries(words):
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "/" in line}
    return sorted(p for p in paths if any(w in os.path.basename(p) for w in words))


def header(args):
    lines = ["date: %s" % time.strftime("%Y-%m-%d %H:%M:%S %Z"),
             "machine: %s, %d CPUs, %s" % (cpu_model(), os.cpu_count(), platform.platform()),
             "load average: %s" % " ".join(open("/proc/loadavg").read().split()[:3]),
             "pare: %s %s(built %s; checkout %s)" % (
                 args.pare, args.pare_args + " " if args.pare_args else "",
                 time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(args.pare))),
                 git_state()),
             "torch %s, %d intra-op threads by default" % (torch.__version__,
                                                          torch.get_num_threads())]
    for line in torch.__config__.show().splitlines():
        if any(w in line for w in ("BLAS", "MKL", "LAPACK", "CPU capability", "OpenMP")):
            for part in line.strip(" -").split(", "):
                if any(w in part for w in ("BLAS", "MKL", "LAPACK", "CPU capability", "OpenMP")):
                    lines.append("  torch config: " + part.strip())
    lines.append("  torch.backends.mkldnn: available %s, enabled %s"
                 % (torch.backends.mkldnn.is_available(), torch.backends.mkldnn.enabled))
    torch.ones(64, 64) @ torch.ones(64, 64)  # loads the BLAS
    blas = loaded_libraries(["blas", "lapack"])
    lines.append("  BLAS loaded: %s" % (", ".join(blas) or "none"))
    for path in blas:
        if "openblas" in path:
            try:
                library = ctypes.CDLL(path)
                library.openblas_get_config.restype = ctypes.c_char_p
                parallel = {0: "sequential", 1: "pthreads", 2: "OpenMP"}.get(
                    library.openblas_get_parallel(), "?")
                lines.append("  OpenBLAS: %s, %s" % (library.openblas_get_config().decode(),
                                                     parallel))
            except (OSError, AttributeError):
                pass
            break
    else:
        lines.append("  WARNING: not OpenBLAS; apt-get install libopenblas0-openmp")
    lines.append("  oneDNN loaded by torch: %s" % (", ".join(loaded_libraries(["dnnl"])) or
                                                   "none (built in)"))
    lines.append("timing: warm-up %d, >= %d passes and >= %g s per framework per round, %d "
                 "rounds (rotated order), median of round medians; oneDNN: %d Google Benchmark "
                 "repetitions" % (args.warmup, args.iters, args.min_time, args.rounds,
                                  args.onednn_repetitions))
    return lines


def cpu_model():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def git_state():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                                check=True, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                               check=True, capture_output=True, text=True).stdout.strip()
        return "commit %s%s" % (commit, ", uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "commit unknown"


def ratio(a, b):
    return a / b if a and b else None


def fmt_ratio(value):
    return "%.2fx" % value if value is not None else "-"


def print_table(results, onednn):
    columns = ["model", "batch", "thr", "pare ms", "p90"]
    if onednn:
        columns += ["oneDNN ms", "p90"]
    columns += ["eager ms", "p90", "script ms", "p90", "pare/oneDNN" if onednn else None,
                "pare/torch", "torch best", "retries", "load"]
    columns = [c for c in columns if c is not None]
    table = [columns]
    for row in results:
        t = row["times"]
        best = min(("eager", "script"), key=lambda f: t[f]["median"])
        cells = [row["model"], str(row["batch"]), str(row["threads"]),
                 "%.3f" % t["pare"]["median"], "%.3f" % t["pare"]["p90"]]
        if onednn:
            cells += (["%.3f" % t["onednn"]["median"], "%.3f" % t["onednn"]["p90"]]
                      if "onednn" in t else ["-", "-"])
        cells += ["%.3f" % t["eager"]["median"], "%.3f" % t["eager"]["p90"],
                  "%.3f" % t["script"]["median"], "%.3f" % t["script"]["p90"]]
        if onednn:
            cells.append(fmt_ratio(ratio(t["pare"]["median"], t["onednn"]["median"]))
                         if "onednn" in t else "-")
        cells += [fmt_ratio(ratio(t["pare"]["median"], t[best]["median"])), best,
                  str(row["retries"]), row["load"]]
        table.append(cells)
    widths = [max(len(r[i]) for r in table) for i in range(len(columns))]
    for index, cells in enumerate(table):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(cells, widths))))
        if index == 0:
            print("  ".join("-" * w for w in widths))


def targets(results, macs, onednn):
    """The inference targets, one line each: the measured value, the target and whether it is met."""
    by_key = {(r["model"], r["batch"], r["threads"]): r["times"] for r in results}
    lines = []
    for (model, batch, threads), t in sorted(by_key.items()):
        best = min(t["eager"]["median"], t["script"]["median"])
        target = TORCH_TARGETS.get((model, batch))
        if target is not None:
            value = t["pare"]["median"] / best
            lines.append((value <= target, "%s b%d t%d: pare / PyTorch best = %.2f (target <= %.2f)"
                          % (model, batch, threads, value, target)))
        if onednn and "onednn" in t:
            value = t["pare"]["median"] / t["onednn"]["median"]
            lines.append((value <= ONEDNN_TARGET, "%s b%d t%d: pare / oneDNN chain = %.2f "
                          "(target <= %.2f)" % (model, batch, threads, value, ONEDNN_TARGET)))
    for (model, batch, threads), t in sorted(by_key.items()):
        pruned = by_key.get((model + "_pruned", batch, threads))
        if pruned is None or model.endswith("_pruned"):
            continue
        mac_ratio = macs[model] / macs[model + "_pruned"]
        parts = []
        for framework in [f for f in FRAMEWORKS if f in t and f in pruned]:
            speedup = t[framework]["median"] / pruned[framework]["median"]
            parts.append("%s %.2fx (%.0f%%)" % (framework, speedup, 100 * speedup / mac_ratio))
        share = PRUNED_SHARE_TARGETS.get((model, batch))
        speedup = t["pare"]["median"] / pruned["pare"]["median"]
        text = ("%s b%d t%d: pruned speedup, MAC ratio %.2fx: %s"
                % (model, batch, threads, mac_ratio, ", ".join(parts)))
        if share is not None:
            text += " (target pare >= %.0f%%)" % (100 * share)
            lines.append((speedup >= share * mac_ratio, text))
        else:
            lines.append((None, text))
    for met, text in lines:
        print("  %s %s" % ({True: "met    ", False: "NOT met", None: "       "}[met], text))


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pare", default=os.path.join(root, "build/tools/pare"))
    parser.add_argument("--pare-args", default="",
                        help="more `pare bench` flags, e.g. '--no-optimize' (the interpreter)")
    parser.add_argument("--onednn", default=os.path.join(root, "build/bench/bench_models_onednn"),
                        help="bench_models_onednn; '' to leave the oneDNN column out")
    parser.add_argument("--models", default=os.path.join(root, "bench/models"))
    parser.add_argument("--only", default="", help="comma-separated model names (default: all)")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--min-time", type=float, default=0.3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--onednn-repetitions", type=int, default=10)
    parser.add_argument("--max-spread", type=float, default=1.15,
                        help="rerun a row when a framework's round medians spread more than this")
    parser.add_argument("--max-p90", type=float, default=2.0,
                        help="rerun a row when a framework's p90 exceeds this times its median")
    parser.add_argument("--retries", type=int, default=2)
    parser.add_argument("--json", help="also write every row and round here")
    args = parser.parse_args()
    if args.onednn and not os.path.exists(args.onednn):
        raise SystemExit("compare_pytorch: %s not found (build the bench_models_onednn target, "
                         "or pass --onednn '')" % args.onednn)

    only = set(filter(None, args.only.split(",")))
    cases, macs = [], {}
    for name, batches in DEFAULT_ROWS:
        if only and name not in only:
            continue
        path = os.path.join(args.models, name + ".pare")
        if not os.path.exists(path):
            raise SystemExit("compare_pytorch: %s not found (bash scripts/make-bench-models.sh)"
                             % path)
        info = pare_info(args.pare, path)
        macs[name] = info["macs"]
        torch.manual_seed(1)
        cases.append({"name": name, "path": path, "batches": batches,
                      "torch": torch_model(name, info, path),
                      "input_name": info["inputs"][0]["name"],
                      "pare_weights": name.split("_")[0] == "resnet18"})

    lines = header(args)
    for line in lines:
        print(line)
    for case in cases:
        if case["name"].endswith("_pruned"):
            continue
        model, shape = case["torch"]
        x, script = prepare_torch(model, shape, 1, 1)
        line = "  PyTorch's top ops, %s b1 t1: eager %s; script %s" % (
            case["name"], top_ops(model, x), top_ops(script, x))
        lines.append(line)
        print(line)
    print(flush=True)
    groups = {}
    for case in cases:
        groups.setdefault(case["name"].split("_")[0], []).append(case)
    results = []
    for threads in [int(t) for t in args.threads.split(",")]:
        for family, group in groups.items():
            for batch in group[0]["batches"]:
                load = open("/proc/loadavg").read().split()[0]
                for retry in range(args.retries + 1):
                    times = measure_group(group, batch, threads, args)
                    every = [t for model in times.values() for t in model.values()]
                    spread = max(t["spread"] for t in every)
                    tail = max(t["p90"] / t["median"] for t in every)
                    if spread <= args.max_spread and tail <= args.max_p90:
                        break
                    print("  (%s b%d t%d: round medians spread up to %.2fx, p90 up to %.2fx the "
                          "median; measuring again)" % (family, batch, threads, spread, tail),
                          flush=True)
                for case in group:
                    t = times[case["name"]]
                    results.append({"model": case["name"], "batch": batch, "threads": threads,
                                    "times": t, "retries": retry, "load": load})
                    print("  %s b%d t%d: pare %.3f ms, %seager %.3f ms, script %.3f ms"
                          % (case["name"], batch, threads, t["pare"]["median"],
                             "oneDNN %.3f ms, " % t["onednn"]["median"] if "onednn" in t else "",
                             t["eager"]["median"], t["script"]["median"]), flush=True)
    print()
    print("latency per forward pass (median ms; p90 ms: pare, PyTorch = 90th percentile of single "
          "passes, oneDNN = slowest repetition); ratios < 1 mean pare is faster")
    print_table(results, bool(args.onednn))
    print()
    print("targets:")
    targets(results, macs, bool(args.onednn))
    print("load average after: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
    if args.json:
        with open(args.json, "w") as stream:
            json.dump({"header": lines, "rows": results, "macs": macs}, stream, indent=1)


if __name__ == "__main__":
    sys.exit(main())
