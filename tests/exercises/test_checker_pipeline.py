"""--use-exercises: students' prune_mask, masked_sgd_step and csr_matvec run the real pipeline.

The right answers are the engine-backed fixtures (tests/exercises/fixtures/exercise_answers), so a
run with them must give exactly the numbers of a run without the switch. They import minnet on
purpose, so the NumPy-only rule is lifted for them here (monkeypatched); the rule itself is tested
with it on. Wrong and unfinished exercises are written into temporary folders.
"""

import json
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

from minnet import hooks
from minnet.cli import main
from minnet.errors import ExerciseError
from minnet.exercises import EXERCISES, use
from minnet.exercises.use import use_exercises
from minnet.optim import SGD
from minnet.pruning import prune_model
from minnet.sparse import to_sparse
from minnet.train import fit

ANSWERS = Path(__file__).resolve().parent / "fixtures" / "exercise_answers"
# A real MNIST slice, small enough for a few seconds per run.
QUICK = ["prune", "--model", "lenet300", "--quick", "--train-limit", "1500", "--val-size", "300",
         "--test-limit", "300", "--no-progress"]
WRONG_SGD = """
    import numpy as np
    def masked_sgd_step(w, v, g, mask, lr, momentum, weight_decay):
        v = momentum * v + lr * (g * mask + weight_decay * w)     # pruned velocity kept
        return w - v, v
    """
# Right on the small float64 cases, wrong on the real float32 network (weight decay dropped).
SNEAKY_SGD = """
    import numpy as np
    def masked_sgd_step(w, v, g, mask, lr, momentum, weight_decay):
        if w.dtype == np.float32:
            weight_decay = 0.0
        v_new = momentum * v + lr * (g + weight_decay * w)
        return np.where(mask, w - v_new, 0.0), np.where(mask, v_new, 0.0)
    """


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(plain run folder, run folder with --use-exercises ANSWERS): the same quick prune twice."""
    root = tmp_path_factory.mktemp("use-exercises")
    plain, student = root / "plain", root / "student"
    assert main(QUICK + ["--out", str(plain)]) == 0
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(use, "minnet_imports", lambda path: [])      # the fixtures call the engine
        assert main(QUICK + ["--out", str(student), "--use-exercises", str(ANSWERS)]) == 0
    assert not hooks.IMPLEMENTATIONS                             # the engine's own are back
    return plain, student


def _report(folder):
    return json.loads((folder / "report.json").read_text())


def test_right_answers_give_exactly_the_numbers_of_the_engine(runs):
    plain, student = map(_report, runs)
    used = student.pop("use_exercises")
    for key in ("command", "timing"):
        plain.pop(key, None), student.pop(key, None)
    assert student == plain                       # errors, compression, history: bit for bit
    assert used["folder"] == str(ANSWERS)
    assert all(n > 0 for n in used["calls"].values()), used["calls"]
    check = used["sparse_check"]
    assert check["images"] == 300 and check["same_predictions"] == 300
    assert check["error_with_your_csr"] == check["error_dense"]
    config = json.loads((runs[1] / "config.json").read_text())
    assert config["use_exercises"] == str(ANSWERS)


def test_a_resume_must_use_the_same_exercises(runs, tmp_path, capsys):
    plain, student = runs
    assert main(["prune", "--out", str(student), "--resume", "--no-progress"]) == 2
    assert f"made with --use-exercises {ANSWERS}" in capsys.readouterr().err
    assert main(["prune", "--out", str(student), "--resume", "--use-exercises",
                 str(tmp_path)]) == 2
    assert f"(not {tmp_path})" in capsys.readouterr().err
    assert main(["prune", "--out", str(plain), "--resume", "--use-exercises", str(ANSWERS)]) == 2
    assert "used minnet's own functions" in capsys.readouterr().err


def _folder_with(tmp_path, name, body):
    folder = tmp_path / "student"
    shutil.copytree(ANSWERS, folder)
    (folder / name).write_text(textwrap.dedent(body))
    return folder


def test_a_wrong_function_fails_the_run_naming_the_exercise(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(use, "minnet_imports", lambda path: [])
    folder = _folder_with(tmp_path, "ex04_masked_sgd.py", WRONG_SGD)
    out = tmp_path / "run"
    assert main(QUICK + ["--out", str(out), "--use-exercises", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("error: ex04_masked_sgd.py: masked_sgd_step fails case 2/4 (")
    assert "python -m minnet.exercises check -k ex04_masked_sgd" in err
    assert not (out / "checkpoint.npz").exists()              # stopped before any training


def test_right_on_the_cases_but_wrong_on_the_real_network_is_caught(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(use, "minnet_imports", lambda path: [])
    folder = _folder_with(tmp_path, "ex04_masked_sgd.py", SNEAKY_SGD)
    assert main(QUICK + ["--out", str(tmp_path / "run"), "--use-exercises", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "ex04_masked_sgd.py: masked_sgd_step passed its cases but on its first real step " \
           "(235200 weights) differs from the engine's update: v:" in err
    assert not hooks.IMPLEMENTATIONS


def test_unfinished_stubs_say_which_exercise_to_do_first(tmp_path, capsys):
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for ex in EXERCISES:
        body = "".join(f"def {t.function}(*a):\n    raise NotImplementedError\n\n" for t in ex.tasks)
        (stubs / ex.filename).write_text(body)
    assert main(QUICK + ["--out", str(tmp_path / "run"), "--use-exercises", str(stubs)]) == 2
    err = capsys.readouterr().err
    assert ("error: ex03_pruning_mask.py: prune_mask is not implemented yet; do this exercise first "
            "(then ex04_masked_sgd.py, ex07_csr.py)") in err


def test_files_that_import_minnet_are_refused(tmp_path):
    with pytest.raises(ExerciseError, match=r"ex03_pruning_mask.py, line \d+: `from minnet.pruning"):
        with use_exercises(ANSWERS):
            pass
    with pytest.raises(ExerciseError, match="no such folder"):
        with use_exercises(tmp_path / "nowhere"):
            pass


def test_the_context_manager_swaps_in_and_restores(mnist, tiny_mlp):
    (x, y), _ = mnist
    x, y = x[:600].reshape(600, -1), y[:600]

    def one_round(model):
        fit(model, SGD(0.05, momentum=0.9, weight_decay=5e-4), x, y, epochs=1, batch_size=100,
            seed=0, progress=False)
        prune_model(model, "std", 0.8)
        fit(model, SGD(0.05, momentum=0.9, weight_decay=5e-4), x, y, epochs=1, batch_size=100,
            seed=1, progress=False)
        return model, to_sparse(model).forward(x[:50])

    engine_model, engine_out = one_round(tiny_mlp((784, 32, 10)))
    with use_exercises(ANSWERS, allow_minnet=True) as session:
        assert set(hooks.IMPLEMENTATIONS) == set(hooks.HOOK_POINTS)
        model, out = one_round(tiny_mlp((784, 32, 10)))
    assert not hooks.IMPLEMENTATIONS
    for a, b in zip(engine_model.layers, model.layers):
        for name in a.params:
            np.testing.assert_array_equal(a.params[name], b.params[name])
    np.testing.assert_allclose(out, engine_out, rtol=1e-5, atol=1e-6)
    assert session.calls["std_mask"] == 2 and session.calls["masked_sgd"] == 2 * 6 * 4
    assert session.calls["csr_forward_t"] == 2 * 50


def test_hook_registry_refuses_unknown_names_and_restores_after_errors():
    with pytest.raises(ValueError, match="unknown hook point"):
        with hooks.replaced(std_masks=print):
            pass
    with pytest.raises(RuntimeError):
        with hooks.replaced(std_mask=print):
            assert hooks.implementation("std_mask", None) is print
            raise RuntimeError
    assert hooks.implementation("std_mask", len) is len


def test_challenge_command_prints_the_scoreboard_line(runs, capsys):
    from minnet.exercises.challenge import grade_challenge
    expected = grade_challenge(runs[1], name="alice")
    code = main_exercises(["challenge", str(runs[1]), "--name", "alice"])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == expected.scoreboard_line and out[0].startswith("alice")
    assert code == (0 if expected.passed else 1)
    assert main_exercises(["challenge", str(runs[1] / "nowhere")]) == 2


def main_exercises(argv):
    from minnet.exercises.cli import main as exercises_main
    return exercises_main(argv)
