"""Tutorial 04: iterative pruning vs one-shot pruning, at the same retraining budget.

Han et al. (2015, sec. 3.4): "Learning the right connections is an iterative process." Pruning and
retraining once is a single greedy step; repeating prune -> retrain a few times, each time removing
a bit more, let them compress AlexNet 9x where one aggressive prune reached 5x.

We start from one trained LeNet-300-100 and compare, for the same final density and the same total
number of retraining epochs R:
    one-shot:   prune straight to the target, retrain R epochs;
    iterative:  R rounds; round r prunes to the r-th step of a geometric schedule (each round keeps
                the same fraction of what is left: keep_r = keep_final ** (r / R)) and retrains 1 epoch.
We do it at the paper's densities (fc1 8%, fc2 9%, fc3 26%: 12x fewer weights) and at a third, a
sixth and a twelfth of them (about 36x, 72x and 145x), walking towards the edge of what the network
can lose, where greedy one-shot pruning has the most to lose.

Figure: OUT/iterative_vs_oneshot.png, test error vs weights kept, every round of the iterative runs.

Run:  python tutorials/04_iterative_vs_oneshot.py [--quick] [--out DIR]
--quick: 12,000 images, 5 dense epochs, R = 3. Full: 60,000 images, 20 dense epochs, R = 6 rounds
of 2 epochs (one-shot 12 epochs): about 20 + 4 x 2 x 12 = 116 epochs, 168 s measured with one
thread while a second run used the other core.
Measured (seed 0; seed 1 in brackets): dense 1.93% [1.85%]; 12x and 36x come out even (one-shot
1.87% [1.82%] vs iterative 1.97% [1.91%]; 2.62% [2.75%] vs 2.64% [2.66%]), while at 72x iterative
pruning ends at 3.51% [3.71%] against one-shot's 4.68% [5.03%], and at 145x at 4.93% [5.71%]
against 9.59% [12.41%]. Like the paper's AlexNet (one-shot 5x, iterative 9x), the gain is at the edge.

Questions for you (answers for teachers: teachers/tutorial_answers.md):
1. At the paper's densities (12x) one-shot and iterative end within noise of each other
   (full mode 1.87% vs 1.97%; seed 1 1.82% vs 1.91%). Why does iterative pruning only pay off
   at 72x and 145x?
2. The verdict prints "within noise" when the gap is below two standard errors of the test
   error. Why is that threshold too small to call a win from one seed, and how would you
   measure the seed spread instead?
3. The iterative schedule keeps the same fraction of what is left each round (geometric).
   Propose another schedule for the same epoch budget and predict whether it helps at 145x.
"""

import time

import numpy as np

import minnet
from minnet import plotting
from minnet.pruning import (
    geometric_sparsity_schedule,
    keep_ratios_to_sparsities,
    make_optimizer,
    paper_keep_ratios,
    prune_model,
    retrain,
)
from minnet.tutorial import (
    mnist_slice,
    print_questions,
    quick_caveat,
    tutorial_args,
    verdict,
)

# The full mode's test errors, seed 0, (one-shot, iterative) per target (measured; the docstring
# above and README's tutorial table). On 10,000 test images the first two gaps are within noise.
FULL_MODE = {"paper densities": (1.87, 1.97), "a third of them": (2.62, 2.64),
             "a sixth": (4.68, 3.51), "a twelfth": (9.59, 4.93)}


def kept_fraction(model):
    """Fraction of all prunable weights still kept."""
    masks = [l.masks["W"] for l in model.prunable_layers()]
    return sum(int(m.sum()) for m in masks) / sum(m.size for m in masks)


# %% Options: --quick (a data slice, few epochs) or the full mode; --out, --seed
args = tutorial_args(__doc__, quick_help="data slice, few epochs (CI, < 60 s)", out_help="figure")
start = time.perf_counter()
if args.quick:
    n_train, n_test, epochs, rounds, epochs_per_round = 12000, 2000, 5, 3, 1
else:
    n_train, n_test, epochs, rounds, epochs_per_round = 60000, 10000, 20, 6, 2
(x, y), (x_test, y_test) = mnist_slice(n_train, n_test, flatten=True)

def error(model):
    return minnet.evaluate(model, x_test, y_test)["error"]

def retrain_epochs(model, n, seed):
    # L2 and a fresh optimiser per retraining, at a constant 0.005 (minnet's retraining rate when
    # this tutorial was measured; at the paper's lr / 10 a few epochs under-fit, see README).
    retrain(model, make_optimizer(0.005, "constant", 0.9, "l2", 1e-4), x, y, epochs=n, seed=seed,
            progress=False)

# %% 1. One dense model, trained once
print(f"== 1. Dense LeNet-300-100, {epochs} epochs on {n_train} images ==")
dense = minnet.lenet_300_100(seed=args.seed)
minnet.fit(dense, minnet.caffe_lenet_sgd(), x, y, epochs=epochs,
           seed=args.seed, progress=False)
err_dense = error(dense)
print(f"dense test error {100 * err_dense:.2f}%")

paper = keep_ratios_to_sparsities(paper_keep_ratios("lenet300"))       # fc1 0.92, fc2 0.91, fc3 0.74
budget = rounds * epochs_per_round
results, curves = {}, {}
for fraction, label in ((1, "paper densities"), (3, "a third of them"), (6, "a sixth"),
                        (12, "a twelfth")):
    final = {name: 1 - (1 - s) / fraction for name, s in paper.items()}  # keep 1/fraction of it
    print(f"\n== Target: {label}: keep " +
          ", ".join(f"{n} {100 * (1 - s):.1f}%" for n, s in final.items()) + " ==")

    # -- 2. One-shot: prune once, retrain the whole budget ------------------------------------
    one = dense.copy()
    prune_model(one, "sparsity", final)
    err_one_pruned = error(one)
    retrain_epochs(one, budget, seed=100)
    err_one = error(one)
    print(f"one-shot:  error after pruning {100 * err_one_pruned:6.2f}%, after {budget} epochs "
          f"of retraining {100 * err_one:.2f}%")

    # -- 3. Iterative: a geometric schedule of targets, retrain after each -------------------------
    schedule = geometric_sparsity_schedule(final, rounds)     # list of {layer: sparsity}
    it = dense.copy()
    points = [(1.0, err_dense)]
    for r, targets in enumerate(schedule, start=1):
        prune_model(it, "sparsity", targets)                  # the new mask is AND-ed with the old
        err_p = error(it)
        retrain_epochs(it, epochs_per_round, seed=200 + r)
        err_r = error(it)
        points += [(kept_fraction(it), err_p), (kept_fraction(it), err_r)]
        print(f"iterative round {r}: keep {100 * kept_fraction(it):5.1f}% of the weights; error "
              f"after pruning {100 * err_p:6.2f}%, after {epochs_per_round} epoch(s) {100 * err_r:.2f}%")
    results[label] = (err_one, error(it), kept_fraction(it), err_one_pruned)
    curves[label] = (np.array(points), kept_fraction(one), err_one)

# %% Figure
fig = plotting.new_figure(8.5, 4.2)
ax = fig.subplots()
colours = ("tab:blue", "tab:orange", "tab:green", "tab:red")
for (label, (pts, k_one, e_one)), colour in zip(curves.items(), colours):
    ax.plot(100 * pts[:, 0], 100 * pts[:, 1], "-o", ms=3, color=colour,
            label=f"iterative, {label}")
    ax.plot([100 * k_one], [100 * e_one], "*", ms=12, color=colour, label=f"one-shot, {label}")
plotting.percent_axis(ax, "x", log=True)
plotting.percent_axis(ax, "y", log=True)
ax.invert_xaxis()                              # left to right: pruning further
ax.set_xlabel("weights kept")
ax.set_ylabel("test error")
ax.set_title("Each round: prune (error rises), retrain (falls); stars: one-shot", fontsize=9)
ax.grid(alpha=0.3, which="both")
ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))   # outside: covers no point
plotting.save_png(fig, args.out / "iterative_vs_oneshot.png")

# %% What to notice
print("\n== What to notice ==")
print(f"* Dense error {100 * err_dense:.2f}%. Same final density, same {budget} retraining epochs:")
# A gap is called a win only above the test-set sampling noise (two standard errors on n_test
# images); a second seed moves results further still (see FULL_MODE and the docstring).
disagree = []
for label, (e_one, e_it, k, e_one_pruned) in results.items():
    winner, text = verdict("iterative", e_it, "one-shot", e_one, n_test)
    print(f"  {label} ({100 * k:.1f}% kept): one-shot {100 * e_one:.2f}%, iterative "
          f"{100 * e_it:.2f}% -> {text}")
    full_one, full_it = FULL_MODE[label]
    full_winner, _ = verdict("iterative", full_it / 100, "one-shot", full_one / 100, 10000)
    if winner != full_winner:
        disagree.append(f"{label}: here {winner or 'a tie'}, full mode {full_winner or 'a tie'} "
                        f"(one-shot {full_one}% vs iterative {full_it}%)")
quick_caveat(args.quick, bool(disagree), "this run's verdicts differ from the full mode's at "
             + "; ".join(disagree) + ".",
             "; ".join(f"{k}: one-shot {a}% vs iterative {b}%" for k, (a, b) in FULL_MODE.items())
             + " (dense 1.93%): a tie at 12x and 36x, iterative ahead at 72x and 145x")
print("* Each iterative round removes less at once, so the error right after a prune stays small "
      "and retraining has less to repair. Where the network has plenty of spare weights (12x, "
      "36x here) both ways recover and the difference is within seed noise; the further you "
      "push, the more one-shot pruning loses: the paper found the gain at the edge of what a "
      "network can lose (AlexNet: 9x iterative vs 5x one-shot). Compare several --seed values "
      "before concluding.")
print(f"figure in {args.out}; took {time.perf_counter() - start:.1f} s")

# %% Questions for you (the answers are for teachers: teachers/tutorial_answers.md)
print_questions(__doc__)
