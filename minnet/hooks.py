"""Hook points: the three places where the engine can run someone else's function instead of its own.

The classroom switch (``python -m minnet prune --use-exercises FOLDER``, or the context manager
:func:`minnet.exercises.use_exercises`) runs the real pipeline with a student's own code for the
three functions the paper's method rests on. The core looks each one up here *at call time*, so
the swap needs no monkeypatching of private names and is undone by restoring one dict entry:

    name            replaces (signature of the replacement)                  looked up in
    "std_mask"      prune_by_std(w, quality, std) -> bool mask shaped like w  pruning.prune.prune_model
                    (paper sec. 2: keep |w| > quality x std)
    "masked_sgd"    masked_sgd_update(w, v, g, mask, lr, momentum,            optim.SGD.step
                    weight_decay, l1) -> number of non-finite weights;
                    flat 1-D arrays, w and v updated in place (sec. 3.1)
    "csr_forward_t" csr_forward_t(block_ptr, indices, data, bias, relu,       sparse.layers.SparseDense
                    xt, out_t) -> out_t, Y^T = act(W X^T + b) (sec. 4)          .forward

Nothing is registered by default: :data:`IMPLEMENTATIONS` is empty and every lookup returns the
engine's own function. This module imports nothing from minnet, so any core module may use it
(the face, e.g. :mod:`minnet.exercises.use`, is what fills it).
"""


from contextlib import contextmanager

from minnet.errors import ConfigError

HOOK_POINTS = ("std_mask", "masked_sgd", "csr_forward_t")

IMPLEMENTATIONS: dict = {}
"""Hook name -> the function that replaces the engine's own (absent: the engine's runs)."""


def implementation(name, default):
    """The function to call at hook point ``name``: the registered replacement, else ``default``."""
    return IMPLEMENTATIONS.get(name, default)


@contextmanager
def replaced(**functions):
    """Register replacements for the duration of a ``with`` block, then restore what was there.

    Example: ``with replaced(std_mask=my_mask): prune_model(model, "std", 1.0)`` prunes with
    ``my_mask``. Unknown names raise ValueError (a typo would otherwise silently change nothing).
    Nested blocks restore in order; an exception inside the block restores too.
    """
    unknown = sorted(set(functions) - set(HOOK_POINTS))
    if unknown:
        raise ConfigError(f"unknown hook point(s) {unknown}; choose from {list(HOOK_POINTS)}")
    missing = object()
    before = {name: IMPLEMENTATIONS.get(name, missing) for name in functions}
    IMPLEMENTATIONS.update(functions)
    try:
        yield
    finally:
        for name, old in before.items():
            if old is missing:
                IMPLEMENTATIONS.pop(name, None)
            else:
                IMPLEMENTATIONS[name] = old
