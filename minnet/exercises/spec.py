"""What an exercise is made of: :class:`Exercise` (one student file), :class:`Task` (one function to
write) and :class:`Case` (one call of it and how to judge the answer).

They live apart from the cases themselves so that several case modules (:mod:`.cases` for the
primitives ex01-ex07, :mod:`.cases_decisions` for the decision exercises ex08-ex10) can share them
without importing each other. :mod:`minnet.exercises.cases` re-exports all three.
"""

from dataclasses import dataclass, field


@dataclass
class Case:
    """One call of a student's function: ``fn(*args)`` must return ``expected`` (or pass ``check``).

    description: what is special about this case, in words a student can act on.
    expected: a value or a tuple of values (one per name in the task's ``outputs``), computed by
        minnet's own code. With ``check`` set it is minnet's own answer, kept for reference (and for
        the tests' answer fixtures); it is not compared.
    rtol, atol: tolerances for float results (integers and booleans must match exactly).
    check: None (compare with ``expected``), or a callable for a question with several right answers
        (a decision exercise: any allocation that meets the target and is no worse than minnet's
        passes). Contract: ``check(got) -> str | None``. ``got`` is the function's whole return
        value exactly as the student returned it (a dict, a tuple, a letter...); None means the case
        passes; a string is the failure, one line, shown to the student in place of the
        expected/got lines (the task's hint is printed under it as for any failure). A check never
        raises: a return value of the wrong type or shape is a failure message too.
    """

    description: str
    args: tuple
    expected: object
    rtol: float = 1e-6
    atol: float = 1e-9
    check: object = None


@dataclass
class Task:
    """One function of an exercise file and the cases that grade it.

    outputs: names of the returned values, e.g. ("dx", "dW", "db"); one name for a single value.
    hint: printed under a failure: *what* to compute (the quantity, the formula in words or maths),
        never the code.
    hint_more: a second, fuller hint, printed only on request: the steps in order, the shapes, and
        the mistake the failing case usually catches. Still no code.
    """

    function: str
    outputs: tuple
    make_cases: object           # () -> list[Case]; built lazily so importing a module is cheap
    hint: str = ""
    hint_more: str = ""


@dataclass
class Exercise:
    """One exercise file: its name in tutorials/exercises/, a title and its tasks.

    minutes, objective: the estimated time and the learning objective, the same as the stub's
    module docstring states ("Objective: ..." and "Time: about N minutes."), kept here too so that
    the checker can list them after a student has overwritten the stub.
    """

    filename: str
    title: str
    tasks: list = field(default_factory=list)
    minutes: int = 0
    objective: str = ""
