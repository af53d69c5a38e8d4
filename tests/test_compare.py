"""Compare (an Option Grid): the drugs side by side on the questions people ask, from the KB alone, in
the KB's order, every drug in every row; the library, `ms-advisor compare` and the /compare page."""

import json
import re
import shutil
import warnings
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from advisor import Advisor, InvalidFacts, UnknownDrug, advise, compare, default_advisor
from advisor.cli import main
from advisor.errors import KnowledgeBaseError
from advisor.kb.load import default_directory, load
from advisor.kb.source import normalize
from advisor.schedule import infusions, shift

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ROWS = ("for_whom", "how_it_works", "how_given", "infusions_first_year", "infusions_later_years", "common_side_effects",
        "serious_side_effects", "monitoring", "course_ends", "not_said")
FACTS = {"ms_type": "relapsing", "severity": "severe", "prior_failures": 2, "conditions": ["cancer"]}
KB = default_advisor().kb


def run(*args, env=None):
    return CliRunner().invoke(main, list(args), env={"COLUMNS": "100", **(env or {})})


@pytest.fixture
def rules(tmp_path):
    copy = tmp_path / "rules"
    shutil.copytree(default_directory(), copy)
    return copy


# --- the library ---------------------------------------------------------------------------------

def test_every_row_of_the_contract_has_a_cell_for_every_drug_in_the_kbs_order():
    grid = compare()
    assert tuple(r.id for r in grid.rows) == ROWS
    assert [d.id for d in grid.drugs] == list(KB.drug_ids)
    for row in grid.rows:
        assert [c.drug for c in row.cells] == list(KB.drug_ids), row.id
        for c in row.cells:  # a cell says something, or says the article does not say
            assert c.text or c.items or c.quotes, (row.id, c.drug)
            assert c.silent == (c.text == "The article does not say.")
    # silence is a decision written in the KB, never a gap
    silent = {(r.id, c.drug) for r in grid.rows for c in r.cells if c.silent}
    assert silent == {(r.id, d) for r in KB.compare for d, cell in r.cells.items() if cell.silent} != set()


def test_picked_drugs_keep_the_kbs_order_and_facts_never_reorder_them():
    grid = compare(FACTS, drugs=["Ocrevus", "mitoxantrone", "natalizumab"])
    assert [d.id for d in grid.drugs] == ["natalizumab", "mitoxantrone", "ocrelizumab"]
    assert [s.drug for s in grid.status] == ["natalizumab", "mitoxantrone", "ocrelizumab"]
    assert compare().status is None


def test_the_status_row_is_the_advices_status_and_reason():
    rec = advise(FACTS)
    grid = compare(FACTS)
    for s in grid.status:
        d = rec.drug(s.drug)
        assert s.status == d.status.value and s.reason == " ".join(r.text for r in d.reasons)
        assert [q.quote for q in s.reasons] == [r.quote for r in d.reasons]


def test_the_persons_conditions_are_marked_where_the_advice_gives_a_caution():
    rec = advise(FACTS)
    grid = compare(FACTS)
    marked = {(c.drug, i.quote) for r in grid.rows for c in r.cells for i in c.items if i.meets}
    assert marked == {(d.drug, c.quote) for d in rec.drugs for c in d.cautions} != set()
    assert all(i.meets == "Cancer" for r in grid.rows for c in r.cells for i in c.items if i.meets)
    assert not any(i.meets for r in compare().rows for c in r.cells for i in c.items)


def _count(drug, lo_year, hi_year, start):
    sched = KB.drug(drug).schedule
    lo, hi = shift(start, lo_year, "years"), shift(start, hi_year, "years")
    n = 0
    for i in infusions(sched, start):  # an endless schedule: stop at the end of the span
        if i.date >= hi:
            break
        n += lo <= i.date
    return n


@pytest.mark.parametrize("drug", ["alemtuzumab", "natalizumab", "mitoxantrone", "ocrelizumab"])
def test_first_year_counts_come_from_the_structured_schedule(drug):
    cell = compare().row("infusions_first_year").cell(drug)
    counts = {_count(drug, 0, 1, date(2027, 1, 1) + timedelta(days=n)) for n in range(0, 366, 7)}
    assert cell.text in {str(min(counts)), f"{min(counts)} or {max(counts)}"}
    assert cell.computed == "infusions_first_year" and cell.assumptions
    assert cell.quotes[0].quote == KB.drug(drug).schedule.quote


def test_later_years_and_the_course_end_say_their_assumptions():
    grid = compare()
    later = grid.row("infusions_later_years")
    assert later.cell("ocrelizumab").text == f"{_count('ocrelizumab', 1, 2, date(2027, 1, 4))} a year"
    # ocrelizumab's six months, counted from the second 300 mg infusion: said, as drugs.toml says it
    assert KB.drug("ocrelizumab").schedule.note in later.cell("ocrelizumab").assumptions
    # mitoxantrone: until the lifetime maximum, "likely ... within two to three years"
    mito = later.cell("mitoxantrone")
    assert "course ends" in mito.text and any("two to three years" in a for a in mito.assumptions)
    assert "the article does not say" in later.cell("alemtuzumab").text
    ends = grid.row("course_ends").cell("mitoxantrone")
    assert f"{KB.header.numbers['mitoxantrone_lifetime_max'].value:g} mg/m²" in ends.text
    assert [grid.row("course_ends").cell(d).silent for d in ("alemtuzumab", "natalizumab", "ocrelizumab")] == [True] * 3


def test_side_effect_cells_carry_the_by_position_attribution():
    grid = compare()
    for row in ("common_side_effects", "serious_side_effects"):
        for c in grid.row(row).cells:
            d = KB.drug(c.drug)
            assert c.note == d.side_effects.list_note
            listed = d.side_effects.common if row == "common_side_effects" else d.side_effects.serious
            assert [i.text for i in c.items] == [e.text for e in listed]
    assert grid.row("common_side_effects").cell("alemtuzumab").note and grid.row("common_side_effects").cell("mitoxantrone").note is None


def test_every_quote_in_the_grid_stands_verbatim_in_the_article():
    source = normalize(KB.source_text)
    quotes = [q.quote for r in compare(FACTS).rows for c in r.cells for q in c.quotes]
    quotes += [i.quote for r in compare().rows for c in r.cells for i in c.items]
    assert quotes and all(normalize(q) in source for q in quotes)


def test_a_wrong_number_of_drugs_or_an_unknown_drug_is_refused_by_name():
    with pytest.raises(InvalidFacts) as e:
        compare(drugs=["natalizumab"])
    assert e.value.errors[0]["field"] == "drug" and "natalizumab" in e.value.errors[0]["allowed"]
    with pytest.raises(InvalidFacts):
        compare(drugs=["natalizumab", "Tysabri"])  # the same drug twice is one drug
    with pytest.raises(UnknownDrug):
        compare(drugs=["natalizumab", "aspirin"])
    with pytest.raises(InvalidFacts) as e:
        compare({"ms_type": "relapsing", "severity": "huge"})
    assert e.value.errors[0]["field"] == "severity"


def test_an_advisor_over_another_kb_compares_with_its_rows(rules):
    text = (rules / "compare.toml").read_text()
    (rules / "compare.toml").write_text(text.replace('question = "How does it work?"', 'question = "How does this drug work?"'))
    grid = Advisor(rules_dir=rules).compare()
    assert grid.row("how_it_works").question == "How does this drug work?"
    assert compare().row("how_it_works").question == "How does it work?"


# --- the knowledge base: equal detail, quotes, claims --------------------------------------------

def test_kb_check_fails_a_row_missing_a_drugs_cell_naming_row_and_drug(rules):
    text = (rules / "compare.toml").read_text()
    cut = '[row.cells.natalizumab]\nfrom = "schedule"\n'
    assert cut in text
    (rules / "compare.toml").write_text(text.replace(cut, "", 1))
    r = run("kb", "check", "--rules-dir", str(rules))
    assert r.exit_code != 0
    assert re.search(r"compare\.toml: how_given: no cell for drug 'natalizumab'", r.output), r.output


@pytest.mark.parametrize("old, new, message", [
    ('[row.cells.natalizumab]\nsilent = true\n', '[row.cells.natalizumab]\nsilent = true\nfrom = "schedule"\n', "exactly one of"),
    ('quote = "Ocrelizumab is used to treat relapsing', 'quote = "Ocrelizumab is used to cure relapsing', "not found verbatim"),
    ('section = "Ocrelizumab (Ocrevus)"\nalso', 'section = "Ocrelizumab (Ocrevus)"\ntext = "Ocrelizumab is the best drug for MS."\nalso',
     "best"),
    ('from = "note.not_said"', 'from = "note.no_such_note"', "no note 'no_such_note'"),
    ('[row.cells.natalizumab]\nsilent = true\n[row.cells.mitoxantrone]\ncomputed = "course_ends"',
     '[row.cells.natalizumab]\ncomputed = "course_ends"\n[row.cells.mitoxantrone]\ncomputed = "course_ends"', "no course_within"),
])
def test_kb_load_refuses_a_bad_cell(rules, old, new, message):
    text = (rules / "compare.toml").read_text()
    assert old in text
    (rules / "compare.toml").write_text(text.replace(old, new, 1))
    with pytest.raises(KnowledgeBaseError) as e:
        load(rules)
    assert any(p[0] == "compare.toml" and message in p[2] for p in e.value.problems), e.value.problems


def test_a_kb_without_compare_toml_still_advises_but_has_no_grid(rules):
    (rules / "compare.toml").unlink()
    (rules / "matters.toml").unlink()  # its concerns name compare.toml's rows (without them it is refused: test_summary.py)
    advisor = Advisor(rules_dir=rules)
    assert advisor.advise(FACTS).listed == advise(FACTS).listed
    with pytest.raises(InvalidFacts):
        advisor.compare()


# --- the command line ------------------------------------------------------------------------------

def test_cli_json_is_the_librarys_grid():
    r = run("compare", "--ms-type", "rrms", "--severity", "severe", "--prior-failures", "2", "--condition", "cancer",
            "--drug", "ocrelizumab", "--drug", "Lemtrada", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == compare(FACTS, drugs=["alemtuzumab", "ocrelizumab"]).model_dump(mode="json")
    plain = run("compare")  # into a pipe: JSON, no facts, no status row
    assert json.loads(plain.stdout) == compare().model_dump(mode="json")


def test_cli_table_side_by_side_when_it_fits_one_block_per_drug_when_not():
    wide = run("compare", "--format", "table", env={"COLUMNS": "200"})
    narrow = run("compare", "--format", "table", env={"COLUMNS": "80"})
    assert wide.exit_code == narrow.exit_code == 0
    for r, width in ((wide, 200), (narrow, 80)):
        assert max(len(line) for line in r.stdout.splitlines()) <= width
        assert "The article does not say." in r.stdout and "How does it work?" in r.stdout
    names = [d.name for d in KB.drugs]
    head = next(line for line in wide.stdout.splitlines() if names[0] in line)
    assert all(n in head for n in names)  # one line names every drug: columns
    lines = narrow.stdout.splitlines()
    starts = [lines.index(next(line for line in lines if line.startswith(n))) for n in names]
    assert starts == sorted(starts)  # one block per drug, in the KB's order
    assert narrow.stdout.count("How does it work?") == len(names)


def test_cli_markdown_and_the_format_from_the_environment():
    md = run("compare", "--format", "markdown", "--drug", "natalizumab", "--drug", "ocrelizumab")
    assert md.exit_code == 0 and "| Question | Natalizumab (Tysabri) | Ocrelizumab (Ocrevus) |" in md.stdout
    env = run("compare", "--drug", "natalizumab", "--drug", "ocrelizumab", env={"MS_ADVISOR_FORMAT": "markdown"})
    assert env.stdout == md.stdout


@pytest.mark.parametrize("args, field", [(["--drug", "natalizumab"], "drug"), (["--drug", "aspirin", "--drug", "natalizumab"], "aspirin"),
                                         (["--ms-type", "relapsing", "--severity", "huge"], "severity")])
def test_cli_bad_input_is_one_line_naming_the_field(args, field):
    r = run("compare", *args)
    assert r.exit_code == 2 and field in r.output and "Traceback" not in r.output


# --- the page ----------------------------------------------------------------------------------------

class Cells(HTMLParser):
    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def client():
    from advisor.web import create_app

    return TestClient(create_app(default_advisor()))


def test_page_is_a_table_with_row_headers_and_a_cell_per_drug_and_row(client):
    r = client.get("/compare")
    assert r.status_code == 200
    tags = Cells(r.text).tags
    cells = [(a["data-row"], a["data-drug"]) for t, a in tags if t == "td" and "data-row" in a]
    assert cells == [(row, d) for row in ROWS for d in KB.drug_ids]
    assert [a.get("id") for t, a in tags if t == "th" and a.get("scope") == "row"] == [f"row-{row}" for row in ROWS]
    assert [a["data-drug"] for t, a in tags if t == "th" and a.get("scope") == "col"] == list(KB.drug_ids)
    for row in KB.compare:
        assert row.question in r.text
    assert "data-status" not in r.text


def test_page_quotes_are_english_and_link_into_the_article(client):
    page = client.get("/compare?drug=mitoxantrone&drug=ocrelizumab").text
    article = client.get("/article").text
    assert page.count('<q lang="en">') >= 4
    anchors = set(re.findall(r'href="/article#(q-[0-9a-f]+)"', page))
    assert anchors and all(f'id="{a}"' in article for a in anchors)
    # the grid's own quotes (who it is for) have their anchors in the article too
    for_whom = compare().row("for_whom").cell("ocrelizumab").quotes[1].quote
    assert for_whom in page
    from advisor.web.article import anchor
    assert f'/article#{anchor(for_whom, "Ocrelizumab (Ocrevus)")}' in page


def test_page_with_facts_gives_each_drugs_status_and_marks_the_conditions(client):
    r = client.get("/compare?ms_type=relapsing&severity=severe&prior_failures=2&condition=cancer")
    assert r.status_code == 200
    rec = advise(FACTS)
    statuses = [(a["data-drug"], a["data-status"]) for t, a in Cells(r.text).tags if t == "td" and "data-status" in a]
    assert statuses == [(d.drug, d.status.value) for d in rec.drugs]
    assert r.text.count('data-meets="Cancer"') == sum(len(d.cautions) for d in rec.drugs) > 0
    assert '/advice?' in r.text  # the full advice for the same facts


@pytest.mark.parametrize("query, field", [("drug=natalizumab", "drug"), ("drug=aspirin&drug=natalizumab", "drug"),
                                          ("ms_type=relapsing&severity=huge", "severity")])
def test_page_bad_choices_are_422_naming_the_field(client, query, field):
    r = client.get("/compare?" + query)
    assert r.status_code == 422 and f'href="#field-{field}"' in r.text and "compare-grid" not in r.text


def test_the_form_sent_with_drugs_only_compares_without_facts(client):
    # what the page's own form sends when only drugs are picked (its prior-failures field holds "0")
    r = client.get("/compare?drug=natalizumab&drug=ocrelizumab&prior_failures=0&mitoxantrone_cumulative_mg_m2=")
    assert r.status_code == 200 and "data-status" not in r.text and 'data-row="for_whom"' in r.text
    r = client.get("/compare?drug=natalizumab&drug=ocrelizumab&prior_failures=3")  # a fact without the MS type
    assert r.status_code == 422 and 'href="#field-ms_type"' in r.text


def test_form_and_advice_pages_link_to_compare(client):
    assert 'href="/compare"' in client.get("/").text
    advice = client.get("/advice?ms_type=relapsing&severity=severe&prior_failures=2&condition=cancer").text
    link = re.search(r'href="(/compare\?[^"]+)"', advice).group(1).replace("&amp;", "&")
    assert "condition=cancer" in link and client.get(link).status_code == 200


# --- what matters to you, beside the grid ------------------------------------------------------------

ANSWERS = {"matters": ["fewer_visits"], "unsure": ["monitoring"], "avoid": ["nausea", "PML"]}


def _unmarked(grid):
    """The grid's drugs, statuses and cells with the marks of the answers taken off."""
    rows = [(r.id, r.question, [c.model_copy(update={"items": tuple(i.model_copy(update={"avoid": None}) for i in c.items)})
                                for c in r.cells]) for r in grid.rows]
    return grid.drugs, grid.status, rows


@pytest.mark.parametrize("facts, drugs", [(None, None), (FACTS, None), ({"ms_type": "spms", "severity": "severe"}, ["mitoxantrone", "Ocrevus"])])
def test_answers_mark_rows_and_side_effects_and_change_nothing_else(facts, drugs):
    plain = compare(facts, drugs)
    marked = compare(facts, drugs, **ANSWERS)
    assert _unmarked(marked) == _unmarked(plain)  # same drugs, same order, same statuses, same cells and quotes
    assert not plain.matters and not plain.avoid
    assert marked.avoid == ("nausea", "PML")
    effects = {e for m in KB.matters for c in m.choices if c.name in marked.avoid for e in c.effects}
    items = [(c.drug, i.text, i.avoid) for r in marked.rows for c in r.cells for i in c.items]
    assert [t for _, t, a in items if a] == [t for _, t, _ in items if t in effects] != []
    by_id = {m.id: m for m in KB.matters}
    assert [(c.id, c.answer, c.rows) for c in marked.matters] == [
        (i, a, by_id[i].rows) for i, a in (("fewer_visits", "yes"), ("avoid_side_effect", "yes"), ("monitoring", "don't know"))]
    assert [c.id for c in marked.marks("infusions_first_year")] == ["fewer_visits"]
    assert marked.marks("for_whom") == ()


def test_unknown_answers_are_refused_naming_the_field_and_the_allowed_values():
    with pytest.raises(InvalidFacts) as e:
        compare(matters=["cheapest"], avoid=["hiccups"])
    fields = {x["field"]: x["message"] for x in e.value.errors}
    assert "fewer_visits" in fields["matters"] and "cheapest" in fields["matters"] and "nausea" in fields["avoid"]


def test_cli_marks_what_matters_in_words_and_refuses_an_unknown_concern():
    for fmt in ("markdown", "table"):
        r = run("compare", "--matters", "course_ends", "--unsure", "fewer_visits", "--avoid", "hair loss", "--format", fmt,
                env={"COLUMNS": "200"})
        assert r.exit_code == 0, r.output
        assert "Matters to you: A treatment course that ends" in r.stdout
        assert "You don't know yet: Fewer infusion visits" in r.stdout
        assert "hair loss (you want to avoid this)" in r.stdout
        assert r.stdout.count("(you want to avoid this)") == 1
    j = run("compare", "--matters", "course_ends", "--avoid", "hair loss", "--format", "json")
    assert json.loads(j.stdout) == compare(matters=["course_ends"], avoid=["hair loss"]).model_dump(mode="json")
    bad = run("compare", "--matters", "cheapest")
    assert bad.exit_code == 2 and "--matters" in bad.output and "fewer_visits" in bad.output and "Traceback" not in bad.output


def test_page_shows_what_matters_beside_the_grid_and_marks_rows_in_words(client):
    query = "matters=fewer_visits&matters_unsure=monitoring&avoid=nausea&drug=alemtuzumab&drug=mitoxantrone"
    r = client.get("/compare?" + query)
    assert r.status_code == 200
    section = r.text[r.text.index('data-section="matters"'):r.text.index("compare-grid")]
    assert "What matters to you" in section and "Fewer infusion visits" in section and "Close monitoring for side effects" in section
    questions = {row.id: row.question for row in KB.compare}
    for row in ("how_given", "infusions_first_year", "infusions_later_years", "monitoring"):
        assert f'href="#row-{row}">{questions[row]}</a>' in section
    marked = {a["data-row"]: a["data-matters"] for t, a in Cells(r.text).tags if t == "tr" and "data-matters" in a}
    assert marked == {"how_given": "fewer_visits", "infusions_first_year": "fewer_visits", "infusions_later_years": "fewer_visits",
                      "common_side_effects": "avoid_side_effect", "serious_side_effects": "avoid_side_effect",
                      "monitoring": "monitoring"}
    assert r.text.count("Matters to you: Fewer infusion visits</span>") == 3
    assert r.text.count("You don&#39;t know yet: Close monitoring for side effects</span>") == 1
    assert r.text.count("(you want to avoid this)</strong>") == 2  # alemtuzumab's nausea, mitoxantrone's nausea or vomiting
    plain = client.get("/compare?drug=alemtuzumab&drug=mitoxantrone").text
    assert "data-matters" not in plain and "(you want to avoid this)" not in plain and 'data-section="matters"' not in plain


@pytest.mark.parametrize("query, field", [("matters=cheapest", "matters"), ("matters_unsure=cheapest", "matters_unsure"),
                                          ("avoid=hiccups", "avoid")])
def test_page_unknown_answer_is_422_naming_the_field_and_the_allowed_values(client, query, field):
    r = client.get("/compare?" + query)
    assert r.status_code == 422 and "compare-grid" not in r.text and f"{field}: unknown" in r.text
    assert ("fewer_visits" if field != "avoid" else "nausea") in r.text
