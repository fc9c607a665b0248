"""Classroom exercises: grade a student's functions against minnet's own implementation.

The exercise files live in ``tutorials/exercises/`` (stubs that raise NotImplementedError, each with
a docstring giving shapes, formula and hints); reference solutions in
``tutorials/exercises/solutions/``. Grade them with

    python -m minnet.exercises check                     # the repository's tutorials/exercises
    python -m minnet.exercises check path/to/my/copy     # a folder or single ex*.py files
    python -m minnet.exercises check -k dense_backward   # one function
    pytest tutorials/exercises                           # the same checks as pytest tests

:mod:`minnet.exercises.cases` holds the exercises and their cases (expected values computed by
minnet itself); :mod:`minnet.exercises.checker` loads the files, compares and reports.
"""

from minnet.exercises.cases import EXERCISES, Case, Exercise, Task
from minnet.exercises.checker import (DEFAULT_EXERCISE_DIR, CheckResult, FileResult, TaskResult,
                                      check_file, check_path, check_task, compare, format_results)

__all__ = ["EXERCISES", "Case", "Exercise", "Task", "DEFAULT_EXERCISE_DIR", "CheckResult",
           "FileResult", "TaskResult", "check_file", "check_path", "check_task", "compare",
           "format_results"]
