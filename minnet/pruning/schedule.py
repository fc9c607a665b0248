"""Pruning schedules: which target each prune -> retrain round aims at (Han et al. 2015, sec. 3.4).

Iterative pruning removes connections a little at a time and retrains in between; each round is a
greedy step, and the paper reached 9x on AlexNet this way where one aggressive prune reached 5x.
A schedule is a plain list with one entry per round, each entry either a number (the same target for
every layer) or a dict {layer name: target}. Targets are sparsities (fraction removed, for
``method="sparsity"`` or ``"global"``) or quality parameters (for ``method="std"``), and they must
not fall from one round to the next. One-shot pruning is the one-entry schedule.
"""

from minnet.config import PRUNE_METHODS
from minnet.pruning.criteria import check_quality, check_sparsity
from minnet.errors import ConfigError


def _per_target(final, fn):
    """Apply ``fn`` to a number or to every value of a {layer: number} dict."""
    if isinstance(final, dict):
        return {name: fn(value) for name, value in final.items()}
    return fn(final)


def geometric_sparsity_schedule(final_sparsity, rounds):
    """Sparsities whose *kept* fraction shrinks by the same factor every round.

    keep_r = keep_final ** (r / rounds), sparsity_r = 1 - keep_r, for r = 1..rounds, with
    keep_final = 1 - final_sparsity. Each round removes the same fraction of what is left, which
    suits iterative pruning better than equal steps in sparsity (the last steps are the risky ones).
    final_sparsity: a number in [0, 1) or a {layer: number} dict. Returns a list of ``rounds`` entries.

    Example: final 0.91 (keep 9%), 2 rounds -> keep 30%, 9% -> [0.7, 0.91]
    """
    rounds = _check_rounds(rounds)
    _per_target(final_sparsity, check_sparsity)
    return [_per_target(final_sparsity, lambda s, r=r: 1.0 - (1.0 - s) ** (r / rounds))
            for r in range(1, rounds + 1)]


def linear_quality_schedule(final_quality, rounds):
    """Quality parameters rising in equal steps: q_r = final_quality * r / rounds, r = 1..rounds.

    For the paper's rule (threshold = q x original std) a larger q prunes more. final_quality: a
    number > 0 or a {layer: number} dict.

    Example: final 2.0, 4 rounds -> [0.5, 1.0, 1.5, 2.0]
    """
    rounds = _check_rounds(rounds)
    _per_target(final_quality, check_quality)
    return [_per_target(final_quality, lambda q, r=r: q * r / rounds) for r in range(1, rounds + 1)]


def check_schedule(schedule, method):
    """Validate an explicit schedule (a list of numbers or of {layer: number} dicts); return it.

    Every target must be valid for ``method`` ("std": quality > 0; "sparsity"/"global": sparsity in
    [0, 1)) and no target may fall from one round to the next (pruned weights cannot come back, so a
    falling target would silently do nothing). Raises ValueError naming the round and layer.
    """
    if method not in PRUNE_METHODS:
        raise ConfigError(f"unknown pruning method {method!r}; choose from {list(PRUNE_METHODS)}")
    schedule = list(schedule)
    if not schedule:
        raise ConfigError("the pruning schedule is empty; give at least one round")
    check = check_quality if method == "std" else check_sparsity   # sparsity, global, probabilistic
    previous = None
    for r, entry in enumerate(schedule, start=1):
        if method == "global" and isinstance(entry, dict):
            raise ConfigError(f"round {r}: global pruning takes one sparsity per round, not a dict")
        values = entry if isinstance(entry, dict) else {"*": entry}
        for name, value in values.items():
            check(value, f"round {r}, layer {name!r}")
        if previous is not None:
            for name, value in values.items():
                before = previous.get(name, previous.get("*"))
                if before is not None and float(value) < float(before):
                    raise ConfigError(f"round {r}, layer {name!r}: target {value} is below the previous "
                                     f"round's {before}; targets must rise (or stay) round by round")
        previous = values
    return schedule


def _check_rounds(rounds):
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ConfigError(f"rounds must be an integer >= 1, got {rounds!r}")
    return rounds
