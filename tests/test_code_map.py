"""README's code maps name files that exist, and docs/code_map.md lists every module of the package
with the one job its docstring's first line states (regenerate it with the command below when a
module changes: ``python tests/test_code_map.py``)."""

import ast
import re
from pathlib import Path

import minnet

ROOT = Path(minnet.__file__).parent.parent
PACKAGE = ROOT / "minnet"


def first_docstring_line(path):
    doc = ast.get_docstring(ast.parse(path.read_text()))
    return doc.strip().splitlines()[0] if doc else ""


def code_map():
    """docs/code_map.md's text: one row per module, package order."""
    lines = ["# Every module of minnet and its one job", "",
             "Generated from each module's first docstring line (tests/test_code_map.py checks it",
             "is current). The README's maps follow one batch and one prune step through them.", "",
             "| Module | Its job |", "|---|---|"]
    for path in sorted(PACKAGE.rglob("*.py")):
        job = first_docstring_line(path).replace("|", "\\|")
        lines.append(f"| `{path.relative_to(ROOT).as_posix()}` | {job} |")
    return "\n".join(lines) + "\n"


def test_every_module_states_its_job_and_the_map_is_current():
    missing = [p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py")
               if not first_docstring_line(p)]
    assert not missing, f"modules without a first docstring line: {missing}"
    assert (ROOT / "docs" / "code_map.md").read_text() == code_map(), \
        "docs/code_map.md is stale: regenerate it (see this file's docstring)"


def test_every_file_readmes_code_maps_name_exists():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## How the code is organised"):]
    section = section[:section.index("\n## ", 1)]
    named = set(re.findall(r"\b[\w/]+\.py\b", "\n".join(re.findall(r"```\n(.*?)```", section, re.S))))
    assert len(named) > 20
    absent = sorted(n for n in named if not (PACKAGE / n).is_file())
    assert not absent, f"README's code map names files that do not exist: {absent}"


if __name__ == "__main__":
    (ROOT / "docs" / "code_map.md").write_text(code_map())
    print("wrote docs/code_map.md")
