"""The exceptions minnet raises, so callers can catch exactly what went wrong.

Every one derives from :class:`MinnetError` (``except MinnetError`` catches all of them) and also
from the built-in exception a Python user would expect (``ValueError`` for bad values,
``TypeError`` for bad dtypes), so ``except ValueError`` keeps working.
"""


class MinnetError(Exception):
    """The base of every exception minnet raises on purpose."""


class ShapeError(MinnetError, ValueError):
    """An array has the wrong rank or shape for the layer, loss or kernel it was given to."""


class DTypeError(MinnetError, TypeError):
    """An array has a dtype minnet cannot compute with (it needs float32 or float64)."""


class DataError(MinnetError, ValueError):
    """A data file is missing, truncated, has the wrong magic number or fails its checksum."""


class CheckpointError(MinnetError, ValueError):
    """A saved model or checkpoint is damaged, foreign, or for another architecture."""


class DivergenceError(MinnetError, FloatingPointError):
    """Training produced NaN or inf (loss or weights); the message names epoch, batch and layer."""


class ConfigError(MinnetError, ValueError):
    """A configuration file or option has an unknown key or a value of the wrong type."""


class RunFolderError(MinnetError, ValueError):
    """A run folder lacks a file the report needs (the message names the files and the fix)."""


class MissingDependencyError(MinnetError, ImportError):
    """An optional package is not installed; the message names the pip extra that brings it."""


class ExerciseError(MinnetError, ValueError):
    """A student's exercise function, run in the real pipeline (--use-exercises), is missing,
    unfinished or wrong; the message names the exercise file and function to fix."""


class LayerKindError(MinnetError, TypeError):
    """A layer was asked for something its kind does not have (e.g. the weight of a ReLU)."""


class LayerNameError(MinnetError, KeyError):
    """A layer or parameter name the model does not have (the message lists the ones it has)."""

    def __str__(self):            # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""


class WriteError(MinnetError, OSError):
    """A file could not be written: a full disk, a file-size limit, no permission. The message
    names the file; an atomic write (:mod:`minnet.atomic`) leaves the earlier version intact."""

    def __str__(self):            # OSError would print "[Errno 28] ..." before the message
        return str(self.args[0]) if self.args else ""


class OrderError(MinnetError, RuntimeError):
    """A method called out of order, e.g. a layer's backward before its forward."""
