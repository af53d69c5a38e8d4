"""Cautions: the unheaded lists are taken by position and every caution from them says so; each caution
carries the attribution and the caution note; each condition meets the cautions of its drugs and no
caution of our own inference; a caution never changes a status."""

import json
import warnings

import pytest

from advisor import Advisor, Condition, advise
from advisor.kb.load import default_directory, load
from advisor.render import emit
from advisor.render.report import markdown
from advisor.render.terminal import explain_drug, table
from advisor.serve.cards import detail
from article_helpers import client, flat, HTML, page_text, run  # noqa: F401 (the client fixture)

with warnings.catch_warnings():  # starlette's TestClient prefers httpx2; httpx is what we depend on
    warnings.simplefilter("ignore")


KB_DIR = default_directory()


# --- the unheaded lists: an attribution by position ---------------------------------------------------------

@pytest.mark.parametrize("drug", ["alemtuzumab", "natalizumab", "ocrelizumab"])
def test_drugs_say_the_list_is_taken_by_position(drug):
    out = flat(run("drugs", drug).stdout)
    assert f"The article prints this list without a drug name. By its position it is taken as {drug}'s" in out


def test_section_labels_never_read_as_another_drugs():
    kb = load(KB_DIR)
    ocr = kb.drug("ocrelizumab")
    labels = [ocr.side_effects.section] + [c.section for c in kb.cautions if c.drug != "mitoxantrone"]
    labels += [n.section for n in kb.notes if n.section and n.drug != "mitoxantrone"]
    assert not [label for label in labels if "Mitoxantrone" in label]
    assert "taken by position as ocrelizumab’s" in ocr.side_effects.section


def test_every_caution_on_an_unheaded_list_carries_the_attribution():
    rec = advise({"ms_type": "relapsing", "severity": "mild", "conditions": [c.value for c in Condition]})
    for d in rec.drugs:
        for c in d.cautions:
            if "Side Effects of the Drugs —" in c.section:
                assert c.attribution and f"By its position it is taken as {d.drug}'s" in c.attribution, c.rule
                assert f"taken by position as {d.drug}'s" in c.text, c.rule
            else:
                assert c.attribution is None, c.rule
    md = markdown(rec)
    for drug in ("alemtuzumab", "natalizumab", "ocrelizumab"):
        assert f"By its position it is taken as {drug}'s" in md
    assert "By its position it is taken as" in flat(table(rec))


def test_each_caution_carries_the_attribution_and_the_caution_note(client):
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
    assert card.count(flat(note)) == 1 and card.count("By its position it is taken as alemtuzumab's") == 2  # the list, the caution


# --- which conditions meet which cautions -------------------------------------------------------------------

@pytest.mark.parametrize("condition,drugs", [
    ("infections", {"alemtuzumab", "natalizumab", "mitoxantrone", "ocrelizumab"}),
    ("weakened_immune_system", {"ocrelizumab"}),
    ("allergies", {"natalizumab"}),
    ("past_infusion_reaction", {"alemtuzumab", "natalizumab", "mitoxantrone", "ocrelizumab"}),
])
def test_infections_a_weakened_immune_system_allergies_and_a_past_reaction_meet_their_cautions(condition, drugs):
    rec = advise({"ms_type": "relapsing", "severity": "mild", "conditions": [condition]})
    assert {d.drug for d in rec.drugs if d.cautions} == drugs


def test_a_weakened_immune_system_meets_no_mitoxantrone_caution():
    rec = advise({"ms_type": "spms", "severity": "severe", "conditions": ["weakened_immune_system"]})
    assert rec.drug("mitoxantrone").cautions == ()
    assert [c.rule for c in rec.drug("ocrelizumab").cautions] == ["ocrelizumab.weakened_immune_system"]
    explained = run("explain", "mitoxantrone", "--ms-type", "spms", "--severity", "severe", "--condition", "weakened_immune_system")
    assert "Cautions: none of the person's conditions meets a side effect the article names for this drug" in flat(explained.stdout)


# --- a caution never changes a status -----------------------------------------------------------------------

def test_cautions_say_they_do_not_change_the_status():
    sentence = "The article names this as a side effect; it does not say whether already having it affects the choice."
    facts = {"ms_type": "relapsing", "severity": "severe", "prior_failures": 2, "conditions": ["pml"]}
    rec = advise(facts)
    assert all(c.note == sentence for d in rec.drugs for c in d.cautions)
    assert sentence in flat(table(rec)) and sentence in markdown(rec)
    assert sentence in flat(explain_drug(Advisor(), rec, "natalizumab"))
    assert [d.status for d in rec.drugs] == [d.status for d in advise({**facts, "conditions": []}).drugs]
