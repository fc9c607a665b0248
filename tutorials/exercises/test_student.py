"""``pytest tutorials/exercises``: the exercise checker as pytest tests, one per function.

By default it grades the exercise files in this folder (your copies). To grade another folder,
set MINNET_EXERCISES, e.g.  MINNET_EXERCISES=tutorials/exercises/solutions pytest tutorials/exercises
A failure prints the same feedback as ``python -m minnet.exercises check``.
"""

import os
from pathlib import Path

import pytest

from minnet.exercises import EXERCISES, check_file, format_results
from minnet.exercises.checker import CheckResult

FOLDER = Path(os.environ.get("MINNET_EXERCISES", Path(__file__).resolve().parent))


@pytest.mark.parametrize("exercise", EXERCISES, ids=[ex.filename[:-3] for ex in EXERCISES])
def test_exercise(exercise):
    result = check_file(FOLDER / exercise.filename, exercise)
    if not result.passed:
        pytest.fail(format_results(CheckResult([result])), pytrace=False)
