"""The "NumPy only" rule of the exercises, checked by reading the student's source (``ast``).

Every exercise says "use NumPy only": a student who writes ``from minnet.pruning import
prune_by_std`` and returns its result would pass every case, because the cases' expected values
come from that very function. So before a file is graded, :func:`minnet_imports` looks for any
import of minnet in it (``import minnet``, ``import minnet.x as y``, ``from minnet.x import y``,
also inside functions, and ``__import__("minnet...")`` / ``importlib.import_module("minnet...")``
with a literal name), and the checker reports each one as a FAIL naming the file and line.
Reading the source instead of watching ``sys.modules`` matters: minnet is always imported already
(the checker is part of it), so only the text tells who imported what.
"""

import ast
from pathlib import Path

_DYNAMIC = ("__import__", "import_module")


def _is_minnet(name):
    return isinstance(name, str) and (name == "minnet" or name.startswith("minnet."))


def minnet_imports(source, filename="<exercise>"):
    """[(line, statement text)] of every import of minnet in ``source`` (a str or a path).

    A file that does not parse returns [] (the import itself then reports the SyntaxError with
    its line, which is the more useful message). Relative imports (``from . import x``) are not
    minnet's and are left alone.
    """
    if isinstance(source, Path):
        filename, source = source.name, source.read_text(encoding="utf-8", errors="replace")
    try:
        tree = ast.parse(source, filename=filename)
    except (SyntaxError, ValueError):
        return []
    lines = source.splitlines()
    found = []
    for node in ast.walk(tree):
        hit = False
        if isinstance(node, ast.Import):
            hit = any(_is_minnet(a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            hit = node.level == 0 and _is_minnet(node.module)
        elif isinstance(node, ast.Call) and node.args:
            fn = node.func
            name = fn.id if isinstance(fn, ast.Name) else getattr(fn, "attr", None)
            arg = node.args[0]
            hit = name in _DYNAMIC and isinstance(arg, ast.Constant) and _is_minnet(arg.value)
        if hit:
            text = lines[node.lineno - 1].strip() if 0 < node.lineno <= len(lines) else ""
            found.append((node.lineno, text))
    return sorted(set(found))


def format_violations(filename, found):
    """One line per import: "ex03_pruning_mask.py, line 3: `from minnet...` imports minnet"."""
    return [f"{filename}, line {line}: `{text}` imports minnet; the exercises are NumPy only: "
            "write the computation yourself" for line, text in found]
