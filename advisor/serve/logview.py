"""``ms-advisor log``: the decision log as a table, JSON or CSV (no click here). Every text that came
from a request (facts, comments) is shown with control characters escaped, never raw."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

DRUGS_FALLBACK = ("alemtuzumab", "natalizumab", "mitoxantrone", "ocrelizumab")


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


def _drugs(decisions: list[dict], rates: list[dict]) -> list[str]:
    found = list(dict.fromkeys([d for dec in decisions for d in dec["statuses"]] + [r["drug"] for r in rates]))
    return found or list(DRUGS_FALLBACK)


def _feedback(card: dict) -> str:
    return ", ".join(f["outcome"] + (f" ({f['reason']})" if f.get("reason") else "") for f in card["feedback"])


def render(decisions: list[dict], rates: list[dict], fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"decisions": decisions, "override_rates": rates}, indent=2, ensure_ascii=True)
    drugs = _drugs(decisions, rates)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["time", "id", "channel", "kb_sha256", "outcome", *(f"status.{d}" for d in drugs),
                    *(f"feedback.{d}" for d in drugs), "rules", "facts", "patient_id"])
        for dec in decisions:
            by_drug = {c["drug"]: _feedback(c) for c in dec["cards"] if c["drug"]}
            w.writerow([dec["time"], dec["id"], dec["channel"], dec["kb"]["sha256"], clean(dec["outcome"]),
                        *(dec["statuses"].get(d, "") for d in drugs), *(by_drug.get(d, "") for d in drugs),
                        ";".join(dec["rules"]), clean(json.dumps(dec["facts"], ensure_ascii=False)) if dec["facts"] is not None else "",
                        clean(dec["patient_id"] or "")])
        return buf.getvalue().rstrip("\n")
    lines = [f"{len(decisions)} decision(s)"]
    for dec in decisions:
        statuses = " ".join(f"{d}={s}" for d, s in dec["statuses"].items()) or clean(dec["outcome"])
        lines.append(f"{dec['time']}  {dec['channel']:<6} {dec['id'][:8]}  {statuses}")
        for c in dec["cards"]:
            for f in c["feedback"]:
                comment = f" “{clean(f['comment'])}”" if f.get("comment") else ""
                lines.append(f"    card {c['uuid'][:8]} {c['drug'] or 'facts'}: {f['outcome']}"
                             + (f" ({clean(f['reason'])})" if f.get("reason") else "") + comment)
    lines += ["", "Override rates (overridden / cards with feedback):",
              f"  {'drug':<14} {'cards':>6} {'feedback':>9} {'accepted':>9} {'overridden':>11} {'rate':>6}"]
    for r in rates:
        rate = "-" if r["override_rate"] is None else f"{r['override_rate']:.0%}"
        lines.append(f"  {r['drug']:<14} {r['cards']:>6} {r['feedback']:>9} {r['accepted']:>9} {r['overridden']:>11} {rate:>6}")
    if not rates:
        lines.append("  (no drug cards yet)")
    return "\n".join(lines)
