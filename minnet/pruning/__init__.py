"""Pruning (Han et al. 2015): criteria, schedules, the prune -> retrain pipeline and its tools.

criteria     array -> keep-mask rules (the paper's quality x std, per-layer sparsity, global)
schedule     per-round targets of iterative pruning
prune        apply criteria to a model; freeze by layer kind; re-initialise survivors
dropout      the dropout-ratio adjustment of sec. 3.2
neurons      removing dead neurons (sec. 3.5)
sensitivity  per-layer sensitivity analysis (Fig. 6)
pipeline     train -> prune -> retrain, iterated, with checkpoints and resume
allocate     per-layer quality parameters from sensitivity curves (the default method)
paper        the paper's per-layer keep ratios (for comparison) and AlexNet/VGG accounting
"""

from minnet.pruning.criteria import (check_quality, check_sparsity, keep_count, prune_by_sparsity,
                                     prune_by_std, prune_global)
from minnet.pruning.dropout import adjust_dropout, adjusted_dropout_rate
from minnet.pruning.neurons import find_dead_neurons, remove_dead_neurons
from minnet.pruning.paper import keep_ratios_to_sparsities, paper_accounting, paper_keep_ratios
from minnet.pruning.pipeline import make_optimizer, plan_steps, retrain, run_pipeline
from minnet.pruning.prune import (prune_model, record_original_state, reinitialize_survivors,
                                  restore_trainable, select_layers, set_trainable_kinds)
from minnet.pruning.schedule import (check_schedule, geometric_sparsity_schedule,
                                     linear_quality_schedule)
from minnet.pruning.sensitivity import sensitivity_analysis

__all__ = [
    "check_quality", "check_sparsity", "keep_count", "prune_by_sparsity", "prune_by_std",
    "prune_global", "adjust_dropout", "adjusted_dropout_rate", "find_dead_neurons",
    "remove_dead_neurons", "keep_ratios_to_sparsities", "paper_accounting", "paper_keep_ratios", "make_optimizer", "plan_steps", "retrain",
    "run_pipeline", "prune_model", "record_original_state", "reinitialize_survivors",
    "restore_trainable", "select_layers", "set_trainable_kinds", "check_schedule",
    "geometric_sparsity_schedule", "linear_quality_schedule", "sensitivity_analysis",
]
