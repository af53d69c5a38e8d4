"""Text to value: the one grammar for every place a person or a file writes a fact's value as text (a
command-line option, a CSV cell, a web form field, a YAML scalar, an interview answer).

The rule, the same on every surface:
- surrounding whitespace is stripped; an empty text is "not given" (the caller leaves the fact out,
  so it takes its default, or is said to be not given);
- numbers are JSON's grammar: ``-?digits[.digits][e±digits]`` in ASCII digits only (no '٢', no '２',
  no '1_0', no '0x2', no 'inf'/'nan'), with no leading '+' and no leading zeros ('012' is refused: YAML
  1.1 and other tools read it as octal 10, so it is refused rather than guessed);
- a whole number (a count) is a number whose value is whole: '2.0' and '2e0' are 2 (as JSON gives
  them; spreadsheets write whole numbers so), '2.5' is refused;
- yes/no: 'yes', 'y', 'true' and 'no', 'n', 'false', in any case.
Each parser returns the value or raises :class:`ValueTextError`, whose message says what was expected.
This module imports no surface (and nothing of the advisor but ``text`` and ``errors``)."""

from __future__ import annotations

import math
import re
from decimal import Decimal

from advisor.errors import AdvisorError
from advisor.text import visible

# --- numbers: one grammar, JSON's ------------------------------------------------------------------
# ASCII digits only (no '١٤٠', no '1_0', no '0x2', no '012', no 'inf'); an int has no '.' or exponent.
INT_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)", re.ASCII)
NUMBER_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?", re.ASCII)
MAX_INT_DIGITS = 4300  # OversizedInt's magnitude: Python's default limit for converting text to int


class OversizedInt(int):
    """An integer written with more digits than Python converts (a 5,000-digit number in a file): it
    stands for "far out of range" (its value is ±10**4300) and shows itself by its size, so every
    field refuses it with its usual range message and nothing ever tries to print its digits."""

    digits: int

    def __new__(cls, digits: int, negative: bool = False) -> "OversizedInt":
        self = super().__new__(cls, -(10**MAX_INT_DIGITS) if negative else 10**MAX_INT_DIGITS)
        self.digits = digits
        return self

    def __repr__(self) -> str:
        return f"<an integer of {self.digits} digits>"

    __str__ = __repr__


def int_from_text(text: str) -> int:
    """An integer from its decimal digits (already matched by INT_TEXT), however many there are."""
    try:
        return int(text)
    except ValueError:  # more digits than the interpreter converts (sys.get_int_max_str_digits())
        return OversizedInt(len(text) - text.startswith("-"), text.startswith("-"))


def number_from_text(text: str) -> int | float | Decimal | None:
    """The number ``text`` writes in the one grammar (JSON's: ``-?digits[.digits][e±digits]``, ASCII
    only, no surrounding space), an int when it has no '.' or exponent (see :func:`float_from_text`
    for the others); None if it writes none."""
    if INT_TEXT.fullmatch(text):
        return int_from_text(text)
    if NUMBER_TEXT.fullmatch(text):
        return float_from_text(text)
    return None


# --- numbers a float does not hold exactly enough: refused, never rounded ----------------------------
# The rules engine compares 64-bit floats. A decimal text whose value is the value of the shortest text
# of the float it rounds to (what repr() prints) compares with every KB threshold written so (the KB
# refuses any other) exactly as its float does: rounding is monotonic, and two such texts of different
# value round to different floats. Any text with at most 15 significant digits (and an exponent within
# ±99) is one. Others, like 139.99999999999999999 (read as 140.0, at the lifetime maximum) or 1e-400
# (read as 0.0), are kept as the Decimal they write, and every number field refuses a Decimal no float
# holds so: the advisor never decides on a rounded number.
EXACT_DIGITS = 15


def exact_float(number: Decimal) -> float | None:
    """``number`` as a float when the float's shortest text has the same value, else None."""
    value = float(number)
    return value if math.isfinite(value) and Decimal(repr(value)) == number else None


def float_from_text(text: str) -> float | Decimal:
    """The float a decimal number's text writes (``text`` is valid for ``float()`` and ``Decimal()``);
    the Decimal itself when no float holds it exactly (see :func:`exact_float`), for the field it is
    given to to refuse by name. A text beyond the float range gives inf (refused as not finite)."""
    value = float(text)
    if (len(text) <= EXACT_DIGITS and "e" not in text and "E" not in text) or not math.isfinite(value) or repr(value) == text:
        return value
    number = Decimal(text)
    return value if Decimal(repr(value)) == number else number


def inexact(number: Decimal) -> str:
    """Why a number a float does not hold exactly is refused, in one line."""
    shown = str(number)
    shown = visible(shown[:40]) + ("..." if len(shown) > 40 else "")
    nearest = float(number)
    if len(number.normalize().as_tuple().digits) <= EXACT_DIGITS:  # few digits, but beyond the normal float range
        return (f"{shown} is too close to 0 for the advisor to compare exactly with the article's thresholds (a 64-bit float "
                f"would read it as {nearest!r})")
    return (f"{shown} has more digits than the advisor can compare exactly with the article's thresholds (a 64-bit float "
            f"would read it as {nearest!r}); write it with at most {EXACT_DIGITS} significant digits")


class ValueTextError(AdvisorError, ValueError):
    """A text that does not write a value of the kind expected; the message says what was expected."""


def _shown(text: str) -> str:
    return visible(text[:40]) + ("..." if len(text) > 40 else "")


def _number(text: str, expected: str) -> int | float | None:
    """The number ``text`` writes (stripped), None for an empty one; else ValueTextError saying it is
    not ``expected`` (or, for more digits than a float holds exactly, that it is never rounded)."""
    text = text.strip()
    if not text:
        return None
    number = number_from_text(text)
    if isinstance(number, Decimal):
        raise ValueTextError(inexact(number))
    if number is None:
        raise ValueTextError(f"'{_shown(text)}' is not {expected}")
    return number


def number_value(text: str) -> int | float | None:
    """A number (e.g. the dose in mg/m²): the rule above; None for an empty text (not given). A number
    with more digits than a float holds exactly is refused, never rounded."""
    return _number(text, "a number written in ASCII digits (e.g. 12.5 or 1e-5)")


def count_value(text: str) -> int | None:
    """A whole number (a count): the rule above; None for an empty text (not given)."""
    expected = "a whole number written in ASCII digits (e.g. 2)"
    number = _number(text, expected)
    if isinstance(number, float) and not (math.isfinite(number) and number.is_integer()):
        raise ValueTextError(f"'{_shown(text.strip())}' is not {expected}")
    return None if number is None else int(number)


YES = ("yes", "y", "true")
NO = ("no", "n", "false")


def yes_no_value(text: str) -> bool | None:
    """Yes or no: the rule above; None for an empty text (not given)."""
    key = text.strip().lower()
    if not key:
        return None
    if key in YES:
        return True
    if key in NO:
        return False
    raise ValueTextError(f"'{_shown(text)}' is not yes or no (yes, y, true, no, n or false)")
