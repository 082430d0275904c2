#!/usr/bin/env python3
"""What tools/pare_export.py still knows by hand, against pare's definitions (`pare ops --json`),
without torch. The exporter reads ops, signatures and layers from pare at export time; what it
keeps itself must name things pare defines, or it is dead or wrong:

- its aliases (torch.concat -> cat, operator.add -> add, ...) and the torch callables it keeps
  away from an op of the same name (torch.batch_norm) name ops pare defines;
- its special converters (_Converter._call_X, _normalise_X) name ops pare defines, and every
  parameter a normaliser reads is one the op declares;
- its hand-written layer converters name layers a file may declare, and write exactly those
  layers' attributes; the torch layers it writes as functions (Softmax) are not pare layers and
  reach ops declaring the attribute they pass;
- the arguments it drops unwritten (inplace, _stacklevel) are optional wherever pare declares
  them, so that dropping one leaves pare's default;
- it can write every parameter type pare declares.

    PARE_BIN=build/tools/pare python3 tests/tools/test_export_definitions.py
"""

import ast
import json
import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPORTER = os.path.join(REPO_ROOT, "tools", "pare_export.py")
NAMESPACES = {"torch", "operator", "F", "Tensor"}  # what the exporter's _resolve() knows


class Exporter:
    """The exporter's hand-kept tables, read from its source (it imports torch)."""

    def __init__(self, source):
        tree = ast.parse(source, EXPORTER)
        assignments = {}
        self.functions = {}
        self.converter_methods = {}
        for statement in tree.body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
                    isinstance(statement.targets[0], ast.Name):
                assignments[statement.targets[0].id] = statement.value
            elif isinstance(statement, ast.FunctionDef):
                self.functions[statement.name] = statement
            elif isinstance(statement, ast.ClassDef) and statement.name == "_Converter":
                for item in statement.body:
                    if isinstance(item, ast.FunctionDef):
                        self.converter_methods[item.name] = item
                    elif isinstance(item, ast.Assign) and isinstance(item.value, ast.Name):
                        for target in item.targets:  # _normalise_log_softmax = _normalise_...
                            self.converter_methods[target.id] = \
                                self.converter_methods[item.value.id]

        def literal(name):
            if name not in assignments:
                sys.exit(f"FAIL: {EXPORTER} defines no {name}")
            return ast.literal_eval(assignments[name])

        def dict_keys(name):
            if name not in assignments or not isinstance(assignments[name], ast.Dict):
                sys.exit(f"FAIL: {EXPORTER} defines no dict {name}")
            return assignments[name]

        self.function_aliases = literal("_FUNCTION_ALIASES")
        self.method_aliases = literal("_METHOD_ALIASES")
        self.different_signatures = literal("_DIFFERENT_SIGNATURES")
        self.ignored = literal("_IGNORED")
        self.function_modules = literal("_FUNCTION_MODULES")
        self.tensor_types = literal("_TENSOR_TYPES")
        table = dict_keys("_LITERAL_TYPES")
        self.literal_types = {ast.literal_eval(key) for key in table.keys}
        table = dict_keys("_LAYER_CONVERTERS")
        self.layer_converters = {ast.literal_eval(key): value.id
                                 for key, value in zip(table.keys, table.values)}

    def special_converters(self):
        """{op: method name} for _call_X and _normalise_X."""
        found = {}
        for name in self.converter_methods:
            for prefix in ("_call_", "_normalise_"):
                if name.startswith(prefix):
                    found[name] = name[len(prefix):]
        return found

    def params_read(self, method):
        """The string keys a normaliser reads from its `params`: params["x"], params.pop("x")."""
        names = set()
        for node in ast.walk(self.converter_methods[method]):
            if isinstance(node, ast.Subscript) and getattr(node.value, "id", None) == "params" \
                    and isinstance(node.slice, ast.Constant):
                names.add(node.slice.value)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    getattr(node.func.value, "id", None) == "params" and node.args and \
                    isinstance(node.args[0], ast.Constant):
                names.add(node.args[0].value)
        return names

    def written_attributes(self, function):
        """The keys of the dicts a layer converter returns, or None when it returns no literal."""
        keys = set()
        returns = [node for node in ast.walk(self.functions[function])
                   if isinstance(node, ast.Return) and isinstance(node.value, ast.Dict)]
        for node in returns:
            keys |= {ast.literal_eval(key) for key in node.value.keys}
        return keys if returns else None


def check(exporter, ops, layers):
    problems = []
    for table, spellings in (("_FUNCTION_ALIASES", exporter.function_aliases),
                             ("_METHOD_ALIASES", {f"Tensor.{name}": op for name, op
                                                  in exporter.method_aliases.items()})):
        for spelling, op in sorted(spellings.items()):
            if spelling.rpartition(".")[0] not in NAMESPACES:
                problems.append(f"{table}: '{spelling}' is not in a namespace the exporter "
                                f"resolves ({', '.join(sorted(NAMESPACES))})")
            if op not in ops:
                problems.append(f"{table}: '{spelling}' -> '{op}', which pare does not define")
    for spelling in sorted(exporter.different_signatures):
        namespace, _, name = spelling.rpartition(".")
        if namespace not in NAMESPACES or name not in ops:
            problems.append(f"_DIFFERENT_SIGNATURES: '{spelling}' keeps nothing away: pare "
                            f"defines no op '{name}' (or the namespace is unknown)")
    for method, op in sorted(exporter.special_converters().items()):
        if op not in ops:
            problems.append(f"_Converter.{method}: pare defines no op '{op}'")
            continue
        if method.startswith("_normalise_"):
            declared = {param["name"] for param in ops[op]["params"]}
            for name in sorted(exporter.params_read(method) - declared):
                problems.append(f"_Converter.{method} reads '{name}', which pare's {op} does not "
                                f"declare")
    for type_name, function in sorted(exporter.layer_converters.items()):
        layer = layers.get(type_name)
        if layer is None or not layer["in_files"]:
            problems.append(f"_LAYER_CONVERTERS: '{type_name}' is not a layer a .pare file may "
                            f"declare")
            continue
        if function not in exporter.functions:
            problems.append(f"_LAYER_CONVERTERS: '{type_name}' -> {function}, which is not a "
                            f"function of the exporter")
            continue
        written = exporter.written_attributes(function)
        if written is not None and written != set(layer["attributes"]):
            problems.append(f"{function} writes {sorted(written)}, pare's {type_name} declares "
                            f"{sorted(layer['attributes'])}")
    for type_name, (op, attribute) in sorted(exporter.function_modules.items()):
        if type_name in layers:
            problems.append(f"_FUNCTION_MODULES: pare defines the layer '{type_name}'; export it "
                            f"as that layer")
        if op not in ops:
            problems.append(f"_FUNCTION_MODULES: '{type_name}' -> '{op}', which pare does not "
                            f"define")
        elif attribute not in {param["name"] for param in ops[op]["params"]}:
            problems.append(f"_FUNCTION_MODULES: '{type_name}' passes '{attribute}', which "
                            f"pare's {op} does not declare")
    for op in sorted(ops):
        for param in ops[op]["params"]:
            if param["name"] in exporter.ignored and \
                    (param["required"] or param["type"] in exporter.tensor_types):
                problems.append(f"{op}: the exporter drops '{param['name']}', which pare declares "
                                f"{'required' if param['required'] else param['type']}")
            if param["type"] not in exporter.tensor_types | exporter.literal_types:
                problems.append(f"{op}: the exporter cannot write '{param['name']}' of type "
                                f"{param['type']} (no entry in _LITERAL_TYPES)")
    return problems


def self_check(exporter, ops, layers):
    """The check must be able to fail: each kind of drift, planted, must be reported."""
    planted = {
        "an alias to an op pare lacks":
            lambda e: e.function_aliases.update({"torch.concat": "no_such_op"}),
        "a normaliser reading an undeclared parameter":
            lambda e: e.converter_methods.update(
                {"_normalise_softmax": ast.parse("params['no_such_param']")}),
        "a layer converter writing the wrong attributes":
            lambda e: e.layer_converters.update({"Linear": "_conv2d"}),
        "a converter for a layer pare lacks":
            lambda e: e.layer_converters.update({"Conv3d": "_conv2d"}),
        "a dropped argument pare requires": lambda e: e.ignored.add("kernel_size"),
        "a parameter type the exporter cannot write": lambda e: e.literal_types.discard("int[2]"),
    }
    failures = []
    for what, plant in planted.items():
        doctored = Exporter(open(EXPORTER, encoding="utf-8").read())
        plant(doctored)
        if not check(doctored, ops, layers):
            failures.append(f"self-check: {what} was not reported")
    return failures


def main():
    pare = os.environ.get("PARE_BIN")
    if not pare:
        sys.exit("FAIL: set PARE_BIN to the pare binary")
    dump = json.loads(subprocess.run([pare, "ops", "--json"], capture_output=True, text=True,
                                     check=True).stdout)
    ops = {op["name"]: op for op in dump["ops"]}
    layers = {layer["type"]: layer for layer in dump["layers"]}
    exporter = Exporter(open(EXPORTER, encoding="utf-8").read())
    problems = check(exporter, ops, layers) + self_check(exporter, ops, layers)
    for problem in problems:
        print("FAIL:", problem)
    print(f"the exporter's aliases, special converters and layer converters checked against "
          f"{len(ops)} ops and {len(layers)} layers: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
