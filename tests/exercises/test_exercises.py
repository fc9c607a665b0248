"""The exercise checker: right answers pass, wrong ones fail readably, stubs say "not implemented yet".

These tests own their fixtures: right answers are tests/fixtures/exercise_answers/ (each function
calls the engine code the checker grades against), untouched stubs are generated in a temporary
folder. So the test command passes whatever the classroom did to tutorials/exercises/: filled in
by a student, or with solutions/ deleted by a teacher. (CI checks the reference solutions
separately, with ``python -m minnet.exercises check tutorials/exercises/solutions``.)
"""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from minnet.exercises import EXERCISES, check_path, compare, format_results

REPO = Path(__file__).resolve().parents[2]
STUDENT_FOLDER = REPO / "tutorials" / "exercises"
ANSWERS = Path(__file__).resolve().parent / "fixtures" / "exercise_answers"


@pytest.fixture
def stubs(tmp_path):
    """Untouched stubs of every exercise: each function raises NotImplementedError."""
    folder = tmp_path / "stubs"
    folder.mkdir()
    for ex in EXERCISES:
        body = "".join(f"def {t.function}(*args):\n    raise NotImplementedError('write {t.function}')\n\n"
                       for t in ex.tasks)
        (folder / ex.filename).write_text(body)
    return folder


def test_every_exercise_has_a_file_for_students_and_an_answer_fixture():
    for ex in EXERCISES:
        assert (STUDENT_FOLDER / ex.filename).is_file(), ex.filename
        assert (ANSWERS / ex.filename).is_file(), ex.filename


def test_right_answers_pass():
    result = check_path(ANSWERS, allow_minnet=True)     # the fixtures call the engine on purpose
    assert result.passed, format_results(result)
    assert len(result.files) == len(EXERCISES)


def test_untouched_stubs_report_not_implemented_rather_than_crashing(stubs):
    result = check_path(stubs)
    assert not result.passed
    statuses = {t.status for f in result.files for t in f.tasks}
    assert statuses == {"TODO"}, format_results(result)
    text = format_results(result)
    assert "not implemented yet" in text
    n = sum(len(ex.tasks) for ex in EXERCISES)
    assert f"0/{n} functions pass, {n} not implemented yet" in text


def _write(tmp_path, name, body):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def test_wrong_solution_fails_with_case_expected_got_and_worst_entry(tmp_path):
    # The classic bug: zero the gradient but forget momentum, so pruned weights come back.
    path = _write(tmp_path, "ex04_masked_sgd.py", """
        import numpy as np
        def masked_sgd_step(w, v, g, mask, lr, momentum, weight_decay):
            v = momentum * v + lr * (g * mask + weight_decay * w)
            return w - v, v
        """)
    result = check_path(path)
    assert not result.passed
    task = result.files[0].tasks[0]
    assert task.status == "FAIL" and task.passed == 1
    text = format_results(result)
    assert "case 2/4: one pruned weight" in text
    assert "worst entry [1]: expected 0, got -0.45" in text
    hint = next(t.hint for ex in EXERCISES for t in ex.tasks if t.function == "masked_sgd_step")
    assert f"hint: {hint}" in text


def test_transposed_gradient_is_named(tmp_path):
    path = _write(tmp_path, "ex01_dense.py", """
        def dense_forward(x, W, b):
            return x @ W.T + b
        def dense_backward(dout, x, W, mask=None):
            return dout @ W, x.T @ dout, dout.sum(axis=0)
        """)
    result = check_path(path)
    forward, backward = result.files[0].tasks
    assert forward.status == "PASS"
    assert backward.status == "FAIL"
    assert "dW: expected shape (3, 2), got shape (2, 3) (transposed?)" in backward.message


def test_exceptions_syntax_errors_and_missing_functions_are_reported(tmp_path):
    raising = _write(tmp_path, "ex06_dead_neurons.py", """
        def dead_neurons(mask_in, mask_out):
            return mask_in.any(axis=2)
        """)
    broken = _write(tmp_path, "ex05_dropout_adjustment.py", "def adjusted_dropout_rate(:\n")
    renamed = _write(tmp_path, "ex03_pruning_mask.py", "def prune(w, q, std=None):\n    return w\n")
    text = format_results(check_path(raising, broken, renamed))
    assert "raised AxisError" in text and "ex06_dead_neurons.py, line 3" in text
    assert "could not import the file: SyntaxError" in text
    assert "defines no function prune_mask()" in text


def test_overflow_is_explained(tmp_path):
    path = _write(tmp_path, "ex02_softmax_cross_entropy.py", """
        import numpy as np
        def softmax_cross_entropy(z, y):
            p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
            n = len(y)
            loss = float(-np.log(p[np.arange(n), y]).mean())
            p[np.arange(n), y] -= 1
            return loss, p / n
        """)
    text = format_results(check_path(path))
    assert "huge logits" in text and "got nan (nan or inf: an overflow somewhere?)" in text


def test_compare_messages_by_hand():
    assert compare("y", np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12]), 1e-6, 1e-9) is None
    assert compare("idx", np.array([1, 2], np.int32), [1, 2], 0, 0) is None   # dtype may differ
    assert "got None" in compare("y", np.zeros(2), None, 1e-6, 1e-9)
    msg = compare("mask", np.array([True, False]), np.array([1, 0]), 0, 0)
    assert "expected a bool array" in msg
    msg = compare("y", np.zeros((2, 3)), np.zeros(6), 1e-6, 1e-9)
    assert "same number of entries" in msg


def test_only_filter_and_unknown_files(tmp_path):
    result = check_path(ANSWERS, only=["csr_matvec"], allow_minnet=True)
    assert [t.function for f in result.files for t in f.tasks] == ["csr_matvec"]
    stray = _write(tmp_path, "homework.py", "x = 1\n")
    assert "not an exercise file name" in format_results(check_path(stray))


def test_command_line_exit_status(stubs):
    ok = subprocess.run([sys.executable, "-m", "minnet.exercises", "check", str(ANSWERS),
                         "--allow-minnet"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "all done" in ok.stdout
    todo = subprocess.run([sys.executable, "-m", "minnet.exercises", "check", str(stubs)],
                          capture_output=True, text=True)
    assert todo.returncode == 1 and "not implemented yet" in todo.stdout


def test_the_student_folder_is_found_from_the_argument_then_the_environment(stubs, tmp_path,
                                                                          monkeypatch, capsys):
    from minnet.exercises.checker import DEFAULT_EXERCISE_DIR, default_exercise_dir
    from minnet.exercises.cli import main
    monkeypatch.delenv("MINNET_EXERCISES", raising=False)
    assert default_exercise_dir() == DEFAULT_EXERCISE_DIR                  # the checkout
    monkeypatch.setenv("MINNET_EXERCISES", str(stubs))
    assert default_exercise_dir() == stubs
    assert main(["check"]) == 1 and "not implemented yet" in capsys.readouterr().out
    assert main(["check", str(ANSWERS), "--allow-minnet"]) == 0              # the argument wins
    monkeypatch.setenv("MINNET_EXERCISES", str(tmp_path / "nowhere"))
    assert main(["check"]) == 2
    assert "MINNET_EXERCISES" in capsys.readouterr().err
