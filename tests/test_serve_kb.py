"""The KB's FHIR codes (rules/fhir.toml) validated at start-up, and the KB fingerprint."""

from __future__ import annotations

import pytest

from advisor import KnowledgeBaseError
from advisor.kb.load import default_directory, load
from advisor.kb import terminology as terminology
from advisor.core.models import Condition, MSType, Severity
from serve_helpers import serve_app  # noqa: F401


def fingerprint(kb_or_dir):
    """The KB's SHA-256 as load() computes it (KnowledgeBase.sha256)."""
    return kb_or_dir.sha256 if hasattr(kb_or_dir, "sha256") else load(kb_or_dir).sha256


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def codes(directory, conditions=None):
    return terminology.load(directory, conditions or [c.value for c in Condition], [m.value for m in MSType],
                            [s.value for s in Severity])


def test_the_shipped_codes_cover_every_condition_and_say_where_they_come_from():
    t = codes(default_directory())
    listed = {entry.id for entry in t.entries.condition}
    assert listed == {c.value for c in Condition}  # every condition: its codes, or why it has none
    unmapped = {entry.id for entry in t.entries.condition if entry.unmapped}
    assert unmapped == {"past_infusion_reaction"}
    assert set(t.conditions.values()) == {c.value for c in Condition} - unmapped
    assert t.conditions[("http://snomed.info/sct", "84114007")] == "heart_failure"
    assert t.conditions[("http://snomed.info/sct", "42343007")] == "heart_failure"
    assert t.ms_types[("http://snomed.info/sct", "426373005")] == "relapsing"
    assert t.severities[("http://snomed.info/sct", "24484000")] == "severe"
    assert ("http://hl7.org/fhir/sid/icd-10", "G35") in t.unspecified
    for entry in t.entries.condition:
        assert all(c.source and c.display for c in entry.codes)


def test_an_unknown_condition_id_fails_clearly(kb_copy, serve_app):
    text = (kb_copy / "fhir.toml").read_text("utf-8").replace('id = "shingles"', 'id = "shingels"')
    (kb_copy / "fhir.toml").write_text(text, "utf-8")
    with pytest.raises(KnowledgeBaseError) as e:
        codes(kb_copy)
    assert e.value.problems[0][:2] == ("fhir.toml", "shingels") and "known: hepatitis_b" in e.value.problems[0][2]
    with pytest.raises(KnowledgeBaseError, match="shingels"):
        serve_app(rules_dir=str(kb_copy))


def test_the_old_autoimmune_name_in_a_code_file_maps_to_the_renamed_condition(kb_copy):
    assert codes(kb_copy).conditions[("http://snomed.info/sct", "85828009")] == "other_autoimmune_disease"
    text = (kb_copy / "fhir.toml").read_text("utf-8").replace('id = "other_autoimmune_disease"', 'id = "autoimmune_disease"')
    (kb_copy / "fhir.toml").write_text(text, "utf-8")
    assert codes(kb_copy).conditions[("http://snomed.info/sct", "85828009")] == "other_autoimmune_disease"


@pytest.mark.parametrize("old,new,message", [
    ('code = "4740000"', 'code = "84114007"', "already used"),
    ('relapsing = [', 'relapsed = [', "unknown ms_type"),
    (', source = "SNOMED CT International Edition; chosen by us for pml"', '', "condition.*source.*Field required"),
    ("[[condition]]", "[[conditon]]", "conditon"),
])
def test_broken_code_files_name_the_problem(kb_copy, old, new, message):
    path = kb_copy / "fhir.toml"
    path.write_text(path.read_text("utf-8").replace(old, new, 1), "utf-8")
    with pytest.raises(KnowledgeBaseError, match=message):
        codes(kb_copy)


def test_a_missing_code_file_fails_clearly(kb_copy):
    (kb_copy / "fhir.toml").unlink()
    with pytest.raises(KnowledgeBaseError, match="fhir.toml: file is missing"):
        codes(kb_copy)


@pytest.mark.slow
def test_fingerprint_is_the_same_with_crlf_line_endings_and_changes_with_content(kb_copy):
    before = fingerprint(kb_copy)
    assert before == fingerprint(default_directory()) == fingerprint(load(kb_copy))
    for path in [*kb_copy.glob("*.toml"), kb_copy / "sources" / "ms-infusions.txt"]:
        path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    assert fingerprint(kb_copy) == before
    source = kb_copy / "sources" / "ms-infusions.txt"
    source.write_bytes(source.read_bytes() + b"x")
    assert fingerprint(kb_copy) != before
    source.write_bytes(source.read_bytes()[:-1])
    assert fingerprint(kb_copy) == before
    (kb_copy / "fhir.toml").write_bytes((kb_copy / "fhir.toml").read_bytes() + b"\n# a comment\n")
    assert fingerprint(kb_copy) != before

