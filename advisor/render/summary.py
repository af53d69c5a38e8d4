"""The summary for the clinic (:class:`advisor.core.summary.Summary`) as Markdown (as a standalone HTML file:
:mod:`advisor.web.summary_file`)."""

from __future__ import annotations

from advisor.core.summary import Summary
from advisor.text import visible



def summary_markdown(s: Summary) -> str:
    """The summary as Markdown: the same parts, in the same order, as the printed page."""
    def q(text: str) -> str:
        return f"“{text}”"

    out = ["# Summary to talk over with your MS team", "",
           "This summary lists what one article says. It does not pick a drug for you.", "",
           "## Your facts", ""]
    out += [f"- **{f.label}:** {f.value}" for f in s.facts]
    out += ["", "## What matters to you", ""]
    out += [f"- **{c.question}:** {c.answer}" + (f" ({', '.join(c.effects)})" if c.effects else "") for c in s.concerns] or \
        ["This knowledge base has no questions about what matters to you."]
    out += ["", "## What the article says for your facts", ""]
    for d in s.drugs:
        out += [f"- **{d.name}: {d.status}.** {d.reason} {q(d.quote)} ({d.section})"]
    yes = [c for c in s.concerns if c.answer == "yes"]
    if yes:
        out += ["", "## What the article says about what matters to you"]
        for c in yes:
            out += ["", f"### {c.question}" + (f": {', '.join(c.effects)}" if c.effects else ""), ""]
            for cell in c.cells:
                if c.effects or not cell.quotes:
                    said = "; ".join(cell.texts) + (" (The article prints this list without a drug name; it is taken by its position.)"
                                                   if cell.note else "")
                else:
                    said = " ".join(q(x) for x in cell.quotes)
                out.append(f"- **{cell.name}:** {said}")
    out += ["", "## Questions to ask", ""]
    out += [f"- {x.text}" + (f" {q(x.quote)}" if x.quote else "") for x in s.questions]
    out += ["", "### Your own questions", ""]
    out += [f"{n}. ______________________________________________" for n in range(1, s.own_questions + 1)]
    out += ["", f"Made {s.made.isoformat()}. Source: {s.source}. Knowledge base {s.kb_name}, version {s.kb_version}, "
            f"SHA-256 `{s.kb_sha256}`. {s.disclaimer}"]
    return "\n".join(visible(line) for line in out) + "\n"

