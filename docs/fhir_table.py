"""The FHIR R4 mapping table of docs/service.md, generated from rules/fhir.toml (and the Observation
codes of rules/facts.toml).

`python docs/fhir_table.py` rewrites the table between its markers in docs/service.md;
tests/test_readme.py checks that the table there is what this prints for the shipped fhir.toml.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FHIR_TOML = ROOT / "rules" / "fhir.toml"
DOC = ROOT / "docs" / "service.md"
BEGIN = "<!-- FHIR table: generated from rules/fhir.toml by docs/fhir_table.py; edit that file, not this table -->"
END = "<!-- end of the generated FHIR table -->"
SNOMED = "http://snomed.info/sct"
SYSTEMS = {
    SNOMED: "SNOMED CT",
    "http://hl7.org/fhir/sid/icd-10": "ICD-10",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
}


def _code(entry: dict[str, Any], always_system: bool = False) -> str:
    """A code as the table shows it: SNOMED CT codes bare (the table says so), others with their system."""
    if entry["system"] == SNOMED and not always_system:
        return entry["code"]
    return f'{SYSTEMS.get(entry["system"], entry["system"])} {entry["code"]}'


def table(fhir_toml: Path = FHIR_TOML) -> str:
    data = tomllib.loads(fhir_toml.read_text("utf-8"))
    ms_types = ", ".join(f"{_code(c)} → `{name}`" for name, codes in data["ms_type"].items() for c in codes)
    unspecified = ", ".join(_code(c, always_system=True) for codes in data["unspecified_ms"].values() for c in codes)
    severities = ", ".join(f"{_code(c)} {name}" for name, codes in data["severity"].items() for c in codes)
    conditions = "; ".join(
        f'{entry["id"]} {", ".join(_code(c) for c in entry["codes"])}' if entry.get("codes")
        else f'{entry["id"]}: no code ({entry["unmapped"]})'
        for entry in data["condition"])
    rows = [
        "| fact | read from |",
        "|---|---|",
        f"| `ms_type` | an active `Condition` coded SNOMED CT (`{SNOMED}`) {ms_types}. Multiple sclerosis "
        f"without its type ({unspecified}) is not a type: the card says so. Two different types: no advice. |",
        f"| `severity` | that Condition's `severity`: {severities} (two different severities on the MS "
        "Conditions: no advice) |",
        f"| `conditions` | other active Conditions whose code `fhir.toml` maps to a condition: {conditions} |",
    ]
    # the facts an Observation records: each fact's `fhir` in facts.toml, beside fhir.toml
    facts_toml = fhir_toml.parent / "facts.toml"  # (a KB without one has the packaged facts)
    facts = tomllib.loads((facts_toml if facts_toml.exists() else ROOT / "rules" / "facts.toml").read_text("utf-8"))["fact"]
    observed = [f for f in facts if "fhir" in f]
    for n, fact in enumerate(observed):
        fhir = fact["fhir"]
        where = "`Observation`, system `urn:ms-infusion-advisor:facts`" if n == 0 else "same system"
        value = f'`value{fhir["value"].capitalize()}`' + (f' in UCUM `{fhir["ucum"]}`' if fhir.get("ucum") else "")
        rows.append(f'| `{fact["id"]}` | {where}, code `{fhir["code"]}`, {value} |')
    return "\n".join(rows) + "\n"


def in_doc(text: str) -> str:
    """The table between the markers of a document's text."""
    start = text.index(BEGIN + "\n") + len(BEGIN) + 1
    return text[start:text.index(END, start)]


def main() -> int:
    text = DOC.read_text("utf-8")
    old = in_doc(text)
    new = table()
    if old != new:
        start = text.index(BEGIN + "\n") + len(BEGIN) + 1
        DOC.write_text(text[:start] + new + text[start + len(old):], "utf-8")
        print(f"{DOC.relative_to(ROOT)}: FHIR table rewritten from {FHIR_TOML.relative_to(ROOT)}")
    else:
        print(f"{DOC.relative_to(ROOT)}: FHIR table already matches {FHIR_TOML.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
