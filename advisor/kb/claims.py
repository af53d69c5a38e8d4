"""The claim-word guard: a KB text may not say more than its quote.

A text's claim words and its numbers (digits or number words, compared by value: "2 hours" matches
"two hours") must each stand in the text's quote, or be listed in the item's ``allow``. A text without
a quote (a silent note, a list's attribution) may use only what its ``allow`` lists. ``$fact``
placeholders are not text and are skipped.

Claim words are the words a patient text overstates with, in families (CLAIM_WORDS): a word of a
family matches any word of the same family ("recommends" stands in a quote that says "recommended";
"deadly" in one that says "fatal"), never a word of another ("should" is not "may", "best" is not
"better"). They cover: restriction and exclusivity (only, not for, contraindicated), universality
(always, never, all, every, none, completely, most), obligation and prohibition (must, should,
required, cannot, avoid), certainty (will, guaranteed, proven, definitely, permanent), efficacy (cure,
eliminate, prevent, stop, reverse, effective), safety and risk (safe, harmless, fatal, rare),
standing (recommended, best, better, first-line, preferred, approved, indicated).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

# family -> the words (regular expressions, matched whole and case-blind) that make that claim
CLAIM_WORDS: dict[str, str] = {
    "only": r"only|solely|exclusively",
    "not for": r"not\s+for",
    "contraindicated": r"contra-?indicat\w*",
    "always": r"always|invariably",
    "never": r"never",
    "all": r"all",
    "every": r"every|everyone|everybody|everything",
    "none": r"none|no\s+one|nobody",
    "completely": r"complete|completely|entirely|fully|totally|absolutely",
    "most": r"most|mostly",
    "must": r"must",
    "should": r"should|ought",
    "required": r"require|requires|required|requirement|mandatory|necessary|essential",
    "cannot": r"cannot|can['’]t|can\s+not|unable",
    "avoid": r"avoid|avoids|avoided|forbidden|prohibited",
    "will": r"will|won['’]t|certainly|definitely|surely",
    "guaranteed": r"guarantee|guarantees|guaranteed",
    "proven": r"prove|proves|proved|proven|proof",
    "permanent": r"permanent|permanently|lasting|lifelong",
    "cure": r"cure|cures|cured|curing|curative",
    "eliminate": r"eliminate|eliminates|eliminated|eradicate\w*|wipes?\s+out",
    "prevent": r"prevent|prevents|prevented|preventing|prevention",
    "stop": r"stop|stops|stopped|stopping|halt|halts|halted",
    "reverse": r"reverse|reverses|reversed|reversing|restore|restores|restored|repair|repairs|repaired",
    "effective": r"effective|effectively|effectiveness|efficacy|efficacious",
    "safe": r"safe|safer|safest|safely|harmless|risk-free",
    "fatal": r"fatal|deadly|lethal|life-threatening",
    "rare": r"rare|rarely",
    "recommended": r"recommend|recommends|recommended|recommending|recommendation",
    "best": r"best",
    "better": r"better|superior",
    "first-line": r"first[-\s]line",
    "preferred": r"prefer|preferred|preferable|ideal|optimal",
    "approved": r"approve|approved|approval",
    "indicated": r"indicated|indication",
}
NUMBER_WORDS = {w: n for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}

_PLACEHOLDER = re.compile(r"\$(?:\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)")


def _claims_pattern() -> tuple[str, dict[str, str]]:
    """One pattern for every claim word, and the family of each of its groups. It matches what
    ``\b(?:words)\b`` per family would, trying the families in order at each word start, but fast
    enough for every KB load (and so every command's start) to pay for: one word boundary per position,
    then only the alternatives that begin with the position's letter (a look-ahead picks their branch)
    rather than all of them, since every alternative begins with a lower-case letter. Each family's
    alternatives under one letter are one group (named by letter and family), so the first family
    (in order) with a word that matches at a position is the match, as before."""
    branches: dict[str, dict[int, list[str]]] = {}
    for i, words in enumerate(CLAIM_WORDS.values()):
        depth, start = 0, 0
        for pos, ch in enumerate(words + "|"):  # the family's top-level alternatives
            depth += (ch == "(") - (ch == ")")
            if ch == "|" and depth == 0:
                alternative = words[start:pos]
                start = pos + 1
                assert "a" <= alternative[:1] <= "z", alternative  # the look-ahead dispatch needs it
                branches.setdefault(alternative[0], {}).setdefault(i, []).append(alternative)
    families = list(CLAIM_WORDS)
    groups: dict[str, str] = {}
    parts = []
    for letter, by_family in branches.items():
        inner = []
        for i, alternatives in by_family.items():
            groups[f"{letter}{i}"] = families[i]
            inner.append(f"(?P<{letter}{i}>(?:{'|'.join(alternatives)})\\b)")
        parts.append(f"(?={letter})(?:{'|'.join(inner)})")
    return r"\b(?=[a-z])(?:" + "|".join(parts) + ")", groups


_PATTERN, _FAMILY = _claims_pattern()
_CLAIMS = re.compile(_PATTERN, re.IGNORECASE)
_NUMBERS = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)|\b(" + "|".join(NUMBER_WORDS) + r")\b", re.IGNORECASE)


def _number(token: str) -> str:
    word = NUMBER_WORDS.get(token.lower())
    value = float(word if word is not None else token)
    return f"{value:g}"


@functools.lru_cache(maxsize=4096)
def claims(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """The claims a text makes: the families of its claim words (see CLAIM_WORDS) and its numbers (as
    values). Memoized: a KB's quotes and texts are checked at every load, and the pattern is long."""
    text = _PLACEHOLDER.sub(" ", text)
    words = frozenset(_FAMILY[m.lastgroup] for m in _CLAIMS.finditer(text) if m.lastgroup)
    numbers = frozenset(_number(m.group(1) or m.group(2)) for m in _NUMBERS.finditer(text))
    return words, numbers


def overstatement(text: str, quote: str | None, allow: Iterable[str] = ()) -> str | None:
    """Why ``text`` claims more than ``quote`` (None: it does not)."""
    words, numbers = claims(text)
    quoted_words, quoted_numbers = claims(quote) if quote else (frozenset(), frozenset())
    allowed_words: set[str] = set()
    allowed_numbers: set[str] = set()
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
    words: set[str] = set()
    numbers: set[str] = set()
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
