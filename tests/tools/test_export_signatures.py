#!/usr/bin/env python3
"""tools/pare_export.py's signatures against pare's op definitions (`pare ops --json`), without
torch: the exporter binds torch's positional and keyword arguments by its own table of torch
signatures and writes them as the node's keyword arguments, so every parameter it writes must be
one pare declares, at the same position, with the same default.

    PARE_BIN=build/tools/pare python3 tests/tools/test_export_signatures.py

Parameters the exporter never writes (its _IGNORED set: inplace, _stacklevel) need not be
declared by pare; a parameter pare declares keyword-only may sit anywhere in torch's signature.
"""

import ast
import json
import math
import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPORTER = os.path.join(REPO_ROOT, "tools", "pare_export.py")

REQUIRED = object()


class Signature:
    """The exporter's _Signature: leading tensor count, then (name, default) pairs."""

    def __init__(self, tensors, *params):
        self.tensors = tensors
        self.params = params


def exporter_tables():
    """_SIGNATURES and _IGNORED, evaluated from the exporter's source (it imports torch)."""
    tree = ast.parse(open(EXPORTER, encoding="utf-8").read(), EXPORTER)
    values = {}
    for statement in tree.body:
        if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
            continue
        name = getattr(statement.targets[0], "id", None)
        if name in ("_SIGNATURES", "_IGNORED"):
            code = compile(ast.Expression(statement.value), EXPORTER, "eval")
            values[name] = eval(code, {"_Signature": Signature, "_REQUIRED": REQUIRED})
    missing = {"_SIGNATURES", "_IGNORED"} - values.keys()
    if missing:
        sys.exit(f"FAIL: {EXPORTER} defines no {', '.join(sorted(missing))}")
    return values["_SIGNATURES"], values["_IGNORED"]


def same_default(exporter_default, declared):
    if exporter_default is REQUIRED:
        return declared["required"]
    if declared["required"]:
        return False
    pare_default = declared.get("default")
    if isinstance(exporter_default, bool) or isinstance(pare_default, bool):
        return exporter_default is pare_default or exporter_default == pare_default and \
            type(exporter_default) is type(pare_default)
    if isinstance(exporter_default, (int, float)) and isinstance(pare_default, (int, float)):
        return math.isclose(exporter_default, pare_default, rel_tol=1e-12)
    return exporter_default == pare_default


def check(signatures, ignored, definitions):
    problems = []
    for target, signature in sorted(signatures.items()):
        definition = definitions.get(target)
        if definition is None:
            problems.append(f"{target}: the exporter writes it, but pare has no such op")
            continue
        declared = {param["name"]: param for param in definition["params"]}
        tensors = [param for param in definition["params"]
                   if param["type"] == "Tensor" and param["position"] is not None]
        leading = [param for param in tensors if param["position"] < signature.tensors]
        if len(leading) != signature.tensors:
            problems.append(f"{target}: the exporter takes {signature.tensors} leading tensor(s), "
                            f"pare declares {len(leading)}")
        for offset, (name, default) in enumerate(signature.params):
            if name in ignored:
                continue
            position = signature.tensors + offset
            param = declared.get(name)
            if param is None:
                problems.append(f"{target}: the exporter writes '{name}', pare does not declare it")
                continue
            if param["position"] is not None and param["position"] != position:
                problems.append(f"{target}: '{name}' is at position {position} in the exporter, "
                                f"{param['position']} in pare")
            if not same_default(default, param):
                shown = "required" if default is REQUIRED else repr(default)
                pare_shown = "required" if param["required"] else repr(param.get("default"))
                problems.append(f"{target}: '{name}' defaults to {shown} in the exporter, "
                                f"{pare_shown} in pare")
    return problems


def main():
    pare = os.environ.get("PARE_BIN")
    if not pare:
        sys.exit("FAIL: set PARE_BIN to the pare binary")
    dump = subprocess.run([pare, "ops", "--json"], capture_output=True, text=True, check=True)
    definitions = {op["name"]: op for op in json.loads(dump.stdout)["ops"]}
    signatures, ignored = exporter_tables()
    problems = check(signatures, ignored, definitions)
    # The check itself must be able to fail: a signature with a wrong default and a wrong position.
    wrong = {"max_pool2d": Signature(1, ("kernel_size", REQUIRED), ("padding", 1))}
    if not any("padding" in problem for problem in check(wrong, ignored, definitions)):
        problems.append("self-check: a wrong position and default were not reported")
    for problem in problems:
        print("FAIL:", problem)
    print(f"{len(signatures)} exporter signatures checked against {len(definitions)} op "
          f"definitions: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
