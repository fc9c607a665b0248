"""Reference solution to exercise 9 (an iterative schedule under an epoch budget). See
../ex09_iterative_schedule.py."""


def geometric_keeps(final_keep, rounds):
    """keep_r = final_keep ** (r / rounds), r = 1 .. rounds."""
    return [final_keep ** (r / rounds) for r in range(1, rounds + 1)]


def plan_schedule(final_keep, epoch_budget, min_epochs, max_rounds):
    """As many rounds as the budget allows (gentlest steps), the spare epochs to the last rounds."""
    rounds = max(1, min(max_rounds, epoch_budget // min_epochs))
    base, extra = divmod(epoch_budget, rounds)
    epochs = [base] * (rounds - extra) + [base + 1] * extra
    return geometric_keeps(final_keep, rounds), epochs
