"""`kb check` (advisor.kb.checks) keeps statuses, side effects and notes whole: a listed drug without its
side effects, a status the KB does not define, a drug's note given whatever its status, a "not given" text
on a rule that tests no such fact all fail, and the shipped KB passes, the command saying what it proved."""

from click.testing import CliRunner

from advisor import Advisor
from advisor.cli import main
from advisor.kb.checks import check
from advisor.kb.load import default_directory

KB_DIR = default_directory()


SOURCE = KB_DIR / "sources" / "ms-infusions.txt"


def _problems(directory):
    return [str(p) for p in check(directory, source=SOURCE).problems]


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input, env={"NO_COLOR": "1"})


def flat(text):
    return " ".join(text.split())


def test_a_listed_drug_without_its_side_effects_fails_the_check(kb_copy):
    path = kb_copy / "drugs.toml"
    text = path.read_text("utf-8")
    start = text.index('[drug.side_effects]\nsection = "Side Effects of the Drugs — the unheaded list after')
    common = text.index("common = [", start)
    end = text.index("]\n", text.index("serious = [", start)) + 2
    path.write_text(text[:common] + "common = []\nserious = []\n" + text[end:], "utf-8")
    (kb_copy / "matters.toml").unlink()  # its choices would name the removed side effects (a load problem of their own)
    problems = _problems(kb_copy)
    assert any("ocrelizumab: shown as applicable" in p and "without its side effects" in p for p in problems), problems


def test_a_status_the_kb_does_not_define_fails(kb_copy):
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


def test_a_drugs_note_given_whatever_its_status_fails(kb_copy):
    path = kb_copy / "notes.toml"
    path.write_text(path.read_text("utf-8").replace('statuses = ["applicable", "consider"]\n', ""), "utf-8")
    problems = _problems(kb_copy)
    assert any("mitoxantrone_watched_closely" in p and "whatever its status" in p for p in problems), problems
    assert _problems(KB_DIR) == []


def test_a_not_given_text_on_a_rule_that_tests_no_such_fact_is_refused_plainly(kb_copy):
    path = kb_copy / "decisions.toml"
    path.write_text(path.read_text("utf-8").replace('id = "ocrelizumab.secondary_progressive"',
                                                    'id = "ocrelizumab.secondary_progressive"\ntext_not_given = "If no dose."'), "utf-8")
    problems = _problems(kb_copy)
    assert problems == ["decisions.toml: ocrelizumab.secondary_progressive: text_not_given: the rule tests no fact that may be not "
                        "given (mitoxantrone_cumulative_mg_m2)"], problems


def test_the_shipped_kb_passes_and_the_command_says_what_it_proved():
    r = run("kb", "check", "--source", str(SOURCE))
    assert r.exit_code == 0, r.output
    assert "every drug shown as applicable or consider carries its side effects" in flat(r.stdout)
    Advisor()  # and loads
