"""JSON Schemas for integrators and editors: what ``ms-advisor`` accepts in a case file, and what it
returns. The facts schema says what the tool itself accepts: aliases, any case and surrounding space
(as patterns), ``id`` and ``expect``, so an editor validating a case file agrees with ``ms-advisor``.

    >>> import re
    >>> from advisor.core.schemas import facts_schema
    >>> pattern = facts_schema(("natalizumab",))["properties"]["ms_type"]["pattern"]
    >>> bool(re.fullmatch(pattern, " Secondary  Progressive "))
    True
"""

from __future__ import annotations

import re
from typing import Any

from advisor.core.models import PatientFacts, Recommendation, Status

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _any_case(word: str, names: bool = False) -> str:
    """A pattern matching ``word`` in any case, its inner spaces as any run of white space (ECMA 262);
    ``names``: a condition's name, each underscore also any run of spaces, hyphens and underscores
    (``vocabulary.condition_key``)."""
    out = []
    for c in word:
        if c == "_" and names:
            out.append(r"[\s_-]+")
        elif c == " ":
            out.append(r"\s+")
        elif c.isalpha():
            out.append(f"[{c.lower()}{c.upper()}]")
        else:
            out.append(c if c in "-_" or c.isdigit() else re.escape(c))  # '\-' is invalid in ECMA 262's unicode mode
    return "".join(out)


def accepting(names: list[str], conditions: bool = False) -> str:
    """One pattern accepting each of ``names`` as the facts model does: any case, space around ignored
    (``conditions``: written with spaces or hyphens for the underscores too)."""
    return r"^\s*(?:" + "|".join(_any_case(n, conditions) for n in sorted(names, key=len, reverse=True)) + r")\s*$"


def facts_schema(drug_ids: tuple[str, ...], model: type[PatientFacts] = PatientFacts, statuses: Any = Status) -> dict[str, Any]:
    """The JSON Schema of a case file (the facts, ``id``, ``expect``), as ``ms-advisor`` reads one
    (``model``: an Advisor's facts model, its KB's facts; by default the packaged KB's)."""
    schema = model.model_json_schema(mode="validation")
    props = schema["properties"]
    for spec in model.facts_specs:
        if spec.kind == "choice":  # each value by its id and aliases, in any case
            props[spec.id] = {"type": "string", "pattern": accepting(list(spec.aliases())), "examples": [v.id for v in spec.values],
                              "description": props[spec.id]["description"] + "; any case"}
    conditions = list(model.vocabulary.names)  # the KB's ids, aliases and labels, as condition_key writes them
    props["conditions"]["items"] = {"type": "string", "pattern": accepting(conditions, conditions=True),
                                    "examples": model.vocabulary.ids}
    props["id"] = {"type": ["string", "null"], "maxLength": 200, "description": "an identifier echoed back in every output"}
    status = {"enum": [s.value for s in statuses]}
    props["expect"] = {
        "type": "object", "additionalProperties": False,
        "description": "what the case expects (checked by `ms-advisor batch`): the listed drugs and/or statuses",
        "properties": {"listed": {"type": "array", "items": {"enum": list(drug_ids)}},
                       "status": {"type": "object", "propertyNames": {"enum": list(drug_ids)}, "additionalProperties": status}}}
    enums = {enum.__name__ for enum in model.enums.values()}
    schema["$defs"] = {k: v for k, v in schema.get("$defs", {}).items() if k not in enums and k != "Condition"}
    if not schema["$defs"]:
        del schema["$defs"]
    return {"$schema": DIALECT, **schema, "title": "ms-advisor case file"}


def recommendation_schema(model: type[Recommendation] = Recommendation) -> dict[str, Any]:
    """The JSON Schema of a Recommendation (the output of ``advise``; ``model``: an Advisor's
    ``recommendation_model``, with its KB's facts)."""
    return {"$schema": DIALECT, **model.model_json_schema(mode="serialization")}
