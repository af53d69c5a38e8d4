"""The notes everyone gets and what the article leaves unsaid: the closing paragraph for progressive MS,
the silences named and never filled in, each drug's own notes (on the command line, the page and the
card), the general notes and natalizumab in one CDS info card, and the disclaimer in the article's words."""

import warnings

import pytest

from advisor import advise, default_advisor
from advisor.render import emit
from article_helpers import cards_of, client, flat, HTML, KB_ID, page_text, run  # noqa: F401 (the client fixture)

with warnings.catch_warnings():  # starlette's TestClient prefers httpx2; httpx is what we depend on
    warnings.simplefilter("ignore")


# --- the notes each person gets -----------------------------------------------------------------------------

def test_the_notes_each_person_gets():
    mild = {n.id: n for n in advise({"ms_type": "relapsing", "severity": "mild"}).notes}
    severe = {n.id: n for n in advise({"ms_type": "relapsing", "severity": "severe"}).notes}
    maxed = {n.id: n for n in advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 140}).notes}
    # 6: the closing paragraph, whole, to everyone
    assert mild["progressive_ask_your_doctor"].text.startswith("Do you have progressive MS, or are you looking for a better way to manage")
    # 8: mitoxantrone's watch only where it is applicable or consider, worded "If you receive mitoxantrone"
    assert "mitoxantrone_watched_closely" not in mild and "mitoxantrone_watched_closely" not in maxed
    assert severe["mitoxantrone_watched_closely"].text.startswith("If you receive mitoxantrone, your doctor will watch you very closely")


@pytest.mark.parametrize("ms_type", ["spms", "ppms", "relapsing"])
def test_everyone_gets_the_whole_closing_paragraph(ms_type):
    # issue 20, item 6: to everyone, whole (it was SPMS/PPMS only, and cut)
    rec = advise({"ms_type": ms_type, "severity": "mild"})
    n = {n.id: n for n in rec.notes}["progressive_ask_your_doctor"]
    assert n.text == ("Do you have progressive MS, or are you looking for a better way to manage your symptoms? Then the article "
                      "says to ask your doctor about infusion treatments. They can help you decide if these drugs might be a good "
                      "choice for you.")
    assert n.quote.startswith("If you have progressive MS or are looking for a better way to manage your symptoms")


def test_mild_spms_with_nothing_listed_still_gets_the_pointer():
    out = flat(run("advise", "--ms-type", "spms", "--severity", "mild", "--format", "table").stdout)
    assert "Drugs the article describes for these facts: none of the four infusion drugs" in out
    assert "Do you have progressive MS, or are you looking for a better way to manage your symptoms? Then the article says to ask" in out


@pytest.mark.parametrize("facts", [{"ms_type": "spms", "severity": "severe"}, {"ms_type": "relapsing", "severity": "mild"},
                                   {"ms_type": "ppms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 140}])
def test_one_info_card_carries_the_general_notes_quoted_and_natalizumab(facts):
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


# --- the silences -------------------------------------------------------------------------------------------

def test_the_silences_are_named_never_filled_in():
    for facts in ({"ms_type": "relapsing", "severity": "mild"}, {"ms_type": "ppms", "severity": "severe"}):
        n = {n.id: n for n in advise(facts).notes}["not_said"]
        assert n.quote is None
        for topic in ("pregnancy", "breastfeeding", "vaccination", "how long an infusion takes", "cost", "ask your doctor"):
            assert topic in n.text
        # issue 20, item 7: nothing that imports outside knowledge, nothing the article does say
        for topic in ("JC-virus", "premedication", "who gives the infusion", "hepatitis B"):
            assert topic not in n.text
        assert n.text.startswith("The article says nothing about")


def test_the_silences_note_names_only_topics_the_article_does_not_touch():
    text = {n.id: n for n in advise({"ms_type": "ppms", "severity": "mild"}).notes}["not_said"].text
    assert text == ("The article says nothing about pregnancy, breastfeeding, vaccination, how long an infusion takes, or cost. "
                    "Please ask your doctor about these.")


# --- each drug's own notes ----------------------------------------------------------------------------------

def test_explain_shows_the_drugs_own_notes():
    nat = flat(run("explain", "natalizumab", "--ms-type", "relapsing", "--severity", "mild").stdout)
    assert "The article says how natalizumab works and how often it is given. But it gives no criteria" in nat
    mito = flat(run("explain", "mitoxantrone", "--ms-type", "spms", "--severity", "severe").stdout)
    assert "If you receive mitoxantrone, your doctor will watch you very closely for signs of side effects" in mito


def test_mitoxantrone_is_watched_closely_and_is_a_chemotherapy_drug():
    out = flat(run("drugs", "mitoxantrone").stdout)
    assert "chemotherapy drug used to treat cancer" in out
    assert "Your doctor will watch you very closely for signs of side effects during treatment with mitoxantrone" in out
    notes = {n.id: n for n in advise({"ms_type": "spms", "severity": "severe"}).notes}
    assert notes["mitoxantrone_watched_closely"].drug == "mitoxantrone"
    assert "watch you very closely" in notes["mitoxantrone_watched_closely"].quote


def test_each_mitoxantrone_note_says_only_what_its_own_quote_says():
    """The watch note also said "it is also a chemotherapy drug used to treat cancer", which its quote does not."""
    notes = {n.id: n for n in advise({"ms_type": "spms", "severity": "severe"}).notes}
    watch, chemo = notes["mitoxantrone_watched_closely"], notes["mitoxantrone_chemotherapy"]
    assert "chemotherapy" not in watch.text and "chemotherapy" not in watch.quote
    assert "chemotherapy drug used to treat cancer" in chemo.text and "chemotherapy drug used to treat cancer" in chemo.quote
    assert "mitoxantrone_chemotherapy" not in {n.id for n in advise({"ms_type": "spms", "severity": "mild"}).notes}


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


# --- the disclaimer -----------------------------------------------------------------------------------------

def test_the_disclaimer_says_a_doctor_can_help_decide_on_every_surface(client):
    rec = advise({"ms_type": "ppms", "severity": "mild"})
    assert "only" not in rec.disclaimer.lower() and "can help decide on a treatment" in rec.disclaimer
    for fmt in ("table", "markdown", "json"):
        assert "can help decide on a treatment" in flat(emit(rec, fmt))
    assert "can help decide on a treatment" in page_text(client, "/advice?ms_type=ppms&severity=mild")
    sched = run("schedule", "natalizumab", "--start", "2027-01-04")
    assert "can help decide on a treatment" in flat(sched.stdout) and "Only a doctor" not in sched.stdout
