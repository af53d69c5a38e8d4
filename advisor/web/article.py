"""The source article as HTML, every passage the KB quotes highlighted, with a stable anchor per quote.

A quote is located the way the KB's loader checks it (white space and curly quotes folded, inside its
section's scope), then mapped back to the raw text, so the highlight covers the article's own words.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from advisor.kb.source import headings, normalize, section_scope


@functools.lru_cache(maxsize=4096)
def anchor(quote: str, section: str | None) -> str:
    """The id of a quote's place in the article page: stable across restarts and KB reloads."""
    key = normalize(quote) + "\0" + normalize(section or "")
    return "q-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]


@dataclass
class Article:
    html: Markup
    found: dict[str, str] = field(default_factory=dict)  # anchor -> the quote, for quotes located


def cited(kb: Any) -> list[tuple[str, str | None]]:
    """Every (quote, section) the KB cites; ``section`` is the label users see (and the anchor's key)."""
    return list(dict.fromkeys((quote, section) for quote, section, _ in _cited_where(kb)))


def _cited_where(kb: Any) -> list[tuple[str, str | None, str | None]]:
    """(quote, section label, heading path it stands under): ``under`` where the label names no heading
    (the unheaded side-effect lists), else the section itself."""
    def item(quote: str, holder: Any, section: str | None = None) -> tuple[str, str | None, str | None]:
        label = section if section is not None else holder.section
        return quote, label, getattr(holder, "under", None) or label

    out: list[tuple[str, str | None, str | None]] = []
    for d in kb.drugs:
        out += [item(d.how_it_works.quote, d), item(d.schedule.quote, d)]
        out += [item(a.quote, a) for a in getattr(d, "about", ())]
        se = d.side_effects
        lead = (se.serious_label,) if getattr(se, "serious_label", None) else ()  # in the article's order
        after = (se.after,) if getattr(se, "after", None) else ()
        out += [item(e.quote, se) for e in (*se.common, *lead, *se.serious, *after)]
    out += [item(q.quote, q) for r in kb.rules for q in (r, *getattr(r, "also", ()))]
    out += [item(c.quote, c) for c in kb.cautions]
    out += [item(n.quote, n) for n in kb.notes if n.quote]
    out += [item(q.quote, q) for row in getattr(kb, "compare", ()) for cell in row.cells.values() for q in cell.citations()]
    out += [item(t.quote, t) for t in getattr(kb, "terms", ())]  # the words the article explains (terms.toml)
    return list(dict.fromkeys(out))


def _folded(source: str) -> tuple[str, list[int]]:
    """``normalize``'s folding, keeping for each folded character the raw offset it came from."""
    out: list[str] = []
    where: list[int] = []
    space = False
    for i, ch in enumerate(source):
        if not ch.isascii():  # the same folding as the KB's (curly quotes, no-break space), char by char
            ch = normalize("x" + ch + "x")[1:-1] or " "
        if ch.isspace():
            if not space and out:
                out.append(" ")
                where.append(i)
            space = True
            continue
        space = False
        out.append(ch)
        where.append(i)
    return "".join(out), where


def render(kb: Any) -> Article:
    source: str = kb.source_text
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    folded, where = _folded(source)
    import bisect

    def folded_at(raw: int) -> int:
        return bisect.bisect_left(where, raw)

    cover: list[list[str]] = [[] for _ in source]
    article = Article(Markup(""))
    # Several lists can share one heading's scope (the article's unheaded side-effect lists): such
    # sections differ only by their remark. They are searched in the KB's drug order, each from where
    # the previous one's quotes ended, so "headache" of the second list is not taken from the first.
    list_order = {d.side_effects.section: i for i, d in enumerate(kb.drugs)}
    by_section: dict[str | None, list[str]] = {}
    base_of: dict[str | None, str] = {}
    for quote, section, under in _cited_where(kb):
        by_section.setdefault(section, []).append(quote)
        base_of.setdefault(section, normalize((under or "").split(" — ")[0]))
    by_base: dict[str, list[str | None]] = {}
    for section in by_section:
        by_base.setdefault(base_of[section], []).append(section)
    for base, sections in by_base.items():
        first_seen = {s: n for n, s in enumerate(sections)}
        sections.sort(key=lambda s: (list_order.get(s, len(list_order)), first_seen[s]))
        scope = section_scope(base, source) if base else (0, len(lines))
        if isinstance(scope, str):
            scope = (0, len(lines))
        lo, hi = folded_at(starts[scope[0]]), folded_at(starts[min(scope[1], len(lines))])
        cursor = lo
        for section in sections:
            ends = []
            for quote in by_section[section]:
                q = normalize(quote)
                at = folded.find(q, cursor)
                if at < 0 or at + len(q) > hi:
                    at = folded.find(q, lo)
                    if at < 0 or at + len(q) > hi:
                        at = folded.find(q)
                        if at < 0:
                            continue
                ident = anchor(quote, section)
                if ident in article.found:
                    continue
                article.found[ident] = quote
                ends.append(at + len(q))
                for i in range(where[at], where[at + len(q) - 1] + 1):
                    cover[i].append(ident)
            if section in list_order and ends:
                cursor = max(ends)

    heading_lines = {i for i, _ in headings(source)}
    parts: list[str] = []
    block: list[tuple[int, str]] = []  # (line index, kind)
    started: set[str] = set()

    def text_html(begin: int, end: int) -> str:
        """Raw text [begin, end) with highlighted runs; the first run of each quote carries its id."""
        html, i = [], begin
        while i < end:
            j = i
            while j < end and cover[j] == cover[i]:
                j += 1
            chunk = str(escape(source[i:j]))
            ids = cover[i]
            if ids:
                new = [q for q in ids if q not in started]
                started.update(new)
                id_attr = f' id="{new[0]}"' if new else ""
                # Quotes that start at the same place (a caution's run of list items and the first
                # item's own quote): each further one is an anchor around the same words.
                inner = chunk
                for q in reversed(new[1:]):
                    inner = f'<span class="anchor" id="{q}">{inner}</span>'
                html.append(f'<mark class="quote"{id_attr} data-q="{" ".join(ids)}">{inner}</mark>')
            else:
                html.append(chunk)
            i = j
        return "".join(html)

    def line_range(k: int) -> tuple[int, int]:
        begin, end = starts[k], starts[k + 1]
        while end > begin and source[end - 1] in "\r\n":
            end -= 1
        return begin, end

    def flush() -> None:
        if not block:
            return
        items: list[tuple[int | None, str]] = []  # (bullet indent, or None: a plain line; its HTML)
        for k, _ in block:
            begin, end = line_range(k)
            raw = source[begin:end]
            stripped = raw.lstrip()
            if stripped.startswith("•"):
                indent = len(raw) - len(stripped)
                offset = begin + indent + 1
                while offset < end and source[offset] == " ":
                    offset += 1
                items.append((indent, text_html(offset, end)))
            else:
                items.append((None, text_html(begin + len(raw) - len(stripped), end)))
        if all(i is not None for i, _ in items):
            parts.append(_bullets(items))
        else:
            parts.append("<p>" + "<br>".join(h for _, h in items) + "</p>")
        block.clear()

    title_done = False
    for k in range(len(lines)):
        begin, end = line_range(k)
        if not source[begin:end].strip():
            flush()
            continue
        if k in heading_lines:
            flush()
            if not title_done:
                title_done = True
                parts.append(f'<h2 class="article-title" id="top">{text_html(begin, end)}</h2>')
            else:
                parts.append(f"<h3>{text_html(begin, end)}</h3>")
            continue
        block.append((k, ""))
    flush()
    article.html = Markup("\n".join(parts))
    return article


def _bullets(items: list[tuple[int | None, str]]) -> str:
    """Nested lists from bullet lines and their indentation."""
    out: list[str] = []
    stack: list[int] = []  # stack of indents with an open <ul>
    for indent, html in items:
        assert indent is not None
        if not stack or indent > stack[-1]:
            if stack:
                out[-1] = out[-1].removesuffix("</li>")
            out.append("<ul>")
            stack.append(indent)
        else:
            while len(stack) > 1 and indent < stack[-1]:
                out.append("</ul></li>")
                stack.pop()
        out.append(f"<li>{html}</li>")
    while stack:
        out.append("</ul>" + ("</li>" if len(stack) > 1 else ""))
        stack.pop()
    return "".join(out)
