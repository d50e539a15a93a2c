"""One argument-checking policy for the whole package: what a number, a size or a flag is.

Every public function checks its arguments with these helpers, so that one rule holds
everywhere: ``bool`` is a flag and never a number (``Value(True)`` and ``mse(p, True)`` are both
refused), an int too large for a float is named rather than overflowing, and every message
says the call, what it expected and what it got. Nothing here knows about graphs.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Final, TypeVar

__all__ = [
    "choice",
    "flag",
    "integer",
    "is_number",
    "real",
    "shown",
]

T = TypeVar("T")

# Long values are cut in messages: a 400-digit int or a huge list must not flood the screen.
SHOWN_CHARS: Final = 80


def shown(x: object) -> str:
    """``type: repr`` of a value for an error message, cut short past SHOWN_CHARS characters."""
    text = repr(x)
    if len(text) > SHOWN_CHARS:
        text = f"{text[: SHOWN_CHARS - 1]}… ({len(text)} characters)"
    return f"{type(x).__name__}: {text}"


def is_number(x: object) -> bool:
    """Whether x is a real number to us: any numbers.Real except a bool."""
    # bool is an int to Python, but a flag to us: True as a weight is always a mistake.
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def real(
    x: object,
    where: str,
    *,
    finite: bool = False,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """x as a float, if it is a real number (not a bool) within the given bounds.

    ``where`` names the call and the argument, as in ``"SGD() momentum"``; ``low`` and ``high``
    are inclusive unless ``low_open``/``high_open``. Raises TypeError for something that is not
    a real number and ValueError for a number out of range.
    """
    if not is_number(x):
        if type(x).__name__ == "Value":  # imported lazily: the engine itself uses this module
            msg = f"{where} must be a number, got a Value (use .data for its number)"
            raise TypeError(msg)
        msg = f"{where} must be a real number, got {shown(x)}"
        raise TypeError(msg)
    try:
        value = float(x)  # type: ignore[arg-type]  # checked to be numbers.Real just above
    except OverflowError:
        msg = f"{where} must fit in a float (at most about 1.8e308), got {shown(x)}"
        raise ValueError(msg) from None
    if finite and not math.isfinite(value):
        msg = f"{where} must be finite, got {value!r}"
        raise ValueError(msg)
    if low is not None and (value < low or (low_open and value == low)):
        bound = f"> {low!r}" if low_open else f">= {low!r}"
        msg = f"{where} must be {bound}, got {value!r}"
        raise ValueError(msg)
    if high is not None and (value > high or (high_open and value == high)):
        bound = f"< {high!r}" if high_open else f"<= {high!r}"
        msg = f"{where} must be {bound}, got {value!r}"
        raise ValueError(msg)
    if math.isnan(value) and (low is not None or high is not None):
        msg = f"{where} must be a number in range, got {value!r}"
        raise ValueError(msg)
    return value


def integer(x: object, where: str, *, low: int | None = None, high: int | None = None) -> int:
    """x itself, if it is an int (not a bool) with low <= x <= high."""
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        msg = f"{where} must be an int, got {shown(x)}"
        raise TypeError(msg)
    value = int(x)
    if low is not None and value < low:
        msg = f"{where} must be an int >= {low}, got {shown(x)}"
        raise ValueError(msg)
    if high is not None and value > high:
        msg = f"{where} must be an int <= {high}, got {shown(x)}"
        raise ValueError(msg)
    return value


def flag(x: object, where: str) -> bool:
    """x itself, if it is True or False (not 0, 1 or None)."""
    if not isinstance(x, bool):
        msg = f"{where} must be True or False, got {shown(x)}"
        raise TypeError(msg)
    return x


def choice(x: T, options: Sequence[T], where: str) -> T:
    """x itself, if it is one of options."""
    # A list of strings, not a set: messages list the options in their documented order.
    if not any(type(x) is type(option) and x == option for option in options):
        listed = ", ".join(repr(option) for option in options)
        msg = f"{where} must be one of {listed}; got {shown(x)}"
        raise ValueError(msg)
    return x
