"""Issue 20, a second reading: the disclaimer's "only", the general notes and natalizumab on CDS cards,
a reason's two quotes, the toxicity paragraph apart from the serious list, no inferred caution, why the
course's dates stop, and labels and doses as written. One test or more per point."""

import json

import pytest

# the first round's helpers: flat text, a CLI run, the app's test client (a fixture) and a page's text
from test_fidelity_round3 import client, flat, page_text, run  # noqa: F401 (client: a fixture, requested by name)

from advisor import advise
from advisor.errors import KnowledgeBaseError
from advisor.kb.load import load
from advisor.render import emit



# --- A: the disclaimer follows the article's closing words, with no "only" ----------------------------

def test_a_the_disclaimer_says_a_doctor_can_help_decide_on_every_surface(client):
    rec = advise({"ms_type": "ppms", "severity": "mild"})
    assert "only" not in rec.disclaimer.lower() and "can help decide on a treatment" in rec.disclaimer
    for fmt in ("table", "markdown", "json"):
        assert "can help decide on a treatment" in flat(emit(rec, fmt))
    assert "can help decide on a treatment" in page_text(client, "/advice?ms_type=ppms&severity=mild")
    sched = run("schedule", "natalizumab", "--start", "2027-01-04")
    assert "can help decide on a treatment" in flat(sched.stdout) and "Only a doctor" not in sched.stdout


def test_a_a_disclaimer_claiming_more_than_the_article_fails_the_kb(kb_copy):
    path = kb_copy / "kb.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("not a prescription: a doctor who knows the person can help decide on a treatment.",
                                 "not a prescription. Only a doctor who knows the person can decide on a treatment."),
                    encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as e:
        load(kb_copy)
    assert any(f == "kb.toml" and "'only'" in m for f, _, m in e.value.problems)


# --- E: no caution of our own inference ---------------------------------------------------------------

def test_e_a_weakened_immune_system_meets_no_mitoxantrone_caution():
    rec = advise({"ms_type": "spms", "severity": "severe", "conditions": ["weakened_immune_system"]})
    assert rec.drug("mitoxantrone").cautions == ()
    assert [c.rule for c in rec.drug("ocrelizumab").cautions] == ["ocrelizumab.weakened_immune_system"]
    explained = run("explain", "mitoxantrone", "--ms-type", "spms", "--severity", "severe", "--condition", "weakened_immune_system")
    assert "Cautions: none of the person's conditions meets a side effect the article names for this drug" in flat(explained.stdout)


# --- F: why a course's dates stop, in the article's words ---------------------------------------------

@pytest.mark.parametrize("dose", [None, "40"])
def test_f_the_course_end_says_why_in_the_articles_words(client, dose):
    args = ["schedule", "mitoxantrone", "--start", "2026-01-05", "--count", "20"]
    args += ["--mitoxantrone-cumulative-mg-m2", dose] if dose else []
    why = "the article says the lifetime maximum dose “will likely be reached within two to three years”"
    out = flat(run(*args).stdout)
    assert f"No date is listed after 2029-01-05, whatever --count says: {why}" in out
    assert why in flat(run(*args, "--format", "markdown").stdout)
    url = "/schedule/mitoxantrone?start=2026-01-05&count=20" + (f"&mitoxantrone_cumulative_mg_m2={dose}" if dose else "")
    assert f"No date is listed after 2029-01-05: {why}" in page_text(client, url)


# --- G: labels, and doses as written ------------------------------------------------------------------

def test_g_markdown_names_conditions_by_their_labels():
    rec = advise({"ms_type": "spms", "severity": "severe", "conditions": ["heart_failure", "pml"]})
    assert "- **Conditions:** Heart failure, PML" in emit(rec, "markdown")
    explained = run("explain", "mitoxantrone", "--ms-type", "spms", "--severity", "severe", "--condition", "heart_failure",
                    "--format", "markdown")
    assert "- **Conditions:** Heart failure" in explained.stdout and "heart_failure," not in explained.stdout


@pytest.mark.parametrize("dose,shown", [("0", "is 0"), ("139.99999", "is 139.99999"), ("0.0000001", "is 0.0000001")])
def test_g_explain_writes_a_given_dose_with_its_own_digits(dose, shown):
    r = run("explain", "mitoxantrone", "--ms-type", "spms", "--severity", "severe", "--mitoxantrone-cumulative-mg-m2", dose)
    out = flat(r.stdout)
    assert f"needs mitoxantrone_cumulative_mg_m2 >= 140, {shown}" in out and "is 0.0 " not in out + " " and "e-07" not in out
    assert f"mitoxantrone received: {shown[3:]} mg/m²" in out
    data = json.loads(run("explain", "mitoxantrone", "--ms-type", "spms", "--severity", "severe",
                          "--mitoxantrone-cumulative-mg-m2", dose, "--format", "json").stdout)
    assert any(shown in f for m in data["not_fired"] for f in m["failed"])


# --- D: the toxicity paragraph apart from the serious list --------------------------------------------

TOXIC = "Receiving too much of this drug puts you at risk of side effects that can be very toxic to your body"


def test_d_the_toxicity_paragraph_is_not_a_serious_side_effect_but_stands_apart_on_every_surface(client):
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


# --- C: each part of a reason shows its own quote -----------------------------------------------------

BEST = "It may work best for people with secondary progressive MS (SPMS) or rapidly worsening MS."
RISK = "Because of the risk of serious side effects, it’s only recommended for people with severe MS."


@pytest.mark.parametrize("facts,rule,quotes", [
    ({"ms_type": "spms", "severity": "severe"}, "mitoxantrone.severe_spms", [BEST, RISK]),
    ({"ms_type": "relapsing", "severity": "severe", "rapidly_worsening": True}, "mitoxantrone.severe_rapidly_worsening", [BEST, RISK]),
    ({"ms_type": "ppms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 10}, "mitoxantrone.severe_other", [RISK, BEST]),
])
def test_c_a_mitoxantrone_reason_shows_both_its_quotes_on_every_surface(client, facts, rule, quotes):
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


def test_c_each_quote_of_a_reason_is_checked_verbatim(kb_copy):
    path = kb_copy / "decisions.toml"
    text = path.read_text(encoding="utf-8")
    assert text.count('also = [{ quote = "Because of the risk') == 2
    path.write_text(text.replace('also = [{ quote = "Because of the risk', 'also = [{ quote = "Owing to the risk', 1), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as e:
        load(kb_copy)
    assert any(i == "mitoxantrone.severe_spms" and "quote not found verbatim" in m and "Owing to" in m
               for _, i, m in e.value.problems)


def test_c_a_reason_claims_only_what_one_of_its_quotes_says(kb_copy):
    path = kb_copy / "decisions.toml"
    text = path.read_text(encoding="utf-8")
    risk_also = 'also = [{ quote = "Because of the risk of serious side effects, it’s only recommended for people with severe MS.", ' \
                'section = "Mitoxantrone hydrochloride" }]\n'
    path.write_text(text.replace(risk_also, "", 1), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as e:
        load(kb_copy)
    assert any(i == "mitoxantrone.severe_spms" and "'only'" in m and "'recommended'" in m for _, i, m in e.value.problems)
    r = run("kb", "check", "--rules-dir", str(kb_copy))
    assert r.exit_code == 1 and "mitoxantrone.severe_spms" in r.output


def test_c_a_further_quote_is_validated_at_load(kb_copy):
    path = kb_copy / "decisions.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('also = [{ quote = "Because', 'also = [{ page = 3, quote = "Because', 1), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as e:
        load(kb_copy)
    assert any(i == "mitoxantrone.severe_spms" and "also.0.page" in m for _, i, m in e.value.problems)


# --- B: the general notes and natalizumab on CDS, in one info card ------------------------------------

@pytest.mark.parametrize("facts", [{"ms_type": "spms", "severity": "severe"}, {"ms_type": "relapsing", "severity": "mild"},
                                   {"ms_type": "ppms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 140}])
def test_b_one_info_card_carries_the_general_notes_quoted_and_natalizumab(facts):
    from advisor.serve.cards import advice_cards

    rec = advise(facts)
    cards = advice_cards(rec, [], {"name": "n", "version": "1", "sha256": "0"}, "title", "http://127.0.0.1/advice")
    general = [c for c in cards if c["extension"]["ms-infusion-advisor"]["status"] == "general-notes"]
    assert len(general) == 1 and len(cards) == 1 + sum(1 for d in rec.drugs if d.drug in rec.listed or d.status.value == "excluded")
    card = general[0]
    assert card["indicator"] == "info" and len(card["summary"]) < 140 and card["source"] == {"label": "title"}
    assert card["summary"] == "General notes from the MS infusions article, quoted; Natalizumab (Tysabri): no criteria"
    text = flat(card["detail"].replace("\\", ""))
    general_notes = [n for n in rec.notes if n.drug is None]
    assert {n.id for n in general_notes} >= {"infusion_process_side_effects", "infusion_reaction_window", "aggressive_or_advanced",
                                             "not_right_for_everyone", "progressive_ask_your_doctor"}
    for n in general_notes:
        assert flat(n.text) in text
        if n.quote:
            assert f"> “{flat(n.quote)}”" in text
    assert "If you have progressive MS or are looking for a better way to manage your symptoms, ask your doctor" in text
    assert "These infusion treatments may be especially helpful to people with aggressive or advanced MS." in text
    nat = rec.drug("natalizumab")
    assert flat(nat.reasons[0].text) in text and f"> “{flat(nat.reasons[0].quote)}”" in text
    assert card["extension"]["ms-infusion-advisor"]["rules"] == ["natalizumab.no_criteria"]
    assert card["extension"]["ms-infusion-advisor"]["notes"] == [n.id for n in general_notes]
    for c in cards:  # the drug cards do not repeat the general notes: said once
        if c is not card:
            assert "aggressive or advanced" not in c["detail"]
