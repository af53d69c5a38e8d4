"""The FHIR codes of a knowledge base (``rules/fhir.toml``): MS types, severities and conditions; and
the Observation codes of its facts (``rules/facts.toml``'s ``fhir``).

Loaded and validated beside the KB when the service starts; a broken file raises KnowledgeBaseError
naming ``fhir.toml``, the entry and what is wrong (an unknown condition id lists the known ones).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Iterable

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from advisor import KnowledgeBaseError
from advisor.kb.facts import FactSpec, read_facts

FILE = "fhir.toml"
# Condition ids renamed between vocabularies: an entry under either name maps to whichever one the
# advisor knows (the KB's conditions are being moved into the KB and this one renamed).
RENAMED = {"autoimmune_disease": "other_autoimmune_disease", "other_autoimmune_disease": "autoimmune_disease"}


class Code(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    system: str = Field(pattern=r"^(https?|urn):\S+$")
    code: str = Field(min_length=1, max_length=64, pattern=r"^\S+$")
    display: str = Field(min_length=1)
    source: str = Field(min_length=1, description="where this code comes from")


class ConditionCodes(BaseModel):
    """A condition's codes, or why it has none (``unmapped``): then FHIR cannot set it."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    codes: tuple[Code, ...] = ()
    unmapped: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _codes_or_reason(self) -> "ConditionCodes":
        if bool(self.codes) == bool(self.unmapped):
            raise ValueError("a condition has codes, or says why it has none (unmapped), not both")
        return self


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ms_type: dict[str, tuple[Code, ...]]
    severity: dict[str, tuple[Code, ...]]
    unspecified_ms: dict[str, tuple[Code, ...]]
    condition: tuple[ConditionCodes, ...]


class Terminology:
    """Lookup tables: (system, code) -> MS type, severity or condition id."""

    def __init__(self, ms_types: dict[tuple[str, str], str], severities: dict[tuple[str, str], str],
                 unspecified: dict[tuple[str, str], str], conditions: dict[tuple[str, str], str], entries: _File):
        self.ms_types: dict[tuple[str, str], str] = ms_types
        self.severities: dict[tuple[str, str], str] = severities
        self.unspecified: dict[tuple[str, str], str] = unspecified
        self.conditions: dict[tuple[str, str], str] = conditions
        self.entries = entries
        # the facts an Observation records (facts.toml's `fhir`): its code -> the fact
        self.observations: dict[str, FactSpec] = {}


def load(directory: str | Path, condition_ids: Iterable[str], ms_types: Iterable[str], severities: Iterable[str]) -> Terminology:
    """Read and validate ``fhir.toml`` in the KB ``directory`` against the advisor's vocabularies."""
    from advisor.kb.files import read_kb_file

    path = Path(directory) / FILE
    read: list[tuple[str, str, str]] = []
    data_bytes = read_kb_file(path, Path(directory), FILE, read)  # never a FIFO's blocking read, never past the size limit
    if data_bytes is None:
        if read and read[0][2] == "file is missing":
            read = [(FILE, "", f"file is missing (the CDS Hooks service needs it in {directory})")]
        raise KnowledgeBaseError(read)
    try:
        raw = tomllib.loads(data_bytes.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise KnowledgeBaseError([(FILE, "", f"not valid TOML: {e}")]) from None
    try:
        data = _File.model_validate(raw)
    except ValidationError as e:
        raise KnowledgeBaseError([(FILE, ".".join(map(str, err["loc"])), err["msg"]) for err in e.errors()]) from None
    problems: list[tuple[str, str, str]] = []
    known = list(condition_ids)
    seen: dict[tuple[str, str], str] = {}

    def table(section: str, entries: dict[str, tuple[Code, ...]], allowed: list[str] | None) -> dict[tuple[str, str], str]:
        out = {}
        for value, codes in entries.items():
            if allowed is not None and value not in allowed:
                problems.append((FILE, f"{section}.{value}", f"unknown {section} '{value}' (allowed: {', '.join(allowed)})"))
            for c in codes:
                key = (c.system, c.code)
                if key in seen:
                    problems.append((FILE, f"{section}.{value}", f"code {c.system}|{c.code} is already used by {seen[key]}"))
                seen[key] = f"{section}.{value}"
                out[key] = value
        return out

    ms = table("ms_type", data.ms_type, list(ms_types))
    sev = table("severity", data.severity, list(severities))
    unspecified = table("unspecified_ms", data.unspecified_ms, ["codes"])
    conditions: dict[tuple[str, str], str] = {}
    ids_seen: set[str] = set()
    for entry in data.condition:
        cid = entry.id
        if cid not in known and RENAMED.get(cid) in known:
            cid = RENAMED[cid]
        if cid not in known:
            problems.append((FILE, entry.id, f"unknown condition id '{entry.id}' (known: {', '.join(known)})"))
        if cid in ids_seen:
            problems.append((FILE, entry.id, "a second entry for this condition"))
        ids_seen.add(cid)
        conditions.update(table("condition", {cid: entry.codes}, None))
    if problems:
        raise KnowledgeBaseError(problems)
    terms = Terminology(ms, sev, unspecified, conditions, data)
    facts = read_facts(Path(directory))  # the KB's facts (load() has validated them): which Observation gives which
    terms.observations = {f.fhir.code: f for f in facts if f.fhir is not None}
    return terms
