"""The paper's numbers: per-layer keep ratios (Tables 2-5) and the AlexNet / VGG-16 accounting.

Han et al. 2015 report, for each network, the fraction of each layer's weights that survives
pruning. ``paper_keep_ratios`` returns those fractions. They are facts to compare against, not
settings: the default pipeline derives its own per-layer thresholds from sensitivity
(:mod:`minnet.pruning.allocate`); only the ``*-paper-ratios`` recipes of :mod:`minnet.recipes`
prune to them.
"""

from minnet.errors import ConfigError

_KEEP_RATIOS = {
    # Table 2
    "lenet300": {"fc1": 0.08, "fc2": 0.09, "fc3": 0.26},
    # Table 3
    "lenet5": {"conv1": 0.66, "conv2": 0.12, "fc1": 0.08, "fc2": 0.19},
    # Table 4
    "alexnet": {"conv1": 0.84, "conv2": 0.38, "conv3": 0.35, "conv4": 0.37, "conv5": 0.37,
                "fc6": 0.09, "fc7": 0.09, "fc8": 0.25},
    # Table 5
    "vgg16": {"conv1_1": 0.58, "conv1_2": 0.22, "conv2_1": 0.34, "conv2_2": 0.36, "conv3_1": 0.53,
              "conv3_2": 0.24, "conv3_3": 0.42, "conv4_1": 0.32, "conv4_2": 0.27, "conv4_3": 0.34,
              "conv5_1": 0.35, "conv5_2": 0.29, "conv5_3": 0.36, "fc6": 0.04, "fc7": 0.04,
              "fc8": 0.23},
}


# Table 4's Act% column (fraction of each layer's outputs that are nonzero, measured by the paper
# on ImageNet). Table 5 does not give VGG-16's per layer; its total FLOP% kept is 21%.
_ACT_PCT = {"alexnet": {"conv1": 88, "conv2": 52, "conv3": 37, "conv4": 40, "conv5": 34,
                        "fc6": 36, "fc7": 40, "fc8": 100}}
PAPER_TOTAL_FLOP_PCT = {"alexnet": 30, "vgg16": 21}


def paper_act_fractions(network):
    """{layer: fraction of nonzero outputs} from the paper's Act% column (AlexNet, Table 4)."""
    if network not in _ACT_PCT:
        raise ConfigError(f"the paper gives per-layer Act% only for {sorted(_ACT_PCT)}, not {network!r}")
    return {name: pct / 100 for name, pct in _ACT_PCT[network].items()}


def with_paper_activations(rows, network):
    """Rows of :func:`minnet.stats.layer_stats` with remaining FLOPs recounted from the paper's Act%.

    remaining_flops_l = flops_l x kept_l x Act_(l-1), where Act_(l-1) is the previous prunable
    layer's output fraction (the image counts dense), as the paper's Table 4 computes it (conv2:
    38% x 88% = 33%). Returns new rows and the total FLOP fraction kept.
    """
    act = paper_act_fractions(network)
    out, previous = [], 1.0
    for row in rows:
        r = dict(row)
        r["input_act_pct"], r["act_pct"] = 100 * previous, 100 * act[r["name"]]
        r["remaining_flops"] = int(round(r["flops"] * r["remaining"] / r["weights"] * previous))
        r["remaining_flops_pct"] = 100 * r["remaining_flops"] / r["flops"]
        previous = act[r["name"]]
        out.append(r)
    return out, sum(r["remaining_flops"] for r in out) / sum(r["flops"] for r in out)


def paper_keep_ratios(network):
    """{layer name: fraction of weights kept} as reported by the paper for ``network``.

    network: "lenet300" (Table 2), "lenet5" (Table 3), "alexnet" (Table 4) or "vgg16" (Table 5).
    Layer names are those of :mod:`minnet.models`. Example: paper_keep_ratios("lenet300")["fc1"] = 0.08.
    """
    key = {"lenet_300_100": "lenet300", "lenet-300-100": "lenet300", "vgg": "vgg16"}.get(network, network)
    if key not in _KEEP_RATIOS:
        raise ConfigError(f"no paper keep ratios for {network!r}; known: {sorted(_KEEP_RATIOS)}")
    return dict(_KEEP_RATIOS[key])


def keep_ratios_to_sparsities(keep_ratios):
    """{layer: keep fraction} -> {layer: sparsity = 1 - keep} (the form ``prune_model`` takes)."""
    return {name: round(1.0 - keep, 10) for name, keep in keep_ratios.items()}


_INPUT_SIZE = {"alexnet": 227, "vgg16": 224}


def paper_accounting(network, seed=0):
    """Apply the paper's keep ratios by magnitude to a randomly initialised AlexNet or VGG-16 and
    return (rows, totals) of :mod:`minnet.stats` (Tables 4-5 and Table 1's parameter counts).

    Trained weights are not needed to *count*: the keep ratios fix the weights column, and the FLOPs
    come from one forward pass on a random (1, 3, S, S) image. Activations are counted dense
    (``activation_sparsity=False``): random weights say nothing about the paper's Act% column, so
    remaining FLOPs here scale with the kept weights only.
    """
    import numpy as np

    from minnet import models
    from minnet.pruning.prune import prune_model
    from minnet.stats import layer_stats, model_totals

    if network not in _INPUT_SIZE:
        raise ConfigError(f"paper_accounting covers {sorted(_INPUT_SIZE)}, got {network!r}")
    model = getattr(models, network)(seed=seed)
    prune_model(model, "sparsity", keep_ratios_to_sparsities(paper_keep_ratios(network)))
    size = _INPUT_SIZE[network]
    sample = np.random.default_rng(seed).random((1, 3, size, size), dtype=np.float32)
    rows = layer_stats(model, sample, activation_sparsity=False)
    return rows, model_totals(model, rows)
