"""The named recipes: one home, complete configs, no per-layer ratio copied from the paper."""

import dataclasses

import pytest

from minnet.config import METHODS, MODELS, RunConfig
from minnet.errors import ConfigError
from minnet.pruning import paper_keep_ratios
from minnet.recipes import RECIPES, default_recipe_name, describe, recipe


@pytest.mark.parametrize("name", RECIPES)
def test_every_recipe_is_a_complete_valid_config_and_its_quick_variant_too(name):
    cfg = recipe(name)
    assert isinstance(cfg, RunConfig) and cfg.recipe == name and cfg.method in METHODS
    quick = recipe(name, quick=True)
    assert quick.train_limit and quick.epochs <= 2 and quick.val_size < quick.train_limit
    assert {f.name for f in dataclasses.fields(quick)} == {f.name for f in dataclasses.fields(cfg)}


@pytest.mark.parametrize("name", [n for n in RECIPES if not n.endswith("-paper-ratios")])
def test_default_recipes_hold_no_per_layer_numbers(name):
    cfg = recipe(name)
    assert cfg.method == "sensitivity" and cfg.targets == {} and cfg.schedule == "geometric"


def test_paper_ratio_recipes_are_exactly_the_papers_tables():
    for model in ("lenet300", "lenet5"):
        cfg = recipe(f"{model}-paper-ratios")
        assert cfg.method == "sparsity"
        assert {n: round(1 - s, 10) for n, s in cfg.targets.items()} == paper_keep_ratios(model)
        # same training as the default, only the pruning targets differ
        base = recipe(model)
        same = {f.name for f in dataclasses.fields(cfg)} - {"method", "targets", "recipe"}
        assert all(getattr(cfg, k) == getattr(base, k) for k in same)


def test_every_model_has_a_default_recipe_and_runconfig_defaults_are_the_generic_one():
    for model in MODELS:
        assert recipe(default_recipe_name(model)).model == model
    assert describe("lenet300") == ["recipe = 'lenet300'"]    # RunConfig() is that recipe
    assert "conv_relu = True" in describe("lenet5")
    with pytest.raises(ConfigError, match="unknown recipe"):
        recipe("lenet-300")
