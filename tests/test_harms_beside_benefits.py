"""Harms beside benefits: every listed drug carries its side effects (and no other drug does), in every
format, on the page and the card; everyone reads the infusion's own side effects and the signs of a
reaction; the serious lists and mitoxantrone's toxicity paragraph as the article words them."""

import itertools
import json
import warnings

import pytest

from advisor import advise
from advisor.kb.load import default_directory, load
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


KB_DIR = default_directory()


TOXIC = "Receiving too much of this drug puts you at risk of side effects that can be very toxic to your body"


# --- each listed drug's side effects ------------------------------------------------------------------------

def test_every_listed_drug_carries_its_side_effects_and_no_other_does():
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
def test_side_effects_in_every_format(fmt):
    rec = advise({"ms_type": "relapsing", "severity": "severe", "prior_failures": 2, "rapidly_worsening": True})
    out = flat(emit(rec, fmt))
    assert set(rec.listed) == {"alemtuzumab", "mitoxantrone", "ocrelizumab"}
    for item in ("common cold", "Guillain-Barré syndrome", "bone pain", "congestive heart failure (CHF)",
                 "reactivation of hepatitis B or shingles", "cancer, including breast cancer"):
        assert item in out, item
    for drug in ("alemtuzumab", "ocrelizumab"):  # the by-position attribution
        assert f"By its position it is taken as {drug}'s" in out
    if fmt != "json":
        assert "infections; allergic reactions" not in out  # natalizumab's list: not shown, it is not listed


def test_side_effects_on_the_page_and_the_card(client):
    text = page_text(client, "/advice?ms_type=ppms&severity=mild")
    assert "Side effects the article names for Ocrelizumab" in text and "cancer, including breast cancer" in text
    assert "By its position it is taken as ocrelizumab's" in text
    card = cards_of(advise({"ms_type": "ppms", "severity": "mild"}))["ocrelizumab"]
    assert "Side effects the article names for it" in card["detail"] and "cancer, including breast cancer" in card["detail"]
    assert "By its position it is taken as ocrelizumab's" in card["detail"]


def test_drugs_calls_the_first_list_the_more_common_side_effects_as_the_article_does():
    out = run("drugs", "natalizumab").stdout
    assert "- more common: infections" in out and "- common:" not in out


@pytest.mark.parametrize("facts", [{"ms_type": "relapsing", "severity": "mild"}, {"ms_type": "spms", "severity": "severe"}])
def test_infusion_side_effects_and_reaction_signs_in_every_recommendation(facts):
    notes = {n.id: n for n in advise(facts).notes}
    process, signs = notes["infusion_process_side_effects"], notes["infusion_reaction_symptoms"]
    for word in ("bruising or bleeding at the injection site", "flushing", "chills", "nausea"):
        assert word in process.text and word in process.quote
    for word in ("hives", "scaly patches", "warmness or fever", "rash"):
        assert word in signs.text and word in signs.quote


# --- serious side effects and toxicity ----------------------------------------------------------------------

def test_mitoxantrone_keeps_the_risk_of_serious_side_effects_and_quotes_the_toxicity_at_the_maximum():
    for facts in ({"ms_type": "spms", "severity": "severe"}, {"ms_type": "relapsing", "severity": "severe", "rapidly_worsening": True},
                  {"ms_type": "ppms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 10}):
        d = advise(facts).drug("mitoxantrone")
        assert d.status.value in ("applicable", "consider")
        assert all("because of the risk of serious side effects" in r.text for r in d.reasons), [r.text for r in d.reasons]
    d = advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 140}).drug("mitoxantrone")
    assert d.status.value == "excluded"
    assert any(r.quote.startswith("Receiving too much of this drug puts you at risk of side effects that can be very toxic to your body")
               for r in d.reasons)


def test_alemtuzumabs_serious_list_keeps_very_serious_and_potentially_fatal(client):
    rec = advise({"ms_type": "relapsing", "severity": "mild", "prior_failures": 2})
    se = rec.drug("alemtuzumab").side_effects
    assert se.serious_quote == "This drug can also cause very serious, and potentially fatal, side effects."
    assert "very serious, and potentially fatal, side effects:" in flat(table(rec))
    assert "Very serious, and potentially fatal, side effects" in markdown(rec)
    assert "Very serious, and potentially fatal, side effects" in page_text(client, "/advice?ms_type=relapsing&severity=mild&prior_failures=2")


def test_the_cards_serious_label_is_the_articles_words_without_a_stray_comma():
    card = cards_of(advise({"ms_type": "relapsing", "severity": "mild", "prior_failures": 2}))["alemtuzumab"]
    assert "- Very serious, and potentially fatal: autoimmune reactions" in card["detail"]
    assert ",:" not in card["detail"]


def test_the_toxicity_paragraph_is_not_a_serious_side_effect_but_stands_apart_on_every_surface(client):
    from advisor.serve.cards import detail

    rec = advise({"ms_type": "spms", "severity": "severe"})
    se = rec.drug("mitoxantrone").side_effects
    assert [e.text for e in se.serious] == ["congestive heart failure (CHF)", "kidney failure"]
    assert se.after is not None and se.after.quote.startswith(TOXIC) and "blood issues" in se.after.text
    also = "the article also says: receiving too much of mitoxantrone puts you at risk of side effects"
    table = flat(emit(rec, "table"))
    assert "serious side effects: congestive heart failure (CHF); kidney failure the article also says: " in table
    assert also in table
    markdown = emit(rec, "markdown")
    assert "- **The article also says:** receiving too much of mitoxantrone" in markdown and f"> “{TOXIC}" in markdown
    assert json.loads(emit(rec, "json"))["drugs"][2]["side_effects"]["after"]["quote"].startswith(TOXIC)
    card = flat(detail(rec.drug("mitoxantrone"), rec.disclaimer))
    assert "- Serious: congestive heart failure (CHF); kidney failure - The article also says: receiving too much" in card
    page = page_text(client, "/advice?ms_type=spms&severity=severe")
    assert "kidney failure The article also says: receiving too much of mitoxantrone" in page and TOXIC in page
    drugs = flat(run("drugs", "mitoxantrone").stdout)
    assert "serious: kidney failure The article also says: receiving too much" in drugs
    assert "The article also says: receiving too much" in page_text(client, "/drugs")
    explained = flat(run("explain", "mitoxantrone", "--ms-type", "spms", "--severity", "severe").stdout)
    assert "Serious side effects: congestive heart failure (CHF); kidney failure The article also says: receiving" in explained
