#!/usr/bin/env python3
"""Writes the PyTorch golden files of tests/golden/ (see tests/golden/README.md).

Run with a Python that has PyTorch (on Debian: /usr/bin/python3 scripts/make_goldens.py). The
tests themselves only read the files and never need torch.

Every value is computed by PyTorch in float64 from float32 inputs and parameters, then stored as
float32, so a golden is the exact answer rounded once and pare's float32 result can be held to
tight tolerances. Each case stores its tensors under "<case>.<what>" and its construction
arguments as JSON in the file's __metadata__ under "<case>".
"""

import argparse
import json
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPE_NAMES = {torch.float32: "F32", torch.int64: "I64", torch.bool: "BOOL"}


def write_safetensors(path, tensors, metadata):
    """The safetensors container of docs/format.md, header padded with spaces to 8 bytes."""
    header = {"__metadata__": metadata}
    chunks = []
    offset = 0
    for name, tensor in tensors.items():
        tensor = tensor.detach().contiguous()
        if tensor.dtype == torch.float64:
            tensor = tensor.float()
        data = tensor.numpy().tobytes()  # numpy on x86 and arm64 Linux is little-endian
        header[name] = {
            "dtype": DTYPE_NAMES[tensor.dtype],
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)
    with open(path, "wb") as stream:
        stream.write(struct.pack("<Q", len(header_bytes)))
        stream.write(header_bytes)
        for chunk in chunks:
            stream.write(chunk)


class GoldenFile:
    """The cases of one golden file: tensors under "<case>.<what>", arguments in metadata."""

    def __init__(self, name):
        self.name = name
        self.tensors = {}
        self.metadata = {}

    def add(self, case, arguments, tensors):
        assert case not in self.metadata and "." not in case, case
        self.metadata[case] = json.dumps(arguments, sort_keys=True)
        for what, tensor in tensors.items():
            self.tensors[f"{case}.{what}"] = tensor

    def write(self, folder):
        path = os.path.join(folder, self.name + ".safetensors")
        write_safetensors(path, self.tensors, self.metadata)
        return path


def float_input(*shape, scale=1.0, shift=0.0):
    """Normal values rounded to float32 (so pare sees exactly the same input), as float64."""
    return (torch.randn(*shape) * scale + shift).float().double()


def module_case(module, inputs, arguments, training=False):
    """Runs `module` (float64) forward on `inputs` and backward with a random upstream gradient.

    Returns the tensors of one case: input(s), the parameters and buffers before the call
    ("param.<key>"), output, grad_output, grad_input, the parameter gradients ("grad.<name>") and,
    in training mode, the buffers after the call ("buffer_after.<key>").
    """
    module = module.double()
    module.train(training)
    tensors = {}
    for key, value in module.state_dict().items():
        tensors["param." + key] = value.clone()
    leaf = inputs.clone().requires_grad_(True)
    output = module(leaf)
    grad_output = float_input(*output.shape)
    output.backward(grad_output)
    tensors.update({"input": inputs, "output": output, "grad_output": grad_output,
                    "grad_input": leaf.grad})
    for name, parameter in module.named_parameters():
        tensors["grad." + name] = parameter.grad
    if training:
        for key, value in module.named_buffers():
            tensors["buffer_after." + key] = value.clone()
    arguments = dict(arguments, training=training)
    return arguments, tensors


def randomise_parameters(module, low=-1.0, high=1.0):
    """Replaces default initial values (ones, zeros, 0.25) with float32 random ones."""
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.empty(parameter.shape).uniform_(low, high))
    return module


def linear_goldens():
    golden = GoldenFile("linear")
    for case, in_features, out_features, bias, shape in [
        ("bias", 5, 3, True, (4, 5)),
        ("no_bias", 5, 3, False, (4, 5)),
        ("bias_3d", 6, 4, True, (2, 3, 6)),
    ]:
        module = nn.Linear(in_features, out_features, bias=bias)
        arguments = {"type": "Linear", "in_features": in_features, "out_features": out_features,
                     "bias": bias}
        golden.add(case, *module_case(module, float_input(*shape), arguments))
    return golden


def conv2d_goldens():
    golden = GoldenFile("conv2d")
    for case, options, shape in [
        ("basic", dict(in_channels=3, out_channels=4, kernel_size=(3, 3)), (2, 3, 6, 5)),
        ("stride_padding", dict(in_channels=3, out_channels=4, kernel_size=(3, 2), stride=(2, 1),
                                padding=(1, 2)), (2, 3, 7, 6)),
        ("dilation", dict(in_channels=2, out_channels=3, kernel_size=(3, 3), padding=(2, 1),
                          dilation=(2, 1)), (1, 2, 7, 7)),
        ("groups", dict(in_channels=4, out_channels=6, kernel_size=(3, 3), stride=(2, 2),
                        padding=(1, 1), groups=2), (2, 4, 7, 6)),
        ("depthwise", dict(in_channels=4, out_channels=4, kernel_size=(3, 3), padding=(1, 1),
                           groups=4), (2, 4, 5, 5)),
        ("depthwise_multiplier", dict(in_channels=3, out_channels=6, kernel_size=(2, 3),
                                      groups=3, bias=False), (2, 3, 5, 6)),
        ("no_bias", dict(in_channels=3, out_channels=2, kernel_size=(1, 1), bias=False),
         (2, 3, 4, 4)),
        ("unbatched", dict(in_channels=2, out_channels=3, kernel_size=(2, 2), stride=(1, 2)),
         (2, 5, 6)),
    ]:
        full = dict(stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, bias=True)
        full.update(options)
        module = nn.Conv2d(**full)
        arguments = {"type": "Conv2d", **{k: list(v) if isinstance(v, tuple) else v
                                          for k, v in full.items()}}
        golden.add(case, *module_case(module, float_input(*shape), arguments))
    return golden


def lstm_goldens():
    golden = GoldenFile("lstm")
    for case, num_layers, bias, batch_first, with_state, shape in [
        ("seq_first_state", 2, True, False, True, (5, 2, 3)),
        ("seq_first_no_state", 2, True, False, False, (4, 3, 3)),
        ("batch_first_state", 2, True, True, True, (2, 5, 3)),
        ("batch_first_no_state", 2, True, True, False, (3, 4, 3)),
        ("no_bias_state", 2, False, True, True, (2, 4, 3)),
        ("no_bias_no_state", 2, False, False, False, (4, 2, 3)),
        ("one_layer_unbatched", 1, True, False, True, (5, 3)),
    ]:
        input_size, hidden_size = shape[-1], 4
        module = nn.LSTM(input_size, hidden_size, num_layers=num_layers, bias=bias,
                         batch_first=batch_first).double()
        inputs = float_input(*shape)
        leaves = {"input": inputs.clone().requires_grad_(True)}
        if with_state:
            batch = () if len(shape) == 2 else (shape[0] if batch_first else shape[1],)
            state_shape = (num_layers, *batch, hidden_size)
            leaves["h0"] = float_input(*state_shape).requires_grad_(True)
            leaves["c0"] = float_input(*state_shape).requires_grad_(True)
            output, (h_n, c_n) = module(leaves["input"], (leaves["h0"], leaves["c0"]))
        else:
            output, (h_n, c_n) = module(leaves["input"])
        results = {"output": output, "h_n": h_n, "c_n": c_n}
        upstream = {"grad_" + name: float_input(*value.shape) for name, value in results.items()}
        torch.autograd.backward(list(results.values()), list(upstream.values()))
        tensors = {"param." + key: value.clone() for key, value in module.state_dict().items()}
        tensors.update({name: leaf.detach() for name, leaf in leaves.items()})
        tensors.update(results)
        tensors.update(upstream)
        tensors.update({"grad_" + name: leaf.grad for name, leaf in leaves.items()})
        tensors.update({"grad." + name: p.grad for name, p in module.named_parameters()})
        arguments = {"type": "LSTM", "input_size": input_size, "hidden_size": hidden_size,
                     "num_layers": num_layers, "bias": bias, "batch_first": batch_first}
        golden.add(case, arguments, tensors)
    return golden


def normalization_goldens():
    golden = GoldenFile("normalization")
    for case, normalized_shape, eps, affine, shape in [
        ("layer_norm_last_dim", [5], 1e-5, True, (3, 4, 5)),
        ("layer_norm_two_dims", [3, 4], 1e-3, True, (2, 3, 4)),
        ("layer_norm_no_affine", [6], 1e-5, False, (4, 6)),
    ]:
        module = randomise_parameters(nn.LayerNorm(normalized_shape, eps=eps,
                                                   elementwise_affine=affine))
        arguments = {"type": "LayerNorm", "normalized_shape": normalized_shape, "eps": eps,
                     "elementwise_affine": affine}
        inputs = float_input(*shape, scale=2.0, shift=0.5)
        golden.add(case, *module_case(module, inputs, arguments))
    for case, training, affine, momentum, eps in [
        ("batch_norm_train", True, True, 0.2, 1e-3),
        ("batch_norm_train_no_affine", True, False, 0.1, 1e-5),
        ("batch_norm_eval", False, True, 0.1, 1e-5),
    ]:
        channels = 3
        module = randomise_parameters(nn.BatchNorm2d(channels, eps=eps, momentum=momentum,
                                                     affine=affine))
        with torch.no_grad():
            module.running_mean.copy_(torch.randn(channels).float())
            module.running_var.copy_(torch.rand(channels).float() + 0.5)
            module.num_batches_tracked.fill_(3)
        arguments = {"type": "BatchNorm2d", "num_features": channels, "eps": eps,
                     "momentum": momentum, "affine": affine}
        inputs = float_input(4, channels, 3, 5, scale=1.5, shift=0.3)
        golden.add(case, *module_case(module, inputs, arguments, training=training))
    return golden


def pooling_goldens():
    golden = GoldenFile("pooling")
    for case, options, shape in [
        ("max_padding", dict(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1)), (2, 3, 7, 8)),
        ("max_ceil_mode", dict(kernel_size=(3, 3), stride=(2, 2), ceil_mode=True), (2, 2, 8, 7)),
        ("max_dilation", dict(kernel_size=(3, 3), stride=(1, 1), padding=(1, 1),
                              dilation=(2, 2)), (1, 2, 7, 6)),
        ("max_mixed", dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), dilation=(1, 2),
                           ceil_mode=True), (2, 2, 8, 7)),
        ("max_unbatched", dict(kernel_size=(2, 2), stride=(2, 2)), (3, 6, 5)),
    ]:
        full = dict(stride=options["kernel_size"], padding=(0, 0), dilation=(1, 1),
                    ceil_mode=False)
        full.update(options)
        arguments = {"type": "MaxPool2d", **{k: list(v) if isinstance(v, tuple) else v
                                             for k, v in full.items()}}
        golden.add(case, *module_case(nn.MaxPool2d(**full), float_input(*shape), arguments))
    for case, options, shape in [
        ("avg_padding", dict(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1)), (2, 3, 7, 8)),
        ("avg_ceil_mode", dict(kernel_size=(3, 3), stride=(2, 2), ceil_mode=True), (2, 2, 8, 7)),
        ("avg_exclude_pad", dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1),
                                 count_include_pad=False), (2, 2, 7, 6)),
        ("avg_exclude_pad_ceil", dict(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1),
                                      ceil_mode=True, count_include_pad=False), (1, 3, 8, 6)),
        ("avg_include_pad_ceil", dict(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1),
                                      ceil_mode=True), (1, 3, 8, 6)),
    ]:
        full = dict(stride=options["kernel_size"], padding=(0, 0), ceil_mode=False,
                    count_include_pad=True)
        full.update(options)
        arguments = {"type": "AvgPool2d", **{k: list(v) if isinstance(v, tuple) else v
                                             for k, v in full.items()}}
        golden.add(case, *module_case(nn.AvgPool2d(**full), float_input(*shape), arguments))
    for type_name, constructor in [("AdaptiveAvgPool2d", nn.AdaptiveAvgPool2d),
                                   ("AdaptiveMaxPool2d", nn.AdaptiveMaxPool2d)]:
        prefix = "adaptive_avg" if type_name == "AdaptiveAvgPool2d" else "adaptive_max"
        for case, output_size, shape in [
            ("non_divisible", (3, 2), (2, 3, 7, 5)),
            ("upsampling", (4, 6), (1, 2, 3, 5)),
            ("global", (1, 1), (2, 3, 5, 4)),
        ]:
            arguments = {"type": type_name, "output_size": list(output_size)}
            golden.add(f"{prefix}_{case}",
                       *module_case(constructor(output_size), float_input(*shape), arguments))
    return golden


def shape_goldens():
    golden = GoldenFile("shape")
    for case, start_dim, end_dim, shape in [
        ("flatten_default", 1, -1, (2, 3, 4, 5)),
        ("flatten_middle", 1, 2, (2, 3, 4, 5)),
        ("flatten_all", 0, -1, (2, 3, 4)),
    ]:
        arguments = {"type": "Flatten", "start_dim": start_dim, "end_dim": end_dim}
        golden.add(case, *module_case(nn.Flatten(start_dim, end_dim), float_input(*shape),
                                      arguments))
    arguments = {"type": "Dropout", "p": 0.3}
    golden.add("dropout_eval", *module_case(nn.Dropout(0.3), float_input(3, 4), arguments))
    return golden


def activation_goldens():
    golden = GoldenFile("activation")
    channels = 3
    cases = [
        ("relu", nn.ReLU(), {"type": "ReLU"}),
        ("rrelu_eval", nn.RReLU(0.1, 0.3), {"type": "RReLU", "lower": 0.1, "upper": 0.3}),
        ("hardtanh", nn.Hardtanh(-0.5, 0.8), {"type": "Hardtanh", "min_val": -0.5,
                                              "max_val": 0.8}),
        ("relu6", nn.ReLU6(), {"type": "ReLU6"}),
        ("sigmoid", nn.Sigmoid(), {"type": "Sigmoid"}),
        ("hardsigmoid", nn.Hardsigmoid(), {"type": "Hardsigmoid"}),
        ("tanh", nn.Tanh(), {"type": "Tanh"}),
        ("silu", nn.SiLU(), {"type": "SiLU"}),
        ("mish", nn.Mish(), {"type": "Mish"}),
        ("hardswish", nn.Hardswish(), {"type": "Hardswish"}),
        ("elu", nn.ELU(alpha=0.7), {"type": "ELU", "alpha": 0.7}),
        ("celu", nn.CELU(alpha=1.3), {"type": "CELU", "alpha": 1.3}),
        ("selu", nn.SELU(), {"type": "SELU"}),
        ("hardshrink", nn.Hardshrink(lambd=0.3), {"type": "Hardshrink", "lambd": 0.3}),
        ("leaky_relu", nn.LeakyReLU(0.2), {"type": "LeakyReLU", "negative_slope": 0.2}),
        ("logsigmoid", nn.LogSigmoid(), {"type": "LogSigmoid"}),
        ("softplus", nn.Softplus(beta=2.0, threshold=3.0), {"type": "Softplus", "beta": 2.0,
                                                            "threshold": 3.0}),
        ("prelu_shared", randomise_parameters(nn.PReLU(1), 0.05, 0.5),
         {"type": "PReLU", "num_parameters": 1}),
        ("prelu_per_channel", randomise_parameters(nn.PReLU(channels), 0.05, 0.5),
         {"type": "PReLU", "num_parameters": channels}),
        ("softsign", nn.Softsign(), {"type": "Softsign"}),
        ("tanhshrink", nn.Tanhshrink(), {"type": "Tanhshrink"}),
        ("gelu_exact", nn.GELU(), {"type": "GELU", "approximate": "none"}),
        ("gelu_tanh", nn.GELU(approximate="tanh"), {"type": "GELU", "approximate": "tanh"}),
    ]
    for case, module, arguments in cases:
        inputs = float_input(2, channels, 4, 5, scale=3.0)
        # Exact zeros pin down PyTorch's gradient convention at the kink of the piecewise ones.
        inputs.view(-1)[::7] = 0.0
        golden.add(case, *module_case(module, inputs, arguments))
    for case, function, dim, shape in [
        ("softmax_last", "softmax", 1, (3, 5)),
        ("softmax_first", "softmax", 0, (4, 2, 3)),
        ("log_softmax_last", "log_softmax", -1, (3, 5)),
        ("log_softmax_middle", "log_softmax", 1, (2, 4, 3)),
    ]:
        inputs = float_input(*shape, scale=2.0)
        leaf = inputs.clone().requires_grad_(True)
        output = getattr(F, function)(leaf, dim=dim)
        grad_output = float_input(*output.shape)
        output.backward(grad_output)
        golden.add(case, {"function": function, "dim": dim},
                   {"input": inputs, "output": output, "grad_output": grad_output,
                    "grad_input": leaf.grad})
    return golden


def loss_goldens():
    golden = GoldenFile("loss")

    def add(case, function, inputs, target, reduction, **options):
        leaf = inputs.clone().requires_grad_(True)
        output = getattr(F, function)(leaf, target, reduction=reduction, **options)
        # A non-unit upstream gradient checks that backward scales by it.
        grad_output = float_input(*output.shape) if output.dim() else torch.tensor(0.75).double()
        output.backward(grad_output)
        golden.add(case, {"function": function, "reduction": reduction, **options},
                   {"input": inputs, "target": target, "output": output,
                    "grad_output": grad_output, "grad_input": leaf.grad})

    logits = float_input(5, 4, scale=2.0)
    labels = torch.tensor([2, 0, 3, 3, 1])
    for reduction in ["mean", "sum", "none"]:
        add(f"cross_entropy_{reduction}", "cross_entropy", logits, labels, reduction)
        add(f"cross_entropy_{reduction}_smoothing", "cross_entropy", logits, labels, reduction,
            label_smoothing=0.1)
        log_probs = F.log_softmax(logits, dim=1).float().double()
        add(f"nll_{reduction}", "nll_loss", log_probs, labels, reduction)
    spatial_logits = float_input(2, 4, 3)
    spatial_labels = torch.tensor([[0, 3, 1], [2, 2, 0]])
    add("cross_entropy_spatial", "cross_entropy", spatial_logits, spatial_labels, "mean")
    add("cross_entropy_spatial_smoothing", "cross_entropy", spatial_logits, spatial_labels,
        "mean", label_smoothing=0.1)
    prediction = float_input(3, 4)
    target = float_input(3, 4)
    for reduction in ["mean", "sum", "none"]:
        add(f"mse_{reduction}", "mse_loss", prediction, target, reduction)
        add(f"l1_{reduction}", "l1_loss", prediction, target, reduction)
    return golden


def optimizer_goldens(steps=3):
    golden = GoldenFile("optim")
    inputs = float_input(4, 3)
    target = float_input(4, 2)
    initial = nn.Linear(3, 2)
    for case, constructor, options in [
        ("sgd_plain", torch.optim.SGD, dict(lr=0.1)),
        ("sgd_momentum_dampening_decay", torch.optim.SGD,
         dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.05)),
        ("sgd_nesterov", torch.optim.SGD,
         dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01)),
        ("adam_weight_decay", torch.optim.Adam,
         dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
        ("adam_amsgrad", torch.optim.Adam, dict(lr=0.02, amsgrad=True)),
        ("adamw", torch.optim.AdamW, dict(lr=0.01, betas=(0.85, 0.99), weight_decay=0.1)),
        ("adamw_amsgrad", torch.optim.AdamW, dict(lr=0.01, weight_decay=0.05, amsgrad=True)),
    ]:
        model = nn.Linear(3, 2)
        model.load_state_dict(initial.state_dict())
        model = model.double()
        tensors = {"input": inputs, "target": target}
        tensors.update({"param." + k: v.clone() for k, v in model.state_dict().items()})
        optimizer = constructor(model.parameters(), **options)
        for step in range(1, steps + 1):
            optimizer.zero_grad()
            F.mse_loss(model(inputs), target).backward()
            optimizer.step()
            tensors.update({f"step{step}.{k}": v.clone() for k, v in model.state_dict().items()})
        arguments = {"optimizer": constructor.__name__, "steps": steps, "loss": "mse_loss",
                     **{k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}}
        golden.add(case, arguments, tensors)

    for case, constructor, options, epochs in [
        ("step_lr", torch.optim.lr_scheduler.StepLR, dict(step_size=2, gamma=0.5), 7),
        ("cosine_annealing_lr", torch.optim.lr_scheduler.CosineAnnealingLR,
         dict(T_max=5, eta_min=0.01), 12),
    ]:
        optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
        scheduler = constructor(optimizer, **options)
        rates = [scheduler.get_last_lr()[0]]
        for _ in range(epochs):
            optimizer.step()
            scheduler.step()
            rates.append(scheduler.get_last_lr()[0])
        arguments = {"scheduler": constructor.__name__, "lr": 0.1, "epochs": epochs, **options}
        golden.add(case, arguments, {"lr": torch.tensor(rates, dtype=torch.float64)})
    return golden


def weighted_loss_goldens():
    """cross_entropy and nll_loss with a class weight and ignore_index (a file of its own, so the
    cases of loss.safetensors keep their random draws)."""
    golden = GoldenFile("loss_weighted")

    def add(case, function, inputs, target, reduction, weight=None, **options):
        leaf = inputs.clone().requires_grad_(True)
        output = getattr(F, function)(leaf, target, weight=weight, reduction=reduction, **options)
        grad_output = float_input(*output.shape) if output.dim() else torch.tensor(0.75).double()
        output.backward(grad_output)
        tensors = {"input": inputs, "target": target, "output": output,
                   "grad_output": grad_output, "grad_input": leaf.grad}
        if weight is not None:
            tensors["weight"] = weight
        golden.add(case, {"function": function, "reduction": reduction,
                          "weight": weight is not None, **options}, tensors)

    logits = float_input(6, 4, scale=2.0)
    weight = (torch.rand(4) + 0.5).float().double()
    labels = torch.tensor([2, 0, 3, 3, 1, 2])
    ignored = torch.tensor([2, -100, 3, 0, -100, 1])  # PyTorch's default ignore_index
    with_one = torch.tensor([1, 0, 1, 3, 2, 1])       # ignore_index=1 given
    log_probs = F.log_softmax(logits, dim=1).float().double()
    for reduction in ["mean", "sum", "none"]:
        add(f"ce_weight_{reduction}", "cross_entropy", logits, labels, reduction, weight)
        add(f"ce_ignore_{reduction}", "cross_entropy", logits, ignored, reduction)
        add(f"ce_weight_ignore_smoothing_{reduction}", "cross_entropy", logits, ignored, reduction,
            weight, label_smoothing=0.2)
        add(f"nll_weight_{reduction}", "nll_loss", log_probs, labels, reduction, weight)
        add(f"nll_weight_ignore_index_{reduction}", "nll_loss", log_probs, with_one, reduction,
            weight, ignore_index=1)
    add("ce_weight_ignore_index_mean", "cross_entropy", logits, with_one, "mean", weight,
        ignore_index=1)
    add("ce_ignore_smoothing_mean", "cross_entropy", logits, ignored, "mean",
        label_smoothing=0.2)
    add("nll_ignore_mean", "nll_loss", log_probs, ignored, "mean")
    spatial_logits = float_input(2, 4, 3)
    spatial_labels = torch.tensor([[0, -100, 1], [2, 2, 3]])
    add("ce_spatial_weight_ignore_mean", "cross_entropy", spatial_logits, spatial_labels, "mean",
        weight)
    add("ce_spatial_weight_ignore_smoothing_none", "cross_entropy", spatial_logits,
        spatial_labels, "none", weight, label_smoothing=0.1)
    return golden


def softshrink_goldens():
    """nn.Softshrink, with inputs exactly at +-lambd and 0 to pin its gradient there."""
    golden = GoldenFile("softshrink")
    for case, lambd in [("default", 0.5), ("lambd_0_3", 0.3)]:
        inputs = float_input(2, 3, 4, 5, scale=1.0)
        inputs.view(-1)[::7] = lambd
        inputs.view(-1)[3::7] = -lambd
        inputs.view(-1)[5::11] = 0.0
        golden.add(case, *module_case(nn.Softshrink(lambd), inputs,
                                      {"type": "Softshrink", "lambd": lambd}))
    return golden


def batch_norm_cumulative_goldens(steps=3):
    """BatchNorm2d(momentum=None): the running statistics as the plain average of every batch,
    three training steps from a state that has already counted two batches."""
    golden = GoldenFile("batch_norm_cumulative")
    channels = 3
    module = randomise_parameters(nn.BatchNorm2d(channels, momentum=None)).double()
    with torch.no_grad():
        module.running_mean.copy_(torch.randn(channels).float())
        module.running_var.copy_(torch.rand(channels).float() + 0.5)
        module.num_batches_tracked.fill_(2)
    tensors = {"param." + key: value.clone() for key, value in module.state_dict().items()}
    module.train()
    for step in range(1, steps + 1):
        inputs = float_input(4, channels, 3, 5, scale=1.5, shift=0.3)
        leaf = inputs.clone().requires_grad_(True)
        output = module(leaf)
        grad_output = float_input(*output.shape)
        output.backward(grad_output)
        tensors.update({f"step{step}.input": inputs, f"step{step}.output": output,
                        f"step{step}.grad_output": grad_output, f"step{step}.grad_input": leaf.grad})
        tensors.update({f"step{step}.buffer_after.{key}": value.clone()
                        for key, value in module.named_buffers()})
    golden.add("momentum_none", {"type": "BatchNorm2d", "num_features": channels, "eps": 1e-5,
                                 "momentum": None, "affine": True, "steps": steps}, tensors)
    return golden


def main():
    default_folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                  "golden")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=default_folder, help="folder for the .safetensors files")
    arguments = parser.parse_args()
    torch.manual_seed(20240611)
    torch.use_deterministic_algorithms(True)
    os.makedirs(arguments.out, exist_ok=True)
    total = 0
    for make in [linear_goldens, conv2d_goldens, lstm_goldens, normalization_goldens,
                 pooling_goldens, shape_goldens, activation_goldens, loss_goldens,
                 optimizer_goldens, weighted_loss_goldens, softshrink_goldens,
                 batch_norm_cumulative_goldens]:
        path = make().write(arguments.out)
        size = os.path.getsize(path)
        total += size
        print(f"{os.path.relpath(path)}: {size} bytes")
    print(f"total: {total} bytes (torch {torch.__version__})")


if __name__ == "__main__":
    main()
