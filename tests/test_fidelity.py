"""Issue 10: the advice says what the article says, no more and no less (one test or more per item),
and the claim-word guard that keeps it so."""

import json
import re
import tomllib
from datetime import date

import pytest
from click.testing import CliRunner

from advisor import Advisor, Condition, KnowledgeBaseError, PatientFacts, advise
from advisor.cli import main
from advisor.kb.load import default_directory, load
from advisor.render import explain_drug, markdown, table
from advisor.schedule import infusions

KB_DIR = default_directory()
SOURCE = (KB_DIR / "sources" / "ms-infusions.txt").read_text("utf-8")


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input, env={"NO_COLOR": "1"})


def flat(text):
    return " ".join(text.split())


def listed_dates(out):
    return [date.fromisoformat(d) for d in re.findall(r"^ *\d+\. (\d{4}-\d{2}-\d{2})", out, re.MULTILINE)]


def every_text(rec):
    data = rec.model_dump(mode="json")
    out = []

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("text", "note", "attribution", "remaining") and isinstance(v, str):
                    out.append(v)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(data)
    return out


# --- 1. mitoxantrone's course is finite ------------------------------------------------------------

def test_1_mitoxantrone_schedule_ends_within_three_years_whatever_count_says(tmp_path):
    ics = tmp_path / "m.ics"
    r = run("schedule", "mitoxantrone", "--start", "2027-01-31", "--count", "20", "--ics", str(ics))
    assert r.exit_code == 0, r.output
    days = listed_dates(r.stdout)
    assert days[0] == date(2027, 1, 31) and max(days) <= date(2030, 1, 31) and len(days) == 13
    assert ics.read_bytes().count(b"BEGIN:VEVENT") == 13
    assert b"DTSTART;VALUE=DATE:2030" in ics.read_bytes() and b"DTSTART;VALUE=DATE:2031" not in ics.read_bytes()
    out = flat(r.stdout)
    assert "it ends when the cumulative dose reaches the lifetime maximum of 140 mg/m², likely within 2 to 3 years" in out
    assert "The article gives no dose per infusion" in out
    assert "... and on" not in out


def test_1_the_library_schedule_is_finite_too():
    sched = advise({"ms_type": "spms", "severity": "severe"}).drug("mitoxantrone").schedule
    assert sched.course_within.model_dump() == {"n": 3, "unit": "years"}
    days = [i.date for i in infusions(sched, date(2027, 3, 1))]  # would never end if the course were open
    assert days[-1] == date(2030, 3, 1) and len(days) == 13


def test_1_what_remains_of_the_lifetime_maximum_when_the_dose_received_is_known():
    r = run("schedule", "mitoxantrone", "--start", "2027-01-01", "--mitoxantrone-cumulative-mg-m2", "100")
    assert "100 mg/m² already received: 40 of the 140 mg/m² lifetime maximum remains." in flat(r.stdout)
    r = run("schedule", "mitoxantrone", "--start", "2027-01-01", "--mitoxantrone-cumulative-mg-m2", "140")
    assert listed_dates(r.stdout) == [] and "the 140 mg/m² lifetime maximum is reached; none of it remains" in flat(r.stdout)
    r = run("schedule", "mitoxantrone", "--start", "2027-01-01", "--mitoxantrone-cumulative-mg-m2", "150")
    assert listed_dates(r.stdout) == [] and "the 140 mg/m² lifetime maximum is passed; none of it remains" in flat(r.stdout)
    r = run("schedule", "natalizumab", "--start", "2027-01-01", "--mitoxantrone-cumulative-mg-m2", "10")
    assert r.exit_code == 2 and "no lifetime maximum" in r.stderr
    rec = advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 60})
    assert rec.drug("mitoxantrone").schedule.remaining_mg_m2 == 80
    assert advise({"ms_type": "spms", "severity": "severe"}).drug("mitoxantrone").schedule.remaining is None


# --- 2. ocrelizumab for SPMS -------------------------------------------------------------------------

def test_2_ocrelizumab_spms_says_the_article_does_not_mention_it():
    reason = advise({"ms_type": "spms", "severity": "mild"}).drug("ocrelizumab").reasons[0]
    assert reason.text == ("Secondary progressive MS (SPMS): the article says ocrelizumab is used to treat relapsing or "
                           "primary progressive forms of MS, and does not mention SPMS for it.")
    assert "not for" not in reason.text and " only" not in reason.text


# --- 3. natalizumab's not-listed reason --------------------------------------------------------------

def test_3_natalizumab_reason_says_the_article_gives_no_criteria():
    d = advise({"ms_type": "relapsing", "severity": "mild"}).drug("natalizumab")
    assert d.status.value == "no_criteria"  # issue 20, item 1
    text = d.reasons[0].text
    assert text == ("The article describes natalizumab (how it works and how often it is given) but gives no criteria for "
                    "choosing it, and neither recommends nor rules it out for any facts; ask your doctor.")


# --- 4. the unheaded lists are an attribution by position -------------------------------------------

@pytest.mark.parametrize("drug", ["alemtuzumab", "natalizumab", "ocrelizumab"])
def test_4_drugs_say_the_list_is_taken_by_position(drug):
    out = flat(run("drugs", drug).stdout)
    assert f"The article prints this list without a drug name; by its position it is taken as {drug}'s" in out


def test_4_section_labels_never_read_as_another_drugs():
    kb = load(KB_DIR)
    ocr = kb.drug("ocrelizumab")
    labels = [ocr.side_effects.section] + [c.section for c in kb.cautions if c.drug != "mitoxantrone"]
    labels += [n.section for n in kb.notes if n.section and n.drug != "mitoxantrone"]
    assert not [label for label in labels if "Mitoxantrone" in label]
    assert "taken by position as ocrelizumab’s" in ocr.side_effects.section


def test_4_every_caution_on_an_unheaded_list_carries_the_attribution():
    rec = advise({"ms_type": "relapsing", "severity": "mild", "conditions": [c.value for c in Condition]})
    for d in rec.drugs:
        for c in d.cautions:
            if "Side Effects of the Drugs —" in c.section:
                assert c.attribution and f"by its position it is taken as {d.drug}'s" in c.attribution, c.rule
                assert f"taken by position as {d.drug}'s" in c.text, c.rule
            else:
                assert c.attribution is None, c.rule
    md = markdown(rec)
    for drug in ("alemtuzumab", "natalizumab", "ocrelizumab"):
        assert f"by its position it is taken as {drug}'s" in md
    assert "by its position it is taken as" in flat(table(rec))


# --- 5. the closing paragraph for progressive MS -----------------------------------------------------

@pytest.mark.parametrize("ms_type", ["spms", "ppms", "relapsing"])
def test_5_everyone_gets_the_whole_closing_paragraph(ms_type):
    # issue 20, item 6: to everyone, whole (it was SPMS/PPMS only, and cut)
    rec = advise({"ms_type": ms_type, "severity": "mild"})
    n = {n.id: n for n in rec.notes}["progressive_ask_your_doctor"]
    assert n.text == ("If you have progressive MS or are looking for a better way to manage your symptoms, the article says to ask "
                      "your doctor about infusion treatments: they can help you decide if these drugs might be a good choice for you.")
    assert n.quote.startswith("If you have progressive MS or are looking for a better way to manage your symptoms")


def test_5_mild_spms_with_nothing_listed_still_gets_the_pointer():
    out = flat(run("advise", "--ms-type", "spms", "--severity", "mild", "--format", "table").stdout)
    assert "Drugs the article describes for these facts: none of the four infusion drugs" in out
    assert "If you have progressive MS or are looking for a better way to manage your symptoms, the article says to ask" in out


# --- 6, 7, 8. the infusion's own side effects, mitoxantrone's watch, the silences ------------------------

@pytest.mark.parametrize("facts", [{"ms_type": "relapsing", "severity": "mild"}, {"ms_type": "spms", "severity": "severe"}])
def test_6_infusion_side_effects_and_reaction_signs_in_every_recommendation(facts):
    notes = {n.id: n for n in advise(facts).notes}
    process, signs = notes["infusion_process_side_effects"], notes["infusion_reaction_symptoms"]
    for word in ("bruising or bleeding at the injection site", "flushing", "chills", "nausea"):
        assert word in process.text and word in process.quote
    for word in ("hives", "scaly patches", "warmness or fever", "rash"):
        assert word in signs.text and word in signs.quote


def test_3_and_7_explain_shows_the_drugs_own_notes():
    nat = flat(run("explain", "natalizumab", "--ms-type", "relapsing", "--severity", "mild").stdout)
    assert "The article describes natalizumab (how it works and how often it is given) but gives no criteria" in nat
    mito = flat(run("explain", "mitoxantrone", "--ms-type", "spms", "--severity", "severe").stdout)
    assert "If you receive mitoxantrone, your doctor will watch you very closely for signs of side effects" in mito


def test_7_mitoxantrone_is_watched_closely_and_is_a_chemotherapy_drug():
    out = flat(run("drugs", "mitoxantrone").stdout)
    assert "chemotherapy drug used to treat cancer" in out
    assert "Your doctor will watch you very closely for signs of side effects during treatment with mitoxantrone" in out
    notes = {n.id: n for n in advise({"ms_type": "spms", "severity": "severe"}).notes}
    assert notes["mitoxantrone_watched_closely"].drug == "mitoxantrone"
    assert "watch you very closely" in notes["mitoxantrone_watched_closely"].quote


def test_8_the_silences_are_named_never_filled_in():
    for facts in ({"ms_type": "relapsing", "severity": "mild"}, {"ms_type": "ppms", "severity": "severe"}):
        n = {n.id: n for n in advise(facts).notes}["not_said"]
        assert n.quote is None
        for topic in ("pregnancy", "breastfeeding", "vaccination", "how long an infusion takes", "cost", "ask your doctor"):
            assert topic in n.text
        # issue 20, item 7: nothing that imports outside knowledge, nothing the article does say
        for topic in ("JC-virus", "premedication", "who gives the infusion", "hepatitis B"):
            assert topic not in n.text
        assert n.text.startswith("The article says nothing about")


# --- 9. conditions from the KB ---------------------------------------------------------------------------

def test_9_the_vocabulary_is_the_kbs():
    items = tomllib.loads((KB_DIR / "conditions.toml").read_text("utf-8"))["condition"]
    assert [c.value for c in Condition] == [i["id"] for i in items]
    assert {"other_autoimmune_disease", "allergies", "past_infusion_reaction"} <= {c.value for c in Condition}
    assert all(i["description"] for i in items)


def test_9_old_name_accepted_everywhere_and_reported_under_the_new_one(tmp_path):
    facts = {"ms_type": "relapsing", "severity": "mild", "conditions": ["autoimmune_disease"]}
    rec = advise(facts)
    assert [c.value for c in rec.facts.conditions] == ["other_autoimmune_disease"]
    assert rec.drug("alemtuzumab").cautions[0].condition.value == "other_autoimmune_disease"
    assert Condition("autoimmune_disease") is Condition.other_autoimmune_disease is Condition.autoimmune_disease
    assert PatientFacts.parse({**facts, "conditions": ["Autoimmune_Disease"]}).conditions == (Condition.other_autoimmune_disease,)
    r = run("advise", "--ms-type", "relapsing", "--severity", "mild", "--condition", "autoimmune_disease", "--format", "json")
    assert json.loads(r.stdout)["facts"]["conditions"] == ["other_autoimmune_disease"]
    case = tmp_path / "p.yaml"
    case.write_text("ms_type: relapsing\nseverity: mild\nconditions: [autoimmune_disease]\n")
    assert json.loads(run("advise", "--case", str(case), "--format", "json").stdout)["facts"]["conditions"] == ["other_autoimmune_disease"]
    csv = tmp_path / "c.csv"
    csv.write_text("id,ms_type,severity,conditions\nc1,relapsing,mild,autoimmune_disease;pml\n")
    out = tmp_path / "o.jsonl"
    assert run("batch", str(csv), "--out", str(out)).exit_code == 0
    record = json.loads(out.read_text())
    assert record["cautions"]["alemtuzumab"] == ["other_autoimmune_disease"]


@pytest.mark.parametrize("condition,drugs", [
    ("infections", {"alemtuzumab", "natalizumab", "mitoxantrone", "ocrelizumab"}),
    ("weakened_immune_system", {"ocrelizumab"}),
    ("allergies", {"natalizumab"}),
    ("past_infusion_reaction", {"alemtuzumab", "natalizumab", "mitoxantrone", "ocrelizumab"}),
])
def test_9_new_cautions(condition, drugs):
    rec = advise({"ms_type": "relapsing", "severity": "mild", "conditions": [condition]})
    assert {d.drug for d in rec.drugs if d.cautions} == drugs


def test_9_descriptions_shown_in_schema_help_and_interview():
    schema = json.loads(run("schema", "facts").stdout)
    described = json.dumps(schema)
    assert "the hepatitis B virus is already in the person's system" in described
    assert "a history of PML" in described and "current or frequent infections" in described
    assert "other_autoimmune_disease" in schema["properties"]["conditions"]["items"]["examples"]
    assert "autoimmune_disease" not in schema["properties"]["conditions"]["items"]["examples"]  # an alias: accepted, not offered
    assert re.fullmatch(schema["properties"]["conditions"]["items"]["pattern"], "Autoimmune_Disease")
    assert "the shingles virus is already in the person's system" in flat(run("conditions").stdout)  # advise --help points there
    r = run("interview", "--format", "json", input="ppms\nmild\n0\nn\n0\nautoimmune_disease, allergies\n")
    assert r.exit_code == 0, r.output
    assert "a history of PML" in r.stderr
    assert json.loads(r.stdout)["facts"]["conditions"] == ["other_autoimmune_disease", "allergies"]


def test_9_a_broken_vocabulary_is_refused_at_load(kb_copy):
    path = kb_copy / "conditions.toml"
    path.write_text(path.read_text("utf-8").replace('aliases = ["autoimmune_disease"]', 'aliases = ["pml"]'), "utf-8")
    with pytest.raises(KnowledgeBaseError) as e:
        load(kb_copy)
    assert any(f == "conditions.toml" and "'pml' names two conditions" in m for f, _, m in e.value.problems)


# --- 10. cautions never change a status ---------------------------------------------------------------

def test_10_cautions_say_they_do_not_change_the_status():
    sentence = "The article names this as a side effect; it does not say whether already having it affects the choice."
    facts = {"ms_type": "relapsing", "severity": "severe", "prior_failures": 2, "conditions": ["pml"]}
    rec = advise(facts)
    assert all(c.note == sentence for d in rec.drugs for c in d.cautions)
    assert sentence in flat(table(rec)) and sentence in markdown(rec)
    assert sentence in flat(explain_drug(Advisor(), rec, "natalizumab"))
    assert [d.status for d in rec.drugs] == [d.status for d in advise({**facts, "conditions": []}).drugs]


# --- 11. near the maximum ----------------------------------------------------------------------------

def test_11_near_the_maximum_says_what_remains():
    rec = advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 139.9})
    s = rec.drug("mitoxantrone").schedule
    assert s.remaining == "139.9 mg/m² already received: 0.1 of the 140 mg/m² lifetime maximum remains."
    assert s.remaining_mg_m2 == 0.1
    assert "0.1 of the 140 mg/m² lifetime maximum remains" in flat(table(rec)) and "0.1 of the 140" in markdown(rec)


# --- 12. the article's own words ---------------------------------------------------------------------

def test_12_wording():
    rec = advise({"ms_type": "relapsing", "severity": "mild", "conditions": ["liver_disease", "infections"]})
    notes = {n.id: n.text for n in rec.notes}
    assert "more likely within the first 2 hours" in notes["infusion_reaction_window"]
    assert "most likely" not in " ".join(every_text(rec))
    assert notes["not_right_for_everyone"].endswith("Still, many people have found them helpful.")
    assert all(w.text.startswith(("The article describes ", "The article's statements point to ")) for d in rec.drugs
               for w in d.what_if) and any(d.what_if for d in rec.drugs)
    liver = next(c for c in rec.drug("natalizumab").cautions if c.condition.value == "liver_disease")
    assert "with symptoms such as" in liver.text
    assert "such as" in next(e.text for e in load(KB_DIR).drug("natalizumab").side_effects.serious if "liver" in e.text)
    mito = next(c for c in rec.drug("mitoxantrone").cautions if c.condition.value == "infections")
    assert "can include" in mito.text and "commonly lowers" not in mito.text


# --- 13. the calendar carries what the screen says ------------------------------------------------------

def ics_text(tmp_path, drug):
    path = tmp_path / f"{drug}.ics"
    assert run("schedule", drug, "--start", "2027-01-04", "--count", "3", "--ics", str(path)).exit_code == 0
    return path.read_bytes().decode("utf-8").replace("\r\n ", "").replace("\\,", ",").replace("\\;", ";").replace("\\n", "\n")


def test_13_ics_events_carry_the_reaction_window_the_disclaimer_and_the_assumption(tmp_path):
    ocr = ics_text(tmp_path, "ocrelizumab")
    for event in ocr.split("BEGIN:VEVENT")[1:]:
        assert "more likely within the first 2 hours" in event and "up to 24 hours later" in event
        assert "not a prescription" in event
        assert "counted here from the second 300 mg infusion: an assumption" in event
    nat = ics_text(tmp_path, "natalizumab")
    assert "not a prescription" in nat and "24 hours" in nat and "300 mg" not in nat


# --- the guard: no text says more than its quote ----------------------------------------------------------

def check(kb_dir):
    return run("kb", "check", "--rules-dir", str(kb_dir))


def edit(path, old, new):
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")


@pytest.mark.parametrize("file,old,new,rule,word", [
    ("decisions.toml", "and does not mention SPMS for it.", "not for SPMS.", "ocrelizumab.secondary_progressive", "'not for'"),
    ("cautions.toml", "Cancer is among the very serious", "Cancer is the only very serious", "alemtuzumab.cancer", "'only'"),
    ("cautions.toml", "Kidney failure is among mitoxantrone's serious side effects.",
     "Mitoxantrone is contraindicated with kidney failure.", "mitoxantrone.kidney_disease", "'contraindicated'"),
    ("notes.toml", "within the first 2 hours", "within the first 3 hours", "infusion_reaction_window", "'3'"),
    ("notes.toml", "ask your doctor about these.", "you must ask your doctor about these.", "not_said", "'must'"),
    ("drugs.toml", "Once every 4 weeks.", "Once every 6 weeks.", "natalizumab", "'6'"),
    ("conditions.toml", 'description = "a blood disorder"', 'description = "a blood disorder (contraindicated)"', "blood_disorder",
     "'contraindicated'"),
    ("conditions.toml", 'label = "Blood disorder"', 'label = "Blood disorder (contraindicated)"', "blood_disorder", "'contraindicated'"),
    # the wider claim words (review finding): each overstates a quote that does not make the claim
    ("decisions.toml", "the article says doctors give alemtuzumab", "the article says doctors should always give alemtuzumab",
     "alemtuzumab.two_or_more_failures", "'always', 'should'"),
    ("decisions.toml", "ocrelizumab is used to treat relapsing forms of MS.", "ocrelizumab is the first-line, proven treatment for relapsing MS.",
     "ocrelizumab.relapsing", "'first-line', 'proven'"),
    ("decisions.toml", "ocrelizumab is the first drug approved to treat PPMS.", "ocrelizumab is the best drug approved to treat PPMS.",
     "ocrelizumab.primary_progressive", "'best'"),
    ("cautions.toml", "Congestive heart failure (CHF) is among mitoxantrone's serious side effects.",
     "Mitoxantrone cannot be given to people with congestive heart failure (CHF).", "mitoxantrone.heart_failure", "'cannot'"),
    ("cautions.toml", "PML, a rare and deadly brain infection, is among", "PML, a rare but never fatal brain infection, is among",
     "natalizumab.pml", "'never'"),
    ("notes.toml", "Still, many people have found them helpful.", "Still, they are safe for most people and required for none.",
     "not_right_for_everyone", "'most', 'none', 'required', 'safe'"),
    ("drugs.toml", "which may reduce inflammation and damage to nerve cells.", "which cures inflammation and prevents damage to nerve cells.",
     "alemtuzumab", "'cure', 'prevent'"),
    ("drugs.toml", "Stops the damaging immune cells", "Completely eliminates the damaging immune cells", "natalizumab",
     "'completely', 'eliminate'"),
    ("notes.toml", "ask your doctor about these.", "these are guaranteed not to matter.", "not_said", "'guaranteed'"),
])
def test_guard_an_overstatement_fails_kb_check_and_load(kb_copy, file, old, new, rule, word):
    edit(kb_copy / file, old, new)
    r = check(kb_copy)
    assert r.exit_code == 1
    assert any(line.startswith(f"problem: {file}: {rule}: text says {word}") for line in r.stderr.splitlines()), r.stderr
    with pytest.raises(KnowledgeBaseError):
        load(kb_copy)


def test_guard_allow_lists_a_claim_for_one_rule(kb_copy):
    edit(kb_copy / "cautions.toml", "Kidney failure is among", "Only kidney failure is among")
    assert check(kb_copy).exit_code == 1
    edit(kb_copy / "cautions.toml", 'quote = "kidney failure"\n', 'quote = "kidney failure"\nallow = ["only"]\n')
    assert check(kb_copy).exit_code == 0


@pytest.mark.parametrize("entry,message", [("maybe", "no claim word"), ("must", "does not use")])
def test_guard_refuses_a_meaningless_or_stale_allowance(kb_copy, entry, message):
    edit(kb_copy / "cautions.toml", 'quote = "kidney failure"\n', f'quote = "kidney failure"\nallow = ["{entry}"]\n')
    r = check(kb_copy)
    assert r.exit_code == 1 and f"cautions.toml: mitoxantrone.kidney_disease: allow lists '{entry}'" in r.stderr and message in r.stderr


def test_guard_number_words_and_digits_match_by_value():
    from advisor.kb.claims import overstatement
    assert overstatement("within 2 to 3 years, 140 mg/m²", "within two to three years (140 mg/m2)") is None
    assert overstatement("within 2 to 4 years", "within two to three years") is not None
    assert overstatement("$prior_failures other medications", "at least two") is None  # a placeholder is no number
    assert overstatement("Only a doctor", None) is not None


@pytest.mark.parametrize("text,quote", [
    ("the article recommends it", "it’s only recommended for people with severe MS"),   # one family, any form
    ("a deadly infection", "potentially fatal side effects"),
    ("Stops the immune cells", "works by stopping the immune cells"),
    ("aren't right for everyone", "these drugs aren’t right for everyone"),
    ("NOT   FOR people", "not for people"),
])
def test_guard_a_claim_word_of_the_quotes_family_passes(text, quote):
    from advisor.kb.claims import overstatement
    assert overstatement(text, quote) is None


@pytest.mark.parametrize("text,quote,word", [
    ("it may work better", "it may work best", "'better'"),          # another family is another claim
    ("you should ask", "ask your doctor", "'should'"),
    ("it is safe", "it is safer", None),                            # safe, safer: one family
    ("all of them", "these infusion treatments", "'all'"),
    ("it cannot be used", "it is used", "'cannot'"),
    ("it can't be used", "it is used", "'cannot'"),
    ("a first-line drug", "the first drug approved", "'first-line'"),
    ("it is approved", "the first drug", "'approved'"),
    ("it will work", "it may work", "'will'"),
    ("a rare side effect", "a side effect", "'rare'"),
    ("It is required", "it is given", "'required'"),
    ("It is the standard; it avoids relapses", "it reduces flare-ups", "'avoid'"),
])
def test_guard_names_the_wider_claim_words(text, quote, word):
    from advisor.kb.claims import overstatement
    problem = overstatement(text, quote)
    assert (problem is None) if word is None else problem.startswith(f"text says {word}, which")


def test_guard_passes_on_the_shipped_kb():
    r = run("kb", "check")
    assert r.exit_code == 0 and "no text claims more than its quote" in r.stdout


def test_guard_the_one_pattern_finds_what_each_familys_own_pattern_finds():
    """claims() scans with one pattern (one word boundary, then the families): it finds, in every text of
    the shipped KB and in words at the edges of words and scripts, the families that each family's own
    whole-word pattern finds."""
    from advisor.kb import claims as c
    from advisor.kb.load import load

    kb = load(default_directory())
    texts = [t for item in (*kb.rules, *kb.cautions, *kb.notes) for t in (item.text, getattr(item, "quote", None)) if t]
    texts += ["ſafe ＳＡＦＥ unsafe safely_ x-safe 2safe safe2 Ｋ", "nonetheless none-such ALL-CAPS all.", "can’t can't can  not",
              "first-line first line firstline", "é only ÿonly onlyé", "$must ${only} must"]
    for text in texts:
        plain = c._PLACEHOLDER.sub(" ", text)
        own = {family for family, words in c.CLAIM_WORDS.items() if re.search(rf"\b(?:{words})\b", plain, re.IGNORECASE)}
        assert set(c.claims.__wrapped__(text)[0]) == own, text


def test_guard_one_pattern_finds_what_each_familys_own_pattern_finds():
    """The claim-word pattern (one branch per first letter, for speed) finds, at each word start, the
    first family in order whose words match there, as ``\\b(?:words)\\b`` per family would: checked on
    every text of the KB and the article, and on random runs of claim words, case and joiners."""
    import random

    from advisor.kb.claims import _CLAIMS, _FAMILY, CLAIM_WORDS

    own = [(family, re.compile(rf"\b(?:{words})\b", re.IGNORECASE)) for family, words in CLAIM_WORDS.items()]

    def reference(text: str) -> list[tuple[int, int, str]]:
        found, pos = [], 0
        while True:
            hits = [(m.start(), i, m.end(), family) for i, (family, p) in enumerate(own)
                    if (m := p.search(text, pos)) and m.group()[:1].isalpha()]
            if not hits:
                return found
            start, _, end, family = min(hits)
            found.append((start, end, family))
            pos = end

    texts = [line for name in ("drugs.toml", "decisions.toml", "cautions.toml", "notes.toml")
             for line in (default_directory() / name).read_text(encoding="utf-8").splitlines()]
    texts += (default_directory() / "sources" / "ms-infusions.txt").read_text(encoding="utf-8").splitlines()
    words = [w for ws in CLAIM_WORDS.values() for w in re.findall(r"[a-z]+", ws)]
    words += ["NOT FOR", "no  one", "can't", "can’t", "wipe out", "first-line", "first line", "contra-indicated",
              "ſafe", "\u212aill", "nonexclusive", "alls", "_all", "all_", "é", "2", "x"]
    rng = random.Random(7)
    texts += ["".join(rng.choice(words).upper() if rng.random() < 0.2 else rng.choice(words)
                      + rng.choice([" ", "", "-", ".", "_", "'", "\n"]) for _ in range(rng.randint(1, 8))) for _ in range(3000)]
    for text in texts:
        assert [(m.start(), m.end(), _FAMILY[m.lastgroup]) for m in _CLAIMS.finditer(text)] == reference(text), text
