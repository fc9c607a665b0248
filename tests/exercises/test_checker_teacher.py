"""What a teacher needs from the checker: the NumPy-only rule, -k that matches nothing, JSON and
Gradescope output, a whole class into one CSV, second hints, and cases judged by their own check.

Right answers come from tests/exercises/fixtures/exercise_answers/ (each calls the engine, so they
are graded with allow_minnet); wrong and forbidden ones are written here into temporary folders.
"""

import csv
import json
import shutil
import textwrap
from pathlib import Path

import pytest

from minnet.exercises import EXERCISES, check_path, format_results
from minnet.exercises.checker import check_task
from minnet.exercises.cli import main
from minnet.exercises.grade import find_exercise_files, task_columns
from minnet.exercises.results import gradescope_dict, results_dict
from minnet.exercises.rules import minnet_imports
from minnet.exercises.spec import Case, Task

ANSWERS = Path(__file__).resolve().parent / "fixtures" / "exercise_answers"
N_FUNCTIONS = sum(len(ex.tasks) for ex in EXERCISES)


def _write(folder, name, body):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(body))
    return path


CHEAT = """
    import numpy as np
    from minnet.pruning import prune_by_std


    def prune_mask(w, quality, std=None):
        return prune_by_std(w, quality, std)
    """


def test_a_file_importing_minnet_fails_with_file_and_line(tmp_path):
    path = _write(tmp_path, "ex03_pruning_mask.py", CHEAT)
    result = check_path(path)
    assert not result.passed
    text = format_results(result)
    line = next(x for x in text.splitlines() if "imports minnet" in x and "FAIL" in x)
    assert line.split()[:3] == ["FAIL", "imports", "minnet"]
    assert ("ex03_pruning_mask.py, line 3: `from minnet.pruning import prune_by_std` imports "
            "minnet; the exercises are NumPy only") in line
    assert "not graded: the file imports minnet (line 3)" in text
    assert "1 file(s) import minnet" in text
    # the same file passes when the rule is lifted: it was the import, not the answer, that failed
    assert check_path(path, allow_minnet=True).passed


@pytest.mark.parametrize("source, lines", [
    ("import minnet\n", [1]),
    ("import numpy as np\nimport minnet.pruning as mp\n", [2]),
    ("def f():\n    from minnet import pruning\n    return pruning\n", [2]),
    ("import importlib\nm = importlib.import_module('minnet.sparse')\n", [2]),
    ("x = __import__('minnet')\n", [1]),
    ("import numpy as np\nfrom . import helper\nimport minnetwork\n", []),   # not minnet
    ("def broken(:\n", []),                         # a syntax error is reported by the import
])
def test_minnet_imports_finds_every_form(source, lines):
    assert [line for line, _ in minnet_imports(source)] == lines


def test_k_that_matches_nothing_says_so_in_one_line(capsys):
    assert main(["check", str(ANSWERS), "--allow-minnet", "-k", "dense_bakward"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "-k dense_bakward matches no exercise file or function" in err[0]


def test_json_and_gradescope_files_for_an_autograder(tmp_path):
    folder = tmp_path / "alice"
    shutil.copytree(ANSWERS, folder)
    _write(folder, "ex04_masked_sgd.py", """
        def masked_sgd_step(w, v, g, mask, lr, momentum, weight_decay):
            v = momentum * v + lr * (g * mask + weight_decay * w)
            return w - v, v
        """)
    (folder / "ex06_dead_neurons.py").unlink()
    js, gs = tmp_path / "out" / "r.json", tmp_path / "results.json"
    code = main(["check", str(folder), "--allow-minnet", "--json", str(js), "--gradescope", str(gs)])
    assert code == 1
    data = json.loads(js.read_text())
    assert data["max_score"] == N_FUNCTIONS and data["score"] == N_FUNCTIONS - 2
    assert not data["passed"]
    by_name = {(f["filename"], t["function"]): t for f in data["files"] for t in f["tasks"]}
    sgd = by_name[("ex04_masked_sgd.py", "masked_sgd_step")]
    assert sgd["status"] == "FAIL" and sgd["score"] == 0 and sgd["cases_passed"] == 1
    assert "case 2/4" in sgd["message"]
    assert by_name[("ex06_dead_neurons.py", "dead_neurons")]["status"] == "ERROR"

    results = json.loads(gs.read_text())
    assert set(results) >= {"score", "tests", "output", "execution_time"}
    tests = results["tests"]
    assert len(tests) == N_FUNCTIONS
    for t in tests:
        assert set(t) >= {"name", "score", "max_score", "status", "output"}
        assert t["status"] == ("passed" if t["score"] == t["max_score"] else "failed")
    assert results["score"] == sum(t["score"] for t in tests) == N_FUNCTIONS - 2
    failed = {t["name"] for t in tests if t["status"] == "failed"}
    assert failed == {"ex04_masked_sgd.py: masked_sgd_step", "ex06_dead_neurons.py: dead_neurons"}
    assert "file not found" in next(t["output"] for t in tests if "dead_neurons" in t["name"])


def test_gradescope_shows_the_forbidden_import_as_a_failed_test(tmp_path):
    result = check_path(_write(tmp_path, "ex03_pruning_mask.py", CHEAT))
    gs = gradescope_dict(result)
    names = [t["name"] for t in gs["tests"]]
    assert names == ["ex03_pruning_mask.py: NumPy only (no minnet imports)",
                     "ex03_pruning_mask.py: prune_mask"]
    assert gs["score"] == 0 and all(t["status"] == "failed" for t in gs["tests"])
    assert results_dict(result)["files"][0]["violations"][0].startswith("ex03_pruning_mask.py, line 3")


def test_second_hint_on_request(tmp_path, capsys):
    path = _write(tmp_path, "ex03_pruning_mask.py", """
        import numpy as np
        def prune_mask(w, quality, std=None):
            return np.abs(w) >= quality * (np.std(w) if std is None else std)
        """)
    task = EXERCISES[2].tasks[0]
    assert task.function == "prune_mask" and task.hint_more
    assert main(["check", str(path)]) == 1
    assert task.hint_more not in capsys.readouterr().out
    assert main(["check", str(path), "--more-hints"]) == 1
    out = capsys.readouterr().out
    assert f"more: {task.hint_more}" in out and f"hint: {task.hint}" in out


def test_a_case_with_its_own_check_is_judged_by_it():
    def at_least_half(got):
        return None if got >= 0.5 else f"{got} is below one half"

    def boom(got):
        raise TypeError("unsupported")

    class Student:
        @staticmethod
        def f(x):
            return x

    def run(check, arg):
        task = Task("f", ("y",), lambda: [Case("any value >= 0.5", (arg,), None, check=check)])
        return check_task(Student, task)

    assert run(at_least_half, 0.7).status == "PASS"           # not compared with expected=None
    failed = run(at_least_half, 0.2)
    assert failed.status == "FAIL" and "0.2 is below one half" in failed.message
    odd = run(boom, "a string")
    assert odd.status == "FAIL" and "could not be checked (TypeError: unsupported)" in odd.message


def test_sys_exit_in_student_code_is_a_failure_not_the_end_of_the_checker(tmp_path):
    path = _write(tmp_path, "ex05_dropout_adjustment.py", """
        import sys
        def adjusted_dropout_rate(d, c_io, c_ir):
            sys.exit(3)
        """)
    result = check_path(path)
    assert result.files[0].tasks[0].status == "FAIL"
    assert "raised SystemExit" in result.files[0].tasks[0].message


def test_grade_a_class_into_one_csv(tmp_path):
    subs = tmp_path / "submissions"
    shutil.copytree(ANSWERS, subs / "alice" / "tutorials" / "exercises")    # a whole checkout
    _write(subs / "alice" / "tutorials" / "exercises" / "solutions", "ex04_masked_sgd.py",
           "def masked_sgd_step(*a):\n    raise ValueError('the shallower file must win')\n")
    bob = subs / "bob"
    shutil.copytree(ANSWERS, bob)
    _write(bob, "ex07_csr.py", """
        def csr_from_dense(W, mask):
            raise NotImplementedError
        def csr_matvec(indptr, indices, data, x):
            return x[:1]
        """)
    (bob / "ex01_dense.py").unlink()
    (subs / "carol").mkdir()
    assert find_exercise_files(subs / "alice")["ex04_masked_sgd.py"].parent.name == "exercises"

    out = tmp_path / "grades.csv"
    # --allow-minnet: the answer fixtures call the engine (the rule is tested below, with it on)
    assert main(["grade", str(subs), "--csv", str(out), "--allow-minnet"]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].split(",") == ["student", *task_columns(), "total", "max", "problems"]
    rows = {r["student"]: r for r in csv.DictReader(out.open())}
    assert list(rows) == ["alice", "bob", "carol"]
    assert rows["alice"]["total"] == rows["alice"]["max"] == str(N_FUNCTIONS)
    assert rows["alice"]["problems"] == ""
    bob_zero = {"ex01_dense.dense_forward", "ex01_dense.dense_backward", "ex07_csr.csr_from_dense",
                "ex07_csr.csr_matvec"}
    assert {c for c in task_columns() if rows["bob"][c] == "0"} == bob_zero
    assert rows["bob"]["total"] == str(N_FUNCTIONS - 4)
    assert "ex01_dense.py: file not found" in rows["bob"]["problems"]
    assert "ex07_csr.csr_from_dense not implemented" in rows["bob"]["problems"]
    assert rows["carol"]["total"] == "0" and rows["carol"]["problems"] == "no exercise files found"


def test_grading_survives_an_endless_loop_and_applies_the_numpy_only_rule(tmp_path):
    from minnet.exercises.grade import grade_student
    dave = tmp_path / "dave"
    _write(dave, "ex05_dropout_adjustment.py", "while True:\n    pass\n")
    points, problems = grade_student(dave, timeout=2)
    assert problems == ["timed out after 2 s (an endless loop?)"] and sum(points.values()) == 0
    eve = tmp_path / "eve"
    _write(eve, "ex03_pruning_mask.py", CHEAT)
    points, problems = grade_student(eve)
    assert "ex03_pruning_mask.py imports minnet" in problems
    assert points["ex03_pruning_mask.prune_mask"] == 0


def test_grade_needs_a_folder_of_student_folders(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "nowhere"), "--csv", str(tmp_path / "g.csv")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main(["grade", str(tmp_path), "--csv", str(tmp_path / "g.csv")]) == 2
    assert "has no sub-folders" in capsys.readouterr().err
    assert not (tmp_path / "g.csv").exists()
