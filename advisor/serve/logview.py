"""``ms-advisor log``: the decision log as a table, JSON or CSV (no click here). Every text that came
from a request (facts, comments) is shown with control characters escaped, never raw."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

def clean(text: Any) -> str:
    """One line of printable text: control and format characters (C0, DEL, C1, bidi) escaped."""
    import unicodedata

    out = []
    for ch in str(text):
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def _feedback(card: dict[str, Any]) -> str:
    return ", ".join(f["outcome"] + (f" ({f['reason']})" if f.get("reason") else "") for f in card["feedback"])


def render(count: int, decisions: Iterable[dict[str, Any]], rates: list[dict[str, Any]], fmt: str, drugs: list[str]) -> Iterator[str]:
    """The log as lines of text (streamed: a long log is never held whole). ``drugs`` names the
    per-drug CSV columns."""
    if fmt == "json":
        yield '{"decisions": ['
        for n, dec in enumerate(decisions):
            yield ("," if n else "") + json.dumps(dec, ensure_ascii=True)
        yield '], "override_rates": ' + json.dumps(rates, ensure_ascii=True) + "}"
        return
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="")
        w.writerow(["time", "id", "channel", "kb_sha256", "outcome", *(f"status.{d}" for d in drugs),
                    *(f"feedback.{d}" for d in drugs), "rules", "facts", "patient_id"])
        yield buf.getvalue()
        for dec in decisions:
            by_drug = {c["drug"]: _feedback(c) for c in dec["cards"] if c["drug"]}
            buf.seek(0)
            buf.truncate()
            w.writerow([dec["time"], dec["id"], dec["channel"], dec["kb"]["sha256"], clean(dec["outcome"]),
                        *(dec["statuses"].get(d, "") for d in drugs), *(clean(by_drug.get(d, "")) for d in drugs),
                        ";".join(dec["rules"]), clean(json.dumps(dec["facts"], ensure_ascii=False)) if dec["facts"] is not None else "",
                        clean(dec["patient_id"] or "")])
            yield buf.getvalue()
        return
    yield f"{count} decision(s)"
    for dec in decisions:
        statuses = " ".join(f"{d}={s}" for d, s in dec["statuses"].items()) or clean(dec["outcome"])
        yield f"{dec['time']}  {dec['channel']:<6} {dec['id'][:8]}  {statuses}"
        for c in dec["cards"]:
            for f in c["feedback"]:
                comment = f" “{clean(f['comment'])}”" if f.get("comment") else ""
                yield (f"    card {c['uuid'][:8]} {c['drug'] or 'facts'}: {f['outcome']}"
                       + (f" ({clean(f['reason'])})" if f.get("reason") else "") + comment)
    yield ""
    yield "Override rates (overridden / cards with feedback):"
    yield f"  {'drug':<14} {'cards':>6} {'feedback':>9} {'accepted':>9} {'overridden':>11} {'rate':>6}"
    for r in rates:
        rate = "-" if r["override_rate"] is None else f"{r['override_rate']:.0%}"
        yield f"  {r['drug']:<14} {r['cards']:>6} {r['feedback']:>9} {r['accepted']:>9} {r['overridden']:>11} {rate:>6}"
    if not rates:
        yield "  (no drug cards yet)"
