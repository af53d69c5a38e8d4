"""The knowledge base as DMN 1.3 (OMG Decision Model and Notation), for DMN tools to open and test.

Per drug, one decision table with hit policy UNIQUE: its rows are the merged rows of the decision
table (:mod:`advisor.kb.table`), which partition every combination of fact classes, so exactly one row
matches any facts (``kb check`` proves exactly one status per drug); each row's annotation names the
knowledge-base rules that fire there. The cautions form one COLLECT table: every caution whose
condition the person has.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from advisor.core.advisor import Advisor
from advisor.kb.table import FactClass, decision_table

NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"
TYPES = {int: "number", float: "number", bool: "boolean"}


def _feel_number(x: float) -> str:
    return f"{x:g}" if x == int(x) else repr(float(x))


def unary_test(classes: list[FactClass], cell: frozenset[int]) -> str:
    """A FEEL unary test for a cell of the decision table."""
    if len(cell) == len(classes):
        return "-"
    chosen = [classes[i] for i in sorted(cell)]
    value = chosen[0].value
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, (int, float)):
        return ", ".join(f'"{c.value}"' for c in chosen)
    low, high = chosen[0].low, chosen[-1].high
    if low is not None and high is not None:
        if low[0] == high[0]:
            return _feel_number(low[0])
        return f"{'[' if low[1] else '('}{_feel_number(low[0])}..{_feel_number(high[0])}{']' if high[1] else ')'}"
    if low is not None:
        return (">= " if low[1] else "> ") + _feel_number(low[0])
    assert high is not None
    return ("<= " if high[1] else "< ") + _feel_number(high[0])


def export(advisor: Advisor) -> str:
    """The DMN 1.3 XML text of ``advisor``'s knowledge base."""
    ET.register_namespace("", NS)
    kb = advisor.kb

    def q(tag: str) -> str:
        return f"{{{NS}}}{tag}"

    root = ET.Element(q("definitions"), {"id": "ms_infusion_advisor", "name": f"{kb.header.name} {kb.header.version}",
                                         "namespace": f"urn:ms-infusion-advisor:kb:{kb.sha256}"})
    for drug in kb.drugs:
        classes, rows = decision_table(advisor, [drug.id])
        facts = list(classes)
        decision = ET.SubElement(root, q("decision"), {"id": f"status_{drug.id}", "name": f"{drug.name} status"})
        table = ET.SubElement(decision, q("decisionTable"), {"id": f"table_{drug.id}", "hitPolicy": "UNIQUE"})
        for f in facts:
            inp = ET.SubElement(table, q("input"), {"id": f"{drug.id}_in_{f}", "label": f})
            expr = ET.SubElement(inp, q("inputExpression"), {"typeRef": TYPES.get(kb.testable[f], "string")})
            ET.SubElement(expr, q("text")).text = f
        ET.SubElement(table, q("output"), {"id": f"{drug.id}_out", "name": "status", "typeRef": "string"})
        ET.SubElement(table, q("annotation"), {"name": "rules"})
        for n, row in enumerate(rows, 1):
            rule = ET.SubElement(table, q("rule"), {"id": f"{drug.id}_row_{n}"})
            for f in facts:
                entry = ET.SubElement(rule, q("inputEntry"), {"id": f"{drug.id}_row_{n}_{f}"})
                ET.SubElement(entry, q("text")).text = unary_test(classes[f], row.cells[f])
            out = ET.SubElement(rule, q("outputEntry"), {"id": f"{drug.id}_row_{n}_out"})
            ET.SubElement(out, q("text")).text = f'"{row.status[drug.id]}"'
            note = ET.SubElement(rule, q("annotationEntry"))
            ET.SubElement(note, q("text")).text = ", ".join(row.rules[drug.id])
    decision = ET.SubElement(root, q("decision"), {"id": "cautions", "name": "Cautions"})
    table = ET.SubElement(decision, q("decisionTable"), {"id": "table_cautions", "hitPolicy": "COLLECT"})
    inp = ET.SubElement(table, q("input"), {"id": "cautions_in_conditions", "label": "conditions"})
    expr = ET.SubElement(inp, q("inputExpression"), {"typeRef": "Any"})
    ET.SubElement(expr, q("text")).text = "conditions"
    ET.SubElement(table, q("output"), {"id": "cautions_out_drug", "name": "drug", "typeRef": "string"})
    ET.SubElement(table, q("output"), {"id": "cautions_out_rule", "name": "caution", "typeRef": "string"})
    for c in kb.cautions:
        condition = getattr(c.condition, "value", c.condition)
        rule = ET.SubElement(table, q("rule"), {"id": f"caution_{c.id.replace('.', '_')}"})
        entry = ET.SubElement(rule, q("inputEntry"))
        ET.SubElement(entry, q("text")).text = f'list contains(?, "{condition}")'
        for value in (c.drug, c.id):
            out = ET.SubElement(rule, q("outputEntry"))
            ET.SubElement(out, q("text")).text = f'"{value}"'
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

