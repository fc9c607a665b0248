"""--resume cleans up after the killed run and says when the machine would change the bits."""

import json

from minnet.cli import main


def test_resume_removes_stale_tmp_files_and_warns_about_other_blas_threads(tiny_idx, tmp_path,
                                                                         capsys, monkeypatch):
    out = tmp_path / "run"
    monkeypatch.delenv("MINNET_BLAS_THREADS", raising=False)
    assert main(["train", "--data", str(tiny_idx), "--epochs", "2", "--val-size", "60",
                 "--no-progress", "--out", str(out)]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["blas_threads"] == 1                    # batch 64: one thread by default
    (out / "report.json").unlink()                       # as if killed before its last write
    (out / "checkpoint.npz.tmp").write_bytes(b"half a file")
    capsys.readouterr()
    monkeypatch.setenv("MINNET_BLAS_THREADS", "3")
    assert main(["train", "--out", str(out), "--resume", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "trained with 1 BLAS thread(s), this resume uses 3" in err
    assert not list(out.glob("*.tmp")) and (out / "report.json").exists()
    # the same threads: no warning
    (out / "report.json").unlink()
    monkeypatch.setenv("MINNET_BLAS_THREADS", "1")
    assert main(["train", "--out", str(out), "--resume", "--no-progress"]) == 0
    assert "BLAS thread" not in capsys.readouterr().err


def _report_numbers(out):
    report = json.loads((out / "report.json").read_text())
    return {k: report[k] for k in ("error_before", "error_after", "val_error_before",
                                   "val_error_after", "compression")}


def test_a_run_killed_before_any_one_of_its_writes_resumes_to_the_same_result(tiny_idx, tmp_path,
                                                                            monkeypatch):
    """Every file minnet writes lands through os.replace (atomic writes, dense.npz -> model.npz).
    Kill the run (KeyboardInterrupt, as Ctrl-C) just before the k-th replace, for every k, then
    --resume: each ends with the numbers of the uninterrupted run."""
    import os
    argv = ["prune", "--data", str(tiny_idx), "--epochs", "1", "--retrain-epochs", "1",
            "--rounds", "1", "--finetune-epochs", "0", "--val-size", "60", "--no-progress"]
    real_replace, calls = os.replace, []

    def counting(src, dst, *a, **kw):
        calls.append(dst)
        if len(calls) == kill["at"]:
            raise KeyboardInterrupt
        return real_replace(src, dst, *a, **kw)

    kill = {"at": 0}
    monkeypatch.setattr(os, "replace", counting)
    assert main([*argv, "--out", str(tmp_path / "whole")]) == 0
    expected, n_writes = _report_numbers(tmp_path / "whole"), len(calls)
    assert n_writes >= 8
    for kill_at in range(1, n_writes + 1):
        calls.clear()
        kill["at"] = kill_at
        out = tmp_path / f"killed{kill_at}"
        assert main([*argv, "--out", str(out)]) == 130, kill_at
        kill["at"] = 0
        code = main(["prune", "--out", str(out), "--resume", "--no-progress"])
        if code == 2:      # killed before config.json or the first checkpoint: start again
            code = main([*argv, "--out", str(out), "--overwrite"])
        assert code == 0 and _report_numbers(out) == expected, kill_at
