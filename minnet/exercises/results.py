"""Machine-readable grades: minnet's own JSON and Gradescope's ``results.json``.

    python -m minnet.exercises check alice/ --json alice.json
    python -m minnet.exercises check /autograder/submission --gradescope /autograder/results/results.json

Scoring is one point per function (``Task``) that passes all its cases, 0 otherwise: a function
stops at its first failing case, so "cases passed" says how far it got, not how right it is. A
function in a file that could not be loaded (missing, syntax error) or that imports minnet scores 0.

Gradescope's format (gradescope-autograders.readthedocs.io, "Autograder Specifications"):
``{"score", "execution_time", "output", "tests": [{"name", "score", "max_score", "status",
"output", "visibility"}]}``, with "status" "passed" or "failed". Both files are written
atomically, so an autograder never reads half of one.
"""

from pathlib import Path

from minnet.atomic import atomic_write_json
from minnet.exercises.checker import PASS, exercise_for, format_results

POINTS_PER_FUNCTION = 1.0


def task_rows(result):
    """One dict per graded function of a CheckResult, in order: file, function, status, score,
    max_score, cases_passed, cases_total, output (the checker's message for it, hint included).

    A file that could not be loaded gives one row per function of its exercise, status "ERROR"
    and the load error as output, so a missing file still counts against the total.
    """
    rows = []
    for f in result.files:
        tasks = f.tasks
        if f.error:
            ex = exercise_for(f.filename)
            tasks = [None] * len(ex.tasks) if ex else []
            names = [t.function for t in ex.tasks] if ex else []
        for i, t in enumerate(tasks):
            if t is None:
                rows.append({"file": f.filename, "function": names[i], "status": "ERROR",
                             "score": 0.0, "max_score": POINTS_PER_FUNCTION, "cases_passed": 0,
                             "cases_total": 0, "output": f.error})
                continue
            ok = t.status == PASS and not f.violations
            output = t.message or (f"{t.passed}/{t.total} cases pass" if ok else "")
            rows.append({"file": f.filename, "function": t.function, "status": t.status,
                         "score": POINTS_PER_FUNCTION if ok else 0.0,
                         "max_score": POINTS_PER_FUNCTION, "cases_passed": t.passed,
                         "cases_total": t.total, "output": output})
    return rows


def summary_line(result):
    """The checker's last line, e.g. "7/9 functions pass, 2 not implemented yet"."""
    return format_results(result).splitlines()[-1]


def results_dict(result, more_hints=False):
    """The whole grade as plain data (what ``--json FILE`` writes).

    {"passed", "score", "max_score", "summary", "files": [{"filename", "title", "path", "error",
    "violations", "passed", "tasks": [{"function", "status", "score", "max_score", "cases_passed",
    "cases_total", "message", "hint", "hint_more"?}]}]}; hint_more only with ``more_hints``.
    """
    rows = task_rows(result)
    files = []
    for f in result.files:
        tasks = []
        for r in (r for r in rows if r["file"] == f.filename):
            t = next((t for t in f.tasks if t.function == r["function"]), None)
            entry = {"function": r["function"], "status": r["status"], "score": r["score"],
                     "max_score": r["max_score"], "cases_passed": r["cases_passed"],
                     "cases_total": r["cases_total"], "message": t.message if t else r["output"],
                     "hint": t.hint if t else ""}
            if more_hints:
                entry["hint_more"] = t.hint_more if t else ""
            tasks.append(entry)
        files.append({"filename": f.filename, "title": f.title,
                      "path": str(f.path) if f.path else None, "error": f.error,
                      "violations": list(f.violations), "passed": f.passed, "tasks": tasks})
    return {"passed": result.passed, "score": sum(r["score"] for r in rows),
            "max_score": sum(r["max_score"] for r in rows), "summary": summary_line(result),
            "files": files}


def gradescope_dict(result, execution_time=None):
    """The grade in Gradescope's results.json format: one test per function, plus one failed
    0-point test per file that imports minnet (so the student sees why those scored 0)."""
    tests = []
    for f in result.files:
        if f.violations:
            tests.append({"name": f"{f.filename}: NumPy only (no minnet imports)", "score": 0.0,
                          "max_score": 0.0, "status": "failed", "output": "\n".join(f.violations),
                          "visibility": "visible"})
    for r in task_rows(result):
        tests.append({"name": f"{r['file']}: {r['function']}", "score": r["score"],
                      "max_score": r["max_score"],
                      "status": "passed" if r["score"] == r["max_score"] else "failed",
                      "output": r["output"], "visibility": "visible"})
    out = {"score": sum(t["score"] for t in tests), "output": summary_line(result),
           "visibility": "visible", "tests": tests}
    if execution_time is not None:
        out["execution_time"] = round(float(execution_time), 3)
    return out


def write_json(path, result, more_hints=False):
    """Write :func:`results_dict` to ``path`` atomically; returns the Path."""
    return atomic_write_json(Path(path), results_dict(result, more_hints))


def write_gradescope(path, result, execution_time=None):
    """Write :func:`gradescope_dict` to ``path`` (e.g. /autograder/results/results.json)."""
    return atomic_write_json(Path(path), gradescope_dict(result, execution_time))
