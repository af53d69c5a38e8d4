"""The claim-word guard: a KB text may not say more than its quote.

A text's claim words ("only", "must", "not for", "contraindicated") and its numbers (digits or number
words, compared by value: "2 hours" matches "two hours") must each stand in the text's quote, or be
listed in the item's ``allow``. A text without a quote (a silent note, a list's attribution) may use
only what its ``allow`` lists. ``$fact`` placeholders are not text and are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

CLAIM_WORDS = ("only", "must", "not for", "contraindicated")
NUMBER_WORDS = {w: n for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}

_PLACEHOLDER = re.compile(r"\$(?:\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)")
_CLAIMS = re.compile(r"\b(" + "|".join(w.replace(" ", r"\s+") for w in CLAIM_WORDS) + r")\b", re.IGNORECASE)
_NUMBERS = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)|\b(" + "|".join(NUMBER_WORDS) + r")\b", re.IGNORECASE)


def _number(token: str) -> str:
    word = NUMBER_WORDS.get(token.lower())
    value = float(word if word is not None else token)
    return f"{value:g}"


def claims(text: str) -> tuple[set[str], set[str]]:
    """The claim words (lower case, single-spaced) and the numbers (as values) a text makes."""
    text = _PLACEHOLDER.sub(" ", text)
    words = {" ".join(m.group(1).lower().split()) for m in _CLAIMS.finditer(text)}
    numbers = {_number(m.group(1) or m.group(2)) for m in _NUMBERS.finditer(text)}
    return words, numbers


def overstatement(text: str, quote: str | None, allow: Iterable[str] = ()) -> str | None:
    """Why ``text`` claims more than ``quote`` (None: it does not)."""
    words, numbers = claims(text)
    quoted_words, quoted_numbers = claims(quote) if quote else (set(), set())
    allowed_words, allowed_numbers = set(), set()
    for a in allow:
        w, n = claims(a)
        allowed_words |= w
        allowed_numbers |= n
    extra = sorted(words - quoted_words - allowed_words) + sorted(numbers - quoted_numbers - allowed_numbers, key=float)
    if not extra:
        return None
    where = "its quote" if quote else "the source (this text has no quote)"
    return (f"text says {', '.join(repr(e) for e in extra)}, which {'is' if len(extra) == 1 else 'are'} not in {where}; "
            f"keep to the quote or list it in `allow` for this item: '{text}'")


def unused_allowances(allow: Iterable[str], texts: Iterable[str]) -> list[str]:
    """An ``allow`` entry that names no claim word or number, or one none of ``texts`` makes: a stale
    allowance would let a later overstatement through unseen."""
    words, numbers = set(), set()
    for text in texts:
        w, n = claims(text)
        words |= w
        numbers |= n
    out = []
    for entry in allow:
        w, n = claims(entry)
        if not w and not n:
            out.append(f"allow lists '{entry}', which is no claim word ({', '.join(CLAIM_WORDS)}) and no number")
        elif not (w <= words and n <= numbers):
            out.append(f"allow lists '{entry}', which its text does not use (remove it)")
    return out
