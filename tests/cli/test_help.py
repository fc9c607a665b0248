"""`--help` is plain text a student can read: every option of train/prune says what it does and
its default, with no reStructuredText markup and no issue numbers."""

import pytest

from minnet.cli import make_parser
from minnet.cli.options import recipe_default
from minnet.recipes import recipe


@pytest.mark.parametrize("command", ["train", "prune"])
def test_every_option_has_help_with_its_default(command, capsys):
    with pytest.raises(SystemExit):
        make_parser().parse_args([command, "--help"])
    text = capsys.readouterr().out
    assert "``" not in text and ":func:" not in text and "issue #" not in text.lower()
    sub = make_parser()._subparsers._group_actions[0].choices[command]
    for action in sub._actions:
        if action.dest == "help":
            continue
        assert action.help, f"{command} {action.option_strings} has no help"
        if action.nargs != 0 or action.dest in ("adjust_dropout", "reinit", "read_test"):
            assert "default" in action.help, f"{action.option_strings}: no default in its help"


def test_defaults_in_the_help_come_from_the_recipes():
    assert recipe_default("batch_size") == f"default {recipe('lenet300').batch_size}"
    text = recipe_default("rounds")
    for model in ("lenet300", "lenet5", "mlp"):
        assert f"{model} {recipe(model).rounds}" in text
