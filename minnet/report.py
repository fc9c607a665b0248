"""The report of a run, as data (report.json) and as text (the paper's Table 1 line and Table 2).

Everything in the report except its "timing" field is a pure function of the config and the seed,
so an interrupted-and-resumed run writes the same report as an uninterrupted one.
"""

from minnet.stats import format_table, layer_stats, model_totals


def build_report(*, command, cfg, dense_model, model, state, split, sample):
    """report.json's contents: model, seed, command, errors, params, compression, per-layer rows.

    state: the run's :class:`minnet.pruning.pipeline.RunState`; split: the validation split's
    record (:func:`minnet.data.split_validation`); sample: a batch of inputs for the forward pass
    that measures output sizes and activations.
    """
    rows = layer_stats(model, sample)
    totals = model_totals(model, rows)
    dense_totals = model_totals(dense_model, layer_stats(dense_model, sample))
    return {
        "model": cfg.model,
        "seed": cfg.seed,
        "command": command,
        "config": cfg.to_dict(),
        "error_before": state.error_before,          # test set: reported, never used to choose
        "error_after": state.error_after,
        "val_error_before": state.val_error_before,  # validation split: what decided
        "val_error_after": state.val_error_after,
        "val_error_after_finetune": state.val_error_after_finetune,
        "split": split,
        "sensitivity": state.sensitivity,
        "params_before": dense_totals["params"],
        "params_after": totals["remaining_params"],
        "compression": dense_totals["params"] / totals["remaining_params"],
        "totals": totals,
        "layers": rows,
        "rounds": state.rounds,
        "history": state.history,
        "timing": state.timing,
    }


def table1_line(report):
    """One line in the form of the paper's Table 1: test error before -> after, params,
    compression, and the validation errors that guided the run (when there was a split)."""
    if report["error_before"] is None or report["error_after"] is None:
        test = "test set not read (--no-test)"
    else:
        test = (f"top-1 test error {100 * report['error_before']:.2f}% -> "
                f"{100 * report['error_after']:.2f}%")
    line = (f"{report['model']}: {test}, parameters {report['params_before']:,} -> "
            f"{report['params_after']:,}, compression {report['compression']:.1f}x")
    if report.get("val_error_before") is not None and report.get("val_error_after") is not None:
        line += (f" (validation {100 * report['val_error_before']:.2f}% -> "
                 f"{100 * report['val_error_after']:.2f}%)")
    return line


def format_report(report):
    """The per-layer table (paper Table 2 form) followed by the Table 1 line."""
    return format_table(report["layers"], report["totals"]) + "\n" + table1_line(report)
