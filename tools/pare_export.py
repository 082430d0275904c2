#!/usr/bin/env python3
"""Turns a torch.fx-traceable torch.nn.Module into a .pare file (docs/format.md).

Command line (the factory is a class or function that returns the model; --weights loads a
state_dict saved with torch.save):

    python3 tools/pare_export.py models.py:make_net -o net.pare --input-shape 1,3,32,32
    python3 tools/pare_export.py models.py:Net --weights net.pt -o net.pare --input-shape 1,3,32,32

Python:

    import pare_export
    pare_export.export(model, torch.randn(1, 3, 32, 32), "net.pare")

The model is traced with torch.fx.symbolic_trace; the layers of the format's module table stay
whole (one call_module node each), the functional ops become call_function nodes with their
keyword arguments normalised to torch.nn.functional names and defaults filled in, and the called
layers' state_dict entries are written as the file's tensors. Anything the format cannot hold is
refused with an ExportError naming the node.

What the format holds is what the pare binary defines: the exporter runs `pare ops --json` once
per process and follows it. F.X, torch.X and Tensor.X reach the op X when pare defines X, their
arguments bound by pare's declared parameters (torch.nn.functional's); torch.nn.T reaches pare's
layer T, its attributes read from torch's same-named attributes unless a converter below says
otherwise. The binary is, in this order: --pare PATH (pare= to export() and to_pare()), the
PARE_BIN environment variable, a `pare` beside this script (an install), build/tools/pare of the
repository holding this script, `pare` on PATH.
"""

import argparse
import dis
import importlib
import importlib.util
import inspect
import json
import math
import operator
import os
import shutil
import struct
import subprocess
import sys
import tempfile

try:
    import torch
    import torch.fx
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as missing:
    if __name__ != "__main__":
        raise
    sys.exit(f"pare_export: error: {sys.executable} cannot import torch ({missing}); run this "
             f"script with a Python that has PyTorch")

FORMAT_VERSION = "1"


class ExportError(Exception):
    """The model uses something the .pare format cannot hold."""


# ---- safetensors ----

_DTYPE_NAMES = {
    torch.float32: "F32",
    torch.int64: "I64",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}
_TORCH_DTYPES = {name: dtype for dtype, name in _DTYPE_NAMES.items()}
_ELEMENT_SIZES = {"F32": 4, "I64": 8, "U8": 1, "BOOL": 1}
_STRUCT_CODES = {"F32": "f", "I64": "q", "U8": "B", "BOOL": "?"}
_NUMPY_CODES = {"F32": "<f4", "I64": "<i8", "U8": "u1", "BOOL": "?"}


def _file_dtype(name, dtype):
    """The dtype the file stores a tensor of `dtype` as: float32 for every floating dtype."""
    if dtype.is_floating_point:
        return torch.float32
    if dtype in _DTYPE_NAMES:
        return dtype
    if dtype in (torch.int8, torch.int16, torch.int32):
        return torch.int64
    raise ExportError(f"tensor '{name}' has dtype {dtype}, which a .pare file cannot hold "
                      f"(it holds float32, int64, uint8 and bool)")


def _file_tensor(name, tensor):
    return tensor.detach().cpu().to(_file_dtype(name, tensor.dtype)).contiguous()


def _tensor_bytes(tensor, dtype_name):
    try:
        return tensor.numpy().astype(_NUMPY_CODES[dtype_name], copy=False).tobytes()
    except (ImportError, RuntimeError, TypeError):  # torch built without numpy
        values = tensor.reshape(-1).tolist()
        return struct.pack(f"<{len(values)}{_STRUCT_CODES[dtype_name]}", *values)


def _tensor_from_bytes(data, dtype_name, shape):
    try:
        import numpy
        array = numpy.frombuffer(data, dtype=_NUMPY_CODES[dtype_name]).copy()
        return torch.from_numpy(array.astype(array.dtype.newbyteorder("="))).reshape(shape)
    except (ImportError, RuntimeError, TypeError):
        pass
    count = math.prod(shape)
    values = struct.unpack(f"<{count}{_STRUCT_CODES[dtype_name]}", data)
    return torch.tensor(values, dtype=_TORCH_DTYPES[dtype_name]).reshape(shape)


def encode_safetensors(tensors, metadata=None):
    """Bytes of a safetensors file: tensors is a list of (name, tensor) or a dict, in file order."""
    items = list(tensors.items()) if isinstance(tensors, dict) else list(tensors)
    header = {}
    if metadata:
        header["__metadata__"] = {str(key): str(value) for key, value in metadata.items()}
    chunks = []
    offset = 0
    for name, tensor in items:
        if name in header or name == "__metadata__":
            raise ExportError(f"safetensors: duplicate or reserved tensor name '{name}'")
        tensor = _file_tensor(name, tensor)
        dtype_name = _DTYPE_NAMES[tensor.dtype]
        data = _tensor_bytes(tensor, dtype_name)
        header[name] = {"dtype": dtype_name, "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    header_bytes = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    # The reference writer pads with spaces so that the byte buffer starts 8-aligned.
    header_bytes += b" " * (-len(header_bytes) % 8)
    return struct.pack("<Q", len(header_bytes)) + header_bytes + b"".join(chunks)


def decode_safetensors(data, source="<bytes>"):
    """(dict name -> tensor in file order, metadata dict); raises ValueError on a malformed file."""
    try:
        return _decode_safetensors(data, source)
    except (KeyError, TypeError, IndexError, UnicodeDecodeError, struct.error) as error:
        raise ValueError(f"{source}: malformed safetensors header ({error!r})") from error


def _decode_safetensors(data, source):
    if len(data) < 8:
        raise ValueError(f"{source}: not a safetensors file ({len(data)} bytes)")
    (header_size,) = struct.unpack("<Q", data[:8])
    if header_size > len(data) - 8:
        raise ValueError(f"{source}: header size {header_size} exceeds the file")
    header = json.loads(data[8:8 + header_size].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError(f"{source}: the header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    buffer = data[8 + header_size:]
    tensors = {}
    expected_begin = 0
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"][0]):
        dtype_name = entry["dtype"]
        if dtype_name not in _TORCH_DTYPES:
            raise ValueError(f"{source}: tensor '{name}' has the unknown dtype {dtype_name}")
        shape = entry["shape"]
        begin, end = entry["data_offsets"]
        count = math.prod(shape)
        if begin != expected_begin or end - begin != count * _ELEMENT_SIZES[dtype_name]:
            raise ValueError(f"{source}: tensor '{name}' has inconsistent offsets {[begin, end]}")
        tensors[name] = _tensor_from_bytes(buffer[begin:end], dtype_name, shape)
        expected_begin = end
    if expected_begin != len(buffer):
        raise ValueError(f"{source}: {len(buffer) - expected_begin} bytes after the last tensor")
    ordered = {name: tensors[name] for name in header}
    return ordered, metadata


def _write_atomically(path, data):
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def write_safetensors(path, tensors, metadata=None):
    """Writes through a temporary file and renames it, so a failure leaves no partial file."""
    _write_atomically(path, encode_safetensors(tensors, metadata))


def read_safetensors(path):
    with open(path, "rb") as stream:
        return decode_safetensors(stream.read(), path)


# ---- torch.fx on Python 3.11 ----

def _proxy_iter_py311(self):
    # torch < 2.0 finds the UNPACK_SEQUENCE of `a, b = proxy` by indexing the instruction list
    # with f_lasti // 2, which Python 3.11's inline caches break; look the offset up instead.
    calling_frame = inspect.currentframe().f_back
    instructions = list(dis.get_instructions(calling_frame.f_code))
    for instruction in instructions:
        if instruction.offset == calling_frame.f_lasti:
            if instruction.opname == "UNPACK_SEQUENCE":
                return (self[i] for i in range(instruction.argval))
            break
    return self.tracer.iter(self)


def _patch_fx_for_python311():
    if sys.version_info < (3, 11) or int(torch.__version__.split(".")[0]) >= 2:
        return
    torch.fx.proxy.Proxy.__iter__ = _proxy_iter_py311


# ---- pare's definitions ----

_SCRIPT_FOLDER = os.path.dirname(os.path.abspath(__file__))
_HOW_TO_POINT = ("pass --pare PATH (pare=PATH to export() and to_pare()), set PARE_BIN, or build "
                 "it (ninja -C build pare)")


def _is_executable(path):
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_pare(pare=None):
    """The pare binary whose definitions the export follows: `pare` if given, else $PARE_BIN,
    else a pare next to this script (an install), else <repo>/build/tools/pare, else pare on
    PATH. A binary named explicitly (argument or PARE_BIN) must exist: no silent fallback."""
    for given, origin in ((pare, "--pare (pare=)"), (os.environ.get("PARE_BIN"), "PARE_BIN")):
        if given:
            given = os.fspath(given)
            if not _is_executable(given):
                raise ExportError(f"{origin} names '{given}', which is not an executable file; "
                                  f"{_HOW_TO_POINT}")
            return given
    for candidate in (os.path.join(_SCRIPT_FOLDER, "pare"),
                      os.path.join(os.path.dirname(_SCRIPT_FOLDER), "build", "tools", "pare")):
        if _is_executable(candidate):
            return candidate
    on_path = shutil.which("pare")
    if on_path:
        return on_path
    raise ExportError(f"cannot find the pare binary, whose op and layer definitions decide what "
                      f"a .pare file may hold: {_HOW_TO_POINT}")


def _read_definitions(pare):
    command = f"'{pare} ops --json'"
    try:
        result = subprocess.run([pare, "ops", "--json"], capture_output=True, text=True,
                                timeout=120)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ExportError(f"running {command} failed ({error}); {_HOW_TO_POINT}") from error
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise ExportError(f"{command} exited {result.returncode} ({reason}); point at a working "
                          f"pare: {_HOW_TO_POINT}")
    try:
        dump = json.loads(result.stdout)
        signatures = {op["name"]: _Signature(op) for op in dump["ops"]}
        layers = {layer["type"]: layer for layer in dump["layers"]
                  if layer["in_files"] and isinstance(layer["attributes"], list)}
    except (ValueError, KeyError, TypeError) as error:
        raise ExportError(f"{command} did not print pare's definitions ({error!r}); is '{pare}' "
                          f"pare? {_HOW_TO_POINT}") from error
    return signatures, layers


_DEFINITIONS = {}  # the binary's real path -> _Definitions: `pare ops --json` runs once


def pare_definitions(pare=None):
    """pare's op and layer definitions (`pare ops --json`) from the binary find_pare() picks."""
    path = find_pare(pare)
    key = os.path.realpath(path)
    if key not in _DEFINITIONS:
        _DEFINITIONS[key] = _Definitions(*_read_definitions(path))
    return _DEFINITIONS[key]


# Arguments pare may not declare that change nothing for an inference result: they are accepted
# and never written (a graph's values are never shared, so `inplace` cannot matter; in-place
# updates torch.fx would lose are refused separately).
_IGNORED = {"inplace", "_stacklevel"}

# torch callables that reach an op of another name, beside F.X / torch.X / Tensor.X -> X.
_FUNCTION_ALIASES = {
    "torch.concat": "cat", "torch.true_divide": "div", "torch.swapaxes": "transpose",
    "torch.swapdims": "transpose", "operator.add": "add", "operator.sub": "sub",
    "operator.mul": "mul", "operator.truediv": "div", "operator.neg": "neg",
    "operator.getitem": "getitem", "operator.matmul": "matmul", "operator.pow": "pow",
    "operator.eq": "eq", "operator.ne": "ne", "operator.lt": "lt", "operator.le": "le",
    "operator.gt": "gt", "operator.ge": "ge",
}
_METHOD_ALIASES = {"true_divide": "div", "swapaxes": "transpose", "swapdims": "transpose"}
# Same name as an op, another signature than the torch.nn.functional one pare declares
# (torch.batch_norm takes weight and bias before the running statistics; x.where(c, y) is
# where(c, x, y)): binding them by pare's positions would be wrong, so they are not reached.
_DIFFERENT_SIGNATURES = {"torch.batch_norm", "torch.lstm", "Tensor.where"}

# Methods that return their input unchanged for inference.
_IDENTITY_METHODS = {"contiguous", "detach", "clone", "float"}

# Python values derived from shapes (x.size(0), x.shape[1] * 2) are folded into literals.
_STATIC_FUNCTIONS = {getattr, operator.getitem, operator.add, operator.sub, operator.mul,
                     operator.floordiv, operator.truediv, operator.neg, len}
_STATIC_METHODS = {"size", "dim"}


def _is_math_function(target):
    """math.sqrt and the like, which torch.fx records as calls (it wraps the math module): on
    numbers from shapes (an attention's sqrt(head_dim)) they fold like the functions above."""
    return getattr(target, "__module__", None) == "math"


def _resolve(spelling):
    """The object "torch.concat" or "operator.add" names, or None where this torch lacks it."""
    namespace, _, name = spelling.rpartition(".")
    owner = {"torch": torch, "operator": operator, "F": F, "Tensor": torch.Tensor}[namespace]
    return getattr(owner, name, None)


class _Definitions:
    """pare's definitions as the exporter uses them: which torch functions, methods and
    torch.nn layers reach which op or layer, and each op's signature."""

    def __init__(self, signatures, layers):
        self.signatures = signatures  # op name -> _Signature
        self.layers = layers  # the layers a file may declare (not Sequential: traced through)
        excluded = {_resolve(spelling) for spelling in _DIFFERENT_SIGNATURES} - {None}
        self.functions = {}
        for spelling, op in _FUNCTION_ALIASES.items():
            function = _resolve(spelling)
            if function is not None and op in signatures:
                self.functions[function] = op
        for op in signatures:
            # torch.nn.functional first: pare declares its signatures.
            for namespace in (F, torch):
                function = getattr(namespace, op, None)
                if callable(function) and function not in excluded:
                    self.functions.setdefault(function, op)
        self.methods = {name: op for name, op in _METHOD_ALIASES.items() if op in signatures}
        for op in signatures:
            if callable(getattr(torch.Tensor, op, None)) and \
                    f"Tensor.{op}" not in _DIFFERENT_SIGNATURES:
                self.methods.setdefault(op, op)

    def layer_of(self, module_type):
        """(pare's layer type, attribute converter) for a torch.nn layer type, or None.

        Exact torch.nn classes only: ReLU6 derives from Hardtanh, and a subclass of a layer may
        change forward(); a user class that merely shares a layer's name is not torch's."""
        name = module_type.__name__
        if getattr(nn, name, None) is not module_type or name not in self.layers:
            return None
        converter = _LAYER_CONVERTERS.get(name)
        if converter is None:
            converter = _same_named_attributes(self.layers[name]["attributes"])
        return name, converter

    def layer_names(self):
        return sorted(name for name in self.layers if getattr(nn, name, None) is not None)


class _Signature:
    """An op's declared parameters (torch.nn.functional's): positional ones by position,
    keyword-only ones by name; each a dict name, type, position (None: keyword-only), required,
    default."""

    def __init__(self, op):
        self.op = op["name"]
        self.params = [{"name": param["name"], "type": param["type"],
                        "position": param["position"], "required": bool(param["required"]),
                        "default": param.get("default")} for param in op["params"]]
        self.names = [param["name"] for param in self.params]
        self.by_name = {param["name"]: param for param in self.params}
        self.by_position = {param["position"]: param for param in self.params
                            if param["position"] is not None}
        self.positional_count = max(self.by_position, default=-1) + 1


_TENSOR_TYPES = {"Tensor", "Tensor?", "Tensor[]", "Tensor|Scalar"}


# ---- literal parameters by their declared type ----

def _pair(value, what):
    if isinstance(value, int) and not isinstance(value, bool):
        return [value, value]
    if not isinstance(value, (tuple, list)) or \
            not all(isinstance(item, int) and not isinstance(item, bool) for item in value):
        raise ExportError(f"{what}: expected one or two integers, got {value!r}")
    values = [int(item) for item in value]
    if len(values) == 1:
        return values * 2
    if len(values) != 2:
        raise ExportError(f"{what}: expected one or two integers, got {value}")
    return values


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _int_literal(value, what):
    if not _is_int(value):
        raise ExportError(f"{what}: expected an integer, got {value!r}")
    return int(value)


def _ints_literal(value, what):
    if _is_int(value):
        return int(value)
    if isinstance(value, (tuple, list)) and all(_is_int(item) for item in value):
        return [int(item) for item in value]
    raise ExportError(f"{what}: expected an integer or a list of integers, got {value!r}")


def _number_literal(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExportError(f"{what}: expected a number, got {value!r}")
    if not math.isfinite(value):
        raise ExportError(f"{what}: {value} cannot be written to JSON")
    return float(value)


def _bool_literal(value, what):
    if not isinstance(value, bool):
        raise ExportError(f"{what}: expected True or False, got {value!r}")
    return value


def _string_literal(value, what):
    if not isinstance(value, str):
        raise ExportError(f"{what}: expected a string, got {value!r}")
    return value


def _number_or_string_literal(value, what):
    return value if isinstance(value, str) else _number_literal(value, what)


def _no_dtype(value, what):
    if value is not None:
        raise ExportError(f"{what}: the dtype argument is not supported (got {value})")
    return None


def _optional(convert):
    # torch spells an absent int[2] as [] in places (torch.max_pool2d's stride).
    return lambda value, what: None if value is None or value == [] else convert(value, what)


# pare's literal parameter types (tools/ops_command.cpp prints them) -> the conversion of a
# Python value to the JSON literal pare reads; a type missing here fails the torch-free test.
_LITERAL_TYPES = {
    "int": _int_literal,
    "int?": _optional(_int_literal),
    "int[]": _ints_literal,
    "int[]?": _optional(_ints_literal),
    "int[2]": _pair,
    "int[2]?": _optional(_pair),
    "float": _number_literal,
    "float?": _optional(_number_literal),
    "float|str": _number_or_string_literal,
    "bool": _bool_literal,
    "str": _string_literal,
    "ScalarType?": _no_dtype,
    "Tensor|Scalar": _number_literal,  # the number side; a tensor is a positional argument
}


# ---- layers ----

def _same_named_attributes(names):
    """The converter of a layer whose attributes are torch's same-named attributes."""
    def convert(module, context):
        attributes = {}
        for name in names:
            if not hasattr(module, name):
                context.fail(f"pare's layer {type(module).__name__} declares the attribute "
                             f"'{name}', which the torch module lacks; the exporter needs a "
                             f"converter for it")
            attributes[name] = context.attribute_literal(name, getattr(module, name))
        return attributes
    return convert


def _linear(module, context):
    return {"in_features": module.in_features, "out_features": module.out_features,
            "bias": module.bias is not None}


def _conv2d(module, context):
    if module.padding_mode != "zeros":
        context.fail(f"Conv2d with padding_mode='{module.padding_mode}' is not supported "
                     f"(only 'zeros')")
    kernel = _pair(module.kernel_size, "kernel_size")
    dilation = _pair(module.dilation, "dilation")
    padding = module.padding
    if padding == "valid":
        padding = [0, 0]
    elif padding == "same":
        total = [d * (k - 1) for d, k in zip(dilation, kernel)]
        if any(t % 2 for t in total):
            context.fail("Conv2d padding='same' needs uneven padding here, which the format "
                         "cannot express")
        padding = [t // 2 for t in total]
    return {"in_channels": module.in_channels, "out_channels": module.out_channels,
            "kernel_size": kernel, "stride": _pair(module.stride, "stride"),
            "padding": _pair(padding, "padding"), "dilation": dilation, "groups": module.groups,
            "bias": module.bias is not None}


def _lstm(module, context):
    if module.bidirectional:
        context.fail("bidirectional LSTM is not supported")
    if getattr(module, "proj_size", 0):
        context.fail("LSTM with proj_size > 0 is not supported")
    if module.dropout:
        print(f"pare_export: warning: {context.label}: LSTM dropout={module.dropout} between "
              f"layers is not kept (it only matters in training)", file=sys.stderr)
    return {"input_size": module.input_size, "hidden_size": module.hidden_size,
            "num_layers": module.num_layers, "bias": bool(module.bias),
            "batch_first": bool(module.batch_first)}


def _layer_norm(module, context):
    return {"normalized_shape": list(module.normalized_shape), "eps": float(module.eps),
            "elementwise_affine": bool(module.elementwise_affine)}


def _batch_norm2d(module, context):
    if module.momentum is None:
        context.fail("BatchNorm2d with momentum=None (cumulative average) is not supported")
    return {"num_features": module.num_features, "eps": float(module.eps),
            "momentum": float(module.momentum), "affine": bool(module.affine),
            "track_running_stats": bool(module.track_running_stats)}


def _max_pool2d(module, context):
    if module.return_indices:
        context.fail("MaxPool2d with return_indices=True is not supported")
    kernel = _pair(module.kernel_size, "kernel_size")
    stride = kernel if module.stride is None else _pair(module.stride, "stride")
    return {"kernel_size": kernel, "stride": stride, "padding": _pair(module.padding, "padding"),
            "dilation": _pair(module.dilation, "dilation"), "ceil_mode": bool(module.ceil_mode)}


def _avg_pool2d(module, context):
    if module.divisor_override is not None:
        context.fail("AvgPool2d with divisor_override is not supported")
    kernel = _pair(module.kernel_size, "kernel_size")
    stride = kernel if module.stride is None else _pair(module.stride, "stride")
    return {"kernel_size": kernel, "stride": stride, "padding": _pair(module.padding, "padding"),
            "ceil_mode": bool(module.ceil_mode),
            "count_include_pad": bool(module.count_include_pad)}


def _adaptive_pool2d(module, context):
    if getattr(module, "return_indices", False):
        context.fail("AdaptiveMaxPool2d with return_indices=True is not supported")
    return {"output_size": context.adaptive_output_size(module.output_size)}


# The layers whose torch attributes differ from pare's (a bias tensor for a flag, a stride of
# None, sizes to complete, settings to refuse); every other layer pare defines converts by its
# attribute names.
_LAYER_CONVERTERS = {
    "Linear": _linear,
    "Conv2d": _conv2d,
    "LSTM": _lstm,
    "LayerNorm": _layer_norm,
    "BatchNorm2d": _batch_norm2d,
    "MaxPool2d": _max_pool2d,
    "AvgPool2d": _avg_pool2d,
    "AdaptiveAvgPool2d": _adaptive_pool2d,
    "AdaptiveMaxPool2d": _adaptive_pool2d,
}

# torch.nn layers pare has no layer for that are one call_function node: type name -> (op, the
# attribute passed on as the op's parameter of the same name).
_FUNCTION_MODULES = {
    "Softmax": ("softmax", "dim"),
    "LogSoftmax": ("log_softmax", "dim"),
}


def _function_module(module_type):
    name = module_type.__name__
    if getattr(nn, name, None) is not module_type:
        return None
    return _FUNCTION_MODULES.get(name)


def _describe_target(node):
    target = node.target
    if isinstance(target, str):
        return target
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__name__", repr(target))
    return f"{module}.{name}" if module else name


def _contains_tensor(value):
    if isinstance(value, torch.Tensor):
        return True
    if isinstance(value, (tuple, list)):
        return any(_contains_tensor(item) for item in value)
    if isinstance(value, dict):
        return any(_contains_tensor(item) for item in value.values())
    return False


class _Tracer(torch.fx.Tracer):
    """Keeps pare's layers whole; other torch.nn layers also stay whole, to be refused."""

    def __init__(self, definitions):
        super().__init__()
        self.definitions = definitions

    def is_leaf_module(self, module, qualified_name):
        module_type = type(module)
        if self.definitions.layer_of(module_type) or _function_module(module_type):
            return True
        return super().is_leaf_module(module, qualified_name)


class _Recorder(torch.fx.Interpreter):
    """Runs the traced graph once and keeps every node's value (shapes, shape-derived numbers)."""

    def __init__(self, graph_module):
        super().__init__(graph_module)
        self.values = {}

    def run_node(self, node):
        value = super().run_node(node)
        self.values[node] = value
        return value


class _NodeContext:
    """What a converter needs about the node it converts; fail() raises naming the node."""

    def __init__(self, converter, node):
        self.converter = converter
        self.node = node
        self.label = f"node '{node.name}' ({node.op} {_describe_target(node)})"

    def fail(self, message):
        raise ExportError(f"{self.label}: {message}")

    def input_value(self, index=0):
        return self.converter.value_of(self.node.args[index])

    def attribute_literal(self, name, value):
        """A layer attribute as its JSON literal: numbers, flags, strings, lists of integers."""
        if isinstance(value, (tuple, list, torch.Size)):
            if all(_is_int(item) for item in value):
                return [int(item) for item in value]
        elif value is None or isinstance(value, (bool, int, str)):
            return value
        elif isinstance(value, float):
            if math.isfinite(value):
                return value
        self.fail(f"the attribute {name}={value!r} cannot be written to a .pare file")

    def adaptive_output_size(self, output_size):
        sizes = list(output_size) if isinstance(output_size, (tuple, list)) else [output_size] * 2
        if len(sizes) == 1:
            sizes = sizes * 2
        if len(sizes) != 2:
            self.fail(f"output_size must have two entries, got {output_size}")
        if any(size is None for size in sizes):
            # None keeps the input's size: fixed here to the example's spatial size.
            spatial = list(self.input_value().shape[-2:])
            sizes = [spatial[i] if size is None else size for i, size in enumerate(sizes)]
        return [int(size) for size in sizes]


class _Converter:
    """Maps a traced torch.fx graph to the format's graph JSON and tensor list."""

    def __init__(self, traced, values, definitions):
        self.traced = traced
        self.definitions = definitions
        self.values = values
        self.nodes = []
        self.modules = {}
        self.inputs = []
        self.tensors = {}  # file name -> tensor
        # fx node -> ("node", format node name) or ("static", python value)
        self.env = {}
        self.used_names = {node.name for node in traced.graph.nodes}

    # -- helpers --

    def value_of(self, argument):
        if isinstance(argument, torch.fx.Node):
            return self.values[argument]
        return argument

    def fresh_name(self, base):
        candidate, counter = base, 1
        while candidate in self.used_names:
            candidate, counter = f"{base}_{counter}", counter + 1
        self.used_names.add(candidate)
        return candidate

    def emit(self, name, op, target, args=(), kwargs=None):
        entry = {"name": name, "op": op, "target": target}
        if args:
            entry["args"] = list(args)
        if kwargs:
            entry["kwargs"] = dict(kwargs)
        self.nodes.append(entry)
        return {"node": name}

    def literal(self, value, context):
        """A JSON literal for a Python argument (fx nodes resolved through env)."""
        if isinstance(value, torch.fx.Node):
            kind, held = self.env[value]
            return {"node": held} if kind == "node" else self.literal(held, context)
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                context.fail(f"the argument {value} cannot be written to JSON")
            return value
        if isinstance(value, (tuple, list, torch.Size)):
            return [self.literal(item, context) for item in value]
        context.fail(f"the argument {value!r} ({type(value).__name__}) cannot be written")

    def tensor_ref(self, argument, context, what="the input"):
        if not isinstance(argument, torch.fx.Node) or self.env[argument][0] != "node":
            context.fail(f"{what} must be a tensor computed by the graph, got {argument!r}")
        return {"node": self.env[argument][1]}

    def static(self, argument):
        """The Python value of a literal or a folded shape-derived node."""
        if isinstance(argument, torch.fx.Node):
            kind, held = self.env[argument]
            return held if kind == "static" else None
        if isinstance(argument, (tuple, list)):
            return type(argument)(self.static(item) for item in argument)
        return argument

    # -- the graph --

    def convert(self):
        for node in self.traced.graph.nodes:
            context = _NodeContext(self, node)
            handler = getattr(self, f"_on_{node.op}")
            handler(node, context)
        return {"inputs": self.inputs, "modules": self.modules, "nodes": self.nodes}

    def _on_placeholder(self, node, context):
        value = self.values[node]
        if not isinstance(value, torch.Tensor):
            context.fail(f"inputs must be tensors, got {type(value).__name__}")
        target = node.target
        if not target.isidentifier():
            context.fail(f"the input '{target}' must be a plain named argument")
        # fx renames arguments such as `input`; the file keeps the Python argument name.
        name = target if target == node.name or target not in self.used_names else node.name
        self.used_names.add(name)
        dtype = _DTYPE_NAMES[_file_dtype(target, value.dtype)]
        self.inputs.append({"name": name, "shape": list(value.shape), "dtype": dtype})
        self.env[node] = ("node", name)
        self.emit(name, "placeholder", name)

    def _on_get_attr(self, node, context):
        value = self.values[node]
        if not isinstance(value, torch.Tensor):
            context.fail(f"get_attr must read a tensor, got {type(value).__name__}")
        self.tensors.setdefault(node.target, value)
        self.env[node] = ("node", node.name)
        self.emit(node.name, "get_attr", node.target)

    def _on_output(self, node, context):
        def reference(argument):
            if isinstance(argument, (tuple, list)):
                return [reference(item) for item in argument]
            return self.tensor_ref(argument, context, "every output")
        self.emit(node.name, "output", "output", [reference(node.args[0])])

    def _on_call_module(self, node, context):
        module = self.traced.get_submodule(node.target)
        module_type = type(module)
        as_function = _function_module(module_type)
        if as_function is not None:
            target, attribute = as_function
            kwargs = {attribute: getattr(module, attribute)}
            if kwargs[attribute] is None:
                context.fail(f"{module_type.__name__} needs an explicit {attribute}")
            self.expect_args(node, context, 1)
            self.env[node] = ("node", node.name)
            self.emit(node.name, "call_function", target,
                      [self.tensor_ref(node.args[0], context)], kwargs)
            return
        layer = self.definitions.layer_of(module_type)
        if layer is None:
            context.fail(f"module type {module_type.__module__}.{module_type.__name__} is not in "
                         f"the .pare module table (supported: "
                         f"{', '.join(self.definitions.layer_names())})")
        type_name, attributes = layer
        if module_type is nn.LSTM:
            args = self.lstm_args(node, context)
        else:
            self.expect_args(node, context, 1)
            args = [self.tensor_ref(node.args[0], context)]
        if node.target not in self.modules:
            self.modules[node.target] = {"type": type_name, **attributes(module, context)}
            for key, tensor in module.state_dict(prefix=node.target + ".").items():
                self.tensors[key] = tensor
        self.env[node] = ("node", node.name)
        self.emit(node.name, "call_module", node.target, args)

    def expect_args(self, node, context, count):
        if len(node.args) != count or node.kwargs:
            context.fail(f"expected {count} positional argument(s), got args={node.args} "
                         f"kwargs={dict(node.kwargs)}")

    def lstm_args(self, node, context):
        arguments = list(node.args)
        state = node.kwargs.get("hx")
        if set(node.kwargs) - {"hx", "input"} or len(arguments) > 2:
            context.fail(f"LSTM takes (input, (h_0, c_0)), got args={node.args} "
                         f"kwargs={dict(node.kwargs)}")
        if "input" in node.kwargs:
            arguments.insert(0, node.kwargs["input"])
        if len(arguments) == 2:
            state = arguments[1]
        args = [self.tensor_ref(arguments[0], context)]
        if state is None:
            return args
        if isinstance(state, torch.fx.Node) and isinstance(self.values[state], tuple):
            # The (h_n, c_n) of another LSTM, passed on whole.
            args.append(self.tensor_ref(state, context, "the state"))
        elif isinstance(state, (tuple, list)) and len(state) == 2:
            args.append([self.tensor_ref(item, context, "h_0 and c_0") for item in state])
        else:
            context.fail("the LSTM state must be a pair (h_0, c_0) of tensors")
        return args

    def _on_call_function(self, node, context):
        target = self.definitions.functions.get(node.target)
        foldable = node.target in _STATIC_FUNCTIONS
        if _is_math_function(node.target):
            if self.refers_to_tensor(list(node.args) + list(node.kwargs.values())):
                context.fail(f"math.{node.target.__name__} of a tensor reads its value, which "
                             f"the graph cannot record; use torch.{node.target.__name__}")
            foldable = True
        if self.try_fold(node, context, foldable):
            return
        if target is None:
            context.fail("this function is not supported by the .pare format (`pare ops` lists "
                         "the ops it holds)")
        self.convert_call(node, context, target, list(node.args), dict(node.kwargs))

    def _on_call_method(self, node, context):
        if self.try_fold(node, context, node.target in _STATIC_METHODS):
            return
        if node.target in _IDENTITY_METHODS:
            self.expect_args(node, context, 1)
            source = self.values[node.args[0]]
            if node.target == "float" and source.dtype != torch.float32:
                context.fail(f"converts {source.dtype} to float32, which the format cannot record")
            self.env[node] = self.env[node.args[0]]
            return
        target = self.definitions.methods.get(node.target)
        if target is None:
            context.fail(f"the tensor method '{node.target}' is not supported by the .pare format "
                         f"(`pare ops` lists the ops it holds)")
        self.convert_call(node, context, target, list(node.args), dict(node.kwargs))

    def try_fold(self, node, context, foldable):
        """Folds a node whose value is a Python number/shape; refuses other non-tensor values."""
        if _contains_tensor(self.values[node]):
            return False
        if not foldable:
            context.fail(f"produces {type(self.values[node]).__name__} "
                         f"{self.values[node]!r}, which cannot be folded into a constant")
        value = self.values[node]
        self.env[node] = ("static", tuple(value) if isinstance(value, torch.Size) else value)
        return True

    # -- call_function / call_method --

    def convert_call(self, node, context, target, args, kwargs):
        special = getattr(self, f"_call_{target}", None)
        self.env[node] = ("node", node.name)
        if special is not None:
            special(node, context, args, kwargs)
            return
        signature = self.definitions.signatures[target]
        tensors, literals = self.bind(context, signature, args, kwargs)
        normalise = getattr(self, f"_normalise_{target}", None)
        if normalise is not None:
            normalise(node, context, literals)
        params = {}
        for name, value in literals.items():
            param = signature.by_name[name]
            kind = param["type"]
            if value is None and not param["required"] and param["default"] is None:
                params[name] = None  # pare's own default, whatever the type says
                continue
            try:
                params[name] = _LITERAL_TYPES[kind](value, f"argument '{name}'")
            except KeyError:
                context.fail(f"argument '{name}' has the type {kind}, which this exporter cannot "
                             f"write; it needs a conversion in _LITERAL_TYPES")
            except ExportError as error:
                context.fail(str(error))
        self.emit(node.name, "call_function", target, tensors, params)

    def bind(self, context, signature, args, kwargs):
        """(tensor refs in positional order, {literal parameter: Python value} with pare's
        defaults) for a call bound by the op's declared parameters."""
        bound = {}
        for index, argument in enumerate(args):
            param = signature.by_position.get(index)
            if param is None:
                if index >= signature.positional_count:
                    context.fail(f"takes at most {signature.positional_count} positional "
                                 f"arguments, got {len(args)}")
                context.fail(f"positional argument {index} is not a parameter pare declares for "
                             f"{signature.op} ({', '.join(signature.names)}); pass it by keyword")
            bound[param["name"]] = argument
        for key, value in kwargs.items():
            if key in _IGNORED:
                continue
            if key not in signature.by_name:
                context.fail(f"unknown keyword argument '{key}' (expected "
                             f"{', '.join(signature.names)})")
            if key in bound:
                context.fail(f"argument '{key}' given twice")
            bound[key] = value
        tensors = []
        literals = {}
        for param in signature.params:
            name, kind = param["name"], param["type"]
            if name in bound:
                value = bound[name]
            elif param["required"]:
                context.fail(f"missing argument '{name}'")
            else:
                value = param["default"]
            if name in _IGNORED:
                continue
            if kind == "Tensor[]":
                if not isinstance(value, (tuple, list)) or not value:
                    context.fail(f"argument '{name}' must be a list of tensors, got {value!r}")
                tensors.append([self.tensor_ref(item, context, f"every entry of '{name}'")
                                for item in value])
            elif kind == "Tensor?" and value is None:
                tensors.append(None)
            elif kind in ("Tensor", "Tensor?") or (kind == "Tensor|Scalar" and
                                                   self.is_tensor(value)):
                tensors.append(self.tensor_ref(value, context, f"argument '{name}'"))
            elif self.refers_to_tensor(value):
                context.fail(f"argument '{name}' must be a constant, got the tensor {value!r}")
            else:
                literals[name] = self.static(value)
        while tensors and tensors[-1] is None:
            tensors.pop()
        return tensors, literals

    # Normalisers see the bound Python values, before their conversion by declared type.
    def _normalise_max_pool2d(self, node, context, params):
        if params.pop("return_indices"):
            context.fail("return_indices=True is not supported")
        self.normalise_pool(params)

    def _normalise_avg_pool2d(self, node, context, params):
        if params.pop("divisor_override") is not None:
            context.fail("divisor_override is not supported")
        self.normalise_pool(params)

    def normalise_pool(self, params):
        # torch's stride=None (F) or [] (torch.max_pool2d) is the kernel size.
        if params["stride"] is None or params["stride"] == []:
            params["stride"] = params["kernel_size"]

    def _normalise_adaptive_avg_pool2d(self, node, context, params):
        params["output_size"] = context.adaptive_output_size(params["output_size"])

    def _normalise_adaptive_max_pool2d(self, node, context, params):
        if params.pop("return_indices"):
            context.fail("return_indices=True is not supported")
        self._normalise_adaptive_avg_pool2d(node, context, params)

    def _normalise_softmax(self, node, context, params):
        if params.pop("dtype") is not None:
            context.fail("the dtype argument is not supported")
        if params["dim"] is None:
            context.fail("needs an explicit dim")

    _normalise_log_softmax = _normalise_softmax

    def _normalise_conv2d(self, node, context, params):
        if isinstance(params["padding"], str):
            context.fail(f"padding='{params['padding']}' is not supported; give the numbers")

    def _normalise_squeeze(self, node, context, params):
        if params["dim"] is None:
            del params["dim"]
        elif isinstance(params["dim"], list):
            context.fail("squeezing several dims at once is not supported")

    # Arithmetic: a number operand becomes the kwarg `other`; a number first swaps add/mul and
    # writes sub/div with the number in args[0].
    def arithmetic(self, node, context, target, args, kwargs):
        if "input" in kwargs:
            args.insert(0, kwargs.pop("input"))
        if "other" in kwargs:
            args.append(kwargs.pop("other"))
        alpha = kwargs.pop("alpha", 1)
        if kwargs or len(args) != 2:
            context.fail(f"expected two operands, got args={node.args} kwargs={dict(node.kwargs)}")
        first, second = args
        first_is_tensor = self.is_tensor(first)
        second_is_tensor = self.is_tensor(second)
        extra = {}
        if alpha != 1:
            if target not in ("add", "sub"):
                context.fail("alpha is only supported for add and sub")
            extra["alpha"] = self.literal(self.static(alpha), context)
        if first_is_tensor and second_is_tensor:
            operands = [self.tensor_ref(first, context), self.tensor_ref(second, context)]
            self.emit(node.name, "call_function", target, operands, extra)
        elif first_is_tensor:
            other = self.number(second, context)
            self.emit(node.name, "call_function", target, [self.tensor_ref(first, context)],
                      {"other": other, **extra})
        elif second_is_tensor:
            number = self.number(first, context)
            if target in ("add", "mul"):
                self.emit(node.name, "call_function", target, [self.tensor_ref(second, context)],
                          {"other": number, **extra})
            else:
                self.emit(node.name, "call_function", target,
                          [number, self.tensor_ref(second, context)], extra)
        else:
            context.fail("expected at least one tensor operand")

    def _call_add(self, node, context, args, kwargs):
        self.arithmetic(node, context, "add", args, kwargs)

    def _call_sub(self, node, context, args, kwargs):
        self.arithmetic(node, context, "sub", args, kwargs)

    def _call_mul(self, node, context, args, kwargs):
        self.arithmetic(node, context, "mul", args, kwargs)

    def _call_div(self, node, context, args, kwargs):
        if kwargs.pop("rounding_mode", None) is not None:
            context.fail("div with a rounding_mode is not supported")
        self.arithmetic(node, context, "div", args, kwargs)

    def refers_to_tensor(self, argument):
        if isinstance(argument, (tuple, list)):
            return any(self.refers_to_tensor(item) for item in argument)
        if isinstance(argument, slice):
            return any(self.refers_to_tensor(part)
                       for part in (argument.start, argument.stop, argument.step))
        return self.is_tensor(argument)

    def is_tensor(self, argument):
        return isinstance(argument, torch.fx.Node) and self.env[argument][0] == "node"

    def number(self, argument, context):
        value = self.static(argument)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            context.fail(f"expected a tensor or a number operand, got {argument!r}")
        return self.literal(value, context)

    def _call_cat(self, node, context, args, kwargs):
        tensors = args[0] if args else kwargs.pop("tensors", None)
        dim = args[1] if len(args) > 1 else kwargs.pop("dim", 0)
        if len(args) > 2 or set(kwargs) - {"dim", "tensors"}:
            context.fail(f"expected (tensors, dim), got args={node.args} "
                         f"kwargs={dict(node.kwargs)}")
        if not isinstance(tensors, (tuple, list)) or not tensors:
            context.fail("expected a list of tensors")
        references = [self.tensor_ref(item, context, "every concatenated value")
                      for item in tensors]
        self.emit(node.name, "call_function", "cat", [references],
                  {"dim": self.literal(self.static(dim), context)})

    def _call_reshape(self, node, context, args, kwargs):
        shape = kwargs.pop("shape", kwargs.pop("size", None))
        if kwargs:
            context.fail(f"unknown keyword arguments {sorted(kwargs)}")
        if shape is None:
            shape = args[1] if len(args) == 2 and isinstance(args[1], (tuple, list)) else args[1:]
        if isinstance(shape, torch.fx.Node) and self.env[shape][0] == "static":
            shape = self.env[shape][1]
        if not isinstance(shape, (tuple, list)):
            shape = [shape]
        output_shape = list(self.values[node].shape)
        # Shape-derived entries are frozen to the example's output size, except that a folded
        # leading entry (x.view(x.size(0), -1)) becomes -1, the others concrete, so that the
        # batch may change.
        resolved = []
        for index, entry in enumerate(shape):
            if isinstance(entry, torch.fx.Node):
                if self.env[entry][0] != "static":
                    context.fail("the shape must be numbers or sizes of tensors")
                resolved.append(output_shape[index])
            elif isinstance(entry, int):
                resolved.append(entry)
            else:
                context.fail(f"the shape entry {entry!r} is not an integer")
        if shape and isinstance(shape[0], torch.fx.Node):
            resolved = [-1] + output_shape[1:]
        self.emit(node.name, "call_function", "reshape", [self.tensor_ref(args[0], context)],
                  {"shape": resolved})

    _call_view = _call_reshape

    def _call_permute(self, node, context, args, kwargs):
        dims = kwargs.pop("dims", None)
        if kwargs:
            context.fail(f"unknown keyword arguments {sorted(kwargs)}")
        if dims is None:
            dims = args[1] if len(args) == 2 and isinstance(args[1], (tuple, list)) else args[1:]
        self.emit(node.name, "call_function", "permute", [self.tensor_ref(args[0], context)],
                  {"dims": self.literal(self.static(list(dims)), context)})

    def _call_getitem(self, node, context, args, kwargs):
        source, index = args
        source_value = self.values[source]
        if self.refers_to_tensor(index):
            context.fail("indexing with a tensor is not supported")
        index = self.static(index)
        if isinstance(source_value, (tuple, list)):
            if not isinstance(index, int):
                context.fail(f"a tuple can only be indexed with an integer, got {index!r}")
            self.emit(node.name, "call_function", "getitem",
                      [self.tensor_ref(source, context, "the indexed value"), index])
            return
        if not isinstance(source_value, torch.Tensor):
            context.fail(f"cannot index {type(source_value).__name__}")
        self.index_tensor(node, context, source, source_value.dim(), index)

    def index_tensor(self, node, context, source, rank, index):
        """x[:, -1], x[..., 1:3], x[None]: a chain of select/slice/unsqueeze nodes."""
        entries = list(index) if isinstance(index, tuple) else [index]
        for entry in entries:
            if not (entry is None or entry is Ellipsis or isinstance(entry, slice)
                    or (isinstance(entry, int) and not isinstance(entry, bool))):
                context.fail(f"indexing with {entry!r} is not supported (only integers, slices, "
                             f"None and ...)")
        if sum(entry is Ellipsis for entry in entries) > 1:
            context.fail("an index may hold at most one ...")
        consumed = sum(1 for entry in entries if entry is not None and entry is not Ellipsis)
        if consumed > rank:
            context.fail(f"too many indices for a tensor of {rank} dimensions")
        steps = []
        dim = 0
        for entry in entries:
            if entry is Ellipsis:
                dim += rank - consumed
            elif entry is None:
                steps.append(("unsqueeze", {"dim": dim}))
                dim += 1
            elif isinstance(entry, int):
                steps.append(("select", {"dim": dim, "index": entry}))
            else:
                start, stop, step = entry.start, entry.stop, entry.step
                start, stop, step = self.static(start), self.static(stop), self.static(step)
                if (start, stop, step) != (None, None, None):
                    kwargs = {"dim": dim, "start": 0 if start is None else start}
                    if stop is not None:
                        kwargs["end"] = stop
                    kwargs["step"] = 1 if step is None else step
                    for key, value in kwargs.items():
                        if not isinstance(value, int):
                            context.fail(f"slice {key} must be an integer, got {value!r}")
                    steps.append(("slice", kwargs))
                dim += 1
        if not steps:
            self.env[node] = self.env[source]
            return
        current = self.tensor_ref(source, context)
        for position, (target, kwargs) in enumerate(steps):
            last = position == len(steps) - 1
            name = node.name if last else self.fresh_name(f"{node.name}_{target}")
            current = self.emit(name, "call_function", target, [current], kwargs)


def _refuse_mutations(graph_module, definitions):
    """torch.fx does not record in-place updates: refuse the graphs where one would be lost."""
    position = {node: index for index, node in enumerate(graph_module.graph.nodes)}
    for node in graph_module.graph.nodes:
        label = f"node '{node.name}' ({node.op} {_describe_target(node)})"
        name = node.target if node.op == "call_method" else getattr(node.target, "__name__", "")
        if node.op in ("call_method", "call_function") and name.endswith("_") and \
                not name.endswith("__"):
            raise ExportError(f"{label}: the in-place operation '{name}' is not supported "
                              f"(torch.fx does not record the mutation); write "
                              f"x = x.{name[:-1]}(...) instead")
        in_place = node.kwargs.get("inplace") is True
        target = definitions.functions.get(node.target) if node.op == "call_function" else None
        signature = definitions.signatures.get(target)
        flag = signature.by_name.get("inplace") if signature else None
        if flag is not None and flag["position"] is not None:
            position_of_flag = flag["position"]
            in_place = in_place or (len(node.args) > position_of_flag and
                                    node.args[position_of_flag] is True)
        if node.op == "call_module":
            in_place = getattr(graph_module.get_submodule(node.target), "inplace", False) is True
        if not in_place or not node.args or not isinstance(node.args[0], torch.fx.Node):
            continue
        source = node.args[0]
        for user in source.users:
            if position[user] > position[node]:
                raise ExportError(f"{label} overwrites '{source.name}' in place, which node "
                                  f"'{user.name}' reads afterwards; torch.fx does not record "
                                  f"the mutation: use inplace=False")


def _tensors_in_state_dict_order(model, tensors):
    """The file's tensors, in the model's state_dict order where it has them."""
    ordered = {}
    for key in model.state_dict().keys():
        if key in tensors:
            ordered[key] = tensors[key]
    for key, tensor in tensors.items():
        ordered.setdefault(key, tensor)
    return ordered


def to_pare(model, example_inputs, pare=None):
    """(graph dict, {tensor name: tensor}) for `model` traced with `example_inputs`; `pare` is
    the pare binary whose definitions to follow (default: find_pare()'s search)."""
    definitions = pare_definitions(pare)
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    example_inputs = tuple(example_inputs)
    _patch_fx_for_python311()
    was_training = model.training
    model.eval()
    try:
        try:
            graph = _Tracer(definitions).trace(model)
        except ExportError:
            raise
        except Exception as error:
            raise ExportError(f"torch.fx could not trace {type(model).__name__}: "
                              f"{type(error).__name__}: {error}") from error
        traced = torch.fx.GraphModule(model, graph)
        _refuse_mutations(traced, definitions)
        traced.graph.eliminate_dead_code()
        traced.recompile()
        placeholders = [node for node in traced.graph.nodes if node.op == "placeholder"]
        if len(placeholders) != len(example_inputs):
            raise ExportError(f"forward() takes {len(placeholders)} input(s) "
                              f"({', '.join(node.target for node in placeholders)}), "
                              f"got {len(example_inputs)} example input(s)")
        recorder = _Recorder(traced)
        try:
            with torch.no_grad():
                recorder.run(*example_inputs)
        except Exception as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise ExportError(f"running the traced model on the example inputs "
                              f"{[tuple(getattr(x, 'shape', ())) for x in example_inputs]} failed: "
                              f"{type(error).__name__}: {first_line}") from error
        converter = _Converter(traced, recorder.values, definitions)
        graph_json = converter.convert()
        tensors = _tensors_in_state_dict_order(model, converter.tensors)
    finally:
        model.train(was_training)
    return graph_json, tensors


def export(model, example_inputs, path, pare=None):
    """Writes `model` (traced with `example_inputs`) to the .pare file `path`; returns the graph.
    `pare`: the pare binary whose definitions to follow, as in to_pare()."""
    graph_json, tensors = to_pare(model, example_inputs, pare)
    metadata = {"format": "pare", "pare.version": FORMAT_VERSION,
                "pare.graph": json.dumps(graph_json, separators=(",", ":"), allow_nan=False)}
    write_safetensors(path, tensors, metadata)
    return graph_json


# ---- command line ----

def _load_factory(spec):
    location, separator, attribute = spec.rpartition(":")
    if not separator or not location or not attribute:
        raise ExportError(f"expected MODULE:FACTORY (models.py:make_net or pkg.models:Net), "
                          f"got '{spec}'")
    if location.endswith(".py") or os.sep in location:
        path = os.path.abspath(location)
        if not os.path.isfile(path):
            raise ExportError(f"{location}: no such file")
        sys.path.insert(0, os.path.dirname(path))
        module_spec = importlib.util.spec_from_file_location(
            os.path.splitext(os.path.basename(path))[0], path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        sys.path.insert(0, os.getcwd())
        module = importlib.import_module(location)
    factory = module
    for part in attribute.split("."):
        if not hasattr(factory, part):
            raise ExportError(f"{location} has no attribute '{attribute}'")
        factory = getattr(factory, part)
    return factory


def _parse_shape(text):
    try:
        shape = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got '{text}'")
    if not shape or any(size < 0 for size in shape):
        raise argparse.ArgumentTypeError(f"expected non-negative sizes, got '{text}'")
    return shape


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="pare_export.py",
        description="Export a torch.fx-traceable torch.nn.Module to a .pare file.")
    parser.add_argument("factory", help="MODULE:FACTORY, e.g. models.py:make_net or "
                        "pkg.models:Net; called with no arguments, it returns the model")
    parser.add_argument("-o", "--output", required=True, help="the .pare file to write")
    parser.add_argument("--input-shape", action="append", type=_parse_shape, required=True,
                        metavar="N,C,H,W", help="shape of one example input (repeat for several)")
    parser.add_argument("--weights", help="a state_dict saved with torch.save, loaded strictly")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random example inputs")
    parser.add_argument("--pare", metavar="PATH", help="the pare binary whose op and layer "
                        "definitions to follow (default: $PARE_BIN, a pare beside this script, "
                        "build/tools/pare, pare on PATH)")
    args = parser.parse_args(argv)
    try:
        model = _load_factory(args.factory)()
        if not isinstance(model, nn.Module):
            raise ExportError(f"{args.factory} returned {type(model).__name__}, not a "
                              f"torch.nn.Module")
        if args.weights:
            state = torch.load(args.weights, map_location="cpu")
            if not isinstance(state, dict):
                raise ExportError(f"{args.weights}: expected a state_dict, got "
                                  f"{type(state).__name__}")
            model.load_state_dict(state)
        generator = torch.Generator().manual_seed(args.seed)
        inputs = [torch.randn(shape, generator=generator) for shape in args.input_shape]
        graph = export(model, inputs, args.output, pare=args.pare)
    except (ExportError, OSError, RuntimeError) as error:
        print(f"pare_export: error: {error}", file=sys.stderr)
        return 1
    calls = sum(node["op"] in ("call_module", "call_function") for node in graph["nodes"])
    print(f"wrote {args.output}: {len(graph['modules'])} modules, {calls} operations, "
          f"{os.path.getsize(args.output)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
