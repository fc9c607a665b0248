"""The class challenge: prune LeNet-300-100 further than the main job, on a budget, graded from the
student's run folder (tutorials/exercises/challenge.md states it for students).

    result = grade_challenge("runs/alice")       # a folder written by `python -m minnet prune`
    print(result.scoreboard_line)                # alice  15.0x  1.68% val  98 epochs  PASS

The goal: at least :data:`MIN_COMPRESSION` x smaller (every parameter counted, as the paper does),
at most :data:`MAX_VAL_ERROR` validation error, in at most :data:`MAX_EPOCHS` epochs of training in
total (dense + every retraining round + fine-tuning). The main job (`python -m minnet prune --model
lenet300`) reaches 12x at 1.60-1.80% in 102 epochs: it fails on two counts.

Everything comes from two files of the run folder. report.json gives ``compression``,
``val_error_after`` (the 5,000 held-out training images: validation decides, the test set is not
part of the challenge) and ``history`` (one list of epochs per training step, which is what the
epochs are counted from). config.json gives the settings, which must describe the same run and fix
the rules: LeNet-300-100 on the MNIST that ships with minnet, the default 5,000-image validation
split, and no ``--dense-model`` (its dense epochs were spent elsewhere, so they could not be
counted). A rule broken is a FAIL with its reason; a missing or damaged file is a RunFolderError.
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path

from minnet.errors import ConfigError, RunFolderError
from minnet.run_folder import not_a_folder_reason

MIN_COMPRESSION = 15.0        # x smaller than the dense 266,610 parameters (biases counted)
MAX_VAL_ERROR = 0.0170        # validation error after pruning and retraining
MAX_EPOCHS = 100              # dense + retrain + fine-tune, every epoch of the run
VAL_SIZE = 5000               # the default validation split (comparable errors across students)
DATA = None                   # config "data": None is the MNIST that ships with minnet

# Which config field gives the epochs of each kind of training step in report.json's history.
_EPOCHS_FIELD = {"train": "epochs", "retrain": "retrain_epochs", "finetune": "finetune_epochs"}


@dataclass(frozen=True)
class ChallengeResult:
    """The grade of one run folder.

    passed: every rule holds. compression: report.json's (dense / kept parameters, biases counted).
    val_error: report.json's val_error_after, a fraction (0.0168 = 1.68%), or None if the run held
    out no validation split. epochs: every training epoch the run spent, from its history.
    scoreboard_line: one line, e.g. ``alice  15.0x  1.68% val  98 epochs  PASS``.
    reasons: one sentence per broken rule, saying what to change (empty when passed).
    """

    passed: bool
    compression: float
    val_error: float | None
    epochs: int
    scoreboard_line: str
    reasons: tuple = ()


def _read_json(path, what):
    """The JSON object in ``path``; RunFolderError naming the file if it is missing or damaged."""
    if not path.is_file():
        raise RunFolderError(f"{path} is missing: {what}")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunFolderError(f"{path} is damaged (not valid JSON: {e}); run the prune command "
                             "again into a fresh --out") from None
    if not isinstance(data, dict):
        raise RunFolderError(f"{path} is damaged (a JSON {type(data).__name__}, not an object); run "
                             "the prune command again into a fresh --out")
    return data


def _number(report, key, path, allow_none=False):
    value = report.get(key, "missing")
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RunFolderError(f"{path}: field {key!r} is {value!r}, not a number; the file is damaged "
                             "or from another minnet (run the prune command again)")
    return float(value)


def count_epochs(history, config, path):
    """Every training epoch of a run: the sum over report.json's history of each step's epochs.

    history: report.json's "history" (one entry per training step, each with a list "epoch");
    config: the run's settings. Each step must have run the epochs its settings plan (dense
    ``epochs``, each round ``retrain_epochs``, ``finetune_epochs``): otherwise the run is unfinished
    or the file was edited, and RunFolderError says so. Returns an int.
    """
    if not isinstance(history, list):
        raise RunFolderError(f"{path}: field 'history' is not a list; the file is damaged")
    total = 0
    for entry in history:
        if not isinstance(entry, dict) or not isinstance(entry.get("epoch"), list):
            raise RunFolderError(f"{path}: a 'history' entry has no list of epochs; the file is damaged")
        n, step = len(entry["epoch"]), entry.get("step")
        planned = config.get(_EPOCHS_FIELD.get(step, ""), None)
        if planned is not None and n != planned:
            where = f"{step} step" + (f" of round {entry['round']}" if entry.get("round") else "")
            raise RunFolderError(f"{path}: its {where} ran {n} epochs but config.json plans "
                                 f"{planned}: an unfinished or edited run")
        total += n
    return total


def grade_challenge(run_dir, name=None, max_val_error=None):
    """Grade one run folder against the challenge; return a :class:`ChallengeResult`.

    run_dir: a folder written by ``python -m minnet prune`` (config.json and report.json);
    name: the scoreboard's first column (default: the folder's name); max_val_error: the teacher's
    validation-error bar as a fraction, 0 < bar < 1 (default :data:`MAX_VAL_ERROR`). Why a teacher
    may move it: with the same recipe, seeds 1 and 2 ended 0.1-0.3 points above seed 0
    (tutorials/exercises/challenge.md). A bar other than the default is printed on the scoreboard
    line, so lines graded against different bars are not mistaken for each other. Pure: reads the
    two files, writes nothing. Raises RunFolderError (a MinnetError) with one line naming the file
    when a file is missing or damaged, ConfigError for a bar outside (0, 1); a run that breaks a
    rule is graded FAIL with its reasons instead.
    """
    if max_val_error is not None and (isinstance(max_val_error, bool)
                                      or not isinstance(max_val_error, (int, float))
                                      or not 0 < max_val_error < 1):
        raise ConfigError(f"the validation-error bar must be a fraction between 0 and 1 (0.017 = "
                          f"1.70%), got {max_val_error!r}")
    bar = MAX_VAL_ERROR if max_val_error is None else max_val_error
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        out = "DIR" if run_dir.exists() else run_dir
        raise RunFolderError(f"{run_dir}: {not_a_folder_reason(run_dir)}; make one with `python -m "
                             f"minnet prune --model lenet300 --compression 15 ... --out {out}`")
    if (run_dir / "summary.json").is_file() and not (run_dir / "report.json").is_file():
        raise RunFolderError(f"{run_dir} holds several seeds (summary.json); grade one of its seed "
                             f"folders, e.g. {run_dir / 'seed0'}")
    saved = _read_json(run_dir / "config.json", "is this the --out folder of `python -m minnet prune`?")
    report = _read_json(run_dir / "report.json", "the run has not finished; finish it with "
                        f"`python -m minnet prune --out {run_dir} --resume`")
    config = report.get("config")
    if not isinstance(config, dict) or not isinstance(saved.get("config"), dict):
        raise RunFolderError(f"{run_dir}: report.json or config.json has no 'config' object; the "
                             "files are damaged")
    if saved["config"] != config:
        raise RunFolderError(f"{run_dir}: config.json and report.json describe different runs (was "
                             "one of them copied from another folder?)")
    report_path = run_dir / "report.json"
    compression = _number(report, "compression", report_path)
    val_error = _number(report, "val_error_after", report_path, allow_none=True)
    epochs = count_epochs(report.get("history"), config, report_path)

    reasons = []
    if config.get("model") != "lenet300":
        reasons.append(f"the model is {config.get('model')!r}: the challenge is LeNet-300-100 "
                       "(--model lenet300)")
    if config.get("data") != DATA:
        reasons.append("trained on --data: the challenge is the MNIST that ships with minnet")
    if config.get("val_size") != VAL_SIZE or val_error is None:
        reasons.append(f"validated on {config.get('val_size')} images: the challenge uses the "
                       f"default {VAL_SIZE} (no --val-size, no --quick)")
    if config.get("dense_model"):
        reasons.append("the dense model was loaded (--dense-model): its epochs cannot be counted; "
                       "train it in the same run")
    if compression < MIN_COMPRESSION:
        reasons.append(f"compression {compression:.2f}x is below {MIN_COMPRESSION:g}x "
                       f"(--compression {MIN_COMPRESSION:g})")
    if val_error is not None and val_error > bar + 1e-9:
        reasons.append(f"validation error {100 * val_error:.2f}% is above {100 * bar:.2f}%")
    if epochs > MAX_EPOCHS:
        reasons.append(f"{epochs} epochs in total, the budget is {MAX_EPOCHS} (dense --epochs + "
                       "--rounds x --retrain-epochs x phases + --finetune-epochs)")
    passed = not reasons
    shown = math.floor(compression * 10) / 10        # never show 15.0x for a 14.97x that fails
    val = "  n/a  " if val_error is None else f"{100 * val_error:.2f}%"
    line = (f"{name or run_dir.resolve().name:<12} {shown:5.1f}x  {val} val  {epochs:3d} epochs  "
            + ("PASS" if passed else f"FAIL ({len(reasons)} rule{'s' * (len(reasons) > 1)})")
            + ("" if bar == MAX_VAL_ERROR else f"  (bar {100 * bar:.2f}% val)"))
    return ChallengeResult(passed, compression, val_error, epochs, line, tuple(reasons))
