"""Tutorial 10: probabilistic pruning, the paper's negative result (sec. 3.4).

Han et al. (2015, sec. 3.4): "we also experimented with probabilistic pruning of parameters based
on their absolute value, but this gave worse results." The paper gives no rule, so minnet uses the
most literal one with no free parameter (minnet.pruning.criteria.prune_probabilistic):

    keep w_i with probability p_i = min(1, |w_i| / tau),  tau solved so that sum_i p_i = kept count

so a weight's chance of surviving is proportional to its magnitude, and the *expected* sparsity
equals magnitude pruning's. The question: at the same sparsity and the same retraining budget, does
keeping weights at random (weighted by |w|) lose against keeping exactly the largest ones?

For each seed we train one dense LeNet-300-100, then prune copies of it to the paper's densities
(fc1 8%, fc2 9%, fc3 26%) by each criterion, iteratively (R rounds of prune -> retrain E epochs, the
same schedule for both), and compare errors on the *validation* split (5,000 held-out training
images): the comparison is a decision, so the test set is not used.

Figure: OUT/probabilistic_vs_magnitude.png, validation error after every round, per seed.

Run:  python tutorials/10_probabilistic_pruning.py [--quick] [--seeds 0,1] [--out DIR]
--quick: 10,000 images (2,000 held out), 3 dense epochs, 2 rounds of 1 epoch. Full: 60,000
images (5,000 held out), 20 dense epochs, 3 rounds of 2 epochs, seeds 0 and 1: 140 s measured on
a 2-core machine shared with other runs. Validation errors, seed 0 [seed 1]: dense 2.12% [2.10%];
magnitude 2.74% [2.78%]; probabilistic 3.38% [3.04%]. The paper's finding holds on both seeds,
by 0.64 and 0.26 points. Right after the last prune, though, probabilistic pruning's error was
the lower one (6.48% vs 11.26%, 12.72% vs 17.66%).

Questions for you (answers for teachers: teachers/tutorial_answers.md):
1. Probabilistic pruning keeps a weight with probability min(1, |w| / tau). At 92% pruned tau
   exceeds every |w|. What fraction of the largest 8% of weights survives, roughly?
2. Right after the last prune, probabilistic pruning's error was lower (seed 0: 6.48% vs
   11.26%), yet after retraining it is worse (3.38% vs 2.74%). How can both be true?
3. This tutorial decides on the validation split, not the test set. Which number would be
   biased if you chose the criterion by test error, and in which direction?
"""

import time

import numpy as np

import minnet
from minnet import plotting
from minnet.data import split_validation
from minnet.pruning import (
    adjust_dropout,
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

# The full mode's validation errors, seeds 0 and 1 (measured; the docstring above and README's
# tutorial table): probabilistic pruning is worse on both seeds, each gap within one seed's noise.
FULL_MODE = ("magnitude 2.74% vs probabilistic 3.38% (seed 0), 2.78% vs 3.04% (seed 1) on 5,000 "
             "validation images: probabilistic worse on both seeds, by 0.64 and 0.26 points")
FULL_MODE_BEFORE = ("right after the last prune, before retraining, probabilistic pruning's error "
                    "was the lower one on both seeds: 6.48% vs magnitude's 11.26% (seed 0), "
                    "12.72% vs 17.66% (seed 1)")

# %% Options: --quick (a data slice, few epochs) or the full mode; --out, --seed
args = tutorial_args(__doc__, quick_help="data slice, few epochs (CI, < 60 s)",
                     out_help="figure", seed=False, extra=[
                         (("--seeds",), {"default": "0,1", "help": "comma-separated seeds (>= 2)"})])
start = time.perf_counter()
seeds = [int(s) for s in args.seeds.split(",")]
if args.quick:
    n_train, n_val, epochs, rounds, epochs_per_round = 10000, 2000, 3, 2, 1
else:
    n_train, n_val, epochs, rounds, epochs_per_round = 60000, 5000, 20, 3, 2
(x_all, y_all), _ = mnist_slice(n_train, 1, flatten=True)   # (the test image is unused)
final = keep_ratios_to_sparsities(paper_keep_ratios("lenet300"))     # fc1 0.92, fc2 0.91, fc3 0.74
schedule = geometric_sparsity_schedule(final, rounds)

results = {}            # seed -> {criterion: [validation error after each round]}
for seed in seeds:
    (x, y), (x_val, y_val), _ = split_validation(x_all, y_all, n_val, seed)

    def val_error(model):
        return minnet.evaluate(model, x_val, y_val)["error"]

    # -- 1. One dense model per seed, the default recipe's dense training -----------------------
    dense = minnet.lenet_300_100(seed=seed, dropout=0.3)
    minnet.fit(dense, minnet.caffe_lenet_sgd(), x, y, epochs=epochs,
               seed=seed, progress=False)
    print(f"== seed {seed}: dense validation error {100 * val_error(dense):.2f}% ==")
    results[seed] = {"dense": val_error(dense)}

    # -- 2. The same schedule and retraining, two criteria ---------------------------------------
    for criterion in ("sparsity", "probabilistic"):       # "sparsity" = keep the largest |w|
        model, errors, before = dense.copy(), [], None
        for r, targets in enumerate(schedule, start=1):
            prune_model(model, criterion, targets, seed=seed * 100 + r)
            adjust_dropout(model)
            before = val_error(model)
            # the default recipe's retraining: a cosine from 0.01 to 0 over the round
            retrain(model, make_optimizer(0.01, "cosine", 0.9, "l2", 1e-4,
                                          total_iterations=epochs_per_round * -(-len(x) // 64)),
                    x, y, epochs=epochs_per_round, seed=seed * 100 + r, progress=False)
            errors.append(val_error(model))
            print(f"  {criterion:>13} round {r}: error after pruning {100 * before:6.2f}%, "
                  f"after retraining {100 * errors[-1]:.2f}%")
        results[seed][criterion] = errors
        results[seed][criterion + " before"] = before      # last round, before retraining

# %% Figure
fig = plotting.new_figure(6, 3.5)
ax = fig.subplots()
for seed, colour in zip(seeds, ("tab:blue", "tab:orange", "tab:green", "tab:red")):
    r = range(1, rounds + 1)
    ax.plot(r, [100 * e for e in results[seed]["sparsity"]], "-o", color=colour,
            label=f"magnitude, seed {seed}")
    ax.plot(r, [100 * e for e in results[seed]["probabilistic"]], "--s", color=colour,
            label=f"probabilistic, seed {seed}")
ax.set_xlabel("prune -> retrain round")
ax.set_ylabel("validation error (%)")
ax.set_xticks(list(range(1, rounds + 1)))
ax.grid(alpha=0.3)
ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
plotting.save_png(fig, args.out / "probabilistic_vs_magnitude.png")

# %% What to notice
print("\n== What to notice ==")
gaps = []
for seed in seeds:
    mag, prob = results[seed]["sparsity"][-1], results[seed]["probabilistic"][-1]
    gaps.append(prob - mag)
    _, text = verdict("magnitude", mag, "probabilistic", prob, n_val)
    print(f"* seed {seed}: dense {100 * results[seed]['dense']:.2f}%, magnitude {100 * mag:.2f}%, "
          f"probabilistic {100 * prob:.2f}%: {text}")
holds = all(g > 0 for g in gaps)
print(f"* The paper's finding {'holds' if holds else 'does not hold on every seed'} here: "
      f"probabilistic pruning ends {100 * float(np.median(gaps)):+.2f} points (median) against "
      "magnitude pruning at the same expected sparsity and the same retraining. One seed's gap "
      "can sit within noise; the same sign on every seed is what makes the finding.")
quick_caveat(args.quick, not holds, "probabilistic pruning was not worse on every seed.", FULL_MODE)
early = [results[s]["probabilistic before"] < results[s]["sparsity before"] for s in seeds]
print("* Right after the last prune, before retraining, probabilistic pruning's error was "
      + ("lower" if all(early) else "higher" if not any(early) else "lower on some seeds")
      + " (" + ", ".join(f"seed {s}: {100 * results[s]['probabilistic before']:.2f}% vs "
                          f"{100 * results[s]['sparsity before']:.2f}%" for s in seeds)
      + "): what decides is what retraining can make of the survivors. At 92% pruned tau "
      "exceeds every |w|, so keeping is a weighted coin flip: large weights are lost and small "
      "ones kept, and retraining starts from a worse set of connections than the largest ones.")
quick_caveat(args.quick, not all(early), "right after the last prune probabilistic pruning's error "
             "was not the lower one on every seed.", FULL_MODE_BEFORE)
print(f"figure in {args.out}; took {time.perf_counter() - start:.1f} s")

# %% Questions for you (the answers are for teachers: teachers/tutorial_answers.md)
print_questions(__doc__)
