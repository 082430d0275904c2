#!/usr/bin/env python3
"""tools/pare_export.py end to end: PyTorch models exported to .pare and run by `pare run` must
reproduce PyTorch's outputs (max abs diff <= 1e-4). The exporter follows the definitions of the
pare binary it finds (PARE_BIN here).

    PARE_BIN=build/tools/pare python3 tests/tools/test_pare_export.py

Exits 0 with "skipped: torch not importable" when no Python at hand has torch (it tries this
interpreter, then $PARE_TORCH_PYTHON, then /usr/bin/python3).
"""

import json
import math
import os
import subprocess
import sys
import tempfile
import traceback

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOLERANCE = 1e-4
_REEXEC_MARKER = "PARE_EXPORT_TEST_REEXEC"


def _python_with_torch():
    """Another interpreter that can import torch, or None."""
    candidates = [os.environ.get("PARE_TORCH_PYTHON"), "/usr/bin/python3"]
    current = os.path.realpath(sys.executable)
    for candidate in candidates:
        if not candidate or not os.path.isfile(candidate):
            continue
        if os.path.realpath(candidate) == current:
            continue
        probe = subprocess.run([candidate, "-c", "import torch"], capture_output=True)
        if probe.returncode == 0:
            return candidate
    return None


try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    other = None if os.environ.get(_REEXEC_MARKER) else _python_with_torch()
    if other is None:
        print("skipped: torch not importable")
        sys.exit(0)
    os.environ[_REEXEC_MARKER] = "1"
    os.execv(other, [other, os.path.abspath(__file__)] + sys.argv[1:])

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(REPO_ROOT, "tools"))
import pare_export  # noqa: E402


def pare_binary():
    path = os.environ.get("PARE_BIN", os.path.join(REPO_ROOT, "build", "tools", "pare"))
    assert os.path.isfile(path) and os.access(path, os.X_OK), (
        f"the pare binary is not at {path}; build it or set PARE_BIN")
    return path


def pare_run(model_path, inputs, folder):
    """Runs `pare run` on {input name: tensor}; returns {output name: tensor}."""
    input_path = os.path.join(folder, "in.safetensors")
    output_path = os.path.join(folder, "out.safetensors")
    pare_export.write_safetensors(input_path, inputs)
    command = [pare_binary(), "run", model_path, "--input", input_path, "--output", output_path]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (
        f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    outputs, _ = pare_export.read_safetensors(output_path)
    return outputs


def max_abs_diff(actual, expected):
    assert tuple(actual.shape) == tuple(expected.shape), (
        f"shape {tuple(actual.shape)} != PyTorch's {tuple(expected.shape)}")
    return (actual.double() - expected.double()).abs().max().item()


def export_and_compare(model, example, run_inputs=None):
    """Exports with `example`, runs pare on `run_inputs` (default: the example), compares."""
    model.eval()
    run_inputs = run_inputs if run_inputs is not None else example
    with tempfile.TemporaryDirectory() as folder:
        model_path = os.path.join(folder, "model.pare")
        graph = pare_export.export(model, example, model_path)
        names = [entry["name"] for entry in graph["inputs"]]
        outputs = pare_run(model_path, dict(zip(names, run_inputs)), folder)
    with torch.no_grad():
        expected = model(*run_inputs)
    expected = expected if isinstance(expected, (tuple, list)) else (expected,)
    names = ["output"] if len(expected) == 1 else [f"output.{i}" for i in range(len(expected))]
    assert sorted(outputs) == sorted(names), f"pare wrote {sorted(outputs)}, expected {names}"
    for name, reference in zip(names, expected):
        difference = max_abs_diff(outputs[name], reference)
        assert difference <= TOLERANCE, f"{name}: max abs diff {difference:.3g} > {TOLERANCE}"
    return graph


def randomise_batch_norm(model, seed):
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            size = module.num_features
            module.running_mean.copy_(torch.randn(size, generator=generator) * 0.5)
            module.running_var.copy_(torch.rand(size, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(size, generator=generator) + 0.5)
            module.bias.data.copy_(torch.randn(size, generator=generator) * 0.1)
            module.num_batches_tracked.fill_(7)


def calibrate_batch_norm(model, batch):
    """Running statistics measured on `batch`, as training leaves them: a deep network's
    activations then stay of order one (ResNet-50's logits reach ~700 on default statistics), so
    the absolute tolerance means the same for every model. The affine weights are kept."""
    norms = [module for module in model.modules() if isinstance(module, nn.BatchNorm2d)]
    momenta = [module.momentum for module in norms]
    for module in norms:
        module.reset_running_stats()
        module.momentum = None  # a cumulative average: one batch gives its exact statistics
    model.train()
    with torch.no_grad():
        model(batch)
    for module, momentum in zip(norms, momenta):
        module.momentum = momentum
    model.eval()


def damp_residual_branches(model, factor=0.2):
    """Scales the last BatchNorm weight of each ResNet block's branch, as training leaves them
    small (torchvision's zero_init_residual starts them at 0). With the random weights of
    randomise_batch_norm every block adds a full-size branch, and ResNet-50's float32 output is
    then ~1e-4 from its float64 one in PyTorch itself; damped, ~3e-6, well inside TOLERANCE."""
    for block in model.modules():
        last = {"BasicBlock": "bn2", "Bottleneck": "bn3"}.get(type(block).__name__)
        if last is not None:
            getattr(block, last).weight.data.mul_(factor)


def import_torchvision():
    """torchvision, or None (its cases then print that they were not run)."""
    try:
        import torchvision
    except ImportError:
        return None
    return torchvision


def torchvision_or_skip(name):
    torchvision = import_torchvision()
    if torchvision is None:
        print(f"        {name}: not run, torchvision is not importable "
              f"(apt-get install python3-torchvision)")
    return torchvision


def pare_info(model_path):
    command = [pare_binary(), "info", model_path, "--json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (
        f"{' '.join(command)} exited {result.returncode}:\n{result.stderr}")
    return json.loads(result.stdout)


# ---- the models ----

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 64)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(64, 32)
        self.fc3 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.act(self.fc1(x))
        x = torch.tanh(self.fc2(x))
        return self.fc3(x)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.gap = nn.AdaptiveAvgPool2d((2, 2))
        self.fc = nn.Linear(16 * 2 * 2, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), kernel_size=2, stride=2)
        x = self.gap(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


class LSTMClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(6, 12, num_layers=2, batch_first=True)
        self.fc = nn.Linear(12, 4)

    def forward(self, x):
        output, _ = self.lstm(x)
        return self.fc(output[:, -1])


class Block(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.GELU("tanh"))

    def forward(self, x):
        return F.leaky_relu(x + self.body(x) * 0.5, negative_slope=0.2)


class Functional(nn.Module):
    """Views, arithmetic with numbers, nested modules, cat, softmax and several outputs."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(2, 4, 3, padding="same")
        self.blocks = nn.Sequential(Block(4), Block(4))
        self.head = nn.Linear(4 * 4 * 4 + 3, 5)

    def forward(self, image, extra):
        x = self.blocks(self.stem(image))
        x = F.avg_pool2d(x, 2)
        x = x.view(x.size(0), -1)
        x = torch.cat([x, 1.0 - extra / 2], dim=1)
        logits = self.head(x)
        return F.softmax(logits, dim=1), logits[:, 1:4].sigmoid()


ACTIVATION_MODULES = [
    nn.ReLU(), nn.ReLU6(), nn.Sigmoid(), nn.Hardsigmoid(), nn.Tanh(), nn.SiLU(), nn.Mish(),
    nn.Hardswish(), nn.SELU(), nn.LogSigmoid(), nn.Softsign(), nn.Tanhshrink(),
    nn.RReLU(0.1, 0.3), nn.Hardtanh(-0.5, 0.7), nn.ELU(0.7), nn.CELU(1.3), nn.Hardshrink(0.3),
    nn.LeakyReLU(0.05), nn.Softplus(2.0, 5.0), nn.PReLU(3, init=0.2), nn.GELU("tanh"),
    nn.Identity(), nn.Dropout(0.3), nn.Softmax(dim=1), nn.LogSoftmax(dim=-1),
]


class Activations(nn.Module):
    """Every activation of the format as a layer and as a function, with non-default arguments."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(ACTIVATION_MODULES)
        self.prelu_weight = nn.Parameter(torch.tensor([0.1, 0.2, 0.3]))

    def forward(self, x):
        outputs = [layer(x) for layer in self.layers]
        outputs += [
            F.relu(x), F.rrelu(x, 0.2, 0.4), F.hardtanh(x, min_val=-0.3), F.relu6(x * 4),
            torch.sigmoid(x), F.hardsigmoid(x), x.tanh(), F.silu(x), F.mish(x), F.hardswish(x),
            F.elu(x, alpha=0.5), F.celu(x, 2.0), F.selu(x), F.hardshrink(x, lambd=0.2),
            F.leaky_relu(x, 0.3), F.logsigmoid(x), F.softplus(x, beta=0.5, threshold=3.0),
            F.prelu(x, self.prelu_weight), F.softsign(x), F.tanhshrink(x), F.gelu(x),
            F.dropout(x, p=0.4, training=False), torch.log_softmax(x, 2), x.softmax(dim=-1),
        ]
        return tuple(outputs)


class ActivationArguments(nn.Module):
    """The activations that take numbers, with non-default ones: as layers built with keywords
    (integers where torch keeps them so), and as functions called positionally and by keyword."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([
            nn.Softplus(beta=2, threshold=4), nn.Hardtanh(min_val=-2, max_val=0.5),
            nn.LeakyReLU(negative_slope=0.2), nn.ELU(alpha=0.4), nn.CELU(alpha=0.6),
            nn.Hardshrink(lambd=1), nn.RReLU(lower=0.05, upper=0.25),
            nn.GELU(approximate="tanh"),
        ])

    def forward(self, x):
        outputs = [layer(x) for layer in self.layers]
        outputs += [
            F.softplus(x, 0.5, 2.0), F.softplus(x, beta=3, threshold=1),
            F.hardtanh(x, -0.2, 0.4), F.hardtanh(x, max_val=2.0, min_val=-0.1),
            F.leaky_relu(x, 0.25, False), F.leaky_relu(x, negative_slope=0.1),
            F.elu(x, 0.3), F.elu(x, alpha=2.0, inplace=False),
            F.celu(x, 0.8), F.celu(x, alpha=0.5),
            F.hardshrink(x, 0.7), F.hardshrink(x, lambd=1.5),
            F.rrelu(x, 0.3, 0.5, False), F.rrelu(x, lower=0.1, upper=0.2, training=False),
            F.gelu(x, approximate="tanh"),
        ]
        return tuple(outputs)


class OpsByName(nn.Module):
    """Ops the exporter reaches by their names in pare's definitions (no table of its own)."""

    def forward(self, x, y):
        scores = torch.softmax(x @ y.transpose(1, 2), 2)
        mixed = torch.bmm(scores, y).clamp(min=-0.5, max=0.5) + torch.pow(x, 2)
        peak = torch.max(mixed, dim=1)[0] + mixed.mean(dim=(1, 2), keepdim=True).squeeze(1)
        gated = torch.where(x < y, x, y).masked_fill(x > 0.5, 0.0)
        halves = torch.chunk(gated, 2, dim=2)
        return (peak, torch.stack([halves[0], halves[1]], dim=1), x.split(2, dim=2)[1],
                torch.argmax(x, dim=2), torch.maximum(x, y).sum(-1), x.norm(dim=2))


class Layers(nn.Module):
    """The layers of the module table that the other models leave out."""

    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm([6, 6], eps=1e-3)
        self.avg = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False, ceil_mode=True)
        self.max = nn.MaxPool2d(2, stride=1, padding=1, dilation=2)
        self.adaptive_max = nn.AdaptiveMaxPool2d((2, None))
        self.flatten = nn.Flatten(1, 2)
        self.grouped = nn.Conv2d(4, 8, 3, stride=2, padding=2, dilation=2, groups=2)
        self.lstm = nn.LSTM(4, 5)
        self.decoder = nn.LSTM(5, 5)

    def forward(self, x, sequence, h0, c0):
        y = self.norm(x)
        encoded, state = self.lstm(sequence, (h0, c0))
        output, (h_n, c_n) = self.decoder(encoded, state)
        return (self.avg(y), self.max(y), self.adaptive_max(y), self.flatten(y),
                self.grouped(y), F.avg_pool2d(y, (2, 3), stride=1, padding=(1, 0)),
                F.adaptive_avg_pool2d(y, 3), F.adaptive_max_pool2d(y, (None, 2)),
                y.transpose(1, 3).permute(0, 2, 1, 3).contiguous(), y[None, ..., 1::2, None],
                y.unsqueeze(1).squeeze(1).reshape(2, -1), output, h_n, c_n[0])


class SelfAttention(nn.Module):
    """pare::models::SelfAttention (engine/include/pare/models/transformer.h) in PyTorch: heads
    split with view/permute, scores by matmul scaled by 1/sqrt(head_dim), softmax."""

    def __init__(self, embedding, heads):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(embedding, embedding)
        self.k = nn.Linear(embedding, embedding)
        self.v = nn.Linear(embedding, embedding)
        self.proj = nn.Linear(embedding, embedding)

    def forward(self, x):
        batch, tokens, embedding = x.size(0), x.size(1), x.size(2)
        head_dim = embedding // self.heads

        def split_heads(t):
            return t.view(batch, tokens, self.heads, head_dim).permute(0, 2, 1, 3)

        queries, keys, values = split_heads(self.q(x)), split_heads(self.k(x)), \
            split_heads(self.v(x))
        scores = torch.matmul(queries, keys.transpose(-2, -1)) / math.sqrt(head_dim)
        mixed = torch.matmul(F.softmax(scores, dim=-1), values)
        return self.proj(mixed.permute(0, 2, 1, 3).reshape(batch, tokens, embedding))


class TransformerBlock(nn.Module):
    """pare::models::TransformerBlock: pre-norm attention and GELU MLP, each a residual add."""

    def __init__(self, embedding=32, heads=4, mlp_hidden=64):
        super().__init__()
        self.norm1 = nn.LayerNorm(embedding, eps=1e-6)
        self.attn = SelfAttention(embedding, heads)
        self.norm2 = nn.LayerNorm(embedding, eps=1e-6)
        self.fc1 = nn.Linear(embedding, mlp_hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(mlp_hidden, embedding)

    def forward(self, x):
        h = x + self.attn(self.norm1(x))
        return h + self.fc2(self.act(self.fc1(self.norm2(h))))


# ---- the tests ----

def test_mlp_matches_pytorch():
    torch.manual_seed(1)
    export_and_compare(MLP(), (torch.randn(4, 20),))


def test_cnn_matches_pytorch():
    torch.manual_seed(2)
    model = CNN()
    randomise_batch_norm(model, 2)
    graph = export_and_compare(model, (torch.randn(2, 3, 16, 16),))
    targets = [node["target"] for node in graph["nodes"] if node["op"] == "call_function"]
    assert targets == ["relu", "relu", "max_pool2d", "flatten"], targets
    pool = next(node for node in graph["nodes"] if node["target"] == "max_pool2d")
    assert pool["kwargs"] == {"kernel_size": [2, 2], "stride": [2, 2], "padding": [0, 0],
                              "dilation": [1, 1], "ceil_mode": False}, pool["kwargs"]


def test_lstm_to_linear_matches_pytorch():
    torch.manual_seed(3)
    graph = export_and_compare(LSTMClassifier(), (torch.randn(3, 7, 6),))
    by_target = {node["target"]: node for node in graph["nodes"]}
    assert by_target["getitem"]["args"][1] == 0, by_target["getitem"]
    assert by_target["select"]["kwargs"] == {"dim": 1, "index": -1}, by_target["select"]


def test_functional_model_matches_pytorch_at_another_batch():
    torch.manual_seed(4)
    model = Functional()
    example = (torch.randn(2, 2, 8, 8), torch.randn(2, 3))
    graph = export_and_compare(model, example, (torch.randn(5, 2, 8, 8), torch.randn(5, 3)))
    view = next(node for node in graph["nodes"] if node["target"] == "reshape")
    assert view["kwargs"] == {"shape": [-1, 64]}, view


def test_every_activation_matches_pytorch():
    torch.manual_seed(6)
    graph = export_and_compare(Activations(), (torch.randn(2, 3, 5) * 3,))
    types = {module["type"] for module in graph["modules"].values()}
    assert len(types) == 23, sorted(types)  # 21 activations, Identity, Dropout


def test_activation_arguments_match_pytorch():
    torch.manual_seed(8)
    graph = export_and_compare(ActivationArguments(), (torch.randn(2, 3, 5) * 3,))
    assert graph["modules"]["layers.0"] == {"type": "Softplus", "beta": 2, "threshold": 4}, \
        graph["modules"]["layers.0"]
    assert graph["modules"]["layers.7"] == {"type": "GELU", "approximate": "tanh"}
    calls = [node for node in graph["nodes"] if node["op"] == "call_function"]
    # Numbers written as pare declares them (float), inplace dropped, defaults filled in.
    assert calls[1]["kwargs"] == {"beta": 3.0, "threshold": 1.0}, calls[1]
    assert calls[4]["kwargs"] == {"negative_slope": 0.25}, calls[4]
    assert calls[3]["kwargs"] == {"min_val": -0.1, "max_val": 2.0}, calls[3]


def test_ops_reached_by_name_match_pytorch():
    torch.manual_seed(9)
    graph = export_and_compare(OpsByName(), (torch.randn(2, 3, 4), torch.randn(2, 3, 4)))
    targets = {node["target"] for node in graph["nodes"] if node["op"] == "call_function"}
    expected = {"matmul", "bmm", "clamp", "pow", "max", "mean", "where", "lt", "gt",
                "masked_fill", "chunk", "stack", "split", "argmax", "maximum", "sum", "norm"}
    assert expected <= targets, sorted(expected - targets)


def test_the_pare_binary_is_found_or_named():
    binary = pare_binary()
    assert pare_export.find_pare(binary) == binary
    assert pare_export.pare_definitions(binary) is pare_export.pare_definitions(binary)
    with tempfile.TemporaryDirectory() as folder:
        missing = os.path.join(folder, "pare")
        for call in (lambda: pare_export.find_pare(missing),
                     lambda: pare_export.to_pare(MLP(), torch.randn(1, 20), pare=missing)):
            try:
                call()
            except pare_export.ExportError as error:
                assert missing in str(error) and "--pare" in str(error) and \
                    "PARE_BIN" in str(error), str(error)
            else:
                raise AssertionError("a missing pare binary was accepted")
        failing = os.path.join(folder, "failing-pare")
        with open(failing, "w") as stream:
            stream.write("#!/bin/sh\necho 'no ops here' >&2\nexit 3\n")
        os.chmod(failing, 0o755)
        try:
            pare_export.pare_definitions(failing)
        except pare_export.ExportError as error:
            assert "exited 3" in str(error) and "no ops here" in str(error), str(error)
        else:
            raise AssertionError("a failing pare binary was accepted")
    saved = os.environ.get("PARE_BIN")
    os.environ["PARE_BIN"] = missing
    try:
        pare_export.find_pare()
    except pare_export.ExportError as error:
        assert "PARE_BIN names" in str(error), str(error)
    else:
        raise AssertionError("PARE_BIN naming a missing file was accepted")
    finally:
        if saved is None:
            del os.environ["PARE_BIN"]
        else:
            os.environ["PARE_BIN"] = saved


def test_remaining_layers_and_views_match_pytorch():
    torch.manual_seed(7)
    example = (torch.randn(2, 4, 6, 6), torch.randn(3, 2, 4), torch.randn(1, 2, 5),
               torch.randn(1, 2, 5))
    export_and_compare(Layers(), example)


def test_torchvision_resnets_match_pytorch():
    torchvision = torchvision_or_skip("resnet18, resnet50")
    if torchvision is None:
        return
    for seed, factory in enumerate((torchvision.models.resnet18, torchvision.models.resnet50)):
        torch.manual_seed(20 + seed)
        model = factory()
        randomise_batch_norm(model, 20 + seed)
        damp_residual_branches(model)
        calibrate_batch_norm(model, torch.randn(8, 3, 64, 64))
        # Exported at batch 1, run at batch 2: the folded shapes leave the batch free.
        graph = export_and_compare(model, (torch.randn(1, 3, 64, 64),),
                                   (torch.randn(2, 3, 64, 64),))
        # BasicBlock / Bottleneck reuse one inplace ReLU module: one module, several calls.
        relu_calls = [node for node in graph["nodes"] if node["target"] == "layer1.0.relu"]
        assert len(relu_calls) == (2 if factory is torchvision.models.resnet18 else 3), \
            relu_calls
        targets = [node["target"] for node in graph["nodes"] if node["op"] == "call_function"]
        blocks = [module for module in model.modules()
                  if type(module).__name__ in ("BasicBlock", "Bottleneck")]
        assert targets.count("add") == len(blocks) == (8 if len(relu_calls) == 2 else 16), \
            targets.count("add")  # out += identity, once per block
        assert targets[-1] == "flatten", targets[-3:]


def test_torchvision_mobilenet_v2_matches_pytorch():
    torchvision = torchvision_or_skip("mobilenet_v2")
    if torchvision is None:
        return
    torch.manual_seed(22)
    model = torchvision.models.mobilenet_v2()
    randomise_batch_norm(model, 22)
    calibrate_batch_norm(model, torch.randn(8, 3, 64, 64))
    graph = export_and_compare(model, (torch.randn(1, 3, 64, 64),))
    # Conv2dNormActivation is a Sequential subclass: traced through to its three layers.
    types = [graph["modules"][f"features.1.conv.0.{i}"]["type"] for i in range(3)]
    assert types == ["Conv2d", "BatchNorm2d", "ReLU6"], types
    pool = next(node for node in graph["nodes"] if node["target"] == "adaptive_avg_pool2d")
    assert pool["kwargs"] == {"output_size": [1, 1]}, pool


def test_torchvision_densenet_matches_pytorch():
    torchvision = torchvision_or_skip("densenet121")
    if torchvision is None:
        return
    torch.manual_seed(23)
    model = torchvision.models.densenet121()
    randomise_batch_norm(model, 23)
    calibrate_batch_norm(model, torch.randn(8, 3, 64, 64))
    graph = export_and_compare(model, (torch.randn(1, 3, 64, 64),))
    # Each _DenseLayer concatenates the list of earlier features, each _DenseBlock all of them.
    cats = [node for node in graph["nodes"] if node["target"] == "cat"]
    assert len(cats) == sum(len(getattr(model.features, f"denseblock{i}")) + 1
                            for i in range(1, 5))
    assert len(cats[-1]["args"][0]) == 17, cats[-1]  # denseblock4: its input and 16 layers
    assert graph["modules"]["features.transition1.pool"]["type"] == "AvgPool2d"


def test_transformer_block_matches_pytorch_at_another_batch():
    torch.manual_seed(24)
    model = TransformerBlock()
    graph = export_and_compare(model, (torch.randn(2, 5, 32),), (torch.randn(3, 5, 32),))
    reshapes = [node["kwargs"]["shape"] for node in graph["nodes"] if node["target"] == "reshape"]
    assert reshapes == [[-1, 5, 4, 8]] * 3 + [[-1, 5, 32]], reshapes
    scale = next(node for node in graph["nodes"] if node["target"] == "div")
    assert scale["kwargs"] == {"other": math.sqrt(8)}, scale  # math.sqrt(head_dim), folded
    targets = [node["target"] for node in graph["nodes"] if node["op"] == "call_function"]
    assert targets.count("matmul") == 2 and targets.count("add") == 2, targets


def test_zoo_layouts_match_torchvision():
    """The files exported from torchvision hold what pare's C++ model zoo declares: its
    parameter counts (engine/include/pare/models/*.h) under torchvision's state-dict names."""
    torchvision = torchvision_or_skip("resnet18, mobilenet_v2 layouts")
    if torchvision is None:
        return
    zoo_parameters = {"resnet18": 11_689_512, "mobilenet_v2": 3_504_872}
    for name, parameters in zoo_parameters.items():
        model = getattr(torchvision.models, name)()
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, f"{name}.pare")
            pare_export.export(model, torch.randn(1, 3, 64, 64), path)
            info = pare_info(path)
            tensors, _ = pare_export.read_safetensors(path)
        assert info["params"] == parameters, f"{name}: pare info says {info['params']}"
        expected = [(key, tuple(tensor.shape)) for key, tensor in model.state_dict().items()]
        written = [(key, tuple(tensor.shape)) for key, tensor in tensors.items()]
        assert written == expected, \
            f"{name}: {sorted(set(written) ^ set(expected))[:5]} differ from torchvision's"


def test_file_layout_follows_the_format():
    torch.manual_seed(5)
    model = CNN()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "cnn.pare")
        pare_export.export(model, torch.randn(1, 3, 16, 16), path)
        with open(path, "rb") as stream:
            data = stream.read()
        tensors, metadata = pare_export.read_safetensors(path)
    header_size = int.from_bytes(data[:8], "little")
    assert header_size % 8 == 0, header_size
    assert metadata["format"] == "pare" and metadata["pare.version"] == "1", metadata
    assert list(tensors) == list(model.state_dict()), list(tensors)
    assert tensors["bn1.num_batches_tracked"].dtype == torch.int64
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensors[name], tensor), name
    graph = pare_export.json.loads(metadata["pare.graph"])
    assert graph["inputs"] == [{"name": "x", "shape": [1, 3, 16, 16], "dtype": "F32"}]
    assert graph["modules"]["conv2"] == {
        "type": "Conv2d", "in_channels": 8, "out_channels": 16, "kernel_size": [3, 3],
        "stride": [1, 1], "padding": [1, 1], "dilation": [1, 1], "groups": 1, "bias": False}
    assert graph["modules"]["bn1"] == {"type": "BatchNorm2d", "num_features": 8, "eps": 1e-5,
                                       "momentum": 0.1, "affine": True,
                                       "track_running_stats": True}


def test_safetensors_round_trip():
    tensors = {"a": torch.randn(2, 3), "b": torch.arange(5), "c": torch.tensor([True, False]),
               "d": torch.tensor([1, 255], dtype=torch.uint8), "e": torch.tensor(2.5)}
    data = pare_export.encode_safetensors(tensors, {"k": "v"})
    decoded, metadata = pare_export.decode_safetensors(data)
    assert metadata == {"k": "v"}
    assert list(decoded) == list(tensors)
    for name, tensor in tensors.items():
        assert decoded[name].dtype == tensor.dtype and torch.equal(decoded[name], tensor), name


def expect_export_error(model, example, *fragments):
    try:
        pare_export.to_pare(model, example)
    except pare_export.ExportError as error:
        message = str(error)
        for fragment in fragments:
            assert fragment in message, f"'{fragment}' not in: {message}"
        return
    raise AssertionError(f"{type(model).__name__} was exported, expected an ExportError")


class UsesConv1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 2, 3)

    def forward(self, x):
        return self.conv(x)


class UsesSin(nn.Module):
    def forward(self, x):
        return torch.sin(x) + 1


class InPlace(nn.Module):
    def forward(self, x):
        y = x * 2
        y.add_(1)
        return y


class InPlaceReLUThenReuse(nn.Module):
    def forward(self, x):
        y = x * 2
        F.relu(y, inplace=True)
        return y + 1


class TorchBatchNorm(nn.Module):
    def forward(self, x, mean, var):
        # torch.batch_norm takes (input, weight, bias, running_mean, ...), not F's order.
        return torch.batch_norm(x, None, None, mean, var, False, 0.1, 1e-5, False)


class TensorWhere(nn.Module):
    def forward(self, x, y):
        return x.where(x > 0, y)  # where(condition, x, y), self first


class MathOfTensor(nn.Module):
    def forward(self, x):
        return x * math.sqrt(x.abs().sum())  # reads a value, not a shape


class TensorIndex(nn.Module):
    def forward(self, x, index):
        return x[index]


def test_unsupported_constructs_are_refused_naming_the_node():
    expect_export_error(UsesConv1d(), (torch.randn(1, 2, 8),), "node 'conv'",
                        "torch.nn.modules.conv.Conv1d", "module table")
    expect_export_error(UsesSin(), (torch.randn(3),), "node 'sin'", "sin", "not supported")
    expect_export_error(InPlace(), (torch.randn(3),), "node 'add_'", "in-place")
    expect_export_error(InPlaceReLUThenReuse(), (torch.randn(3),), "node 'relu'", "in place",
                        "node 'add'")
    expect_export_error(TensorIndex(), (torch.randn(3), torch.tensor([0, 2])), "node 'getitem'",
                        "tensor")
    expect_export_error(MLP(), (torch.randn(1, 20), torch.randn(1, 20)), "1 input(s)")
    expect_export_error(MathOfTensor(), (torch.randn(3),), "node 'sqrt'", "math.sqrt of a tensor",
                        "torch.sqrt")
    expect_export_error(TorchBatchNorm(), (torch.randn(2, 3), torch.zeros(3), torch.ones(3)),
                        "node 'batch_norm'", "not supported")
    expect_export_error(TensorWhere(), (torch.randn(3), torch.randn(3)), "node 'where'",
                        "'where' is not supported")


def main():
    tests = [(name, test) for name, test in globals().items()
             if name.startswith("test_") and callable(test)]
    failures = 0
    for name, test in tests:
        try:
            test()
            print(f"ok      {name}")
        except Exception:
            failures += 1
            print(f"FAILED  {name}")
            traceback.print_exc()
    print(f"{len(tests) - failures} passed, {failures} failed (torch {torch.__version__})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
