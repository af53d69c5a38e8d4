"""Renderings for people: a terminal table, a shareable Markdown report and JSON, of a Recommendation,
an Explanation (one drug, rule by rule) and an InfusionPlan (dated schedule), through one
:func:`emit`. No click here: colour is plain ANSI SGR, which the command line strips when the output
is not a terminal (or NO_COLOR is set). The text for a terminal is in ``terminal``, the Markdown in
``report``, what both share in ``common``.

    >>> from advisor import advise
    >>> from advisor.render import emit, plain_width
    >>> text = emit(advise({"ms_type": "ppms", "severity": "mild", "id": "p-7"}), "table", width=60)
    >>> text.splitlines()[0], max(plain_width(line) for line in text.splitlines()) <= 60
    ('[p-7] MS type: ppms; severity: mild; prior failures: 0;', True)
"""

from __future__ import annotations

import json
from typing import Any

from advisor.core.models import Explanation, InfusionPlan, Recommendation
from advisor.render.common import DEFAULT_WIDTH, MIN_WIDTH, columns, wrap
from advisor.render.common import plain_width as plain_width
from advisor.render.report import explanation_markdown, markdown, plan_markdown
from advisor.render.terminal import condition_text, drug_text, explanation_table, plan_table, rule_text, table
from advisor.text import json_safe

FORMATS = ("table", "json", "markdown", "text")


def _dump(obj: Any) -> Any:
    """The JSON value of a model, a list of models (a KB's rules carry their ``kind``) or plain data."""
    if isinstance(obj, (list, tuple)):
        return [_dump(o) for o in obj]
    if hasattr(obj, "model_dump"):
        from advisor.kb.schema import CautionRule, Rule

        data = obj.model_dump(mode="json")
        kind = "status" if isinstance(obj, Rule) else "caution" if isinstance(obj, CautionRule) else None
        return data if kind is None else {"kind": kind, **data}
    return obj


def emit(obj: Any, fmt: str, width: int | None = None, explain: bool = False) -> str:
    """``obj`` (a Recommendation, an Explanation or an InfusionPlan; also a KB's drugs or rules, or a
    mapping, as text) as ``fmt`` (table, json or markdown; text is table), tables wrapped to ``width``
    columns (default 100, at least 40). JSON is the model's own dump, with terminal controls in strings
    written as \\u escapes (the same JSON value)."""
    if fmt == "json":
        return json_safe(json.dumps(_dump(obj), indent=2, ensure_ascii=False))
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (allowed: {', '.join(FORMATS)})")
    token = columns.set(max(MIN_WIDTH, width or DEFAULT_WIDTH))
    try:
        if isinstance(obj, dict):  # a plain mapping (kb info): one "key: value" line each
            return "\n".join(wrap(f"{k}: {', '.join(v) if isinstance(v, list) else v}", "", "  ", break_words=False) for k, v in obj.items())
        if isinstance(obj, (list, tuple)):  # drugs of the KB, or its rules
            from advisor.kb.schema import Drug
            from advisor.kb.vocabulary import ConditionItem

            if obj and all(isinstance(o, ConditionItem) for o in obj):
                return "\n".join(condition_text(o) for o in obj)
            return "\n\n".join(drug_text(o) if isinstance(o, Drug) else rule_text(o) for o in obj)
        if isinstance(obj, Recommendation):
            return markdown(obj) if fmt == "markdown" else table(obj, explain=explain)
        if isinstance(obj, Explanation):
            return explanation_markdown(obj) if fmt == "markdown" else explanation_table(obj)
        if isinstance(obj, InfusionPlan):
            return plan_markdown(obj) if fmt == "markdown" else plan_table(obj)
        from advisor.grid import Comparison

        if isinstance(obj, Comparison):
            from advisor.render.compare import grid_markdown, grid_table

            return grid_markdown(obj) if fmt == "markdown" else grid_table(obj)
        raise TypeError(f"cannot render {type(obj).__name__}")
    finally:
        columns.reset(token)
