"""The words the article explains (``rules/terms.toml``), marked up where the pages use them: ``<dfn>`` at
a term's first use on a page (titled with the article's words that explain it), ``<abbr title="...">`` for an abbreviation.

One Jinja filter, ``terms``, does it. The text is only wrapped, never changed: a quote stays the
article's words. Every piece of text is escaped (and its unsafe characters written as escapes, as
everywhere on the pages) before it is put into markup; nothing from the KB is marked safe unescaped.
"First use on a page" is kept per render: :meth:`Terms.page` opens a fresh record for each page.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

from markupsafe import Markup, escape

from advisor.text import visible

# the ids of the terms already defined on the page being rendered (None: not rendering a page)
_seen: ContextVar[set[str] | None] = ContextVar("terms_seen", default=None)


def _safe(text: str) -> Markup:
    return escape(visible(text))


class Terms:
    """The KB's terms, found in a text by one regular expression: words case-blind, abbreviations exact."""

    def __init__(self, terms: Any):
        self.abbreviations: dict[str, Any] = {}
        self.words: dict[str, Any] = {}
        for t in terms:
            for w in t.words:  # an abbreviation, or a form of it ("WBCs"), is matched exactly
                if t.abbreviation and w.startswith(t.abbreviation):
                    self.abbreviations[w] = t
                else:
                    self.words[w.casefold()] = t
        parts = [*(re.escape(w) for w in self.abbreviations), *(f"(?i:{re.escape(w)})" for w in self.words)]
        parts.sort(key=len, reverse=True)  # the longest form first: "infusion reactions" before "infusion reaction"
        self.pattern = re.compile(rf"(?<![\w-])(?:{'|'.join(parts)})(?![\w-])") if parts else None

    @staticmethod
    @contextmanager
    def page() -> Iterator[None]:
        """Render one page: each term's first use on it is its <dfn>."""
        token = _seen.set(set())
        try:
            yield
        finally:
            _seen.reset(token)

    def mark(self, value: Any) -> Any:
        """``value`` with every term in it marked up (markup already built is returned as it is)."""
        if value is None or hasattr(value, "__html__") or self.pattern is None:
            return value
        text = str(value)
        seen = _seen.get()
        out = Markup()
        pos = 0
        for m in self.pattern.finditer(text):
            word = m.group(0)
            term = self.abbreviations.get(word) or self.words[word.casefold()]
            out += _safe(text[pos:m.start()])
            inner = (Markup('<abbr title="{}">{}</abbr>').format(_safe(term.term), _safe(word)) if word in self.abbreviations
                     else _safe(word))
            if seen is not None and term.id not in seen:
                seen.add(term.id)
                inner = Markup('<dfn id="term-{}" title="{}">{}</dfn>').format(term.id, _safe(term.quote), inner)
            out += inner
            pos = m.end()
        return out + _safe(text[pos:])
