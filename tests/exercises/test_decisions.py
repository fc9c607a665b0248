"""The decision exercises (ex08-ex10) accept every right answer and reject the classic wrong ones,
and every exercise states its objective, its time and two hints that say what to compute.

Answers are written to a temporary folder and graded by the checker, as a student's would be.
"""

import ast
import textwrap
from pathlib import Path

import numpy as np
import pytest

from minnet.exercises import EXERCISES, check_path
from minnet.exercises.cases_decisions import (allocation_cases, fig4_cases, image_row_cases,
                                              schedule_cases)

STUDENT_FOLDER = Path(__file__).resolve().parents[2] / "tutorials" / "exercises"


def _grade(tmp_path, name, body):
    """The checker's TaskResults for a student file ``name`` with this source."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return {t.function: t for t in check_path(path).files[0].tasks}


@pytest.mark.parametrize("exercise", EXERCISES, ids=[ex.filename[:-3] for ex in EXERCISES])
def test_every_exercise_states_objective_time_and_two_hints(exercise):
    assert exercise.objective and 5 <= exercise.minutes <= 90, exercise.filename
    for task in exercise.tasks:
        assert task.hint and task.hint_more, task.function
        for text in (task.hint, task.hint_more):     # what to compute, not the NumPy to type
            assert not any(code in text for code in ("np.", "axis=", "keepdims", "[:, ")), text
    # The stub's docstring says the same. A student's filled-in file (or a solution copied over
    # it) may have dropped the docstring: the spec above is what the checker lists then.
    path = STUDENT_FOLDER / exercise.filename
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    if doc.startswith("Exercise "):
        text = " ".join(doc.split())
        assert f"Objective: {exercise.objective} Time: about {exercise.minutes} minutes." in text


GREEDY = """
    import numpy as np

    def choose_sparsities(curves, sizes, compression):
        # Greedy on the sum: keep taking a small step on the layer whose next step costs the
        # least predicted loss per weight removed.
        inc = {k: (np.asarray(s, float), np.asarray(v, float) - v[0]) for k, (s, v) in curves.items()}
        total = sum(w + b for w, b in sizes.values())
        s = {k: 0.0 for k in curves}
        def kept():
            return sum(b + w * (1 - s[k]) for k, (w, b) in sizes.items())
        step = 0.0025
        while kept() > total / compression:
            cost = {k: (np.interp(s[k] + step, *inc[k]) - np.interp(s[k], *inc[k])) / sizes[k][0]
                    for k in curves if s[k] + step <= inc[k][0][-1] + 1e-12}
            best = min(cost, key=cost.get)
            s[best] += step
        return s
    """


def test_a_greedy_allocation_passes_as_well_as_equal_damage(tmp_path):
    task = _grade(tmp_path, "ex08_layer_sparsities.py", GREEDY)["choose_sparsities"]
    assert task.status == "PASS", task.message


@pytest.mark.parametrize("body, words", [
    ("return {k: 1 - 1 / compression for k in curves}",          # same sparsity everywhere
     ["case 1/", "worse than minnet's allocation", "sum 0.500 vs 0.200"]),
    ("return {k: (0.9 if k == 'robust' else 0.1) if 'robust' in curves else 0.5 for k in curves}",
     ["case 2/", "the target is 12x"]),                             # right on case 1, then short
    ("return {k: 90.0 for k in curves}",
     ["a fraction, not a percent?"]),
    ("return [0.9, 0.1]",
     ["expected a dict {layer: sparsity}"]),
])
def test_wrong_allocations_fail_with_a_reason(tmp_path, body, words):
    src = f"def choose_sparsities(curves, sizes, compression):\n    {body}\n"
    task = _grade(tmp_path, "ex08_layer_sparsities.py", src)["choose_sparsities"]
    assert task.status == "FAIL"
    for w in words:
        assert w in task.message, task.message


def test_the_allocation_check_by_hand():
    hand = allocation_cases()[0]
    assert hand.check({"robust": 0.9, "fragile": 0.1}) is None
    assert hand.check(hand.expected) is None
    assert "outside [0, 0.9]" in hand.check({"robust": 0.95, "fragile": 0.05})
    assert "1.98x smaller, the target is 2x" in hand.check({"robust": 0.9, "fragile": 0.09})
    assert hand.check({"robust": 0.9, "fragile": 0.0999}) is None     # within 0.1% of the target


def test_schedule_rules_each_have_a_message():
    budget_72 = schedule_cases()[1].check          # keep 1/12, 72 epochs, >= 6, <= 8 rounds
    keeps = lambda r: [(1 / 12) ** (i / r) for i in range(1, r + 1)]   # noqa: E731
    assert budget_72((keeps(6), [12] * 6)) is None                     # minnet's own plan
    assert budget_72((keeps(3), [20, 24, 28])) is None                 # fewer, longer rounds
    assert "one-shot" in budget_72((keeps(1), [72]))
    assert "fall from one round" in budget_72((keeps(3), [28, 24, 20]))
    assert "budget is 72" in budget_72((keeps(6), [12] * 5 + [11]))
    assert "at least 6 epochs" in budget_72((keeps(8), [4] + [10] * 6 + [8]))
    assert "at most max_rounds = 8" in budget_72((keeps(9), [8] * 9))
    assert "not the geometric schedule" in budget_72(([0.5, 0.25, 1 / 12], [24] * 3))
    assert "tuple (keeps, epochs)" in budget_72(keeps(6))
    assert budget_72((np.array(keeps(2)), np.array([36, 36]))) is None  # arrays are fine too


def test_a_linear_schedule_is_named(tmp_path):
    src = """
        def geometric_keeps(final_keep, rounds):
            return [1 - (1 - final_keep) * r / rounds for r in range(1, rounds + 1)]
        def plan_schedule(final_keep, epoch_budget, min_epochs, max_rounds):
            r = min(max_rounds, epoch_budget // min_epochs)
            return geometric_keeps(final_keep, r), [epoch_budget // r] * r
        """
    tasks = _grade(tmp_path, "ex09_iterative_schedule.py", src)
    assert tasks["geometric_keeps"].status == "FAIL"
    assert "case 1/" in tasks["geometric_keeps"].message      # [0.545, 0.09], not [0.3, 0.09]
    assert tasks["plan_schedule"].status == "FAIL"


def test_reading_the_mask_catches_the_wrong_axis_and_the_wrong_std(tmp_path):
    src = """
        import numpy as np
        def kept_per_image_row(mask):
            return mask.reshape(-1, 28, 28).sum(axis=(0, 1))     # columns, not rows
        def pruning_quality(w_before, mask):
            return float(np.abs(w_before[~mask]).max() / np.std(w_before[mask]))   # survivors' std
        def fig4_answer():
            return "c"
        """
    tasks = _grade(tmp_path, "ex10_reading_the_mask.py", src)
    assert "case 1/" in tasks["kept_per_image_row"].message
    assert "case 1/" in tasks["pruning_quality"].message
    assert "C is not it" in tasks["fig4_answer"].message


def test_the_multiple_choice_gives_feedback_without_the_answer():
    check = fig4_cases()[0].check
    right = [letter for letter in "ABCD" if check(letter) is None]
    assert len(right) == 1
    assert check(right[0].lower() + " ") is None                 # case and spaces do not matter
    for letter in set("ABCD") - set(right):
        message = check(letter)
        assert message.startswith(f"{letter} is not it") and right[0] not in message.split(":")[1]
    assert "one letter" in check("B and C") and "one letter" in check(2)


def test_image_row_cases_are_not_symmetric():
    # The tall-digit case must tell rows from columns, or summing the wrong axis would pass.
    case = image_row_cases()[2]
    mask = case.args[0]
    by_column = mask.reshape(-1, 28, 28).sum(axis=(0, 1))
    assert not np.array_equal(by_column, case.expected)
