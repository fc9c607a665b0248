"""Exercise 9: design an iterative pruning schedule under a fixed budget of retraining epochs.

Goes with tutorials 03 and 04 (iterative vs one-shot). Check with
    python -m minnet.exercises check -k ex09_iterative_schedule

Objective: plan the rounds of prune -> retrain (how many, how deep each, how long each retrains)
when retraining time is fixed, and justify the plan with the paper's finding on iterative pruning.
Time: about 30 minutes.

Why iterate (paper sec. 3.4). Pruning is a greedy search: each prune removes what looks least
important *now*, and retraining lets the survivors take over the work of the removed connections.
One aggressive prune removes too much at once to recover from: on AlexNet the paper reached 9x by
iterating where one-shot pruning reached 5x at the same accuracy. Tutorial 04 measures the same on
LeNet-300-100: a tie at 12x, and a clear win for iterating at 72x and beyond.

How deep each round (minnet/pruning/schedule.py). Each round keeps the same *fraction* of what the
previous round left, so the steps are gentle where the network is fragile (at the end):

    keep_r = final_keep ** (r / R)         r = 1 .. R,  keep_R = final_keep exactly

e.g. keep 9% in 2 rounds: 30%, then 9% (each round keeps 30% of what is there).

The decision: a budget. Retraining costs epochs, and you have a fixed number of them in total.
More rounds mean gentler steps but fewer epochs to recover after each; a round with too few epochs
does not recover at all (min_epochs). minnet's main job spends 72 epochs as 6 rounds x 12.

Rules of the grader for plan_schedule (several plans are right):
  1. one keep target and one epoch count per round; R rounds with 1 <= R <= max_rounds;
  2. every round trains a whole number of epochs, at least min_epochs;
  3. the epochs add up to exactly the budget (a hard cap, and unspent epochs are wasted accuracy);
  4. epochs never fall from one round to a later one (the deepest cuts come last and need the most
     recovery);
  5. iterative, not one-shot, whenever the budget and max_rounds allow two rounds (sec. 3.4);
  6. the keep targets are the geometric schedule above for your R.

Use NumPy or plain Python.
"""


def geometric_keeps(final_keep, rounds):
    """The kept fraction after each of ``rounds`` rounds: final_keep ** (r / rounds), r = 1..rounds.

    final_keep: in (0, 1], e.g. 1/12; rounds: an int >= 1. Returns a list of ``rounds`` floats,
    falling, the last equal to final_keep.

    Hint: r counts from 1, not from 0 (round 0 would be the unpruned network).
    """
    raise NotImplementedError("write geometric_keeps")


def plan_schedule(final_keep, epoch_budget, min_epochs, max_rounds):
    """A plan of R rounds: (keeps, epochs), two lists of length R that obey the rules above.

    final_keep: the fraction of weights kept at the end; epoch_budget: total retraining epochs (int);
    min_epochs: the fewest epochs a round may retrain; max_rounds: the most rounds allowed.

    Hint: decide R first; everything else follows from it.
    """
    raise NotImplementedError("write plan_schedule")
