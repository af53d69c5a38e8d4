"""Each drug's status, and its reasons, as the article gives them on every surface: natalizumab with no
criteria for any facts, in its own group; mitoxantrone excluded for MS that is not severe; ocrelizumab for
SPMS unmentioned; the statuses are the KB's; each reason shows its quotes; the what-ifs restate the
article's criterion."""

import itertools
import json
import warnings

import pytest
from click.testing import CliRunner

from advisor import advise
from advisor.cli import main
from advisor.core.models import Status
from advisor.kb.load import default_directory
from advisor.render import emit
from advisor.render.report import markdown
from advisor.render.terminal import table
from article_helpers import cards_of, client, flat, HTML, KB_ID, page_text, run  # noqa: F401 (the client fixture)

with warnings.catch_warnings():  # starlette's TestClient prefers httpx2; httpx is what we depend on
    warnings.simplefilter("ignore")


EVERY_FACTS = [{"ms_type": t, "severity": s, "prior_failures": pf, "rapidly_worsening": rw, **dose}
               for t, s, pf, rw, dose in itertools.product(["relapsing", "spms", "ppms"], ["mild", "moderate", "severe"], [0, 2],
                                                           [False, True], [{}, {"mitoxantrone_cumulative_mg_m2": 0},
                                                                           {"mitoxantrone_cumulative_mg_m2": 140}])]


def _enums(node):
    if isinstance(node, dict):
        if "enum" in node:
            yield node["enum"]
        for v in node.values():
            yield from _enums(v)
    elif isinstance(node, list):
        for v in node:
            yield from _enums(v)


KB_DIR = default_directory()


RISK = "Because of the risk of serious side effects, it’s only recommended for people with severe MS."


BEST = "It may work best for people with secondary progressive MS (SPMS) or rapidly worsening MS."


# --- natalizumab: no criteria -------------------------------------------------------------------------------

@pytest.mark.parametrize("facts", EVERY_FACTS[::7])
def test_natalizumab_has_no_criteria_for_every_fact_set_and_is_never_listed(facts):
    rec = advise(facts)
    nat = rec.drug("natalizumab")
    assert nat.status.value == "no_criteria" and "natalizumab" not in rec.listed
    assert nat.reasons[0].text == ("The article says how natalizumab works and how often it is given. But it gives no criteria "
                                   "for choosing it. It neither recommends it nor rules it out for any facts. Ask your doctor.")
    assert nat.side_effects is None and nat.what_if == ()


def test_natalizumab_in_its_own_group_on_the_table_the_markdown_and_the_page(client):
    facts = {"ms_type": "relapsing", "severity": "severe", "rapidly_worsening": True}
    rec = advise(facts)
    out = table(rec)
    group = out.index("Described in the article with no criteria:")
    assert out.index("Drugs the article describes for these facts:") < out.index("Ocrelizumab") < group < out.index("Natalizumab")
    assert "not applicable  Natalizumab" not in out and "NO CRITERIA" in out
    md = markdown(rec)
    assert md.index("## Described in the article with no criteria") < md.index("### Natalizumab (Tysabri): no criteria")
    assert md.index("## Drugs the article describes for these facts") < md.index("### Ocrelizumab")
    text = page_text(client, "/advice?ms_type=relapsing&severity=severe&rapidly_worsening=true")
    listed_part = text[text.index("Drugs the article describes for these facts"):text.index("Described in the article with no criteria")]
    assert "Natalizumab" not in listed_part
    own = text[text.index("Described in the article with no criteria"):]
    assert own.index("Natalizumab") < own.index("Described without criteria")


def test_the_aggressive_or_advanced_line_is_a_note_to_everyone_about_all_four(client):
    for facts in EVERY_FACTS[::11]:
        note = {n.id: n for n in advise(facts).notes}["aggressive_or_advanced"]
        assert note.drug is None and note.quote == "These infusion treatments may be especially helpful to people with aggressive or advanced MS."
        assert note.text == ("This is about all four infusion drugs. The article says these infusion treatments may be especially "
                             "helpful to people with aggressive or advanced MS.")
    reasons = [r.text for f in EVERY_FACTS for d in advise(f).drugs for r in d.reasons]
    assert not [t for t in reasons if "aggressive or advanced" in t]  # no drug's status rests on it any more


def test_natalizumabs_reason_says_the_article_gives_no_criteria():
    d = advise({"ms_type": "relapsing", "severity": "mild"}).drug("natalizumab")
    assert d.status.value == "no_criteria"  # issue 20, item 1
    text = d.reasons[0].text
    assert text == ("The article says how natalizumab works and how often it is given. But it gives no criteria for "
                    "choosing it. It neither recommends it nor rules it out for any facts. Ask your doctor.")


# --- mitoxantrone and ocrelizumab ---------------------------------------------------------------------------

@pytest.mark.parametrize("severity", ["mild", "moderate"])
def test_mitoxantrone_is_excluded_for_ms_that_is_not_severe(severity):
    for ms_type, dose in itertools.product(["relapsing", "spms", "ppms"], [None, 0, 100, 140]):
        facts = {"ms_type": ms_type, "severity": severity, **({} if dose is None else {"mitoxantrone_cumulative_mg_m2": dose})}
        d = advise(facts).drug("mitoxantrone")
        assert d.status.value == "excluded"
        assert any(r.quote.endswith("so mitoxantrone should only be used in severe MS cases.") for r in d.reasons)


def test_ocrelizumab_for_spms_says_the_article_does_not_mention_it():
    reason = advise({"ms_type": "spms", "severity": "mild"}).drug("ocrelizumab").reasons[0]
    assert reason.text == ("Secondary progressive MS (SPMS). The article says ocrelizumab is used to treat relapsing or "
                           "primary progressive forms of MS. It does not mention SPMS for it.")
    assert "not for" not in reason.text and " only" not in reason.text


# --- the statuses are the KB's ------------------------------------------------------------------------------

def test_statuses_are_the_kbs_and_every_surface_follows(tmp_path):
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


# --- reasons and what-ifs -----------------------------------------------------------------------------------

def test_the_table_shows_every_reason():
    rec = advise({"ms_type": "spms", "severity": "severe", "rapidly_worsening": True, "mitoxantrone_cumulative_mg_m2": 150})
    reasons = rec.drug("mitoxantrone").reasons
    assert len(reasons) == 2
    out = flat(table(rec))
    assert all(flat(r.text) in out for r in reasons)


@pytest.mark.parametrize("facts,rule,quotes", [
    ({"ms_type": "spms", "severity": "severe"}, "mitoxantrone.severe_spms", [BEST, RISK]),
    ({"ms_type": "relapsing", "severity": "severe", "rapidly_worsening": True}, "mitoxantrone.severe_rapidly_worsening", [BEST, RISK]),
    ({"ms_type": "ppms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 10}, "mitoxantrone.severe_other", [RISK, BEST]),
])
def test_a_mitoxantrone_reason_shows_both_its_quotes_on_every_surface(client, facts, rule, quotes):
    from urllib.parse import urlencode

    from advisor.serve.cards import detail

    rec = advise(facts)
    reason = next(r for r in rec.drug("mitoxantrone").reasons if r.rule == rule)
    assert [reason.quote, *(a.quote for a in reason.also)] == quotes
    assert "because of the risk of serious side effects" in reason.text and "may work best" in reason.text
    table = flat(emit(rec, "table", explain=True))
    markdown = flat(emit(rec, "markdown"))
    data = json.loads(emit(rec, "json"))
    card = flat(detail(rec.drug("mitoxantrone"), rec.disclaimer))
    page = page_text(client, "/advice?" + urlencode(facts))
    args = ["explain", "mitoxantrone", "--ms-type", facts["ms_type"], "--severity", "severe"]
    args += ["--rapidly-worsening"] if facts.get("rapidly_worsening") else []
    args += ["--mitoxantrone-cumulative-mg-m2", "10"] if "mitoxantrone_cumulative_mg_m2" in facts else []
    explained = flat(run(*args).stdout)
    explained_md = flat(run(*args, "--format", "markdown").stdout)
    for quote in quotes:
        for surface in (table, markdown, card, page, explained, explained_md):
            assert quote in surface
    mito = next(d for d in data["drugs"] if d["drug"] == "mitoxantrone")
    shown = next(r for r in mito["reasons"] if r["rule"] == rule)
    assert [shown["quote"], *(a["quote"] for a in shown["also"])] == quotes
    assert RISK in flat(run("rules", "mitoxantrone").stdout) or RISK in flat(run("rules").stdout)
    assert RISK in page_text(client, "/rules")


def test_what_ifs_restate_the_criterion_never_a_goal():
    texts = {w.text for f in EVERY_FACTS for d in advise(f).drugs for w in d.what_if}
    assert "The article describes alemtuzumab for people with 2 or more prior treatment failures." in texts
    assert texts and all(t.startswith(("The article describes ", "The article's statements point to ")) for t in texts), texts
    assert not [t for t in texts if "would become" in t or "were" in t]


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
