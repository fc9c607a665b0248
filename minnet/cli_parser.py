"""The command lines' argument parser: a mistake is one line, not the usage and then the line.

argparse prints a command's whole usage before its error: 27 lines for ``python -m minnet prune
--epochs abc``, with the one line that says what was wrong at the bottom. Here that line alone is
printed, naming ``--help`` for the rest, with argparse's exit status 2.
"""

import argparse


class ArgumentParser(argparse.ArgumentParser):
    """argparse.ArgumentParser whose errors are one line on stderr and exit status 2, e.g.

        python -m minnet prune: error: argument --epochs: invalid int value: 'abc' (see python -m
        minnet prune --help)

    Sub-commands made with ``add_subparsers`` get the same class (argparse's default).
    """

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")
