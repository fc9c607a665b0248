"""Classroom exercises: grade a student's functions against minnet's own implementation.

The exercise files live in ``tutorials/exercises/`` (stubs that raise NotImplementedError, each with
a docstring giving shapes, formula and hints); reference solutions in
``tutorials/exercises/solutions/``. Grade them with

    python -m minnet.exercises check                     # the repository's tutorials/exercises
    python -m minnet.exercises check path/to/my/copy     # a folder or single ex*.py files
    python -m minnet.exercises check -k dense_backward   # one function
    pytest tutorials/exercises                           # the same checks as pytest tests
    python -m minnet.exercises grade submissions/ --csv grades.csv   # a whole class
    python -m minnet prune --quick --use-exercises tutorials/exercises  # your code in the pipeline

:mod:`minnet.exercises.cases` holds the exercises and their cases (expected values computed by
minnet itself); :mod:`minnet.exercises.checker` loads the files, compares and reports;
:mod:`~minnet.exercises.results` writes JSON and Gradescope's results.json,
:mod:`~minnet.exercises.grade` a class's CSV, :mod:`~minnet.exercises.cli` is the command line,
and :func:`use_exercises` (:mod:`minnet.exercises.use`) runs the real pipeline with a student's
prune_mask, masked_sgd_step and csr_matvec.
"""

from minnet.exercises.cases import EXERCISES, Case, Exercise, Task
from minnet.exercises.checker import (DEFAULT_EXERCISE_DIR, CheckResult, FileResult, TaskResult,
                                      check_file, check_path, check_task, compare, format_results)
from minnet.exercises.use import ExerciseSession, use_exercises

__all__ = ["EXERCISES", "Case", "Exercise", "Task", "DEFAULT_EXERCISE_DIR", "CheckResult",
           "FileResult", "TaskResult", "check_file", "check_path", "check_task", "compare",
           "format_results", "ExerciseSession", "use_exercises"]
