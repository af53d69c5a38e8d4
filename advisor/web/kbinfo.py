"""What the pages need to know of the knowledge base and the facts vocabulary, read at run time.

Nothing here hard-codes a condition, an MS type or a drug: the vocabulary comes from the Advisor's KB
when it has one (``kb.conditions``, each with an id and a one-line description) and otherwise from the
facts model's JSON Schema. ``identity`` is the KB's name, version and SHA-256; it prefers the KB's
own ``identity`` when there is one and falls back to a small local computation.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor import PatientFacts


@dataclass(frozen=True)
class KBIdentity:
    name: str
    version: str
    sha256: str


def identity(kb: Any) -> KBIdentity:
    """The KB's name, version and SHA-256: the KB's own ``identity`` (a property or method giving
    name, version and sha256) when it has one, else computed here over its TOML files and source."""
    own = getattr(kb, "identity", None)
    if callable(own):
        try:
            own = own()
        except TypeError:
            own = None
    if own is not None:
        get = own.get if isinstance(own, dict) else (lambda k, o=own: getattr(o, k, None))
        if get("sha256"):
            return KBIdentity(str(get("name")), str(get("version")), str(get("sha256")))
    return _local_identity(kb)


def _local_identity(kb: Any) -> KBIdentity:
    digest = hashlib.sha256()
    root = Path(kb.directory)
    for path in sorted(root.glob("*.toml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(b"source\0" + kb.source_text.encode("utf-8"))
    return KBIdentity(kb.header.name, kb.header.version, digest.hexdigest())


@dataclass(frozen=True)
class ConditionInfo:
    id: str
    label: str
    description: str
    described_by_kb: bool

    @property
    def hint(self) -> str:
        """The description where it says more than the label ("heart failure" under "Heart failure": nothing)."""
        def words(text: str) -> str:
            return re.sub(r"^(a|an|the) ", "", " ".join(text.casefold().split()))
        return "" if words(self.description) == words(self.label) else self.description


def _humanize(ident: str) -> str:
    """A label from an id: "heart_failure" -> "Heart failure", "pml" -> "PML"."""
    text = ident.replace("_", " ")
    return text.upper() if len(text) <= 3 else text[:1].upper() + text[1:]


def conditions(kb: Any) -> list[ConditionInfo]:
    """The conditions a person can report, in the KB's order, each with a description. Without a
    description in the KB, the description says which drugs' side effects the KB ties it to."""
    fallback_desc: dict[str, list[str]] = {}
    names = {d.id: d.name for d in kb.drugs}
    for c in kb.cautions:
        cid = getattr(c.condition, "value", c.condition)
        fallback_desc.setdefault(cid, []).append(names.get(c.drug, c.drug))

    def fallback(cid: str) -> str:
        drugs = fallback_desc.get(cid)
        if not drugs:
            return "The knowledge base gives no description of this condition."
        return "Related to a side effect the article names for " + _join(drugs) + "."

    out: list[ConditionInfo] = []
    listed = getattr(kb, "conditions", None)
    if listed:
        items = listed.values() if isinstance(listed, dict) else listed
        for item in items:
            get = item.get if isinstance(item, dict) else (lambda k, i=item: getattr(i, k, None))
            cid = str(getattr(get("id"), "value", get("id")))
            label = get("label") or get("name") or _humanize(cid)  # the KB's label; a KB without one, the id's words
            desc = get("description")
            out.append(ConditionInfo(cid, str(label), str(desc) if desc else fallback(cid), bool(desc)))
        return out
    for cid in _schema_enum("conditions"):
        out.append(ConditionInfo(cid, _humanize(cid), fallback(cid), False))
    return out


def _join(items: list[str]) -> str:
    items = list(dict.fromkeys(items))
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _schema_enum(field: str) -> list[str]:
    """The allowed values of a facts field, from PatientFacts' JSON Schema (enum or its item enum)."""
    schema = PatientFacts.model_json_schema()
    defs = schema.get("$defs", {})

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
        return node

    node = resolve(schema["properties"][field])
    for key in ("items", "prefixItems"):
        if key in node:
            inner = node[key]
            node = resolve(inner[0] if isinstance(inner, list) else inner)
    for option in node.get("anyOf", []):
        option = resolve(option)
        if "enum" in option:
            node = option
            break
    return [str(v) for v in node.get("enum", [])]


def ms_types() -> list[str]:
    return _schema_enum("ms_type")


def severities() -> list[str]:
    return _schema_enum("severity")
