"""One owner per run folder: a lock held for the whole run, and a clean slate for --overwrite.

Two runs writing into one folder would mix their checkpoints and reports. ``RunLock`` takes an
exclusive ``flock`` on RUN_DIR/.lock for as long as the run lives; the operating system drops it
when the process ends in any way (kill -9 included), so a stale lock can never block a resume.
"""

import fcntl
import os
import shutil
from pathlib import Path

from minnet.errors import ConfigError

LOCK_FILE = ".lock"
# Everything a run writes, so --overwrite leaves none of the old run's files beside the new ones.
RUN_OUTPUTS = ("checkpoint.npz", "dense.npz", "pruned.npz", "model.npz", "report.json",
               "history.json", "config.json", "sensitivity.json", "tradeoff.json", "report.html",
               "figures")


class RunLock:
    """``with RunLock(run_dir):`` holds the folder's lock; a second holder gets a ConfigError."""

    def __init__(self, run_dir):
        self.run_dir = Path(run_dir)
        self.fd = None

    def __enter__(self):
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise ConfigError(f"--out {self.run_dir} is a file, not a folder; give a folder for the run")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        path = self.run_dir / LOCK_FILE
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(self.fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(self.fd)
            raise ConfigError(f"{self.run_dir} is in use by another run (process {owner}); wait "
                              "for it to finish, or pass another --out") from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, str(os.getpid()).encode(), 0)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        return False


def clear_run_outputs(run_dir):
    """Delete every file an earlier run wrote into ``run_dir`` (call it holding the lock)."""
    run_dir = Path(run_dir)
    for name in RUN_OUTPUTS:
        path = run_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    for stale in run_dir.glob("*.tmp"):
        stale.unlink()
