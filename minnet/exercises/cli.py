"""``python -m minnet.exercises check|list|grade|challenge``: the checker's command line.

    check [PATH ...] [-k NAME] [--more-hints] [--json FILE] [--gradescope FILE] [--allow-minnet]
        grade exercise files (default: the checkout's tutorials/exercises); exit 0 only if all pass
    list
        the exercises and their functions
    grade SUBMISSIONS_DIR --csv FILE [--timeout S]
        one sub-folder per student -> one CSV row per student (:mod:`minnet.exercises.grade`)
    challenge RUN_DIR [--name NAME]
        grade the challenge from a run folder and print its scoreboard line (exit 0 if it passes)

Exit status: 0 all passed, 1 something failed or is not done yet, 2 a usage mistake (a -k that
matches nothing, a missing folder), said in one line on stderr.
"""

import inspect
import sys
import time

from minnet.cli_parser import ArgumentParser
from minnet.errors import MinnetError
from minnet.exercises.cases import EXERCISES
from minnet.exercises.checker import check_path, default_exercise_dir, format_results


def make_parser():
    """The argparse parser of ``python -m minnet.exercises``."""
    parser = ArgumentParser(
        prog="python -m minnet.exercises",
        description="Grade exercise files against minnet's own implementation.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="grade exercise files (default: tutorials/exercises)")
    check.add_argument("paths", nargs="*", metavar="PATH",
                       help="folders or ex*.py files (default: the repository's tutorials/exercises)")
    check.add_argument("-k", dest="only", action="append", metavar="NAME",
                       help="only this exercise file or function (repeatable)")
    check.add_argument("--more-hints", dest="more_hints", action="store_true",
                       help="also print the second, fuller hint of every function not yet passing")
    check.add_argument("--json", metavar="FILE",
                       help="also write the results as JSON to FILE (score, files, functions)")
    check.add_argument("--gradescope", metavar="FILE",
                       help="also write Gradescope's results.json format to FILE")
    check.add_argument("--allow-minnet", dest="allow_minnet", action="store_true",
                       help="do not fail files that import minnet (default: the exercises are "
                       "NumPy only, and an import of minnet is a FAIL)")
    sub.add_parser("list", help="list the exercises and their functions")
    grade = sub.add_parser("grade", help="grade a folder of submissions (one sub-folder per "
                           "student) into one CSV")
    grade.add_argument("submissions", metavar="SUBMISSIONS_DIR")
    grade.add_argument("--csv", required=True, metavar="FILE", help="where to write the grades")
    grade.add_argument("--timeout", type=float, default=300.0,
                       help="seconds allowed per student (default 300)")
    grade.add_argument("--allow-minnet", dest="allow_minnet", action="store_true",
                       help="as for check")
    challenge = sub.add_parser("challenge", help="grade the challenge from a run folder and print "
                               "the scoreboard line")
    challenge.add_argument("run_dir", metavar="RUN_DIR")
    challenge.add_argument("--name", help="the name to put on the scoreboard line")
    challenge.add_argument("--max-val-error", dest="max_val_error", type=float, metavar="PERCENT",
                           help="for teachers: the validation-error bar in percent (default "
                           "1.70); a bar other than the default is shown on the scoreboard line")
    return parser


def _error(text):
    print(f"error: {text}", file=sys.stderr)
    return 2


def _list():
    for ex in EXERCISES:
        time = f" (about {ex.minutes} min)" if ex.minutes else ""
        print(f"{ex.filename:<32} {ex.title}{time}")
        if ex.objective:
            print(f"    objective: {ex.objective}")
        for t in ex.tasks:
            print(f"    {t.function}() -> {', '.join(t.outputs)}")
    return 0


def _check(args):
    from minnet.exercises.results import write_gradescope, write_json
    if not args.paths and not default_exercise_dir().is_dir():
        return _error(f"no exercise folder at {default_exercise_dir()} (minnet is not running "
                      "from a checkout); pass yours: python -m minnet.exercises check PATH, or set "
                      "MINNET_EXERCISES=PATH")
    from pathlib import Path
    known = {ex.filename for ex in EXERCISES}
    for path in map(Path, args.paths):
        # A typo'd path would otherwise grade as "10 files could not be checked".
        if not path.exists():
            return _error(f"{path}: no such file or folder")
        if path.is_dir() and not any((path / name).is_file() for name in known):
            return _error(f"{path} holds none of the exercise files ({min(known)} ... "
                          f"{max(known)}); see python -m minnet.exercises list")
        if path.is_file() and path.name not in known:
            return _error(f"{path.name} is not an exercise file; the names are {min(known)} ... "
                          f"{max(known)} (python -m minnet.exercises list)")
    start = time.perf_counter()
    result = check_path(*args.paths, only=args.only, allow_minnet=args.allow_minnet)
    if args.only and not result.files:
        return _error(f"-k {' -k '.join(args.only)} matches no exercise file or function; "
                      "see python -m minnet.exercises list")
    print(format_results(result, more_hints=args.more_hints))
    sys.stdout.flush()
    if args.json:
        write_json(args.json, result, more_hints=args.more_hints)
    if args.gradescope:
        write_gradescope(args.gradescope, result, time.perf_counter() - start)
    return 0 if result.passed else 1


def _grade(args):
    from pathlib import Path

    from minnet.exercises.grade import grade_submissions, write_csv
    if not args.timeout > 0:
        return _error(f"--timeout must be a number of seconds > 0, got {args.timeout}")
    if not Path(args.submissions).is_dir():
        return _error(f"{args.submissions}: no such folder (expected one sub-folder per student)")
    rows = grade_submissions(args.submissions, timeout=args.timeout,
                             allow_minnet=args.allow_minnet)
    if not rows:
        return _error(f"{args.submissions} has no sub-folders: put each student's files in a "
                      "folder of their own (submissions/alice/ex01_dense.py, ...)")
    write_csv(args.csv, rows)
    print(f"{len(rows)} students graded; grades in {args.csv}")
    return 0


def _challenge(args):
    try:
        from minnet.exercises.challenge import grade_challenge
    except ModuleNotFoundError as e:
        if e.name != "minnet.exercises.challenge":
            raise
        return _error("this minnet has no challenge grader (minnet/exercises/challenge.py)")
    parameters = inspect.signature(grade_challenge).parameters
    accepts_name = "name" in parameters
    options = {"name": args.name} if accepts_name else {}
    if args.max_val_error is not None:
        if "max_val_error" not in parameters:
            return _error("this minnet's challenge grader has no --max-val-error: grade against "
                          "its own bar, or update minnet/exercises/challenge.py")
        if not 0 < args.max_val_error < 100:
            return _error(f"--max-val-error {args.max_val_error:g} is not a percentage between 0 "
                          "and 100 (e.g. 1.9 for 1.90%)")
        options["max_val_error"] = args.max_val_error / 100
    result = grade_challenge(args.run_dir, **options)
    line = result.scoreboard_line
    if args.name and not accepts_name and not line.startswith(args.name):
        line = f"{args.name}: {line}"
    print(line)
    for reason in getattr(result, "reasons", ()):
        print(f"  {reason}")
    return 0 if result.passed else 1


def main(argv=None):
    """Run the command line; returns the exit status (0 all passed, 1 not, 2 a usage mistake)."""
    args = make_parser().parse_args(argv)
    commands = {"list": lambda a: _list(), "check": _check, "grade": _grade,
                "challenge": _challenge}
    try:
        return commands[args.command](args)
    except (MinnetError, OSError) as e:
        return _error(str(e))
