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
        "minnet.tutorial", "minnet.plotting", "minnet.figdata", "minnet.tradeoff", "minnet.__main__")


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
