"""The exceptions minnet raises, so callers can catch exactly what went wrong.

Each subclasses the built-in exception a Python user would expect (``ValueError`` for bad values,
``TypeError`` for bad dtypes), so ``except ValueError`` keeps working.
"""


class ShapeError(ValueError):
    """An array has the wrong rank or shape for the layer, loss or kernel it was given to."""


class DTypeError(TypeError):
    """An array has a dtype minnet cannot compute with (it needs float32 or float64)."""


class DataError(ValueError):
    """A data file is missing, truncated, has the wrong magic number or fails its checksum."""


class CheckpointError(ValueError):
    """A saved model or checkpoint is damaged, foreign, or for another architecture."""


class DivergenceError(FloatingPointError):
    """Training produced NaN or inf (loss or weights); the message names epoch, batch and layer."""


class ConfigError(ValueError):
    """A configuration file or option has an unknown key or a value of the wrong type."""
