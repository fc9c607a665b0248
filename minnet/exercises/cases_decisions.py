"""Cases of the decision exercises (ex08-ex10): choices a pruning practitioner makes, graded by minnet.

ex08 per-layer sparsities from a sensitivity scan   minnet.pruning.allocate (tolerated_sparsity,
                                                     allocate: equal damage, bisection)
ex09 an iterative schedule under an epoch budget    minnet.pruning.geometric_sparsity_schedule
ex10 reading the Fig. 4 mask and the Fig. 7 gap     minnet.figdata.input_keep_map,
                                                     minnet.pruning.allocate.quality_for_sparsity

A decision often has several right answers (many allocations meet 12x at about the same loss), so
those cases carry a ``check`` (see :class:`minnet.exercises.spec.Case`): it accepts any answer that
meets the hard constraints and is no worse than minnet's own answer, which stays in ``expected``.
A check never raises; a wrong type is a failure message like any other.
"""

import hashlib

import numpy as np

from minnet.exercises.spec import Case, Exercise, Task
from minnet.figdata import input_keep_map
from minnet.pruning import geometric_sparsity_schedule, prune_by_std
from minnet.pruning.allocate import allocate, quality_for_sparsity, tolerated_sparsity

# -- ex08: per-layer sparsities from a sensitivity scan ----------------------------------------------

# The README's seed-0 scan of LeNet-300-100 (validation loss increase when each layer alone is pruned
# to the level), on top of a dense validation loss of 0.070: a real curve, not an invented one.
README_LEVELS = np.array([0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99])
README_SCAN = {"fc1": [0.0, -0.0002, 0.002, 0.006, 0.032, 0.159, 0.382, 1.146],
               "fc2": [0.0, -0.0001, 0.005, 0.022, 0.108, 0.358, 0.673, 1.441],
               "fc3": [0.0, 0.005, 0.035, 0.143, 0.591, 1.200, 1.543, 1.923]}
LENET300_SIZES = {"fc1": (235200, 300), "fc2": (30000, 100), "fc3": (1000, 10)}


def tolerated_cases():
    """Cases for tolerated_sparsity(sparsities, increases, tolerance) -> float; expected from
    minnet.pruning.allocate.tolerated_sparsity (the first crossing, linear between scan points)."""
    inputs = [
        ("hand-checkable (allocate's docstring): s = [0, .5, .9], increase = [0, .1, .5], "
         "tolerance .3 -> the crossing is between .5 and .9: .5 + .4 * (.3 - .1) / (.5 - .1) = 0.7",
         [0.0, 0.5, 0.9], [0.0, 0.1, 0.5], 0.3),
        ("never exceeded: the deepest scan level, 0.99 (no prediction beyond the scan)",
         [0.0, 0.5, 0.9, 0.99], [0.0, 0.01, 0.02, 0.05], 0.1),
        ("exceeded at the first step: s = [0, .2, .4], increase = [0, .5, .8], tolerance .1 "
         "-> .2 * .1 / .5 = 0.04", [0.0, 0.2, 0.4], [0.0, 0.5, 0.8], 0.1),
        ("a noisy curve that dips: the FIRST crossing counts (s = [0, .5, .7, .9], increase = "
         "[0, .4, .1, .6], tolerance .3 -> 0.375, not a point after the dip)",
         [0.0, 0.5, 0.7, 0.9], [0.0, 0.4, 0.1, 0.6], 0.3),
        ("pruning first helps a little (increase -0.01 at 50%), tolerance 0: the crossing is between "
         ".5 and .8 -> 0.6", [0.0, 0.5, 0.8, 0.9], [0.0, -0.01, 0.02, 0.3], 0.0),
        ("the README's scan of fc3 at the tolerance the main job found (0.0688)",
         README_LEVELS, README_SCAN["fc3"], 0.0688),
    ]
    return [Case(desc, (np.asarray(s, float), np.asarray(inc, float), tol),
                 tolerated_sparsity(np.asarray(s, float), np.asarray(inc, float), tol),
                 rtol=1e-9, atol=1e-12)
            for desc, s, inc, tol in inputs]


def _allocation_check(curves, sizes, compression, reference):
    """The check of one choose_sparsities case: target met, predicted loss no worse than minnet's."""
    curves = {k: (np.array(s, float), np.array(loss, float) - loss[0]) for k, (s, loss) in curves.items()}
    sizes = {k: (int(w), int(b)) for k, (w, b) in sizes.items()}
    total = sum(w + b for w, b in sizes.values())

    def predicted(alloc):
        inc = [float(np.interp(alloc[k], *curves[k])) for k in curves]
        return sum(inc), max(inc), max(curves, key=lambda k: np.interp(alloc[k], *curves[k]))

    ref_sum, ref_max, _ = predicted(reference)

    def check(got):
        if not isinstance(got, dict) or set(got) != set(curves):
            what = f"keys {sorted(map(str, got))}" if isinstance(got, dict) else type(got).__name__
            return f"expected a dict {{layer: sparsity}} with keys {sorted(curves)}, got {what}"
        alloc = {}
        for k, v in got.items():
            try:
                alloc[k] = float(v)
            except (TypeError, ValueError):
                return f"{k}: the sparsity must be a number, got {type(v).__name__}"
            deepest = float(curves[k][0][-1])
            if not (0.0 <= alloc[k] <= deepest + 1e-12):
                extra = " (a fraction, not a percent?)" if alloc[k] > 1 else ""
                return (f"{k}: sparsity {alloc[k]:g} is outside [0, {deepest:g}], the range the scan "
                        f"measured{extra}")
        kept = sum(b + w * (1.0 - alloc[k]) for k, (w, b) in sizes.items())
        achieved = total / kept
        if achieved < compression * (1 - 1e-3):
            return (f"the model is {achieved:.2f}x smaller, the target is {compression:g}x: keep at "
                    f"most {total / compression:,.0f} of {total:,} parameters (biases included), "
                    f"you keep {kept:,.0f}")
        got_sum, got_max, worst = predicted(alloc)
        # No worse than minnet's answer on the sum OR on the worst layer, +5% + 0.002 of slack
        # (equal damage minimises the worst layer; a greedy student's answer, the sum).
        if got_sum > 1.05 * ref_sum + 2e-3 and got_max > 1.05 * ref_max + 2e-3:
            return (f"{achieved:.2f}x is reached, but the predicted loss increase is worse than "
                    f"minnet's allocation: sum {got_sum:.3f} vs {ref_sum:.3f}, worst layer "
                    f"{worst} +{got_max:.3f} vs +{ref_max:.3f}; prune the robust layers further "
                    "and the sensitive ones less")
        return None
    return check


def _scan(levels, increases, base):
    return np.asarray(levels, float), base + np.asarray(increases, float)


def allocation_cases():
    """Cases for choose_sparsities(curves, sizes, compression) -> {layer: sparsity}; graded by a
    check (target met, summed or worst predicted loss increase no worse than
    minnet.pruning.allocate's equal-damage answer + 5% + 0.002)."""
    r = np.random.default_rng(80)
    lv = [0.0, 0.5, 0.9]
    inputs = [("hand-checkable: two layers of 1000 weights, target 2x (keep 1000 of 2000); "
               "'robust' costs nothing up to 50% then 0.25 per unit, 'fragile' costs 1 per unit "
               "-> {robust: 0.9, fragile: 0.1}, each +0.1 (uniform 0.5 / 0.5 would cost +0.5)",
               {"robust": _scan(lv, [0.0, 0.0, 0.1], 1.0), "fragile": _scan(lv, [0.0, 0.5, 2.0], 1.0)},
               {"robust": (1000, 0), "fragile": (1000, 0)}, 2.0)]
    readme = {k: _scan(README_LEVELS, v, 0.070) for k, v in README_SCAN.items()}
    for c, why in ((12.0, "the main job's target; minnet keeps fc3 24.8%, fc2 12.6%, fc1 7.6%"),
                   (20.0, "deeper: every layer must give more"),
                   (3.0, "a mild target: fc1 alone can pay for it")):
        inputs.append((f"LeNet-300-100, the README's seed-0 scan, {c:g}x ({why})", readme,
                       dict(LENET300_SIZES), c))
    noisy = {k: (s, loss + np.concatenate([[0.0], r.normal(0, 0.004, len(s) - 1)]))
             for k, (s, loss) in readme.items()}
    inputs.append(("the same scan measured on few images (noisy, not monotone), 12x", noisy,
                   dict(LENET300_SIZES), 12.0))
    levels = np.array([0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99])
    lenet5 = {"conv1": _scan(levels, 2.0 * levels ** 3, 0.03),          # few weights, sensitive
              "conv2": _scan(levels, 0.6 * levels ** 6, 0.03),
              "fc1": _scan(levels, 0.5 * levels ** 12, 0.03),            # most weights, robust
              "fc2": _scan(levels, 1.0 * levels ** 4, 0.03)}
    inputs.append(("LeNet-5 shapes (conv1 500 weights ... fc1 400,000), 12x: the small sensitive "
                   "conv1 should stay nearly whole", lenet5,
                   {"conv1": (500, 20), "conv2": (25000, 50), "fc1": (400000, 500),
                    "fc2": (5000, 10)}, 12.0))
    cases = []
    for desc, curves, sizes, c in inputs:
        inc = {k: (s, loss - loss[0]) for k, (s, loss) in curves.items()}
        total = sum(w + b for w, b in sizes.values())
        ref = allocate(inc, {k: w for k, (w, b) in sizes.items()}, total, c)["sparsity"]
        cases.append(Case(desc, (curves, sizes, c), ref,
                          check=_allocation_check(curves, sizes, c, ref)))
    return cases


# -- ex09: an iterative schedule under a fixed epoch budget -----------------------------------------

def _keeps(final_keep, rounds):
    """Keep fractions of minnet's geometric schedule: 1 - geometric_sparsity_schedule(1 - keep, R)."""
    return np.array([1.0 - s for s in geometric_sparsity_schedule(1.0 - final_keep, rounds)])


def geometric_cases():
    """Cases for geometric_keeps(final_keep, rounds) -> (rounds,) keep fractions; expected from
    minnet.pruning.geometric_sparsity_schedule (keep_r = keep^(r/R))."""
    inputs = [("hand-checkable: keep 9% in 2 rounds -> [0.3, 0.09]", 0.09, 2),
              ("one-shot is the 1-round schedule: [0.25]", 0.25, 1),
              ("the main job: keep 1/12 in 6 rounds", 1.0 / 12.0, 6),
              ("keep half in 4 rounds (each round keeps 0.5^(1/4) = 84% of what is left)", 0.5, 4),
              ("AlexNet's fc layers, keep 9% in 10 rounds", 0.09, 10)]
    return [Case(desc, (k, r), _keeps(k, r), rtol=1e-9, atol=1e-12) for desc, k, r in inputs]


def _schedule_check(final_keep, budget, min_epochs, max_rounds):
    """The check of one plan_schedule case: the five rules of ex09's docstring."""
    def check(got):
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            return "expected a tuple (keeps, epochs) of two lists"
        try:
            keeps = np.asarray(got[0], dtype=float).reshape(-1)
            epochs = np.asarray(got[1], dtype=float).reshape(-1)
        except (TypeError, ValueError):
            return "keeps and epochs must be lists of numbers"
        R = len(keeps)
        if R == 0 or len(epochs) != R:
            return f"one keep target and one epoch count per round: got {R} keeps, {len(epochs)} epochs"
        if R > max_rounds:
            return f"{R} rounds, but at most max_rounds = {max_rounds} are allowed"
        if not np.all(np.mod(epochs, 1) == 0) or epochs.min() < min_epochs:
            return (f"epochs {epochs.astype(int).tolist() if np.all(np.mod(epochs, 1) == 0) else epochs.tolist()}"
                    f": every round needs a whole number of at least {min_epochs} epochs")
        if int(epochs.sum()) != budget:
            return (f"the rounds train {int(epochs.sum())} epochs, the budget is {budget}: spend "
                    "all of it and never more")
        if np.any(np.diff(epochs) < 0):
            return (f"epochs {epochs.astype(int).tolist()} fall from one round to a later one: the "
                    "deepest cuts come last and need at least as much retraining")
        if R == 1 and max_rounds >= 2 and budget >= 2 * min_epochs:
            return (f"one-shot, though the budget allows {min(max_rounds, budget // min_epochs)} "
                    "rounds: the paper (sec. 3.4) found iterative pruning better at the same budget")
        want = _keeps(final_keep, R)
        if not np.allclose(keeps, want, rtol=1e-6, atol=1e-9):
            return (f"keeps {np.round(keeps, 5).tolist()} are not the geometric schedule for {R} "
                    f"rounds: {np.round(want, 5).tolist()}")
        return None
    return check


def _reference_plan(final_keep, budget, min_epochs, max_rounds):
    """A plan that obeys the rules: as many rounds as the budget allows, the spare epochs last."""
    R = max(1, min(max_rounds, budget // min_epochs))
    base, extra = divmod(budget, R)
    return _keeps(final_keep, R).tolist(), [base] * (R - extra) + [base + 1] * extra


def schedule_cases():
    """Cases for plan_schedule(final_keep, epoch_budget, min_epochs, max_rounds) -> (keeps, epochs);
    graded by a check of the rules, keeps from minnet's geometric schedule."""
    inputs = [("hand-checkable: keep 9%, 24 epochs, >= 6 per round, <= 2 rounds -> 2 rounds: "
               "keeps [0.3, 0.09], epochs e.g. [12, 12] (or [10, 14]...)", 0.09, 24, 6, 2),
              ("the main job's budget: keep 1/12, 72 epochs, >= 6 per round, <= 8 rounds",
               1.0 / 12.0, 72, 6, 8),
              ("a budget too small for two rounds (10 epochs, >= 6 per round): one-shot is the only "
               "plan -> keeps [0.1], epochs [10]", 0.1, 10, 6, 6),
              ("max_rounds = 1: one-shot however large the budget", 0.2, 40, 5, 1),
              ("a budget that does not divide: 50 epochs, >= 7 per round, <= 10 rounds", 0.05, 50, 7, 10)]
    return [Case(desc, tuple(args), _reference_plan(*args), check=_schedule_check(*args))
            for desc, *args in inputs]


# -- ex10: reading the Fig. 4 mask and the Fig. 7 gap ------------------------------------------------

def _digit_like_mask(rng, units, sigma_rows, sigma_cols, density):
    """A (units, 784) mask shaped like a pruned fc1: pixels near the centre keep more connections."""
    r, c = np.mgrid[0:28, 0:28]
    p = density * np.exp(-((r - 13.5) ** 2 / (2 * sigma_rows ** 2) + (c - 13.5) ** 2 / (2 * sigma_cols ** 2)))
    return rng.random((units, 784)) < p.reshape(-1)


def image_row_cases():
    """Cases for kept_per_image_row(mask (units, 784)) -> (28,) ints; expected from
    minnet.figdata.input_keep_map summed over each image row."""
    rng = np.random.default_rng(100)
    hand = np.zeros((300, 784), bool)
    hand[0, :28] = True                 # neuron 0 reads the whole top image row
    hand[1, 783] = True                 # neuron 1 reads the bottom-right pixel
    inputs = [("hand-checkable: neuron 0 keeps pixels 0..27 (image row 0), neuron 1 keeps pixel 783 "
               "-> [28, 0, ..., 0, 1]", hand),
              ("a pruned fc1 (300 x 784, ~8% kept, digits in the centre)",
               _digit_like_mask(rng, 300, 6.0, 6.0, 0.3)),
              ("digits are taller than wide: rows and columns differ (do not sum the wrong axis)",
               _digit_like_mask(rng, 300, 8.0, 3.0, 0.4)),
              ("100 hidden units, not 300 (take the size from the mask)",
               _digit_like_mask(rng, 100, 5.0, 7.0, 0.3))]
    return [Case(desc, (m,), input_keep_map(m).sum(axis=1)) for desc, m in inputs]


def quality_cases():
    """Cases for pruning_quality(w_before, mask) -> q; expected from
    minnet.pruning.allocate.quality_for_sparsity (largest pruned |w| over the std before pruning)."""
    rng = np.random.default_rng(101)
    hand = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    inputs = [("hand-checkable: w = [-2, -1, 0, 1, 2] (std sqrt 2), kept [T, F, F, F, T] -> the "
               "band is |w| <= 1 -> q = 1 / sqrt 2 = 0.70711", hand, np.abs(hand) > 1.5)]
    w = 0.05 * rng.standard_normal((300, 784))
    inputs.append(("fc1 pruned by the paper's rule at q = 1.72 (keeps ~8.5%)", w, prune_by_std(w, 1.72)))
    w = 0.1 * rng.standard_normal((20, 1, 5, 5))
    inputs.append(("a conv kernel (20, 1, 5, 5) at q = 0.9", w, prune_by_std(w, 0.9)))
    w = rng.laplace(0, 0.02, (100, 300))
    inputs.append(("heavy-tailed weights (Laplace), q = 1.2: q is in units of std, not of max |w|",
                   w, prune_by_std(w, 1.2)))
    return [Case(desc, (w, m), quality_for_sparsity(w, float(np.std(w)), 1.0 - float(m.mean())),
                 rtol=1e-9, atol=1e-12) for desc, w, m in inputs]


# The answer is stored hashed: the question is read in the stub, not looked up here.
_FIG4_ANSWER = "ba12df1e560f"
_FIG4_FEEDBACK = {
    "A": "a band of the picture is an input (a pixel), not a neuron: what do the 784 bands stand for?",
    "C": "columns of the image would repeat inside every band (stripes), not empty the two edges",
    "D": "chance would spread the empty spots over the whole picture, not gather them at the edges",
}


def _letter_hash(letter):
    return hashlib.sha256(f"minnet-ex10-fig4:{letter}".encode()).hexdigest()[:12]


def _fig4_check(got):
    letter = got.strip().upper() if isinstance(got, str) else None
    if letter not in ("A", "B", "C", "D"):
        return f"answer with one letter, 'A' to 'D' (got {got!r})"
    if _letter_hash(letter) == _FIG4_ANSWER:
        return None
    return f"{letter} is not it: {_FIG4_FEEDBACK.get(letter, 're-read the question')}"


def fig4_cases():
    """The one case of fig4_answer() -> a letter (multiple choice, graded by a check)."""
    return [Case("Fig. 4: why is the mask empty at the left and right?", (), None, check=_fig4_check)]


DECISION_EXERCISES = [
    Exercise("ex08_layer_sparsities.py", "Per-layer sparsities from a sensitivity scan (Fig. 6)", [
        Task("tolerated_sparsity", ("sparsity",), tolerated_cases,
             "the sparsity where the curve first rises above the tolerance, by linear interpolation "
             "between the two scan points around the crossing",
             "walk the scan points in order; at the first point whose increase exceeds the tolerance, "
             "interpolate between it and the point before (if the previous increase is already "
             "above the tolerance, e.g. a dip, count the distance from it as 0); if no point ever "
             "exceeds it, the answer is the deepest level scanned"),
        Task("choose_sparsities", ("sparsities",), allocation_cases,
             "meet the compression target (biases count and are never pruned) while keeping the "
             "predicted loss increases small: prune the flat curves far, the steep ones little",
             "equal damage: for a tolerance eps, each layer gets its tolerated sparsity; the kept "
             "parameters fall as eps grows, so bisect on eps until the model is just small enough. "
             "(Or greedy: keep removing weights from the layer whose next step costs the least loss "
             "per weight removed.) Increases are measured from each curve's 0% loss"),
    ], minutes=40, objective=(
        "turn per-layer sensitivity curves into one sparsity per layer that makes the whole model "
        "N times smaller at the smallest predicted loss, and say why the layers end up so "
        "different.")),
    Exercise("ex09_iterative_schedule.py", "An iterative schedule under an epoch budget (sec. 3.4)", [
        Task("geometric_keeps", ("keeps",), geometric_cases,
             "round r of R keeps the final keep fraction raised to the power r / R",
             "each round keeps the same fraction of what the previous round left, so after r rounds "
             "that fraction to the power r is left; choose the fraction so that R rounds end "
             "exactly at the final keep: it is the R-th root of the final keep"),
        Task("plan_schedule", ("keeps", "epochs"), schedule_cases,
             "choose the number of rounds first (at least 2 if the budget allows, none shorter than "
             "min_epochs), then share the budget out, then the geometric keeps for that many rounds",
             "the most rounds the budget allows is the budget divided by min_epochs, rounded down, "
             "capped by max_rounds; split the budget evenly and give the leftover epochs, one each, "
             "to the last rounds, so no round gets fewer epochs than an earlier one and the total is "
             "exactly the budget"),
    ], minutes=30, objective=(
        "plan the rounds of prune -> retrain (how many, how deep each, how long each retrains) "
        "when retraining time is fixed, and justify the plan with the paper's finding on "
        "iterative pruning.")),
    Exercise("ex10_reading_the_mask.py", "Reading the Fig. 4 mask and the Fig. 7 gap", [
        Task("kept_per_image_row", ("kept",), image_row_cases,
             "for each of the 28 image rows: the number of kept connections, over all neurons, that "
             "read one of that row's 28 pixels",
             "pixel p sits in image row p // 28 and column p % 28 (row-major flattening); view "
             "each neuron's 784 inputs as a 28 x 28 image, then count over the neurons and over the "
             "columns, leaving one number per image row"),
        Task("pruning_quality", ("quality",), quality_cases,
             "the half-width of the empty band around 0 (the largest pruned |w|), in units of the "
             "standard deviation of all the weights before pruning",
             "the connections the mask removed are the ones with the smallest magnitudes; the "
             "largest magnitude among them is the threshold the rule used; divide it by the std of "
             "the whole weight array as it was before pruning, every entry counted"),
        Task("fig4_answer", ("letter",), fig4_cases,
             "one band of the picture stands for one image row; which rows of an MNIST image hold "
             "no ink?",
             "a weight whose input pixel is always 0 gets no gradient from the data; only weight "
             "decay acts on it, shrinking it towards 0 until the magnitude threshold removes it"),
    ], minutes=25, objective=(
        "explain from the pictures *what* was pruned and *why*: which inputs lost their "
        "connections (Fig. 4) and where the pruning threshold sat (Fig. 7), with numbers, not "
        "impressions.")),
]
"""The decision exercises, registered after ex01-ex07 in :data:`minnet.exercises.cases.EXERCISES`."""
