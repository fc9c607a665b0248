"""Run the real pipeline with a student's own functions: ``--use-exercises FOLDER``.

    python -m minnet prune --model lenet300 --quick --use-exercises tutorials/exercises

    with use_exercises("tutorials/exercises") as session:     # the same from Python
        model, state = run_pipeline(cfg, model, data, run_dir)
        print(session.evaluate_sparse(model, x_val, y_val))

Three exercise functions replace the engine's own at the hook points of :mod:`minnet.hooks`:

    ex03_pruning_mask.py  prune_mask(w, quality, std)   -> "std_mask": every prune round's mask
    ex04_masked_sgd.py    masked_sgd_step(w, v, g, ...) -> "masked_sgd": every SGD step of every
                                                           parameter, dense training and retraining
    ex07_csr.py           csr_matvec(indptr, ..., x)    -> "csr_forward_t": the pruned model's
                                                           CSR forward pass (evaluate_sparse)

Before anything runs, each is graded on its exercise's cases; a missing, unfinished or wrong one
stops the run with an :class:`~minnet.errors.ExerciseError` naming the file and function. A
function that passes the cases is still compared with the engine's own on its first real call
(per array shape), and after that the cheap invariants are checked on every call (pruned weights
stay 0, shapes), so a function that is right only on small cases fails the run too.

The wrappers adapt the student's NumPy signatures to the engine's: the engine's SGD kernel
updates flat float32 arrays in place and also takes an L1 coefficient (folded into the gradient
here: the student's update has no L1 term, and sign(w) l1 is exactly what it adds), and its CSR
kernel computes a whole batch with bias and ReLU (here: one ``csr_matvec`` per image, then
+ b and ReLU). Student code is plain NumPy, so it is slower: the report says how much time it took.
"""

import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from minnet import hooks
from minnet.errors import ExerciseError
from minnet.exercises.checker import (PASS, TODO, _short_error, check_task, compare,
                                      exercise_for, load_module)
from minnet.exercises.rules import format_violations, minnet_imports
from minnet.kernels.csr import csr_entry_rows
from minnet.kernels.dense import masked_sgd_update
from minnet.pruning.criteria import prune_by_std
from minnet.sparse.layers import csr_forward_t
from minnet.sparse.model import to_sparse

# (hook point, exercise file, function), in the order a student meets them in the tutorials.
HOOKED = (("std_mask", "ex03_pruning_mask.py", "prune_mask"),
          ("masked_sgd", "ex04_masked_sgd.py", "masked_sgd_step"),
          ("csr_forward_t", "ex07_csr.py", "csr_matvec"))


def _how_to_check(filename):
    return f"python -m minnet.exercises check -k {filename[:-3]}"


def load_student_functions(folder, allow_minnet=False):
    """{hook point: the student's function} from ``folder``, each graded on its cases first.

    Raises ExerciseError, one line, for the first exercise (in tutorial order) that is missing,
    imports minnet (unless ``allow_minnet``), does not import, is not implemented yet, or fails
    a case. Unfinished ones are listed together, the first named as the one to do first.
    """
    folder = Path(folder)
    needed = ", ".join(f for _, f, _ in HOOKED)
    if not folder.is_dir():
        raise ExerciseError(f"--use-exercises {folder}: no such folder; give the folder that holds "
                            f"your {needed}")
    functions, todo = {}, []
    for hook, filename, function in HOOKED:
        path = folder / filename
        if not path.is_file():
            raise ExerciseError(f"{path}: not found; --use-exercises needs {needed} in {folder}")
        found = [] if allow_minnet else minnet_imports(path)
        if found:
            raise ExerciseError(format_violations(filename, found)[0]
                                + "; the run must use your own code")
        module, error = load_module(path)
        if error:
            raise ExerciseError(f"{path}: {error}")
        task = next(t for t in exercise_for(filename).tasks if t.function == function)
        r = check_task(module, task, path)
        if r.status == TODO:
            todo.append((filename, function))
            continue
        if r.status != PASS:
            first, *rest = r.message.split("\n")
            what = (f"fails {first.split(':', 1)[0]} ({rest[0]})" if first.startswith("case ")
                    and rest else first)
            raise ExerciseError(f"{filename}: {function} {what}; fix it ({_how_to_check(filename)} "
                                "shows the details), then run again")
        functions[hook] = getattr(module, function)
    if todo:
        (filename, function), later = todo[0], [f for f, _ in todo[1:]]
        then = f" (then {', '.join(later)})" if later else ""
        raise ExerciseError(f"{filename}: {function} is not implemented yet; do this exercise "
                            f"first{then}: write it, check it with {_how_to_check(filename)}, "
                            "then run again")
    return functions


class ExerciseSession:
    """The student's functions behind the engine's signatures, with call counts and timings.

    Its methods ``std_mask``, ``masked_sgd`` and ``csr_forward_t`` are what :mod:`minnet.hooks`
    calls; :meth:`summary` is what the run's report.json records.
    """

    def __init__(self, folder, functions):
        self.folder = str(folder)
        self.functions = functions
        self.calls = Counter()
        self.seconds = defaultdict(float)
        self.verified = {}                     # hook -> shapes checked against the engine
        self.sparse_check = None

    def _call(self, hook, *args):
        """The student's function for ``hook`` on ``args``; its exceptions become ExerciseErrors."""
        _, filename, function = next(h for h in HOOKED if h[0] == hook)
        start = time.perf_counter()
        try:
            with np.errstate(all="ignore"):
                got = self.functions[hook](*args)
        except (Exception, SystemExit) as e:                       # noqa: BLE001 - student code
            raise ExerciseError(f"{filename}: {function} raised {_short_error(e)} in the real run "
                                f"(inputs of shape {np.shape(args[0])}); fix it, then run "
                                "again") from None
        finally:
            self.seconds[hook] += time.perf_counter() - start
            self.calls[hook] += 1
        return got

    def _fail(self, hook, what):
        _, filename, function = next(h for h in HOOKED if h[0] == hook)
        text = " ".join(what.split("\n")[:2])
        raise ExerciseError(f"{filename}: {function} passed its cases but {text}; "
                            f"run {_how_to_check(filename)} and look for what differs, then run again")

    def _first(self, hook, shape):
        """True the first time ``hook`` sees arrays of this shape: the call to verify."""
        seen = self.verified.setdefault(hook, [])
        if list(shape) in seen:
            return False
        seen.append(list(shape))
        return True

    # -- hook "std_mask": prune_by_std(w, quality, std) -> mask --------------------------------------
    def std_mask(self, w, quality, std):
        """The student's prune_mask on a copy of w, checked against the engine's on every call.

        Masks may differ only for weights within 1e-6 (relative) of the threshold q x std, where
        a different but equally valid order of floating-point operations can tip the comparison.
        """
        got = np.asarray(self._call("std_mask", w.copy(), quality, std))
        if got.shape != w.shape or got.dtype != bool:
            self._fail("std_mask", f"returned {got.dtype} of shape {got.shape} for a weight of "
                       f"shape {w.shape} (expected a bool mask of that shape)")
        ref = prune_by_std(w, quality, std)
        self._first("std_mask", w.shape)
        bad = got != ref
        if bad.any():
            t = quality * (float(np.std(w)) if std is None else float(std))
            far = bad & ~np.isclose(np.abs(w.astype(np.float64)), t, rtol=1e-6, atol=0.0)
            if far.any():
                self._fail("std_mask", f"on a real {w.shape} layer (q = {quality:.4g}) "
                           f"{int(far.sum())} of {w.size} entries differ from the engine's mask")
        return got

    # -- hook "masked_sgd": masked_sgd_update(w, v, g, mask, lr, mom, wd, l1) -> n_bad ---------------
    def masked_sgd(self, w, v, g, mask, lr, momentum, weight_decay, l1):
        """One SGD step by the student's masked_sgd_step, written into the engine's flat w and v."""
        g_in = g if l1 == 0.0 else g + w.dtype.type(l1) * np.sign(w)
        got = self._call("masked_sgd", w.copy(), v.copy(), g_in.copy(), mask.copy(), lr,
                         momentum, weight_decay)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            self._fail("masked_sgd", "did not return the pair (w, v) in the real run")
        w_new, v_new = (np.asarray(a) for a in got)
        if w_new.shape != w.shape or v_new.shape != v.shape:
            self._fail("masked_sgd", f"returned shapes {w_new.shape}, {v_new.shape} for "
                       f"parameters of shape {w.shape}")
        if self._first("masked_sgd", w.shape):
            w_ref, v_ref = w.copy(), v.copy()
            masked_sgd_update(w_ref, v_ref, g.copy(), mask, lr, momentum, weight_decay, l1)
            tol = (1e-4, 1e-7) if w.dtype == np.float32 else (1e-9, 1e-12)
            for name, ref, new in (("w", w_ref, w_new), ("v", v_ref, v_new)):
                msg = compare(name, ref, new, *tol)
                if msg:
                    self._fail("masked_sgd", f"on its first real step ({w.size} weights) "
                               f"differs from the engine's update: {msg}")
        elif np.any(w_new[~mask]) or np.any(v_new[~mask]):
            self._fail("masked_sgd", "brought a pruned weight back (w or v nonzero where the mask "
                       "is False) in the real run")
        w[...] = w_new
        v[...] = v_new
        return int(np.count_nonzero(~np.isfinite(w)))

    # -- hook "csr_forward_t": Y^T = act(W X^T + b), W in (column-blocked) CSR -----------------------
    def csr_forward_t(self, block_ptr, indices, data, bias, relu, xt, out_t):
        """The student's csr_matvec on each column of X^T, then + b and ReLU, into out_t."""
        n_rows = block_ptr.shape[1] - 1
        if block_ptr.shape[0] == 1:                  # plain CSR: the student's format as it is
            indptr, cols, vals = block_ptr[0], indices, data
        else:                                        # wide layers: undo the column blocks
            rows = csr_entry_rows(block_ptr)
            order = np.argsort(rows, kind="stable")
            indptr = np.zeros(n_rows + 1, dtype=np.int64)
            np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
            cols, vals = indices[order], data[order]
        indptr, cols = np.asarray(indptr, np.int64), np.asarray(cols, np.int64)
        verify = self._first("csr_forward_t", (n_rows, xt.shape[0]))
        for n in range(xt.shape[1]):
            y = np.asarray(self._call("csr_forward_t", indptr.copy(), cols.copy(), vals.copy(),
                                      xt[:, n].copy()))
            if y.shape != (n_rows,):
                self._fail("csr_forward_t", f"returned shape {y.shape} for a {n_rows}-row matrix")
            out_t[:, n] = y + bias
        if relu:
            np.maximum(out_t, 0, out=out_t)
        if verify:
            ref = csr_forward_t(block_ptr, indices, data, bias, relu, xt, np.empty_like(out_t))
            msg = compare("y", ref, out_t, 1e-4, 1e-5)
            if msg:
                self._fail("csr_forward_t", f"on a real {n_rows}-row layer differs from the "
                           f"engine's product: {msg}")
        return out_t

    # -- the CSR forward pass over a pruned model ------------------------------------------------------
    def evaluate_sparse(self, model, x, y, limit=1000, batch_size=100):
        """Error of the pruned ``model`` on up to ``limit`` images, computed through the student's
        CSR product (its FC layers converted with :func:`minnet.sparse.to_sparse`), beside the
        masked dense model's error on the same images. Returns a dict (also kept for summary())."""
        x, y = x[:limit], y[:limit]
        sparse = to_sparse(model)
        start = time.perf_counter()
        pred = np.concatenate([sparse.forward(x[i:i + batch_size]).argmax(axis=1)
                               for i in range(0, len(x), batch_size)])
        seconds = time.perf_counter() - start
        dense = model.predict(x, batch_size).argmax(axis=1)
        self.sparse_check = {"images": int(len(x)), "error_with_your_csr": float(np.mean(pred != y)),
                             "error_dense": float(np.mean(dense != y)),
                             "same_predictions": int(np.sum(pred == dense)),
                             "seconds": round(seconds, 3)}
        return self.sparse_check

    def summary(self):
        """What the run used and how long it took, for report.json (plain data)."""
        return {"folder": self.folder,
                "functions": {hook: f"{filename}: {function}" for hook, filename, function in HOOKED},
                "calls": {hook: self.calls[hook] for hook, _, _ in HOOKED},
                "seconds": {hook: round(self.seconds[hook], 3) for hook, _, _ in HOOKED},
                "checked_against_engine": {h: len(s) for h, s in self.verified.items()},
                "sparse_check": self.sparse_check}

    def format_summary(self):
        """Two or three lines for the run's printout."""
        s = self.summary()
        lines = [f"your functions from {self.folder}: "
                 + ", ".join(f"{s['functions'][h].split(': ')[1]} {s['calls'][h]} calls "
                             f"({s['seconds'][h]:.1f} s)" for h, _, _ in HOOKED)]
        c = self.sparse_check
        if c:
            lines.append(f"your CSR product on {c['images']} validation images: error "
                         f"{100 * c['error_with_your_csr']:.2f}% (masked dense model: "
                         f"{100 * c['error_dense']:.2f}%; {c['same_predictions']} of "
                         f"{c['images']} predictions identical)")
        return lines


@contextmanager
def use_exercises(folder, allow_minnet=False):
    """Inside the ``with`` block the engine runs the student's prune_mask, masked_sgd_step and
    csr_matvec from ``folder`` (see the module docstring); yields the :class:`ExerciseSession`.

    Raises ExerciseError before the block runs when one of the three is missing, unfinished or
    wrong, and during it when a function misbehaves on real data. The engine's own functions are
    back after the block, also when it raised.
    """
    session = ExerciseSession(Path(folder), load_student_functions(folder, allow_minnet))
    with hooks.replaced(std_mask=session.std_mask, masked_sgd=session.masked_sgd,
                        csr_forward_t=session.csr_forward_t):
        yield session
