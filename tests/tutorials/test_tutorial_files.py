"""The tutorial scripts as files: notebook cells, closing questions, answers kept apart, size.

Read as text and parsed with ast, never run: CI runs every tutorial with --quick separately.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py"))
ANSWERS = ROOT / "teachers" / "tutorial_answers.md"


def questions_of(path):
    """The numbered questions in the docstring's last section, "Questions for you"."""
    doc = ast.get_docstring(ast.parse(path.read_text()))
    _, found, section = doc.partition("Questions for you")
    assert found, f"{path.name}: the docstring has no 'Questions for you' section"
    return re.findall(r"^(\d+)\. ", section, flags=re.MULTILINE)


def test_there_are_ten_tutorials():
    assert [p.name[:2] for p in TUTORIALS] == [f"{n:02d}" for n in range(1, 11)]


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.name[:2])
def test_tutorial_opens_as_a_notebook(path):
    # jupytext's percent format and VS Code both split a .py file at "# %%" lines. The cells only
    # run one by one if the code is at module level, not inside a main() function.
    lines = path.read_text().splitlines()
    cells = [i for i, line in enumerate(lines) if line.startswith("# %%")]
    assert len(cells) >= 4, f"{path.name}: only {len(cells)} '# %%' cell markers"
    tree = ast.parse(path.read_text())
    assert not any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body), \
        f"{path.name}: code inside main() cannot run cell by cell"
    # The options are parsed in a cell (notebooks have no command line: see minnet.tutorial).
    assert any("tutorial_args(" in line for line in lines[cells[0]:cells[1]]), path.name


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.name[:2])
def test_tutorial_ends_with_two_or_three_questions(path):
    numbers = questions_of(path)
    assert numbers in (["1", "2"], ["1", "2", "3"]), f"{path.name}: questions {numbers}"
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    assert lines[-2].startswith("# %% Questions for you"), f"{path.name}: last cell is not the questions"
    assert lines[-1] == "print_questions(__doc__)", path.name


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.name[:2])
def test_tutorial_stays_under_400_lines(path):
    assert len(path.read_text().splitlines()) < 400


def test_every_question_has_an_answer_outside_the_students_folder():
    assert ANSWERS.is_file() and "tutorials" not in ANSWERS.relative_to(ROOT).parts
    text = ANSWERS.read_text()
    assert "git archive" in text and ":(exclude)teachers" in text       # how to hand out without it
    sections = dict(re.findall(r"^## (\d\d): .*?\n(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL))
    for path in TUTORIALS:
        number = path.name[:2]
        assert number in sections, f"no answers for tutorial {number}"
        answered = re.findall(r"^(\d+)\. ", sections[number], flags=re.MULTILINE)
        assert answered == questions_of(path), f"tutorial {number}: answers {answered}"


def test_quick_mode_caveats_cite_full_mode_numbers():
    # The four tutorials whose --quick results once contradicted the paper (03, 04, 05, 07) warn
    # through minnet.tutorial.quick_caveat and keep the full mode's numbers in a constant.
    for number in ("03", "04", "05", "07"):
        source = next(p for p in TUTORIALS if p.name.startswith(number)).read_text()
        assert "quick_caveat(args.quick" in source, number
        assert re.search(r"^FULL_MODE\w* = ", source, flags=re.MULTILINE), number
