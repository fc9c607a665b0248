"""``python -m minnet export RUN_DIR``: a run's model as PyTorch-named tensors (.safetensors or .npz).

    python -m minnet export runs/prune-lenet300-seed0          # -> RUN_DIR/pruned.safetensors
    python -m minnet export runs/train-lenet300-seed0          # -> RUN_DIR/model.safetensors
    python -m minnet export runs/x/dense.npz --out dense.safetensors
    python -m minnet export runs/x --format npz                # -> RUN_DIR/pruned.torch.npz

The names and layouts are PyTorch's ``state_dict`` ones (:mod:`minnet.torch_names`; a pruned layer
as torch.nn.utils.prune's weight_orig + weight_mask); docs/pytorch.md loads the file in PyTorch.
"""

from pathlib import Path

from minnet.errors import ConfigError, RunFolderError
from minnet.model import Sequential
from minnet.run_lock import RUN_OUTPUTS
from minnet.torch_names import save_safetensors, save_torch_npz, to_state_dict

FORMATS = {"safetensors": (".safetensors", save_safetensors), "npz": (".torch.npz", save_torch_npz)}
# A finished prune run has pruned.npz (and dense.npz); a finished train run has model.npz.
RUN_MODELS = ("pruned.npz", "model.npz")


def model_file(path) -> Path:
    """The minnet model file to export: ``path`` itself if it is a file, else the run folder's
    pruned.npz (a prune run) or model.npz (a train run). RunFolderError if there is neither."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise RunFolderError(f"{path}: no such run folder or model file")
    for name in RUN_MODELS:
        if (path / name).is_file():
            return path / name
    hint = (" (an unfinished run? finish it with --resume)" if (path / "checkpoint.npz").exists()
            else "")
    raise RunFolderError(f"{path} holds neither {' nor '.join(RUN_MODELS)}{hint}; "
                         "pass a run folder of `python -m minnet train|prune` or a model .npz")


def export_model(path, fmt="safetensors", out=None):
    """Export the model of run folder (or model file) ``path``; returns (written path, {name: array},
    the model).

    Default output: next to the model file, same stem, suffix .safetensors (``fmt="npz"``:
    .torch.npz, so it never overwrites minnet's own .npz). Written atomically.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {sorted(FORMATS)}, got {fmt!r}")
    source = model_file(path)
    suffix, save = FORMATS[fmt]
    out = Path(out) if out else source.with_name(source.name[:-len(source.suffix)] + suffix)
    if out.resolve() == source.resolve():
        raise ConfigError(f"--out {out} is the model file being exported; choose another name")
    if out.resolve().parent == source.resolve().parent and out.name in RUN_OUTPUTS:
        raise ConfigError(f"--out {out} would overwrite the run's own {out.name}; choose another name")
    model = Sequential.load(source)
    save(model, out)
    return out, to_state_dict(model), model


def add_parser(subparsers):
    """Register ``export RUN_DIR`` on the CLI's subparsers."""
    p = subparsers.add_parser("export", help="write a run's model with PyTorch state_dict names "
                              "(.safetensors; docs/pytorch.md)")
    p.add_argument("run_dir", help="run folder of `train` or `prune` (or a minnet model .npz)")
    p.add_argument("--format", choices=sorted(FORMATS), default="safetensors",
                   help="safetensors (default; needs the safetensors package) or npz")
    p.add_argument("--out", help="output file (default: beside the model, e.g. RUN_DIR/pruned.safetensors)")
    return p


def run(args):
    """Run ``export`` from parsed arguments; print each tensor (name, shape, dtype), the layers'
    activations and the path."""
    out, tensors, model = export_model(args.run_dir, args.format, args.out)
    for name, value in tensors.items():
        print(f"  {name:<20} {str(tuple(value.shape)):<18} {value.dtype}")
    # A ReLU has no tensor, so the file alone cannot tell PyTorch where they go (LeNet-5 with or
    # without conv ReLUs has the same tensors): say it, or the user's module silently differs.
    acts = [f"{layer.name} {getattr(layer, 'activation', None) or 'none'}" for layer in model.layers
            if getattr(layer, "params", None)]
    print(f"  activations (not stored as tensors; build the PyTorch module to match): {', '.join(acts)}")
    print(f"wrote {out} ({len(tensors)} tensors, PyTorch state_dict names)")
    return 0
