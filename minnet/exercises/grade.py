"""Grade a whole class: one folder per student in, one CSV row per student out.

    python -m minnet.exercises grade submissions/ --csv grades.csv

``submissions/alice/``, ``submissions/bob/``, ... each hold one student's exercise files, at any
depth (a whole checkout works too: for each exercise the shallowest file of that name is graded,
so ``tutorials/exercises/ex03_pruning_mask.py`` wins over a copied ``solutions/`` one).

Each student is graded in a separate Python process with a time limit: a student's infinite loop,
``sys.exit()`` or a crash costs that student's row (marked in the "problems" column), never the
class. The CSV has one column per function (1 = passes all its cases, 0 = not), the total, the
maximum, and a short list of problems; it is written atomically, once, at the end.
"""

import csv
import io
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from minnet.atomic import atomic_write_text
from minnet.exercises.cases import EXERCISES
from minnet.exercises.results import POINTS_PER_FUNCTION


def task_columns():
    """The CSV's per-function column names, in exercise order, e.g. "ex01_dense.dense_forward"."""
    return [f"{ex.filename[:-3]}.{t.function}" for ex in EXERCISES for t in ex.tasks]


def student_folders(submissions):
    """The student folders of ``submissions``: its sub-folders, sorted, hidden ones skipped."""
    root = Path(submissions)
    return sorted(p for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith((".", "_")))


def find_exercise_files(folder):
    """{exercise file name: path} of the shallowest file of each exercise's name under ``folder``
    (ties broken alphabetically); exercises with no file are absent."""
    found = {}
    folder = Path(folder)
    for ex in EXERCISES:
        hits = [p for p in folder.rglob(ex.filename)
                if p.is_file() and not any(part.startswith(".") or part == "__pycache__"
                                           for part in p.relative_to(folder).parts)]
        if hits:
            found[ex.filename] = min(hits, key=lambda p: (len(p.relative_to(folder).parts), str(p)))
    return found


def grade_student(folder, timeout=300.0, allow_minnet=False):
    """Grade one student's folder in a child process; return (points {column: score}, problems).

    The files found by :func:`find_exercise_files` are copied under their exercise names into a
    temporary folder and checked there with ``python -m minnet.exercises check --json``; a missing
    file, a timeout or a crashed checker scores 0 for the functions concerned.
    """
    points = {c: 0.0 for c in task_columns()}
    files = find_exercise_files(folder)
    if not files:
        return points, ["no exercise files found"]
    problems = []
    with tempfile.TemporaryDirectory(prefix="minnet-grade-") as tmp:
        work = Path(tmp) / "exercises"
        work.mkdir()
        for name, path in files.items():
            shutil.copyfile(path, work / name)
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "minnet.exercises", "check", str(work), "--json", str(out)]
        if allow_minnet:
            cmd.append("--allow-minnet")
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  cwd=tmp)
        except subprocess.TimeoutExpired:
            return points, [f"timed out after {timeout:g} s (an endless loop?)"]
        if not out.is_file():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            return points, [f"the checker crashed (exit {proc.returncode}): {tail[0][:200]}"]
        data = json.loads(out.read_text())
    for f in data["files"]:
        stem = f["filename"][:-3]
        if f["error"]:
            problems.append(f"{f['filename']}: {f['error'].splitlines()[0][:120]}")
        if f["violations"]:
            problems.append(f"{f['filename']} imports minnet")
        for t in f["tasks"]:
            column = f"{stem}.{t['function']}"
            if column in points:
                points[column] = float(t["score"])
            if t["status"] == "TODO" and not f["error"]:
                problems.append(f"{stem}.{t['function']} not implemented")
    return points, problems


def grade_submissions(submissions, timeout=300.0, allow_minnet=False, log=print):
    """Grade every student folder of ``submissions``; return the rows (dicts) of the CSV.

    Row keys: "student", one per :func:`task_columns`, "total", "max", "problems"."""
    columns = task_columns()
    rows = []
    for folder in student_folders(submissions):
        points, problems = grade_student(folder, timeout, allow_minnet)
        total = sum(points.values())
        rows.append({"student": folder.name, **points, "total": total,
                     "max": POINTS_PER_FUNCTION * len(columns), "problems": "; ".join(problems)})
        log(f"{folder.name}: {total:g}/{POINTS_PER_FUNCTION * len(columns):g}"
            + (f"  ({rows[-1]['problems']})" if problems else ""))
    return rows


def write_csv(path, rows):
    """Write the rows of :func:`grade_submissions` as CSV to ``path`` atomically."""
    buffer = io.StringIO()
    fields = ["student", *task_columns(), "total", "max", "problems"]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:g}" if isinstance(v, float) else v) for k, v in row.items()})
    return atomic_write_text(Path(path), buffer.getvalue())
