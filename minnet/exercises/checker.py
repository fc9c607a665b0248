"""Grade a student's exercise files against minnet's own implementation, with readable feedback.

    result = check_path("tutorials/exercises")        # a folder of ex*.py files, or one file
    print(format_results(result))                     # the report below; result.passed is a bool

For every function of every exercise it runs the cases of :mod:`minnet.exercises.cases` in order and
stops at the first failure, saying which case failed, what was expected and what came back, and the
worst entry:

    ex01_dense.py  Dense layer: forward and backward
      PASS  dense_forward        4/4 cases
      FAIL  dense_backward       case 2/4: random batch of 5, 4 inputs -> 3 outputs
            dW: 12 of 12 entries differ (rtol 1e-06, atol 1e-09)
            worst entry [1, 2]: expected 0.53120, got -0.53120
            hint: dx = dout W,  dW = dout^T x (then 0 where mask is False),  db = sum over the batch
    ex07_csr.py  ...
      TODO  csr_matvec           not implemented yet (the stub still raises NotImplementedError)

A student's code can do anything (raise, return None, print, call sys.exit); the checker reports it
and carries on with the next function rather than crashing. A file that imports minnet breaks the
exercises' "NumPy only" rule (the expected values come from minnet itself): it is not run, and each
import is a FAIL line naming the file and line (:mod:`minnet.exercises.rules`). A case may carry
its own ``check(got) -> None | message`` instead of an expected value (answers with more than one
right value). The command line is :mod:`minnet.exercises.cli`.
"""

import importlib.util
import os
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from minnet.exercises.cases import EXERCISES
from minnet.exercises.rules import format_violations, minnet_imports

PASS, FAIL, TODO, MISSING = "PASS", "FAIL", "TODO", "MISSING"

# The repository's tutorials/exercises folder (the students' copies), found from this file, not from
# the working directory, so the checker works from any folder of an editable install.
DEFAULT_EXERCISE_DIR = Path(__file__).resolve().parents[2] / "tutorials" / "exercises"


@dataclass
class TaskResult:
    """The grade of one function: status (PASS/FAIL/TODO/MISSING), cases passed, and the message.

    hint, hint_more: the task's first and fuller hint (filled in unless it passed), for
    ``format_results(..., more_hints=True)``.
    """

    function: str
    status: str
    passed: int
    total: int
    message: str = ""
    hint: str = ""
    hint_more: str = ""


@dataclass
class FileResult:
    """The grades of one exercise file (``error`` is set when the file could not be loaded;
    ``violations`` holds one line per import of minnet, which the exercises forbid)."""

    filename: str
    title: str
    path: Path | None
    tasks: list = field(default_factory=list)
    error: str = ""
    violations: list = field(default_factory=list)

    @property
    def passed(self):
        """True when the file loaded, imports no minnet, and every function passed every case."""
        return not self.error and not self.violations and all(t.status == PASS for t in self.tasks)


@dataclass
class CheckResult:
    """All graded files; ``passed`` is True when every one of them passed."""

    files: list

    @property
    def passed(self):
        return bool(self.files) and all(f.passed for f in self.files)


# -- comparing one value ---------------------------------------------------------------------------

def _fmt(v):
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return f"{float(v):.6g}"


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"[:120]


def compare(name, expected, got, rtol, atol):
    """None if ``got`` matches ``expected``, else a message (a few lines) saying how they differ.

    Float arrays and scalars match within ``rtol``/``atol`` (as ``np.allclose``); bool and integer
    arrays must match exactly (values, not dtype: int32 indices equal int64 ones). The message gives
    the shapes, the number of differing entries and the worst one (expected vs got).
    """
    exp = np.asarray(expected)
    if got is None:
        return f"{name}: got None; did you forget to return it?"
    try:
        arr = np.asarray(got)
    except Exception:                                              # noqa: BLE001 - student value
        return f"{name}: expected {_describe(exp)}, got {_describe(got)}"
    if arr.dtype == object:
        return f"{name}: expected {_describe(exp)}, got {_describe(got)}"
    if exp.ndim == 0 and arr.ndim == 1 and arr.size == 1:
        arr = arr.reshape(())
    if arr.shape != exp.shape:
        msg = f"{name}: expected shape {exp.shape}, got shape {arr.shape}"
        if arr.ndim == 2 and arr.shape == exp.shape[::-1]:
            msg += " (transposed?)"
        elif arr.size == exp.size:
            msg += " (same number of entries: a reshape or a lost axis?)"
        return msg
    if exp.dtype == bool:
        if arr.dtype != bool:
            return (f"{name}: expected a bool array (True = keep / dead), got dtype {arr.dtype}; "
                    "a comparison such as np.abs(w) > t gives one")
        bad = arr != exp
        if not bad.any():
            return None
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if exp.ndim else ()
        return (f"{name}: {int(bad.sum())} of {exp.size} entries differ\n"
                f"first differing entry {list(idx)}: expected {_fmt(exp[idx])}, got {_fmt(arr[idx])}")
    if not np.issubdtype(arr.dtype, np.number) and arr.dtype != bool:
        return f"{name}: expected numbers, got {_describe(got)}"
    if np.issubdtype(exp.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and not np.all(np.mod(arr, 1) == 0):
            return f"{name}: expected integers, got non-integer floats ({_describe(got)})"
        bad = arr.astype(np.int64) != exp.astype(np.int64)
    else:
        a64, e64 = arr.astype(np.float64), exp.astype(np.float64)
        with np.errstate(invalid="ignore"):
            bad = ~np.isclose(a64, e64, rtol=rtol, atol=atol)
    if not np.any(bad):
        return None
    if exp.ndim == 0:
        extra = ""
        if not np.isfinite(float(arr)):
            extra = " (nan or inf: an overflow somewhere?)"
        return f"{name}: expected {_fmt(exp)}, got {_fmt(arr)}{extra}"
    with np.errstate(invalid="ignore"):
        diff = np.abs(arr.astype(np.float64) - exp.astype(np.float64))
    diff = np.where(np.isnan(diff), np.inf, diff)
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))
    lines = [f"{name}: {int(np.sum(bad))} of {exp.size} entries differ"
             + ("" if np.issubdtype(exp.dtype, np.integer) else f" (rtol {rtol:g}, atol {atol:g})"),
             f"worst entry {list(worst)}: expected {_fmt(exp[worst])}, got {_fmt(arr[worst])}"]
    if exp.size <= 12:
        lines.append(f"expected {np.array2string(exp, precision=5, separator=', ')}")
        lines.append(f"got      {np.array2string(arr, precision=5, separator=', ')}")
    if not np.all(np.isfinite(arr)):
        lines.append("some entries are nan or inf: an overflow somewhere?")
    return "\n".join(lines)


def compare_outputs(task, expected, got, rtol, atol):
    """Compare a function's whole return value (one value or a tuple) with the expected one."""
    names = task.outputs
    if len(names) == 1:
        return compare(names[0], expected, got, rtol, atol)
    if not isinstance(got, (tuple, list)) or len(got) != len(names):
        what = f"a tuple of {len(got)}" if isinstance(got, (tuple, list)) else _describe(got)
        return f"expected a tuple of {len(names)} values ({', '.join(names)}), got {what}"
    for name, e, g in zip(names, expected, got):
        msg = compare(name, e, g, rtol, atol)
        if msg:
            return msg
    return None


# -- running a student's file ----------------------------------------------------------------------

def load_module(path):
    """Import a student's file under a private name; return (module, None) or (None, error text)."""
    path = Path(path)
    name = f"_minnet_exercise_{path.stem}_{abs(hash(str(path.resolve())))}"
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as e:                           # noqa: BLE001 - student code
        return None, f"could not import the file: {_short_error(e, path)}"
    return module, None


def _short_error(exc, path=None):
    """'ValueError: ... (ex01_dense.py, line 42)': the exception and the student's innermost line."""
    where = ""
    tb = traceback.extract_tb(exc.__traceback__)
    if isinstance(exc, SyntaxError) and exc.lineno:
        where = f" ({Path(exc.filename or '').name}, line {exc.lineno})"
    else:
        frames = [f for f in tb if path is None or Path(f.filename).resolve() == Path(path).resolve()]
        if frames:
            f = frames[-1]
            where = f" ({Path(f.filename).name}, line {f.lineno}: {f.line})"
    text = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    return f"{type(exc).__name__}: {text}{where}"


def _copy_args(args):
    """Fresh copies of array arguments, so a function that writes into its inputs cannot change the
    next case (or the expected values)."""
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def run_case_check(check, got):
    """A case's own check: ``check(got)`` returns None (right) or a one-line message (wrong).

    Used for answers that are right in more than one way (a set of sparsities that meets a
    target, a multiple-choice letter). A check that raises on an odd answer (a string where a
    number was expected) counts as a failure and says what it raised.
    """
    try:
        with np.errstate(all="ignore"):
            msg = check(got)
    except Exception as e:                                         # noqa: BLE001 - student value
        return f"the answer could not be checked ({type(e).__name__}: {e}); got {_describe(got)}"
    return None if msg is None else str(msg)


def check_task(module, task, path=None):
    """Run one function over its cases, stopping at the first failure; return a TaskResult.

    A case with a ``check`` function is judged by it; otherwise the result is compared with the
    case's expected value (:func:`compare_outputs`).
    """
    fn = getattr(module, task.function, None)
    hints = {"hint": task.hint, "hint_more": getattr(task, "hint_more", "") or ""}
    if fn is None or not callable(fn):
        return TaskResult(task.function, MISSING, 0, 0,
                          f"the file defines no function {task.function}() (was it renamed?)",
                          **hints)
    cases = task.make_cases()
    for i, case in enumerate(cases):
        head = f"case {i + 1}/{len(cases)}: {case.description}"
        try:
            with np.errstate(all="ignore"):
                got = fn(*_copy_args(case.args))
        except NotImplementedError:
            return TaskResult(task.function, TODO, i, len(cases),
                              "not implemented yet (the stub still raises NotImplementedError)",
                              **hints)
        except (Exception, SystemExit) as e:                       # noqa: BLE001 - student code
            return TaskResult(task.function, FAIL, i, len(cases),
                              f"{head}\nraised {_short_error(e, path)}", **hints)
        check = getattr(case, "check", None)
        if check is not None:
            msg = run_case_check(check, got)
        else:
            msg = compare_outputs(task, case.expected, got, case.rtol, case.atol)
        if msg:
            hint = f"\nhint: {task.hint}" if task.hint else ""
            return TaskResult(task.function, FAIL, i, len(cases), f"{head}\n{msg}{hint}", **hints)
    return TaskResult(task.function, PASS, len(cases), len(cases))


def check_file(path, exercise, allow_minnet=False):
    """Grade one exercise file (``exercise`` from :data:`EXERCISES`); return a FileResult.

    A file that imports minnet is not run: every import becomes a violation line and every
    function a FAIL "not graded". ``allow_minnet=True`` lifts the rule (for answer files that
    call the engine on purpose, as the checker's own test fixtures do).
    """
    result = FileResult(exercise.filename, exercise.title, Path(path) if path else None)
    if path is None or not Path(path).is_file():
        result.error = f"file not found: {path or exercise.filename}"
        return result
    found = [] if allow_minnet else minnet_imports(Path(path))
    if found:
        result.violations = format_violations(exercise.filename, found)
        lines = ", ".join(str(line) for line, _ in found)
        result.tasks = [TaskResult(t.function, FAIL, 0, 0,
                                   f"not graded: the file imports minnet (line {lines})")
                        for t in exercise.tasks]
        return result
    module, error = load_module(path)
    if error:
        result.error = error
        return result
    result.tasks = [check_task(module, t, path) for t in exercise.tasks]
    return result


def exercise_for(path):
    """The exercise a file name belongs to (matched on the name, e.g. ex03_pruning_mask.py), or None."""
    for ex in EXERCISES:
        if Path(path).name == ex.filename:
            return ex
    return None


def check_path(*paths, only=None, allow_minnet=False):
    """Grade a folder of exercise files (every exercise expected) or the given files.

    paths: folders and/or files; none means the repository's tutorials/exercises (the students'
    copies). only: names (file names, stems or function names) to restrict the check to.
    allow_minnet: see :func:`check_file`. Returns a CheckResult (no files when ``only`` matched
    nothing).
    """
    paths = [Path(p) for p in paths] or [default_exercise_dir()]
    results = []
    for p in paths:
        if p.is_dir():
            for ex in EXERCISES:
                results.append(check_file(p / ex.filename, ex, allow_minnet))
        elif p.is_file():
            ex = exercise_for(p)
            if ex is None:
                known = ", ".join(e.filename for e in EXERCISES)
                r = FileResult(p.name, "(unknown exercise)", p)
                r.error = f"not an exercise file name; expected one of: {known}"
                results.append(r)
            else:
                results.append(check_file(p, ex, allow_minnet))
        else:
            r = FileResult(p.name, "", p)
            r.error = f"no such file or folder: {p}"
            results.append(r)
    if only:
        wanted = set(only)

        def keep(r):
            return (r.filename in wanted or Path(r.filename).stem in wanted
                    or any(t.function in wanted for t in r.tasks))
        results = [r for r in results if keep(r)]
        for r in results:
            if r.filename not in wanted and Path(r.filename).stem not in wanted:
                r.tasks = [t for t in r.tasks if t.function in wanted]
    return CheckResult(results)


def format_results(result, more_hints=False):
    """The report as text: one block per file, one line per function, details under failures.

    more_hints: under every function not yet passing, also print its hint and the fuller second
    hint (``Task.hint_more``), for a student who asked for it.
    """
    lines = []
    for f in result.files:
        lines.append(f"{f.filename}  {f.title}".rstrip())
        if f.error:
            lines.append(f"  ERROR {f.error}")
            continue
        lines.extend(f"  {FAIL:<5} {'imports minnet':<24} {v}" for v in f.violations)
        for t in f.tasks:
            count = f"{t.passed}/{t.total} cases" if t.total else ""
            first, *rest = (t.message or "").split("\n")
            if t.status == PASS:
                lines.append(f"  {t.status:<5} {t.function:<24} {count}")
            else:
                lines.append(f"  {t.status:<5} {t.function:<24} {first}")
                lines.extend(f"        {line}" for line in rest)
                if more_hints:
                    if t.hint and not any(line.startswith("hint:") for line in rest):
                        lines.append(f"        hint: {t.hint}")
                    lines.append(f"        more: {t.hint_more or '(no second hint for this one)'}")
    n_tasks = sum(len(f.tasks) for f in result.files)
    n_pass = sum(t.status == PASS for f in result.files for t in f.tasks)
    n_todo = sum(t.status == TODO for f in result.files for t in f.tasks)
    summary = f"{n_pass}/{n_tasks} functions pass"
    if n_todo:
        summary += f", {n_todo} not implemented yet"
    errors = sum(bool(f.error) for f in result.files)
    if errors:
        summary += f", {errors} file(s) could not be checked"
    if any(f.violations for f in result.files):
        summary += f", {sum(bool(f.violations) for f in result.files)} file(s) import minnet"
    lines.append(summary + (" - all done!" if result.passed else ""))
    return "\n".join(lines)


def default_exercise_dir():
    """The students' folder when no path is given: $MINNET_EXERCISES if set, else the checkout's
    tutorials/exercises (found from this file, so it exists only in a checkout)."""
    return Path(os.environ["MINNET_EXERCISES"]) if os.environ.get("MINNET_EXERCISES") \
        else DEFAULT_EXERCISE_DIR
