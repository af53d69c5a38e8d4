"""The knowledge base: every quote verbatim in the source (each quote of a reason, checked at load and
before any batch or advice); a broken KB fails naming file and rule."""

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SHARED_SOURCE

from advisor import Advisor, KnowledgeBaseError
from advisor.cli import main
from advisor.kb.load import default_directory, load
from advisor.kb.source import normalize

KB_DIR = default_directory()


def all_quotes():
    """Every quote in every KB file, found by walking the TOML (independently of the loader)."""
    def walk(node, where):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "quote" and isinstance(v, str):
                    yield where, v
                else:
                    yield from walk(v, f"{where}/{node.get('id', k)}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, where)
    for path in sorted(KB_DIR.glob("*.toml")):
        yield from walk(tomllib.loads(path.read_text("utf-8")), path.name)


QUOTES = list(all_quotes())


def test_the_kb_cites_many_quotes():
    assert len(QUOTES) > 60


@pytest.mark.parametrize("where,quote", QUOTES, ids=[w for w, _ in QUOTES])
def test_every_quote_stands_verbatim_in_the_source(where, quote):
    source = (KB_DIR / "sources" / "ms-infusions.txt").read_text("utf-8")
    assert normalize(quote) in normalize(source)


@pytest.mark.skipif(not SHARED_SOURCE.exists(), reason="the project's shared/ folder is not beside this checkout")
def test_packaged_source_is_the_shared_source():
    assert (KB_DIR / "sources" / "ms-infusions.txt").read_bytes() == SHARED_SOURCE.read_bytes()


def test_shipped_kb_loads():
    kb = load(KB_DIR)
    assert kb.drug_ids == ("alemtuzumab", "natalizumab", "mitoxantrone", "ocrelizumab")
    assert {r.drug for r in kb.rules} == set(kb.drug_ids)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")


def problems_of(directory):
    with pytest.raises(KnowledgeBaseError) as e:
        load(directory)
    return e.value.problems


def test_altered_quote_is_refused_naming_file_and_rule(kb_copy):
    edit(kb_copy / "decisions.toml", "at least two other MS medications.", "at least three other MS medications.")
    assert ("decisions.toml", "alemtuzumab.two_or_more_failures") in [(f, i) for f, i, _ in problems_of(kb_copy)]


def test_quote_under_the_wrong_section_is_refused(kb_copy):
    edit(kb_copy / "cautions.toml", 'section = "Side Effects of the Drugs / Mitoxantrone hydrochloride"', 'section = "Alemtuzumab (Lemtrada)"')
    problems = problems_of(kb_copy)
    assert any(f == "cautions.toml" and "mitoxantrone" in i for f, i, _ in problems)


@pytest.mark.parametrize("old,new,rule,message", [
    ('fact = "prior_failures"', 'fact = "age"', "alemtuzumab.two_or_more_failures", "unknown fact 'age'"),
    ('value = "severe" }]', 'value = "awful" }]', "mitoxantrone.not_severe", "unknown value 'awful'"),
    ('op = ">=", value = 2 }', 'op = ">=", value = "two" }', "alemtuzumab.two_or_more_failures", "must be a whole number"),
    ('op = ">=", value = 2 }', 'op = "~", value = 2 }', "alemtuzumab.two_or_more_failures", "op"),
    ('status = "applicable"', 'status = "maybe"', "alemtuzumab.two_or_more_failures", "status"),
    ('drug = "alemtuzumab"', 'drug = "aspirin"', "alemtuzumab.two_or_more_failures", "unknown drug 'aspirin'"),
    ('text = "$prior_failures other', 'text = "$age other', "alemtuzumab.two_or_more_failures", "unknown facts: age"),
    ('text = "$prior_failures other', 'text = "${prior_failures.__class__} other', "alemtuzumab.two_or_more_failures", "names no fact"),
])
def test_invalid_rule_is_refused_naming_it(kb_copy, old, new, rule, message):
    edit(kb_copy / "decisions.toml", old, new)
    problems = problems_of(kb_copy)
    assert any(f == "decisions.toml" and i == rule and message in m for f, i, m in problems), problems


def test_duplicate_rule_id_is_refused(kb_copy):
    edit(kb_copy / "decisions.toml", 'id = "alemtuzumab.fewer_than_two_failures"', 'id = "alemtuzumab.two_or_more_failures"')
    assert any("duplicate" in m for _, _, m in problems_of(kb_copy))


def test_malformed_toml_names_the_file(kb_copy):
    (kb_copy / "cautions.toml").write_text("[[caution]\nid = ", "utf-8")
    assert [f for f, _, _ in problems_of(kb_copy)] == ["cautions.toml"]


def test_missing_file_is_named(kb_copy):
    (kb_copy / "notes.toml").unlink()
    assert ("notes.toml", "", "file is missing") in problems_of(kb_copy)


def test_source_outside_the_kb_directory_is_refused(kb_copy):
    edit(kb_copy / "kb.toml", 'source = "sources/ms-infusions.txt"', 'source = "../../../etc/passwd"')
    assert any("inside the knowledge-base directory" in m for _, _, m in problems_of(kb_copy))


def test_advisor_with_another_kb_directory_uses_it(kb_copy):
    # Alemtuzumab after three failures instead of two: a KB change, no code change.
    edit(kb_copy / "decisions.toml", 'op = ">=", value = 2 }', 'op = ">=", value = 3 }')
    edit(kb_copy / "decisions.toml", 'op = "<", value = 2 }', 'op = "<", value = 3 }')
    other = Advisor(rules_dir=kb_copy)
    facts = {"ms_type": "spms", "severity": "mild", "prior_failures": 2}
    assert other.advise(facts).drug("alemtuzumab").status.value == "not_applicable"
    assert Advisor().advise(facts).drug("alemtuzumab").status.value == "applicable"


def test_kb_with_a_gap_is_refused_when_loaded_not_at_decision_time(kb_copy):
    edit(kb_copy / "decisions.toml", 'op = "<", value = 2 }', 'op = "<", value = 1 }')  # 1 failure: no rule
    with pytest.raises(KnowledgeBaseError, match=r"alemtuzumab: no status for \{'prior_failures': 1\}"):
        Advisor(rules_dir=kb_copy)


def test_a_kb_object_with_a_gap_is_still_refused_at_decision_time_not_guessed(kb_copy):
    from advisor.kb.schema import KnowledgeBase

    kb = load(kb_copy)
    gap = kb.model_copy(update={"rules": tuple(r for r in kb.rules if r.id != "alemtuzumab.fewer_than_two_failures")})
    other = Advisor(kb=KnowledgeBase(**{k: getattr(gap, k) for k in KnowledgeBase.model_fields}))
    with pytest.raises(KnowledgeBaseError, match="no rule gave a status"):
        other.advise({"ms_type": "spms", "severity": "mild", "prior_failures": 1})


# --- quotes checked verbatim, before any use ----------------------------------------------------------------

def test_each_quote_of_a_reason_is_checked_verbatim(kb_copy):
    path = kb_copy / "decisions.toml"
    text = path.read_text(encoding="utf-8")
    assert text.count('also = [{ quote = "Because of the risk') == 2
    path.write_text(text.replace('also = [{ quote = "Because of the risk', 'also = [{ quote = "Owing to the risk', 1), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as e:
        load(kb_copy)
    assert any(i == "mitoxantrone.severe_spms" and "quote not found verbatim" in m and "Owing to" in m
               for _, i, m in e.value.problems)


def test_a_further_quote_is_validated_at_load(kb_copy):
    path = kb_copy / "decisions.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('also = [{ quote = "Because', 'also = [{ page = 3, quote = "Because', 1), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as e:
        load(kb_copy)
    assert any(i == "mitoxantrone.severe_spms" and "also.0.page" in m for _, i, m in e.value.problems)


def test_a_rules_dir_whose_quote_is_not_in_the_source_is_refused_before_use(kb_copy, tmp_path):
    path = kb_copy / "cautions.toml"
    path.write_text(path.read_text("utf-8").replace('quote = "kidney failure"', 'quote = "kidney stones"'), "utf-8")
    f = tmp_path / "c.jsonl"
    f.write_text('{"ms_type":"spms","severity":"mild"}\n')
    r = CliRunner().invoke(main, ["batch", str(f), "--out", str(tmp_path / "o.jsonl"), "--rules-dir", str(kb_copy)])
    assert r.exit_code == 2 and "mitoxantrone.kidney_disease" in r.stderr and not (tmp_path / "o.jsonl").exists()
    r = CliRunner().invoke(main, ["advise", "--ms-type", "spms", "--severity", "mild", "--rules-dir", str(kb_copy)])
    assert r.exit_code == 2 and "kidney stones" in r.stderr
