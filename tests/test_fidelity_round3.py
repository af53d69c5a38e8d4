"""Issue 20 ("Fidelity, round three", all but its schedule items 4 and 12) and issue 24, item 8: harms
beside benefits, natalizumab as the article leaves it, mitoxantrone ruled out where the article rules it
out, a dose not given said so, the texts, and the `kb check` guard. One test or more per item."""

import html
import itertools
import json
import re
import warnings

import pytest
from click.testing import CliRunner

from advisor import Advisor, advise, default_advisor
from advisor.kb.checks import check
from advisor.cli import main
from advisor.kb.load import default_directory, load
from advisor.core.models import Status
from advisor.render import emit, markdown, table
from advisor.serve.cards import detail, drug_cards

with warnings.catch_warnings():  # starlette's TestClient prefers httpx2; httpx is what we depend on
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from advisor.web import create_app

KB_DIR = default_directory()
SOURCE = KB_DIR / "sources" / "ms-infusions.txt"
KB_ID = {"name": "n", "version": "1", "sha256": "0"}
HTML = {"accept": "text/html"}
EVERY_FACTS = [{"ms_type": t, "severity": s, "prior_failures": pf, "rapidly_worsening": rw, **dose}
               for t, s, pf, rw, dose in itertools.product(["relapsing", "spms", "ppms"], ["mild", "moderate", "severe"], [0, 2],
                                                           [False, True], [{}, {"mitoxantrone_cumulative_mg_m2": 0},
                                                                           {"mitoxantrone_cumulative_mg_m2": 140}])]


def flat(text):
    return " ".join(text.split())


def run(*args):
    return CliRunner().invoke(main, list(args), env={"NO_COLOR": "1"})


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(default_advisor()))


def page_text(client, url):
    r = client.get(url, headers=HTML)
    assert r.status_code == 200, r.text[:300]
    return flat(html.unescape(re.sub(r"<[^>]+>", " ", r.text)))


def cards_of(rec):
    return {c["extension"]["ms-infusion-advisor"]["drug"]: c for c in drug_cards(rec, KB_ID, "title", "http://127.0.0.1/advice")}


# --- 1. natalizumab: no criteria, for every fact set; statuses from the KB ------------------------------

@pytest.mark.parametrize("facts", EVERY_FACTS[::7])
def test_1_natalizumab_has_no_criteria_for_every_fact_set_and_is_never_listed(facts):
    rec = advise(facts)
    nat = rec.drug("natalizumab")
    assert nat.status.value == "no_criteria" and "natalizumab" not in rec.listed
    assert nat.reasons[0].text == ("The article describes natalizumab (how it works and how often it is given) but gives no "
                                   "criteria for choosing it, and neither recommends nor rules it out for any facts; ask your doctor.")
    assert nat.side_effects is None and nat.what_if == ()


def test_1_natalizumab_in_its_own_group_on_the_table_the_markdown_and_the_page(client):
    facts = {"ms_type": "relapsing", "severity": "severe", "rapidly_worsening": True}
    rec = advise(facts)
    out = table(rec)
    group = out.index("Described in the article without criteria:")
    assert out.index("Drugs the article describes for these facts:") < out.index("Ocrelizumab") < group < out.index("Natalizumab")
    assert "not applicable  Natalizumab" not in out and "NO CRITERIA" in out
    md = markdown(rec)
    assert md.index("## Described in the article without criteria") < md.index("### Natalizumab (Tysabri): no criteria")
    assert md.index("## Drugs the article describes for these facts") < md.index("### Ocrelizumab")
    text = page_text(client, "/advice?ms_type=relapsing&severity=severe&rapidly_worsening=true")
    listed_part = text[text.index("Drugs the article describes for these facts"):text.index("Described in the article without criteria")]
    assert "Natalizumab" not in listed_part
    own = text[text.index("Described in the article without criteria"):]
    assert own.index("Natalizumab") < own.index("Described without criteria")


def test_1_the_aggressive_or_advanced_line_is_a_note_to_everyone_about_all_four(client):
    for facts in EVERY_FACTS[::11]:
        note = {n.id: n for n in advise(facts).notes}["aggressive_or_advanced"]
        assert note.drug is None and note.quote == "These infusion treatments may be especially helpful to people with aggressive or advanced MS."
        assert note.text == ("About all four infusion drugs, the article says these infusion treatments may be especially helpful "
                             "to people with aggressive or advanced MS.")
    reasons = [r.text for f in EVERY_FACTS for d in advise(f).drugs for r in d.reasons]
    assert not [t for t in reasons if "aggressive or advanced" in t]  # no drug's status rests on it any more


def test_1_statuses_are_the_kbs_and_every_surface_follows(tmp_path):
    import tomllib

    items = tomllib.loads((KB_DIR / "statuses.toml").read_text("utf-8"))["status"]
    assert [s.value for s in Status] == [i["id"] for i in items]
    assert "no_criteria" in [s.value for s in Status]
    schema = json.loads(run("schema", "recommendation").stdout)
    assert [i["id"] for i in items] in [v for v in _enums(schema)]
    out = tmp_path / "out.csv"
    cases = tmp_path / "c.jsonl"
    cases.write_text('{"id": "a", "ms_type": "spms", "severity": "mild"}\n')
    r = CliRunner().invoke(main, ["batch", str(cases), "--out", str(out), "--summary-json", str(tmp_path / "s.json")])
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "s.json").read_text())
    assert list(summary["status"]["natalizumab"]) == [i["id"] for i in items] and summary["status"]["natalizumab"]["no_criteria"] == 1
    assert "natalizumab: no_criteria" not in r.stderr and "no_criteria: 1" in r.stderr
    assert "no_criteria" in out.read_text()


def _enums(node):
    if isinstance(node, dict):
        if "enum" in node:
            yield node["enum"]
        for v in node.values():
            yield from _enums(v)
    elif isinstance(node, list):
        for v in node:
            yield from _enums(v)


# --- 2. mitoxantrone for MS that is not severe: excluded ---------------------------------------------

@pytest.mark.parametrize("severity", ["mild", "moderate"])
def test_2_mitoxantrone_is_excluded_for_ms_that_is_not_severe(severity):
    for ms_type, dose in itertools.product(["relapsing", "spms", "ppms"], [None, 0, 100, 140]):
        facts = {"ms_type": ms_type, "severity": severity, **({} if dose is None else {"mitoxantrone_cumulative_mg_m2": dose})}
        d = advise(facts).drug("mitoxantrone")
        assert d.status.value == "excluded"
        assert any(r.quote.endswith("so mitoxantrone should only be used in severe MS cases.") for r in d.reasons)


# --- 3. harms beside benefits -----------------------------------------------------------------------------

def test_3_every_listed_drug_carries_its_side_effects_and_no_other_does():
    kb = load(KB_DIR)
    for facts in EVERY_FACTS:
        rec = advise(facts)
        for d in rec.drugs:
            if d.drug in rec.listed:
                se = kb.drug(d.drug).side_effects
                assert d.side_effects is not None
                assert [e.text for e in d.side_effects.common] == [e.text for e in se.common]
                assert [e.text for e in d.side_effects.serious] == [e.text for e in se.serious]
                assert d.side_effects.attribution == se.list_note
            else:
                assert d.side_effects is None


@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
def test_3_side_effects_in_every_format(fmt):
    rec = advise({"ms_type": "relapsing", "severity": "severe", "prior_failures": 2, "rapidly_worsening": True})
    out = flat(emit(rec, fmt))
    assert set(rec.listed) == {"alemtuzumab", "mitoxantrone", "ocrelizumab"}
    for item in ("common cold", "Guillain-Barré syndrome", "bone pain", "congestive heart failure (CHF)",
                 "reactivation of hepatitis B or shingles", "cancer, including breast cancer"):
        assert item in out, item
    for drug in ("alemtuzumab", "ocrelizumab"):  # the by-position attribution
        assert f"by its position it is taken as {drug}'s" in out
    if fmt != "json":
        assert "infections; allergic reactions" not in out  # natalizumab's list: not shown, it is not listed


def test_3_side_effects_on_the_page_and_the_card(client):
    text = page_text(client, "/advice?ms_type=ppms&severity=mild")
    assert "Side effects the article names for Ocrelizumab" in text and "cancer, including breast cancer" in text
    assert "by its position it is taken as ocrelizumab's" in text
    card = cards_of(advise({"ms_type": "ppms", "severity": "mild"}))["ocrelizumab"]
    assert "Side effects the article names for it" in card["detail"] and "cancer, including breast cancer" in card["detail"]
    assert "by its position it is taken as ocrelizumab's" in card["detail"]


def test_3_mitoxantrone_keeps_the_risk_of_serious_side_effects_and_quotes_the_toxicity_at_the_maximum():
    for facts in ({"ms_type": "spms", "severity": "severe"}, {"ms_type": "relapsing", "severity": "severe", "rapidly_worsening": True},
                  {"ms_type": "ppms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 10}):
        d = advise(facts).drug("mitoxantrone")
        assert d.status.value in ("applicable", "consider")
        assert all("because of the risk of serious side effects" in r.text for r in d.reasons), [r.text for r in d.reasons]
    d = advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 140}).drug("mitoxantrone")
    assert d.status.value == "excluded"
    assert any(r.quote.startswith("Receiving too much of this drug puts you at risk of side effects that can be very toxic to your body")
               for r in d.reasons)


# --- 5. a dose not given is "not given", never 0 ---------------------------------------------------------

def test_5_a_dose_not_given_is_said_so_on_every_surface(client):
    rec = advise({"ms_type": "spms", "severity": "severe"})
    assert rec.facts.mitoxantrone_cumulative_mg_m2 is None
    reason = rec.drug("mitoxantrone").reasons[0].text
    assert "if no mitoxantrone has been received" in reason and "below the lifetime maximum" not in reason
    assert "mitoxantrone received: not given" in flat(table(rec))
    assert "**Mitoxantrone already received:** not given" in markdown(rec)
    assert json.loads(emit(rec, "json"))["facts"]["mitoxantrone_cumulative_mg_m2"] is None
    assert "Mitoxantrone already received not given" in page_text(client, "/advice?ms_type=spms&severity=severe")
    card = cards_of(rec)["mitoxantrone"]["detail"]
    assert "if no mitoxantrone has been received" in card and "below the lifetime maximum" not in card
    for out in (flat(table(rec)), markdown(rec)):
        assert "received: 0" not in out and "received:** 0" not in out
    given = advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 0}).drug("mitoxantrone").reasons[0].text
    assert "below the lifetime maximum dose" in given and "if no mitoxantrone" not in given


def test_5_the_interview_takes_an_empty_dose_as_not_given():
    r = CliRunner().invoke(main, ["interview", "--format", "json"], input="spms\nsevere\n0\nn\n\n\n")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["facts"]["mitoxantrone_cumulative_mg_m2"] is None


# --- 6-10. the texts ------------------------------------------------------------------------------------

def test_6_8_the_notes_each_person_gets():
    mild = {n.id: n for n in advise({"ms_type": "relapsing", "severity": "mild"}).notes}
    severe = {n.id: n for n in advise({"ms_type": "relapsing", "severity": "severe"}).notes}
    maxed = {n.id: n for n in advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 140}).notes}
    # 6: the closing paragraph, whole, to everyone
    assert mild["progressive_ask_your_doctor"].text.startswith("If you have progressive MS or are looking for a better way to manage")
    # 8: mitoxantrone's watch only where it is applicable or consider, worded "If you receive mitoxantrone"
    assert "mitoxantrone_watched_closely" not in mild and "mitoxantrone_watched_closely" not in maxed
    assert severe["mitoxantrone_watched_closely"].text.startswith("If you receive mitoxantrone, your doctor will watch you very closely")


def test_7_the_silences_note_names_only_topics_the_article_does_not_touch():
    text = {n.id: n for n in advise({"ms_type": "ppms", "severity": "mild"}).notes}["not_said"].text
    assert text == ("The article says nothing about pregnancy, breastfeeding, vaccination, how long an infusion takes, or cost: "
                    "ask your doctor about these.")


def test_9_relapsing_ms_is_never_described_as_flare_ups(client):
    form = page_text(client, "/")
    assert "The article names relapsing forms of MS where it describes ocrelizumab." in form
    texts = [form, flat(run("advise", "--ms-type", "relapsing", "--severity", "mild", "--format", "markdown").stdout)]
    for text in texts:
        for sentence in re.split(r"(?<=[.!?])\s", text):
            assert not ("relapsing" in sentence.lower() and "flare" in sentence.lower()), sentence


def test_10_alemtuzumabs_serious_list_keeps_very_serious_and_potentially_fatal(client):
    rec = advise({"ms_type": "relapsing", "severity": "mild", "prior_failures": 2})
    se = rec.drug("alemtuzumab").side_effects
    assert se.serious_quote == "This drug can also cause very serious, and potentially fatal, side effects."
    assert "very serious, and potentially fatal, side effects:" in flat(table(rec))
    assert "Very serious, and potentially fatal, side effects" in markdown(rec)
    assert "Very serious, and potentially fatal, side effects" in page_text(client, "/advice?ms_type=relapsing&severity=mild&prior_failures=2")


def test_11_the_table_shows_every_reason():
    rec = advise({"ms_type": "spms", "severity": "severe", "rapidly_worsening": True, "mitoxantrone_cumulative_mg_m2": 150})
    reasons = rec.drug("mitoxantrone").reasons
    assert len(reasons) == 2
    out = flat(table(rec))
    assert all(flat(r.text) in out for r in reasons)


# --- 13. CDS cards ------------------------------------------------------------------------------------

def test_13_card_summaries_keep_the_number_and_an_excluded_drug_has_no_schedule():
    for dose in (140, 139.99, 1000):
        rec = advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": dose})
        card = cards_of(rec)["mitoxantrone"]
        assert "140 mg/m²" in card["summary"] and len(card["summary"]) < 140, card["summary"]
        assert (f"{dose:g} mg/m²" in card["summary"]) is (dose >= 140) and ("0.01 of the" in card["summary"]) is (dose < 140)
        assert ("Schedule:" in card["detail"]) is (dose < 140)
    card = cards_of(advise({"ms_type": "spms", "severity": "mild"}))["mitoxantrone"]
    assert card["summary"].startswith("Mitoxantrone hydrochloride: excluded: the MS is mild") and "Schedule:" not in card["detail"]
    listed = cards_of(advise({"ms_type": "ppms", "severity": "mild"}))["ocrelizumab"]
    assert "Schedule:" in listed["detail"]


# --- 14. what-ifs restate the article's criterion ---------------------------------------------------------

def test_14_what_ifs_restate_the_criterion_never_a_goal():
    texts = {w.text for f in EVERY_FACTS for d in advise(f).drugs for w in d.what_if}
    assert "The article describes alemtuzumab for people with 2 or more prior treatment failures." in texts
    assert texts and all(t.startswith(("The article describes ", "The article's statements point to ")) for t in texts), texts
    assert not [t for t in texts if "would become" in t or "were" in t]


# --- issue 24, item 8: each caution carries both notes -------------------------------------------------

def test_24_8_each_caution_carries_the_attribution_and_the_caution_note(client):
    facts = {"ms_type": "relapsing", "severity": "mild", "conditions": ["infections", "depression", "allergies"]}
    rec = advise(facts)
    nat = rec.drug("natalizumab")
    assert len(nat.cautions) == 3
    note = rec.drug("natalizumab").cautions[0].note
    attribution = nat.cautions[0].attribution
    data = json.loads(emit(rec, "json"))
    assert all(c["note"] == note and c["attribution"] == attribution for c in data["drugs"][1]["cautions"])
    out = table(rec)
    block = out[out.index("Natalizumab"):out.index("The other drugs:")]
    assert flat(block).count(flat(attribution)) == 3 and flat(block).count(flat(note)) == 3
    md = markdown(rec)
    block = md[md.index("### Natalizumab"):]
    block = block[:block.index("\n## ")]
    assert flat(block).count(flat(attribution)) == 3 and flat(block).count(flat(note)) == 3
    text = page_text(client, "/advice?ms_type=relapsing&severity=mild&condition=infections&condition=depression&condition=allergies")
    block = text[text.index("Natalizumab (Tysabri)"):]
    block = block[:block.index("The other drugs")]
    assert block.count(flat(attribution)) == 3 and block.count(flat(note)) == 3
    mito = advise({**facts, "severity": "severe"}).drug("mitoxantrone")
    assert len(mito.cautions) == 2 and flat(detail(mito, "d")).count(flat(note)) == 2
    card = flat(detail(advise({**facts, "severity": "severe", "prior_failures": 2}).drug("alemtuzumab"), "d"))
    assert card.count(flat(note)) == 1 and card.count("by its position it is taken as alemtuzumab's") == 2  # the list, the caution


# --- the guard: kb check ----------------------------------------------------------------------------------

def _problems(directory):
    return [str(p) for p in check(directory, source=SOURCE).problems]


def test_guard_a_listed_drug_without_its_side_effects_fails_the_check(kb_copy):
    path = kb_copy / "drugs.toml"
    text = path.read_text("utf-8")
    start = text.index('[drug.side_effects]\nsection = "Side Effects of the Drugs — the unheaded list after')
    common = text.index("common = [", start)
    end = text.index("]\n", text.index("serious = [", start)) + 2
    path.write_text(text[:common] + "common = []\nserious = []\n" + text[end:], "utf-8")
    problems = _problems(kb_copy)
    assert any("ocrelizumab: shown as applicable" in p and "without its side effects" in p for p in problems), problems


def test_guard_a_status_the_kb_does_not_define_fails(kb_copy):
    path = kb_copy / "statuses.toml"
    text = path.read_text("utf-8")
    start = text.index('[[status]]\nid = "no_criteria"')
    path.write_text(text[:start] + text[text.index("[[status]]", start + 5):], "utf-8")
    problems = _problems(kb_copy)  # a KB's statuses are its own: the rule giving the status it no longer defines fails
    assert any("natalizumab.no_criteria" in p and "status: Input should be 'applicable', 'consider', 'not_applicable' or 'excluded'" in p
               for p in problems), problems
    path.write_text(text, "utf-8")
    rules = kb_copy / "decisions.toml"
    rules.write_text(rules.read_text("utf-8").replace('status = "no_criteria"', 'status = "maybe"'), "utf-8")
    assert any("natalizumab.no_criteria" in p and "status" in p for p in _problems(kb_copy))


def test_guard_a_drugs_note_given_whatever_its_status_fails(kb_copy):
    path = kb_copy / "notes.toml"
    path.write_text(path.read_text("utf-8").replace('statuses = ["applicable", "consider"]\n', ""), "utf-8")
    problems = _problems(kb_copy)
    assert any("mitoxantrone_watched_closely" in p and "whatever its status" in p for p in problems), problems
    assert _problems(KB_DIR) == []


def test_guard_the_shipped_kb_passes_and_the_command_says_what_it_proved():
    r = run("kb", "check", "--source", str(SOURCE))
    assert r.exit_code == 0, r.output
    assert "every drug shown as applicable or consider carries its side effects" in flat(r.stdout)
    Advisor()  # and loads


def test_5_a_not_given_text_on_a_rule_that_tests_no_such_fact_is_refused_plainly(kb_copy):
    path = kb_copy / "decisions.toml"
    path.write_text(path.read_text("utf-8").replace('id = "ocrelizumab.secondary_progressive"',
                                                    'id = "ocrelizumab.secondary_progressive"\ntext_not_given = "If no dose."'), "utf-8")
    problems = _problems(kb_copy)
    assert problems == ["decisions.toml: ocrelizumab.secondary_progressive: text_not_given: the rule tests no fact that may be not "
                        "given (mitoxantrone_cumulative_mg_m2)"], problems


# --- a second reading after issue 20 ---------------------------------------------------------------------

WHOLE_COURSE = "dates are given up to three years after the first infusion"


@pytest.mark.parametrize("dose", [100, 139.5])
def test_after_a_dose_received_no_surface_promises_a_three_year_course_of_dates(client, dose):
    """The schedule's note on a course from no dose contradicted "No dates are listed" once a dose was received."""
    rec = advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": dose})
    why = f"how many infusions remain after the {dose:g} mg/m² already received cannot be worked out"
    note = rec.drug("mitoxantrone").schedule.note
    assert note is not None and why in note
    for text in (table(rec), markdown(rec), page_text(client, f"/advice?ms_type=spms&severity=severe&mitoxantrone_cumulative_mg_m2={dose}"),
                 page_text(client, f"/schedule/mitoxantrone?start=2027-01-04&mitoxantrone_cumulative_mg_m2={dose}"),
                 flat(run("schedule", "mitoxantrone", "--start", "2027-01-04", "--mitoxantrone-cumulative-mg-m2", str(dose)).stdout),
                 flat(run("schedule", "mitoxantrone", "--start", "2027-01-04", "--mitoxantrone-cumulative-mg-m2", str(dose),
                          "--count", "2", "--format", "json").stdout)):
        assert WHOLE_COURSE not in flat(text)
    # without a dose (or with 0), the whole course and its note stay
    assert WHOLE_COURSE in flat(markdown(advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 0})))
    assert WHOLE_COURSE in flat(run("schedule", "mitoxantrone", "--start", "2027-01-04").stdout)


def test_the_page_says_what_remains_of_the_lifetime_maximum_as_the_other_formats_do(client):
    text = page_text(client, "/advice?ms_type=spms&severity=severe&mitoxantrone_cumulative_mg_m2=100")
    assert "100 mg/m² already received: 40 of the 140 mg/m² lifetime maximum remains." in text


def test_a_schedule_with_the_maximum_reached_says_why_no_dates_are_listed():
    for fmt in ("table", "markdown"):
        out = flat(run("schedule", "mitoxantrone", "--start", "2027-01-04", "--mitoxantrone-cumulative-mg-m2", "140", "--format", fmt).stdout)
        assert "No dates are listed: the lifetime maximum is reached." in out


def test_markdown_gives_a_schedule_only_to_a_listed_drug_as_the_table_page_and_cards_do():
    rec = advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 140})
    sections = {s.split(":")[0]: s for s in markdown(rec).split("### ")[1:]}
    assert "**Schedule:**" not in sections["Mitoxantrone hydrochloride"]  # excluded
    assert "**Schedule:**" not in sections["Natalizumab (Tysabri)"]  # no criteria
    assert "**Schedule:**" not in sections["Ocrelizumab (Ocrevus)"]  # not applicable
    assert "**Schedule:**" in markdown(advise({"ms_type": "ppms", "severity": "mild"})).split("### Ocrelizumab")[1]


def test_the_cards_serious_label_is_the_articles_words_without_a_stray_comma():
    card = cards_of(advise({"ms_type": "relapsing", "severity": "mild", "prior_failures": 2}))["alemtuzumab"]
    assert "- Very serious, and potentially fatal: autoimmune reactions" in card["detail"]
    assert ",:" not in card["detail"]


def test_no_heading_frames_another_fact_as_what_would_change_the_answer(client):
    """Item 14's what-ifs restate the article's criterion; their headings said "What would change this"."""
    facts = {"ms_type": "relapsing", "severity": "mild"}
    rec = advise(facts)
    texts = [page_text(client, "/advice?ms_type=relapsing&severity=mild"), cards_of(rec)["mitoxantrone"]["detail"],
             run("explain", "mitoxantrone", "--ms-type", "relapsing", "--severity", "mild").stdout,
             run("explain", "natalizumab", "--ms-type", "relapsing", "--severity", "mild", "--format", "markdown").stdout]
    for text in texts:
        assert "would change" not in text.lower() and "would list it" not in text.lower()
        assert "What the article describes for other facts" in text


def test_drugs_calls_the_first_list_the_more_common_side_effects_as_the_article_does():
    out = run("drugs", "natalizumab").stdout
    assert "- more common: infections" in out and "- common:" not in out


def test_the_drugs_page_says_what_else_the_article_says_of_a_drug_as_the_command_does(client):
    """`drugs mitoxantrone` said it is also a chemotherapy drug and that the doctor watches closely; the page did not."""
    text = page_text(client, "/drugs")
    for about in default_advisor().kb.drug("mitoxantrone").about:
        assert about.text in text and about.quote in text
    assert "Also: Mitoxantrone is an MS infusion treatment" in flat(run("drugs", "mitoxantrone").stdout)


def test_the_card_of_a_drug_carries_its_own_note_where_the_kb_gives_it():
    """Item 8's note (mitoxantrone applicable or consider) was on the table, Markdown and page, never on a card."""
    note = next(n for n in default_advisor().kb.notes if n.id == "mitoxantrone_watched_closely")
    for facts, shown in (({"ms_type": "spms", "severity": "severe"}, True), ({"ms_type": "ppms", "severity": "severe"}, True),
                         ({"ms_type": "spms", "severity": "mild"}, False),
                         ({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 140}, False)):
        card = cards_of(advise(facts))["mitoxantrone"]
        assert (note.text in flat(card["detail"]) and note.quote in flat(card["detail"])) is shown, facts
    assert all(note.text not in flat(c["detail"]) for d, c in cards_of(advise({"ms_type": "spms", "severity": "severe", "prior_failures": 2})).items()
               if d != "mitoxantrone")


def test_5_explain_never_shows_a_dose_not_given_as_a_number():
    out = flat(run("explain", "mitoxantrone", "--ms-type", "relapsing", "--severity", "severe").stdout)
    assert "is not given (decided as none received)" in out and "0.0" not in out
    assert "is 0 " in flat(run("explain", "mitoxantrone", "--ms-type", "relapsing", "--severity", "severe",
                               "--mitoxantrone-cumulative-mg-m2", "0").stdout)  # a dose given as 0 is that number, as written


def test_8_each_mitoxantrone_note_says_only_what_its_own_quote_says():
    """The watch note also said "it is also a chemotherapy drug used to treat cancer", which its quote does not."""
    notes = {n.id: n for n in advise({"ms_type": "spms", "severity": "severe"}).notes}
    watch, chemo = notes["mitoxantrone_watched_closely"], notes["mitoxantrone_chemotherapy"]
    assert "chemotherapy" not in watch.text and "chemotherapy" not in watch.quote
    assert "chemotherapy drug used to treat cancer" in chemo.text and "chemotherapy drug used to treat cancer" in chemo.quote
    assert "mitoxantrone_chemotherapy" not in {n.id for n in advise({"ms_type": "spms", "severity": "mild"}).notes}
