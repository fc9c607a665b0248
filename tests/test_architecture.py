"""The package's layering, checked by reading the import statements (ast), not by importing.

Core: data, kernels, layers, model, optim, train, pruning, sparse, stats (and the small modules
they need). Face: the command line, reports, benchmarks, exercises and tutorial helpers. The core
never imports the face, and no two modules import each other, directly or in a longer cycle.
"""

import ast
from pathlib import Path

import minnet

PACKAGE = Path(minnet.__file__).parent
FACE = ("minnet.cli", "minnet.report", "minnet.report_html", "minnet.bench", "minnet.exercises",
        "minnet.tutorial", "minnet.plotting", "minnet.figdata", "minnet.tradeoff", "minnet.__main__",
        "minnet.run_folder", "minnet.seed_spread")


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path):
    """minnet modules imported anywhere in the file (function-level imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.startswith("minnet")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("minnet"):
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def graph():
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {m: {i for i in imports_of(p) if i in modules and i != m} for m, p in modules.items()}


def is_face(name):
    return any(name == f or name.startswith(f + ".") for f in FACE)


def test_the_core_never_imports_the_face():
    bad = sorted(f"{m} imports {i}" for m, deps in graph().items() if not is_face(m)
                 for i in deps if is_face(i))
    assert not bad, "core modules import the face:\n" + "\n".join(bad)


def test_no_import_cycles():
    g = graph()
    # packages import their own submodules (minnet -> minnet.layers -> ...): only edges between
    # modules that are not each other's package count
    edges = {m: {d for d in deps if not d.startswith(m + ".") and not m.startswith(d + ".")}
             for m, deps in g.items()}
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in edges.get(node, ()):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_every_minnet_exception_derives_from_minnet_error_and_a_builtin():
    import inspect

    from minnet import errors
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, Exception) and c is not errors.MinnetError]
    assert {c.__name__ for c in classes} >= {"ShapeError", "DTypeError", "DataError", "CheckpointError",
                                             "DivergenceError", "ConfigError", "RunFolderError"}
    for c in classes:
        assert issubclass(c, errors.MinnetError)
        assert any(b is not errors.MinnetError and issubclass(b, Exception) for b in c.__bases__)
    # no exception class defined outside errors.py
    defined = [f"{p.name}: {n.name}" for p in PACKAGE.rglob("*.py") if p.name != "errors.py"
               for n in ast.walk(ast.parse(p.read_text())) if isinstance(n, ast.ClassDef)
               and any(getattr(b, "id", "").endswith(("Error", "Exception")) for b in n.bases)]
    assert not defined, defined


def test_pruning_goes_through_the_layer_api():
    """Outside layers/ (and the sparse layers, which are layers), nothing indexes a layer's W by its
    key, reads pruning's record by its state keys, or writes a layer's private attributes."""
    import re
    pattern = re.compile(r'(params|masks)\["W"\]|std_before_pruning|connections_before_pruning'
                         r'|set_mask\("W"|\blayer\._\w+\s*=|\bla\._\w+\s*=|\blb\._\w+\s*=')
    bad = []
    for p in PACKAGE.rglob("*.py"):
        rel = p.relative_to(PACKAGE).as_posix()
        if rel.startswith("layers/") or rel in ("sparse/layers.py", "sparse/conv.py"):
            continue
        bad += [f"{rel}:{i}: {line.strip()}" for i, line in enumerate(p.read_text().splitlines(), 1)
                if pattern.search(line)]
    assert not bad, "\n".join(bad)


def test_layer_pruning_api_and_record_round_trip(tmp_path):
    import numpy as np

    from minnet.layers import Dense
    from minnet.model import Sequential
    layer = Dense(4, 3, rng=0, name="fc")
    assert layer.prunable and layer.n_kept == 12 and layer.pruning_record is None
    record = layer.remember_before_pruning()
    assert record.connections_before == 12
    assert record.std_before == np.std(layer.weight.astype(np.float64))
    keep = np.ones((3, 4), bool)
    keep[0] = False
    assert layer.prune(keep) == 8
    assert layer.prune(np.ones((3, 4), bool)) == 8            # pruned connections never come back
    assert (layer.weight[0] == 0).all() and not layer.mask[0].any()
    layer.weight[1, 1] = 5.0
    assert layer.remember_before_pruning() == record            # the first record stays
    model = Sequential([layer])
    model.save(tmp_path / "m.npz")
    assert Sequential.load(tmp_path / "m.npz").layer("fc").pruning_record == record
    # whole neurons: rows (units) and columns (inputs), with mask and bias
    rows = layer.keep_units(np.array([False, True, True]))
    assert list(rows) == [1, 2] and layer.weight.shape == (2, 4) and layer.params["b"].shape == (2,)
    layer.keep_inputs(np.array([True, False, True, True]))
    assert layer.weight.shape == (2, 3) and layer.mask.shape == (2, 3) and layer.in_features == 3
    assert layer.forward(np.ones((1, 3), np.float32)).shape == (1, 2)


def test_the_package_raises_only_its_own_exceptions():
    """A user's mistake must be catchable as MinnetError: no `raise ValueError(...)` and the like.
    Allowed besides minnet.errors: NotImplementedError (abstract methods), SystemExit (the
    benchmarks' own exit) and argparse's type errors (argparse turns them into its usage line)."""
    import builtins
    allowed = {"NotImplementedError", "SystemExit"}
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) \
                    and isinstance(node.exc.func, ast.Name):
                name = node.exc.func.id
                if hasattr(builtins, name) and name not in allowed:
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} raises {name}")
    assert not found, found
