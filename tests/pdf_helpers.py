"""Where a printed page breaks, read from the tagged PDF that Chromium prints (``page.pdf(tagged=True)``).

A tagged PDF has a structure tree (a list item is an ``LI``, a table row a ``TR``, a heading ``H1``..``H6``)
whose leaves name the page their marked content is drawn on. Chromium sometimes opens an empty marked
content at the foot of a page for the text that follows on the next one, so a page counts for an element
only when text is drawn there (a ``Tj``/``TJ`` inside its marked content). Only what Chromium writes is read:
one cross-reference table, no object streams, streams Flate-compressed or plain.
"""

from __future__ import annotations

import re
import zlib

REF = rb"(\d+) 0 R"


def objects(pdf: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """Object number -> (its dictionary, its stream decoded or None), found through the cross-reference table."""
    xref = pdf[int(re.findall(rb"startxref\s+(\d+)", pdf)[-1]):]
    count = int(re.match(rb"xref\s+0 (\d+)\s+", xref).group(1))
    out = {}
    for offset, kind in re.findall(rb"(\d{10}) \d{5} ([nf])", xref)[:count]:
        if kind != b"n":
            continue
        head = re.match(rb"(\d+) 0 obj\s*", pdf[int(offset):int(offset) + 40])
        start = int(offset) + head.end()
        end = re.compile(rb"\bstream\r?\n|\bendobj").search(pdf, start)
        body, data = pdf[start:end.start()], None
        if end.group().startswith(b"stream"):
            data = pdf[end.end():end.end() + int(re.search(rb"/Length (\d+)", body).group(1))]
            data = zlib.decompress(data) if b"/FlateDecode" in body else data
        out[int(head.group(1))] = (body, data)
    return out


def structure(pdf: bytes) -> tuple[dict[int, tuple[str, set[int], list[int]]], int]:
    """Each structure element: (its type, the pages (1, 2, ...) its drawn text is on, its child elements),
    and how many pages there are."""
    objs = objects(pdf)
    root = int(re.search(rb"/Root " + REF, pdf[pdf.rindex(b"trailer"):]).group(1))

    def page_list(n: int) -> list[int]:
        body = objs[n][0]
        if re.search(rb"/Type\s*/Pages\b", body):
            return [p for k in re.findall(REF, re.search(rb"/Kids\s*\[([^\]]*)\]", body).group(1)) for p in page_list(int(k))]
        return [n]

    pages = page_list(int(re.search(rb"/Pages " + REF, objs[root][0]).group(1)))
    drawn = set()  # (page object, marked-content id) with text drawn
    for p in pages:
        contents = re.search(rb"/Contents\s*(\[[^\]]*\]|" + REF + rb")", objs[p][0]).group(1)
        stream = b"\n".join(objs[int(c)][1] or b"" for c in re.findall(REF, contents))
        open_marks: list[int | None] = []
        for m in re.finditer(rb"(?:/MCID (\d+)\s*>>\s*)?\bBDC\b|\bBMC\b|\bEMC\b|\bT[Jj]\b", stream):
            op = m.group()
            if op.endswith((b"BDC", b"BMC")):
                open_marks.append(int(m.group(1)) if m.group(1) else None)
            elif op == b"EMC":
                open_marks.pop()
            else:
                drawn |= {(p, mcid) for mcid in open_marks if mcid is not None}
    number = {p: i + 1 for i, p in enumerate(pages)}
    elements: dict[int, tuple[str, set[int], list[int]]] = {}
    for n, (body, _) in objs.items():
        if not re.search(rb"/Type\s*/StructElem\b", body):
            continue
        kids = re.search(rb"/K\s*(\[[^\]]*\]|" + REF + rb"|\d+)", body)
        k = kids.group(1) if kids else b""
        marks = {(int(pg), int(mcid)) for pg, mcid in re.findall(rb"/Pg (\d+) 0 R\s*/MCID (\d+)", k)}  # marks on another page
        k = re.sub(rb"<<.*?>>", b" ", k, flags=re.S)
        own_page = re.search(rb"/Pg " + REF, body)
        if own_page:
            marks |= {(int(own_page.group(1)), int(x)) for x in re.findall(rb"\d+", re.sub(REF, b" ", k))}
        elements[n] = (re.search(rb"/S\s*/(\w+)", body).group(1).decode(), {number[pg] for pg, mcid in marks if (pg, mcid) in drawn},
                       [int(x) for x in re.findall(REF, k)])

    def fill(n: int) -> set[int]:
        for c in elements[n][2]:
            if c in elements:
                elements[n][1].update(fill(c))
        return elements[n][1]

    for n in elements:
        fill(n)
    return elements, len(pages)


def bad_breaks(pdf: bytes) -> list[str]:
    """The page breaks a reader would trip on: a list item, table row or paragraph split over two pages, a
    heading at the foot of a page with what it heads on the next. Empty when none."""
    elements, _ = structure(pdf)
    bad = []
    for n, (kind, pages, kids) in elements.items():
        if kind in ("LI", "TR", "P") and len(pages) > 1:
            bad.append(f"{kind} (object {n}) split over pages {sorted(pages)}")
        shown = [c for c in kids if c in elements and elements[c][1]]
        for heading, after in zip(shown, shown[1:]):
            if re.fullmatch(r"H\d?", elements[heading][0]) and min(elements[after][1]) > max(elements[heading][1]):
                bad.append(f"{elements[heading][0]} (object {heading}) alone at the foot of page {max(elements[heading][1])}")
    return bad
