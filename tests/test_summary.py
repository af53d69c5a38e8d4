"""What matters to a person (rules/matters.toml) and the one-page summary for the clinic: the library's
``advisor.summary``, ``ms-advisor summary`` and the /summary page. The answers never change a status or
the drugs' order; every quote on the summary stands in the article."""

import itertools
import re
from datetime import date
from urllib.parse import parse_qsl, urlsplit

import pytest
from click.testing import CliRunner

import advisor
from advisor import Advisor, InvalidFacts, KnowledgeBaseError, advise, default_advisor, summary
from advisor.cli import main
from advisor.kb.load import default_directory

THREE = {"ms_type": "spms", "severity": "severe", "conditions": ["heart failure", "cancer", "pml"]}
SOURCE = (default_directory() / "sources" / "ms-infusions.txt").read_text(encoding="utf-8")


def folded(text):
    return " ".join(text.replace("’", "'").replace("•", " ").split())


def in_source(quote):
    return folded(quote) in folded(SOURCE)


def run(*args):
    return CliRunner().invoke(main, list(args))


# --- the library -------------------------------------------------------------------------------------

def test_summary_is_exported_and_returns_a_pydantic_model():
    assert "summary" in advisor.__all__ and "Summary" in advisor.__all__
    s = summary(THREE)
    assert isinstance(s, advisor.Summary)
    assert s.model_dump(mode="json")["kb_sha256"] == advise(THREE).kb.sha256
    assert s.made == date.today()


def test_the_facts_given_and_the_ones_not_given_are_said():
    s = summary({"ms_type": "ppms", "severity": "mild", "prior_failures": 1})
    lines = {f.field: f for f in s.facts}
    assert lines["prior_failures"].given and lines["prior_failures"].value == "1"
    assert not lines["mitoxantrone_cumulative_mg_m2"].given and lines["mitoxantrone_cumulative_mg_m2"].value == "not given"
    assert not lines["rapidly_worsening"].given and lines["rapidly_worsening"].value.startswith("not given")
    assert not lines["conditions"].given


def test_each_drug_has_its_status_reason_and_quote_from_advise_in_the_kb_order():
    rec = advise(THREE)
    s = summary(THREE)
    assert [d.drug for d in s.drugs] == list(Advisor().kb.drug_ids) == [d.drug for d in rec.drugs]
    for line, d in zip(s.drugs, rec.drugs):
        assert line.status == d.status.info.words
        assert (line.reason, line.quote, line.section) == (d.reasons[0].text, d.reasons[0].quote, d.reasons[0].section)
        assert in_source(line.quote)


FACT_SETS = [dict(zip(("ms_type", "severity", "prior_failures", "rapidly_worsening"), combo))
             for combo in itertools.product(("relapsing", "spms", "ppms"), ("mild", "severe"), (0, 2), (False, True))]
ANSWERS = [dict(matters=["fewer_visits", "course_ends", "monitoring"], avoid=["PML", "nausea"]),
           dict(unsure=["fewer_visits", "course_ends", "avoid_side_effect", "monitoring"]),
           dict(matters=["avoid_side_effect"], unsure=["monitoring"], avoid=["cancer"])]


@pytest.mark.parametrize("facts", FACT_SETS, ids=lambda f: "-".join(str(v) for v in f.values()))
def test_the_answers_never_change_a_status_or_the_order(facts):
    facts = {**facts, "conditions": ["cancer", "heart failure"]}
    plain = summary(facts)
    rec = advise(facts)
    for answers in ANSWERS:
        with_answers = summary(facts, **answers)
        assert [(d.drug, d.status, d.reason) for d in with_answers.drugs] == [(d.drug, d.status, d.reason) for d in plain.drugs]
        assert with_answers.questions == plain.questions
        assert advise(facts) == rec  # and the advice itself is untouched


def test_each_concern_is_answered_yes_no_or_dont_know():
    s = summary(THREE, matters=["fewer_visits"], unsure=["course_ends"])
    assert {c.id: c.answer for c in s.concerns} == {"fewer_visits": "yes", "course_ends": "don't know",
                                                     "avoid_side_effect": "no", "monitoring": "no"}
    assert [c.id for c in s.concerns] == ["fewer_visits", "course_ends", "avoid_side_effect", "monitoring"]
    assert all(set(c.rows) <= {r.id for r in default_advisor().kb.compare} for c in s.concerns)  # compare.toml's rows
    assert s.concerns[0].cells and not s.concerns[1].cells  # only a yes gets the article's words


def test_a_concern_answered_yes_quotes_each_drugs_cell_from_the_kb():
    kb = Advisor().kb
    s = summary(THREE, matters=["fewer_visits", "monitoring", "course_ends"])
    visits, course, _, monitoring = s.concerns
    assert [c.quotes for c in visits.cells] == [(d.schedule.quote,) for d in kb.drugs]
    assert all(in_source(q) for c in s.concerns for cell in c.cells for q in cell.quotes)
    watched = {c.drug: c for c in monitoring.cells}
    assert "watch you very closely" in watched["mitoxantrone"].quotes[0]
    assert watched["natalizumab"].texts == ("The article does not say.",) and not watched["natalizumab"].quotes
    ends = {c.drug: c for c in course.cells}
    assert ends["mitoxantrone"].quotes and "lifetime maximum" in ends["mitoxantrone"].quotes[0]
    assert not ends["natalizumab"].quotes


def test_avoiding_a_side_effect_shows_which_drugs_lists_name_it():
    s = summary(THREE, avoid=["nausea", "pml"])  # any case; picking one answers the concern yes
    side = next(c for c in s.concerns if c.id == "avoid_side_effect")
    assert side.answer == "yes" and side.effects == ("nausea", "PML")
    cells = {c.drug: c for c in side.cells}
    assert cells["alemtuzumab"].quotes == ("nausea",) and cells["alemtuzumab"].note  # a list taken by position says so
    assert cells["mitoxantrone"].quotes == ("nausea or vomiting",) and cells["mitoxantrone"].note is None
    assert "PML" in cells["natalizumab"].quotes[0] and cells["ocrelizumab"].quotes == ("PML",)
    assert not cells["natalizumab"].texts[0].startswith("nausea")


def test_every_side_effect_of_the_article_can_be_picked():
    kb = Advisor().kb
    offered = {e for m in kb.matters for c in m.choices for e in c.effects}
    assert offered == {e.text for d in kb.drugs for e in (*d.side_effects.common, *d.side_effects.serious)}


def test_questions_come_from_the_silences_and_the_persons_cautions():
    s = summary(THREE)
    rec = advise(THREE)
    silent = [n.text for n in Advisor().kb.notes if n.silent]
    assert silent and all(any(q.text == t for q in s.questions) for t in silent)
    cautions = [c for d in rec.drugs for c in d.cautions]
    assert len(cautions) >= 3
    for c in cautions:
        asked = [q for q in s.questions if q.text.startswith(c.text)]
        assert len(asked) == 1 and asked[0].quote == c.quote and in_source(c.quote)
        assert asked[0].text.endswith("ask how that affects the choice.")
    heart = next(q for q in s.questions if "heart failure" in q.text and "mitoxantrone" in q.text)
    assert "You have heart failure" in heart.text
    assert any("You have PML" in q.text for q in s.questions)  # an abbreviation keeps its capitals
    assert not [q for q in summary({"ms_type": "spms", "severity": "severe"}).questions if "You have" in q.text]


REPEATED = {"ms_type": "relapsing", "severity": "severe", "conditions": ["past infusion reaction", "pml"]}


def repeated_cautions(facts):
    """The cautions that the advice attaches, word for word with the same quote, to more than one drug."""
    seen = [(c.text, c.quote) for d in advise(facts).drugs for c in d.cautions]
    return [pair for pair in dict.fromkeys(seen) if seen.count(pair) > 1]


def test_a_question_the_cautions_repeat_for_several_drugs_is_asked_once():
    """"For all of these drugs ..." is one caution of three drugs: the summary asks it once, where it first
    comes. Cautions whose texts differ are each asked, each with its own drug's words."""
    repeated = repeated_cautions(REPEATED)
    assert repeated  # the facts do repeat one
    s = summary(REPEATED)
    pairs = [(q.text, q.quote) for q in s.questions]
    assert len(pairs) == len(set(pairs))
    for text, quote in repeated:
        assert [q.quote for q in s.questions if q.text.startswith(text)] == [quote]
    cautions = {(c.text, c.quote) for d in advise(REPEATED).drugs for c in d.cautions}
    assert all(any(q.text.startswith(t) and q.quote == qt for q in s.questions) for t, qt in cautions)  # each one asked
    by_position = [q.text for q in s.questions if "taken by position as" in q.text]
    assert any("as natalizumab's" in t for t in by_position) and any("as ocrelizumab's" in t for t in by_position)


def test_a_repeated_question_is_asked_once_in_markdown_html_and_on_the_page(tmp_path, client):
    (text, quote), = repeated_cautions(REPEATED)
    args = ["--ms-type", "relapsing", "--severity", "severe", "--condition", "past infusion reaction", "--condition", "pml"]
    markdown = run("summary", *args)
    assert markdown.exit_code == 0, markdown.output
    assert markdown.output.count(text) == 1 and markdown.output.count(f"“{quote}”") == 1
    out = tmp_path / "summary.html"
    assert run("summary", *args, "--format", "html", "--out", str(out)).exit_code == 0
    page = client.get("/summary?ms_type=relapsing&severity=severe&condition=past_infusion_reaction&condition=pml")
    assert page.status_code == 200
    for html in (out.read_text(), page.text):
        questions = html.split('<ul class="sum-questions">', 1)[1].split("</ul>", 1)[0]
        items = re.findall(r"<li>(.*?)</li>", questions, re.S)
        assert len(items) == len(summary(REPEATED).questions)
        assert sum(text[:60] in i for i in items) == 1 and html.count(text[:60]) == 1


def test_the_source_kb_version_and_sha256_are_on_it():
    kb = Advisor().kb
    s = summary(THREE)
    assert (s.source, s.kb_name, s.kb_version, s.kb_sha256) == (kb.header.source_title, kb.header.name, kb.header.version, kb.sha256)


@pytest.mark.parametrize("answers, field, words", [
    (dict(matters=["cost"]), "matters", "allowed: fewer_visits, course_ends, avoid_side_effect, monitoring"),
    (dict(unsure=["nope"]), "unsure", "unknown concern 'nope'"),
    (dict(matters=["monitoring"], unsure=["monitoring"]), "unsure", "both yes and don't know"),
    (dict(avoid=["sneezing"]), "avoid", "unknown side effect 'sneezing' (allowed: rash, headache"),
    (dict(avoid=["rash"], unsure=["avoid_side_effect"]), "avoid", "answered don't know"),
    (dict(matters="fewer_visits"), "matters", "must be a list of texts"),
    (dict(avoid=[3]), "avoid", "must be a list of texts"),
    (dict(unsure=7), "unsure", "must be a list of texts"),
    (dict(avoid=["rash"] * 60), "matters", "at most 50"),
])
def test_bad_answers_are_refused_naming_the_field_and_the_allowed_values(answers, field, words):
    with pytest.raises(InvalidFacts) as e:
        summary(THREE, **answers)
    assert any(x["field"] == field and words in x["message"] for x in e.value.errors), e.value.errors


def test_no_answers_can_be_given_as_none():
    assert summary(THREE, matters=None, unsure=None, avoid=None) == summary(THREE)


def test_bad_facts_are_refused_as_advise_refuses_them():
    with pytest.raises(InvalidFacts) as e:
        summary({"ms_type": "cis"}, matters=["fewer_visits"])
    assert {x["field"] for x in e.value.errors} >= {"ms_type", "severity"}


def test_advisor_summary_uses_its_own_kb(kb_copy):
    text = (kb_copy / "matters.toml").read_text()
    (kb_copy / "matters.toml").write_text(text.replace('question = "Fewer infusion visits"', 'question = "Fewer trips to the clinic"'))
    s = Advisor(kb_copy).summary(THREE, matters=["fewer_visits"])
    assert s.concerns[0].question == "Fewer trips to the clinic"
    assert s.kb_sha256 == Advisor(kb_copy).kb.sha256 != Advisor().kb.sha256


def test_a_kb_without_matters_toml_has_no_concerns(kb_copy):
    (kb_copy / "matters.toml").unlink()
    s = Advisor(kb_copy).summary(THREE)
    assert s.concerns == () and s.drugs


# --- the KB file's validation ------------------------------------------------------------------------

@pytest.mark.parametrize("old, new, message", [
    ('rows = ["monitoring"]', 'rows = ["monitoring", "price"]', "matters.toml: monitoring: rows: unknown compare row 'price'"),
    ('{ name = "bone pain", effects = ["bone pain"] }', '{ name = "bone pain", effects = ["bone pain", "bone aches"] }',
     "matters.toml: avoid_side_effect: choices: 'bone pain': unknown side effect 'bone aches' (not in drugs.toml's lists)"),
    ('{ name = "bone pain", effects = ["bone pain"] },', '', "the side effect 'bone pain' of drugs.toml is in no choice"),
    ('id = "course_ends"', 'id = "fewer_visits"', "matters.toml: fewer_visits: duplicate matter id"),
    ('notes = ["mitoxantrone_watched_closely"]', 'notes = ["watched"]', "matters.toml: monitoring: notes: unknown note 'watched'"),
    ('{ name = "hair loss", effects', '{ name = "baldness", effects', "'baldness': the name is not in the words of its effects"),
    ('shows = "course"', 'shows = "course"\ncolour = "red"', "matters.toml: course_ends: colour: Extra inputs are not permitted"),
])
def test_a_broken_matters_file_is_refused_at_load_and_by_kb_check(kb_copy, old, new, message):
    path = kb_copy / "matters.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(KnowledgeBaseError) as e:
        Advisor(kb_copy)
    assert any(message in line for line in str(e.value).splitlines()), str(e.value)
    result = run("kb", "check", "--rules-dir", str(kb_copy))
    assert result.exit_code != 0 and message in result.output, result.output
    assert "Traceback" not in result.output


def test_a_concern_names_the_rows_of_its_own_kbs_compare_toml(kb_copy):
    """The rows a concern may name are compare.toml's own: a row a KB adds may be named; without a
    compare.toml no row can be, and the check says why."""
    compare = kb_copy / "compare.toml"
    text = compare.read_text()
    start = text.index('[[row]]\nid = "monitoring"')
    block = text[start:text.index("[[row]]", start + 1)]
    compare.write_text(text + "\n" + block.replace('id = "monitoring"', 'id = "watching"'))
    matters = kb_copy / "matters.toml"
    matters.write_text(matters.read_text().replace('rows = ["monitoring"]', 'rows = ["monitoring", "watching"]', 1))
    assert "watching" in Advisor(kb_copy).summary(THREE, matters=["monitoring"]).concerns[-1].rows
    compare.unlink()
    with pytest.raises(KnowledgeBaseError) as e:
        Advisor(kb_copy)
    assert "rows: unknown compare row 'monitoring' (known: none: this knowledge base has no compare.toml)" in str(e.value)


# --- the command line --------------------------------------------------------------------------------

FACT_ARGS = ["--ms-type", "spms", "--severity", "severe", "--condition", "heart failure", "--condition", "cancer", "--condition", "pml"]


def test_cli_writes_a_markdown_summary(tmp_path):
    out = tmp_path / "summary.md"
    result = run("summary", *FACT_ARGS, "--matters", "fewer_visits", "--unsure", "monitoring", "--avoid", "nausea", "--out", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert text.startswith("# Summary to talk over with your MS team")
    s = summary(THREE, matters=["fewer_visits"], unsure=["monitoring"], avoid=["nausea"])
    for d in s.drugs:
        assert f"**{d.name}: {d.status}.**" in text and d.quote in text
    assert "**Close monitoring for side effects:** don't know" in text
    assert "(the advice took it as 0)" in text and "**Mitoxantrone already received:** not given" in text
    assert s.kb_sha256 in text and s.source in text
    assert "1. ____" in text


def test_cli_prints_the_summary_without_out():
    result = run("summary", "--ms-type", "ppms", "--severity", "mild")
    assert result.exit_code == 0 and result.output.startswith("# Summary to talk over with your MS team")


def test_cli_writes_a_standalone_html_summary(tmp_path):
    out = tmp_path / "summary.html"
    result = run("summary", *FACT_ARGS, "--matters", "course_ends", "--format", "html", "--out", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en">' in html
    assert "<script" not in html and "http" not in html.split("<main", 1)[1].split("</main>")[0].replace("http-equiv", "")
    assert "@media print" in html and "Mitoxantrone hydrochloride" in html
    again = run("summary", *FACT_ARGS, "--format", "html", "--out", str(out))  # an earlier summary is replaced
    assert again.exit_code == 0 and "course that ends:</strong> no" in out.read_text()


def test_cli_out_never_replaces_another_kind_of_file(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("my own notes\n")
    result = run("summary", *FACT_ARGS, "--out", str(other))
    assert result.exit_code == 2 and "refusing to replace it" in result.output
    assert other.read_text() == "my own notes\n"
    link = tmp_path / "link.md"
    link.symlink_to(other)
    result = run("summary", *FACT_ARGS, "--out", str(link))
    assert result.exit_code == 2 and other.read_text() == "my own notes\n"
    result = run("summary", *FACT_ARGS, "--out", str(tmp_path))
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_cli_names_the_option_of_a_bad_answer():
    result = run("summary", *FACT_ARGS, "--matters", "cost", "--avoid", "sneezing")
    assert result.exit_code == 2
    assert "--matters: unknown concern 'cost' (allowed: fewer_visits" in result.output
    assert "--avoid: unknown side effect 'sneezing'" in result.output and "Traceback" not in result.output


# --- the page ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client():
    from fastapi.testclient import TestClient

    from advisor.web import create_app

    return TestClient(create_app())


PAGE = "/summary?ms_type=spms&severity=severe&condition=heart_failure&condition=cancer&condition=pml"


def test_the_page_asks_what_matters_with_radio_buttons_and_checkboxes_never_sliders(client):
    r = client.get(PAGE)
    assert r.status_code == 200
    html = r.text
    assert 'type="range"' not in html
    for m in Advisor().kb.matters:
        for value in ("yes", "no", "unsure"):
            assert f'type="radio" name="answer-{m.id}" id="answer-{m.id}-{value}" value="{value}"' in html
        assert f'<label for="answer-{m.id}-unsure">I don’t know</label>' in html
    assert html.count('type="checkbox" name="avoid"') == len(Advisor().kb.matters[2].choices)
    assert '<button type="button" id="print-button"' in html
    assert 'href="/advice?ms_type=spms&amp;severity=severe' in html


def test_the_forms_answers_move_to_an_address_that_carries_them(client):
    r = client.get(PAGE + "&answer-fewer_visits=yes&answer-course_ends=unsure&answer-monitoring=no&avoid=nausea",
                   follow_redirects=False)
    assert r.status_code == 303
    query = parse_qsl(urlsplit(r.headers["location"]).query)
    assert ("matters", "fewer_visits") in query and ("matters_unsure", "course_ends") in query
    assert ("avoid", "nausea") in query and ("condition", "pml") in query
    assert not any(k.startswith("answer-") for k, _ in query)
    page = client.get(r.headers["location"]).text
    assert 'id="answer-fewer_visits-yes" value="yes" checked' in page
    assert 'id="answer-course_ends-unsure" value="unsure" checked' in page
    assert 'value="nausea" checked' in page
    assert "<strong>Fewer infusion visits:</strong> yes" in page


def test_the_page_shows_the_same_statuses_as_the_advice(client):
    s = summary(THREE, matters=["fewer_visits"], avoid=["cancer"])
    html = client.get(PAGE + "&matters=fewer_visits&avoid=cancer").text
    rows = re.findall(r'<th scope="row">(.*?)<br><span class="sum-status">(.*?)</span>', html)
    assert rows == [(d.name, d.status) for d in s.drugs]


def test_bad_answers_on_the_page_are_named_with_the_allowed_values(client):
    r = client.get(PAGE + "&matters=cost&avoid=sneezing")
    assert r.status_code == 422
    assert "matters: unknown concern &#39;cost&#39; (allowed: fewer_visits" in r.text
    assert "avoid: unknown side effect &#39;sneezing&#39;" in r.text


def test_bad_facts_on_the_page_come_back_to_the_form(client):
    r = client.get("/summary?ms_type=spms&matters=fewer_visits")
    assert r.status_code == 422 and "Severity" in r.text and "is required" in r.text


def test_a_huge_query_is_refused_not_read(client):
    r = client.get("/summary?ms_type=spms&severity=mild&" + "&".join(["avoid=rash"] * 300))
    assert r.status_code == 422 and "more than 200 fields" in r.text



def test_the_advice_page_links_to_the_summary_for_the_same_facts(client):
    html = client.get("/advice?ms_type=spms&severity=severe&condition=pml").text
    link = re.search(r'<a href="(/summary\?[^"]*)">Say what matters to you', html)
    assert link and client.get(link.group(1).replace("&amp;", "&")).status_code == 200
    assert "condition=pml" in link.group(1)


@pytest.mark.parametrize("query, message", [
    ("&answer-fewer_visits=maybe", "answer-fewer_visits: must be yes, no or unsure"),
    ("&answer-cost=yes", "unknown field &#39;answer-cost&#39; (concerns: fewer_visits, course_ends"),
])
def test_a_bad_answer_from_the_form_is_refused_not_taken_as_no(client, query, message):
    r = client.get(PAGE + query, follow_redirects=False)
    assert r.status_code == 422 and message in r.text


def test_kb_check_says_the_concerns_were_checked(kb_copy):
    result = run("kb", "check", "--rules-dir", str(kb_copy))
    assert result.exit_code == 0 and "the 4 concerns of matters.toml name known compare rows" in " ".join(result.output.split())
    (kb_copy / "matters.toml").unlink()
    result = run("kb", "check", "--rules-dir", str(kb_copy))
    assert result.exit_code == 0 and "no matters.toml" in result.output


def test_each_concern_answered_yes_links_to_the_compare_grid_with_every_answer(client):
    html = client.get(PAGE + "&matters=fewer_visits&matters_unsure=monitoring&avoid=nausea").text
    links = re.findall(r'<a class="no-print" href="(/compare\?[^"]*)">', html)
    assert len(links) == 2  # the two concerns answered yes, each with every answer and fact
    link = links[0].replace("&amp;", "&")
    query = parse_qsl(urlsplit(link).query)
    assert ("matters", "fewer_visits") in query and ("matters_unsure", "monitoring") in query and ("avoid", "nausea") in query
    assert ("condition", "pml") in query and ("ms_type", "spms") in query
    assert client.get(link).status_code == 200
