"""The claim-word guard (advisor.kb.claims, run by `kb check` and at load): no text of the KB says more
than its quotes ("only", "must", "safe", numbers...); an allowance names one rule and a claim it needs; the
one scanning pattern finds what each family's own pattern finds."""

import re

import pytest
from click.testing import CliRunner

from advisor import KnowledgeBaseError
from advisor.cli import main
from advisor.kb.load import default_directory, load


def edit(path, old, new):
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input, env={"NO_COLOR": "1"})


def check(kb_dir):
    return run("kb", "check", "--rules-dir", str(kb_dir))


# --- an overstatement fails ---------------------------------------------------------------------------------

@pytest.mark.parametrize("file,old,new,rule,word", [
    ("decisions.toml", "It does not mention SPMS for it.", "not for SPMS.", "ocrelizumab.secondary_progressive", "'not for'"),
    ("cautions.toml", "Cancer is among the very serious", "Cancer is the only very serious", "alemtuzumab.cancer", "'only'"),
    ("cautions.toml", "Kidney failure is among the serious side effects of mitoxantrone.",
     "Mitoxantrone is contraindicated with kidney failure.", "mitoxantrone.kidney_disease", "'contraindicated'"),
    ("notes.toml", "within the first 2 hours", "within the first 3 hours", "infusion_reaction_window", "'3'"),
    ("notes.toml", "ask your doctor about these.", "you must ask your doctor about these.", "not_said", "'must'"),
    ("drugs.toml", "Once every 4 weeks.", "Once every 6 weeks.", "natalizumab", "'6'"),
    ("conditions.toml", 'description = "a blood disorder"', 'description = "a blood disorder (contraindicated)"', "blood_disorder",
     "'contraindicated'"),
    ("conditions.toml", 'label = "Blood disorder"', 'label = "Blood disorder (contraindicated)"', "blood_disorder", "'contraindicated'"),
    # the wider claim words (review finding): each overstates a quote that does not make the claim
    ("decisions.toml", "The article says doctors give alemtuzumab", "The article says doctors should always give alemtuzumab",
     "alemtuzumab.two_or_more_failures", "'always', 'should'"),
    ("decisions.toml", "ocrelizumab is used to treat relapsing forms of MS.", "ocrelizumab is the first-line, proven treatment for relapsing MS.",
     "ocrelizumab.relapsing", "'first-line', 'proven'"),
    ("decisions.toml", "ocrelizumab is the first drug approved to treat PPMS.", "ocrelizumab is the best drug approved to treat PPMS.",
     "ocrelizumab.primary_progressive", "'best'"),
    ("cautions.toml", "Congestive heart failure (CHF) is among the serious side effects of mitoxantrone.",
     "Mitoxantrone cannot be given to people with congestive heart failure (CHF).", "mitoxantrone.heart_failure", "'cannot'"),
    ("cautions.toml", "PML, a rare and deadly brain infection, is among", "PML, a rare but never fatal brain infection, is among",
     "natalizumab.pml", "'never'"),
    ("notes.toml", "Still, many people have found them helpful.", "Still, they are safe for most people and required for none.",
     "not_right_for_everyone", "'most', 'none', 'required', 'safe'"),
    ("drugs.toml", "This may reduce inflammation and damage to nerve cells.", "This cures inflammation and prevents damage to nerve cells.",
     "alemtuzumab", "'cure', 'prevent'"),
    ("drugs.toml", "Stops the damaging immune cells", "Completely eliminates the damaging immune cells", "natalizumab",
     "'completely', 'eliminate'"),
    ("notes.toml", "ask your doctor about these.", "these are guaranteed not to matter.", "not_said", "'guaranteed'"),
])
def test_an_overstatement_fails_kb_check_and_load(kb_copy, file, old, new, rule, word):
    edit(kb_copy / file, old, new)
    r = check(kb_copy)
    assert r.exit_code == 1
    assert any(line.startswith(f"problem: {file}: {rule}: text says {word}") for line in r.stderr.splitlines()), r.stderr
    with pytest.raises(KnowledgeBaseError):
        load(kb_copy)


def test_a_reason_claims_only_what_one_of_its_quotes_says(kb_copy):
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


def test_a_disclaimer_claiming_more_than_the_article_fails_the_kb(kb_copy):
    path = kb_copy / "kb.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("not a prescription. A doctor who knows the person can help decide on a treatment.",
                                 "not a prescription. Only a doctor who knows the person can decide on a treatment."),
                    encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as e:
        load(kb_copy)
    assert any(f == "kb.toml" and "'only'" in m for f, _, m in e.value.problems)


def test_the_guard_passes_on_the_shipped_kb():
    r = run("kb", "check")
    assert r.exit_code == 0 and "no text claims more than its quote" in r.stdout


# --- allowances ---------------------------------------------------------------------------------------------

def test_allow_lists_a_claim_for_one_rule(kb_copy):
    edit(kb_copy / "cautions.toml", "Kidney failure is among", "Only kidney failure is among")
    assert check(kb_copy).exit_code == 1
    edit(kb_copy / "cautions.toml", 'quote = "kidney failure"\n', 'quote = "kidney failure"\nallow = ["only"]\n')
    assert check(kb_copy).exit_code == 0


@pytest.mark.parametrize("entry,message", [("maybe", "no claim word"), ("must", "does not use")])
def test_a_meaningless_or_stale_allowance_is_refused(kb_copy, entry, message):
    edit(kb_copy / "cautions.toml", 'quote = "kidney failure"\n', f'quote = "kidney failure"\nallow = ["{entry}"]\n')
    r = check(kb_copy)
    assert r.exit_code == 1 and f"cautions.toml: mitoxantrone.kidney_disease: allow lists '{entry}'" in r.stderr and message in r.stderr


# --- what counts as the same claim --------------------------------------------------------------------------

def test_number_words_and_digits_match_by_value():
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
def test_a_claim_word_of_the_quotes_family_passes(text, quote):
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
def test_the_wider_claim_words_are_named(text, quote, word):
    from advisor.kb.claims import overstatement
    problem = overstatement(text, quote)
    assert (problem is None) if word is None else problem.startswith(f"text says {word}, which")


# --- the scanning pattern -----------------------------------------------------------------------------------

def test_the_one_pattern_finds_the_families_in_every_kb_text_and_at_word_edges():
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


def test_the_one_pattern_finds_the_first_family_at_each_word_start():
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
