"""kb check reads every file of the KB: the FHIR codes (fhir.toml) as the service would, and every
statement of a named number (kb.toml [numbers]) against the number."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from advisor import KnowledgeBaseError
from advisor.kb.checks import check
from advisor.cli import main
from advisor.kb.load import load


def kb_check(path):
    return CliRunner().invoke(main, ["kb", "check", "--rules-dir", str(path)])


def replace(path, old, new, count=1):
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, count), "utf-8")


@pytest.mark.parametrize("old,new,problem", [
    ("[[condition]]", "[[condition]", "fhir.toml: not valid TOML: "),
    ('id = "shingles"', 'id = "shingels"', "fhir.toml: shingels: unknown condition id 'shingels' (known: hepatitis_b, "),
    ('code = "4740000"', 'code = "47 40000"', "fhir.toml: condition.1.codes.0.code: String should match pattern"),
    ('system = "http://snomed.info/sct", code = "66071002"', 'system = "snomed", code = "66071002"',
     "fhir.toml: condition.0.codes.0.system: String should match pattern"),
    ("relapsing = [", "relapsed = [", "fhir.toml: ms_type.relapsed: unknown ms_type 'relapsed' (allowed: relapsing, "),
])
def test_a_broken_fhir_file_fails_kb_check_as_serve_refuses_it(kb_copy, old, new, problem):
    replace(kb_copy / "fhir.toml", old, new)
    result = kb_check(kb_copy)
    assert result.exit_code == 1
    assert f"problem: {problem}" in result.output
    from advisor.serve import Settings, create_app
    with pytest.raises(KnowledgeBaseError) as e:
        create_app(Settings(rules_dir=str(kb_copy), db=str(kb_copy.parent / "d.sqlite3")))
    assert any(line.startswith(problem) for line in e.value.lines())
    assert [f"problem: {line}" for line in e.value.lines()] == [x for x in result.output.splitlines() if x.startswith("problem: ")]


def test_serve_refuses_a_broken_fhir_file_with_the_line_kb_check_prints(kb_copy):
    replace(kb_copy / "fhir.toml", 'id = "shingles"', 'id = "shingels"')
    checked = kb_check(kb_copy).output.splitlines()[0]
    served = CliRunner().invoke(main, ["serve", "--rules-dir", str(kb_copy), "--db", str(kb_copy.parent / "d.sqlite3")])
    assert served.exit_code == 2
    assert served.output.splitlines()[:2] == ["ms-advisor: invalid knowledge base:", checked.removeprefix("problem: ")]


def test_a_kb_without_fhir_codes_checks_as_before_and_says_serve_needs_them(kb_copy):
    (kb_copy / "fhir.toml").unlink()
    result = kb_check(kb_copy)
    assert result.exit_code == 0, result.output
    assert "no fhir.toml: `ms-advisor serve` refuses this knowledge base until it has one" in result.output
    assert not check(kb_copy).fhir and load(kb_copy).header.name == "ms-infusions"


def test_the_shipped_kb_checks_its_fhir_codes_and_numbers():
    from advisor.kb.load import default_directory
    report = check(default_directory())
    assert report.ok and report.fhir and report.numbers == "mitoxantrone_lifetime_max = 140 mg/m²"


@pytest.mark.parametrize("file,old,new,problem", [
    ("decisions.toml", "value = 140 }]", "value = 150 }]",
     "decisions.toml: mitoxantrone.lifetime_maximum_reached: tests mitoxantrone_cumulative_mg_m2 >= 150; "
     "kb.toml's numbers.mitoxantrone_lifetime_max is 140 mg/m²"),
    ("drugs.toml", "lifetime_max_mg_m2 = 140", "lifetime_max_mg_m2 = 150",
     "drugs.toml: mitoxantrone: schedule.lifetime_max_mg_m2 = 150; kb.toml's numbers.mitoxantrone_lifetime_max is 140 mg/m²"),
    ("decisions.toml", "the lifetime maximum is 140 mg/m²", "the lifetime maximum is 150 mg/m²",
     "decisions.toml: mitoxantrone.severe_spms: text_not_given states 150 mg/m²; kb.toml declares 140 mg/m² "
     "(numbers.mitoxantrone_lifetime_max)"),
    ("drugs.toml", "maximum of 140 mg/m²", "maximum of 1.5e2 mg/m2",
     "drugs.toml: mitoxantrone: schedule.text states 150 mg/m²; kb.toml declares 140 mg/m² (numbers.mitoxantrone_lifetime_max)"),
    ("kb.toml", "value = 140", "value = 150",
     "kb.toml: numbers.mitoxantrone_lifetime_max: 150 mg/m² is not the figure its quote gives"),
])
def test_every_statement_of_a_named_number_agrees_with_it(kb_copy, file, old, new, problem):
    replace(kb_copy / file, old, new)
    result = kb_check(kb_copy)
    assert result.exit_code == 1
    assert f"problem: {problem}" in result.output.splitlines()
    with pytest.raises(KnowledgeBaseError):
        load(kb_copy)


def test_a_named_number_names_a_known_unit_and_fact(kb_copy):
    replace(kb_copy / "kb.toml", 'unit = "mg/m²"', 'unit = "mg"')
    replace(kb_copy / "kb.toml", 'fact = "mitoxantrone_cumulative_mg_m2"', 'fact = "mitoxantrone_mg"')
    lines = kb_check(kb_copy).output.splitlines()
    assert "problem: kb.toml: numbers.mitoxantrone_lifetime_max: unknown unit 'mg' (known: mg/m²)" in lines
    assert any(x.startswith("problem: kb.toml: numbers.mitoxantrone_lifetime_max: unknown fact 'mitoxantrone_mg' (testable: ")
               for x in lines)


def test_a_fifo_as_fhir_file_is_refused_once_without_blocking(kb_copy):
    import os
    (kb_copy / "fhir.toml").unlink()
    os.mkfifo(kb_copy / "fhir.toml")
    result = kb_check(kb_copy)
    assert result.exit_code == 1
    assert [x for x in result.output.splitlines() if x.startswith("problem: ")] == [
        "problem: fhir.toml: is not a regular file (a FIFO, device or directory)"]


def test_a_list_test_on_the_named_fact_is_compared_too(kb_copy):
    replace(kb_copy / "decisions.toml", 'op = ">=", value = 140 }]', 'op = "in", value = [140, 140.2] }]')
    assert ("problem: decisions.toml: mitoxantrone.lifetime_maximum_reached: tests mitoxantrone_cumulative_mg_m2 in "
            "[140, 140.2]; kb.toml's numbers.mitoxantrone_lifetime_max is 140 mg/m²") in kb_check(kb_copy).output.splitlines()


@pytest.mark.parametrize("value", ["true", '"140"'])
def test_a_named_number_is_a_toml_number(kb_copy, value):
    replace(kb_copy / "kb.toml", "value = 140\n", f"value = {value}\n")
    assert ("problem: kb.toml: numbers.mitoxantrone_lifetime_max.value: Input should be a valid number"
            in kb_check(kb_copy).output.splitlines())
