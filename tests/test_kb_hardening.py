"""A knowledge base from anywhere (--rules-dir, Advisor(rules_dir=...)) is validated completely before
any work, and refused, naming file and item: files linked outside it, FIFOs, devices and oversized files,
deep nesting, numbers and thresholds out of range, blank quotes, control characters, confusable drug
names, rules beyond what the engine compiles, gaps and overlaps in the decision space."""

import os
import stat
import time
import tomllib

import pytest
from click.testing import CliRunner

from advisor import Advisor, KnowledgeBaseError
from advisor.cli import main
from advisor.kb.checks import check
from advisor.kb.files import MAX_KB_FILE_BYTES
from advisor.kb.load import load
from advisor.kb.space import decision_space, value_classes
from advisor.text import name_key

MITOXANTRONE_QUOTE = ("You receive this drug once every three months for a lifetime maximum cumulative dose (140 mg/m2) "
                      "that will likely be reached within two to three years.")

def edit(path, old, new, count=1):
    text = path.read_text("utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), "utf-8")


def problems_of(directory):
    with pytest.raises(KnowledgeBaseError) as e:
        Advisor(rules_dir=directory)  # refused at once, before any advice
    return e.value.problems


def assert_problem(directory, file, item, *words):
    problems = problems_of(directory)
    assert any(f == file and (item is None or i == item) and all(w in m for w in words) for f, i, m in problems), problems


# --- files --------------------------------------------------------------------------------------------

def test_a_toml_file_symlinked_outside_the_directory_is_refused(kb_copy, tmp_path):
    outside = tmp_path / "elsewhere.toml"
    outside.write_bytes((kb_copy / "notes.toml").read_bytes())
    (kb_copy / "notes.toml").unlink()
    (kb_copy / "notes.toml").symlink_to(outside)
    assert_problem(kb_copy, "notes.toml", "", "symlink leading outside")


def test_a_toml_file_symlinked_inside_the_directory_is_read(kb_copy):
    (kb_copy / "notes.real").write_bytes((kb_copy / "notes.toml").read_bytes())
    (kb_copy / "notes.toml").unlink()
    (kb_copy / "notes.toml").symlink_to(kb_copy / "notes.real")
    assert Advisor(rules_dir=kb_copy).kb.notes


def test_a_source_symlinked_outside_the_directory_is_refused(kb_copy, tmp_path):
    source = kb_copy / "sources" / "ms-infusions.txt"
    outside = tmp_path / "article.txt"
    outside.write_bytes(source.read_bytes())
    source.unlink()
    source.symlink_to(outside)
    assert any("inside the knowledge-base directory" in m for _, _, m in problems_of(kb_copy))


@pytest.mark.parametrize("name", ["cautions.toml", "sources/ms-infusions.txt"])
def test_a_fifo_is_refused_without_hanging(kb_copy, name):
    (kb_copy / name).unlink()
    os.mkfifo(kb_copy / name)
    problems = problems_of(kb_copy)
    assert any("not a regular file" in m for _, _, m in problems), problems


@pytest.mark.parametrize("name", ["notes.toml", "sources/ms-infusions.txt"])
def test_a_device_is_refused(kb_copy, name):
    (kb_copy / name).unlink()
    os.mknod(kb_copy / name, 0o666 | stat.S_IFCHR, os.makedev(1, 5))  # like /dev/zero: endless
    problems = problems_of(kb_copy)
    assert any("not a regular file" in m for _, _, m in problems), problems


def test_a_file_over_the_size_limit_is_refused(kb_copy):
    path = kb_copy / "decisions.toml"
    path.write_text(path.read_text("utf-8") + "#" * MAX_KB_FILE_BYTES + "\n", "utf-8")
    assert_problem(kb_copy, "decisions.toml", "", "larger than 2 MiB")


# --- raw data --------------------------------------------------------------------------------------------

def test_nesting_deeper_than_the_schema_is_refused(kb_copy):
    edit(kb_copy / "decisions.toml", 'op = ">=", value = 2 }', 'op = ">=", value = [[[[[[[[2]]]]]]]] }')
    assert_problem(kb_copy, "decisions.toml", "alemtuzumab.two_or_more_failures", "nested deeper than the knowledge-base schema")


def test_nesting_100000_deep_is_refused_not_a_recursion_error(kb_copy):
    path = kb_copy / "notes.toml"
    path.write_text(path.read_text("utf-8") + "deep = " + "[" * 100_000 + "]" * 100_000 + "\n", "utf-8")
    assert_problem(kb_copy, "notes.toml", "", "nested deeper")


@pytest.mark.parametrize("value,words", [
    ("10000000000000", ("integer out of range",)),
    ("9" * 5000, ("not valid TOML",)),
    ("inf", ("must be a finite number",)),
    ("nan", ("must be a finite number",)),
    ("-inf", ("must be a finite number",)),
])
def test_numbers_out_of_range_inf_and_nan_are_refused(kb_copy, value, words):
    edit(kb_copy / "decisions.toml", 'op = ">=", value = 140 }', f'op = ">=", value = {value} }}')
    assert_problem(kb_copy, "decisions.toml", None, *words)


@pytest.mark.parametrize("threshold", ['"prior_failures", op = ">=", value = 5000', '"prior_failures", op = ">=", value = -1',
                                       '"mitoxantrone_cumulative_mg_m2", op = ">=", value = -0.5'])
def test_thresholds_outside_what_the_facts_model_accepts_are_refused(kb_copy, threshold):
    fact = threshold.split('"')[1]
    if fact == "prior_failures":
        edit(kb_copy / "decisions.toml", '"prior_failures", op = ">=", value = 2', threshold)
    else:
        edit(kb_copy / "decisions.toml", '"mitoxantrone_cumulative_mg_m2", op = ">=", value = 140', threshold)
    assert_problem(kb_copy, "decisions.toml", None, "outside what the facts model accepts")


@pytest.mark.parametrize("file,old,new", [
    ("decisions.toml",
     'quote = "Doctors give alemtuzumab (Lemtrada) to people who haven’t responded well to at least two other MS medications."',
     'quote = "   "'),
    ("cautions.toml", 'quote = "kidney failure"', 'quote = " \\t "'),
    ("drugs.toml", 'quote = "rash"', 'quote = ""'),
])
def test_blank_quotes_are_refused(kb_copy, file, old, new):
    edit(kb_copy / file, old, new)
    assert any(f == file and ("blank" in m or "at least 1 character" in m) for f, _, m in problems_of(kb_copy))


@pytest.mark.parametrize("text", ["\\u001b]0;pwned\\u0007", "\\u001b[2J", "line\\rfake", "nul\\u0000", "\\u202eevil", "\\u2066x",
                                  "tab\\there", "two\\nlines"])
def test_control_characters_in_any_text_are_refused(kb_copy, text):
    edit(kb_copy / "drugs.toml", 'text = "rash"', f'text = "rash {text}"')
    problems = problems_of(kb_copy)
    assert any(f == "drugs.toml" and "control character" in m for f, _, m in problems), problems
    assert all("\x1b" not in m and "\r" not in m and "\u202e" not in m for _, _, m in problems)


# --- names, ids, placeholders --------------------------------------------------------------------------

@pytest.mark.parametrize("old,new,words", [
    ('brand = "Tysabri"', 'brand = "ＬＥＭＴＲＡＤＡ"', ("confusable",)),          # NFKC folds full-width letters
    ('brand = "Tysabri"', 'brand = "lemtrada"', ("confusable",)),                # case
    ('brand = "Tysabri"', 'brand = "Lem\\u200btrada"', ("confusable",)),          # a zero-width space
    ('name = "Natalizumab"', 'name = "Alemtuzumab"', ("confusable",)),
    ('name = "Natalizumab"', 'name = "  "', ("blank",)),
    ('brand = "Tysabri"', 'brand = "Ocrelizumab"', ("confusable",)),
])
def test_empty_duplicate_and_confusable_drug_names_are_refused(kb_copy, old, new, words):
    edit(kb_copy / "drugs.toml", old, new)
    assert_problem(kb_copy, "drugs.toml", None, *words)


def test_name_key_folds_width_case_and_format_characters():
    assert name_key("ＬＥＭＴＲＡＤＡ") == name_key("lemtrada") == name_key("Lem\u200btrada ") == "lemtrada"


def test_a_drug_id_too_long_for_the_output_columns_is_refused(kb_copy):
    long_id = "a" * 70
    for f in ("drugs.toml", "decisions.toml", "cautions.toml", "notes.toml"):
        path = kb_copy / f
        path.write_text(path.read_text("utf-8").replace('"natalizumab"', f'"{long_id}"'), "utf-8")
    assert_problem(kb_copy, "drugs.toml", None, "longer than 64 characters")


@pytest.mark.parametrize("placeholder", ["$conditions", "$id", "${conditions}"])
def test_placeholders_for_anything_but_scalar_facts_are_refused(kb_copy, placeholder):
    edit(kb_copy / "decisions.toml", 'text = "$prior_failures other', f'text = "{placeholder} other')
    assert_problem(kb_copy, "decisions.toml", "alemtuzumab.two_or_more_failures", "not a scalar fact")


# --- the decision space, at load time ---------------------------------------------------------------------

def test_two_statuses_for_some_facts_are_refused_by_the_advisor_at_once(kb_copy):
    edit(kb_copy / "decisions.toml", 'op = "<", value = 2 }', 'op = "<", value = 3 }')
    assert_problem(kb_copy, "decisions.toml", "alemtuzumab", "2 statuses (applicable, not_applicable)", "'prior_failures': 2")


def test_the_cli_refuses_a_broken_kb_before_any_work_with_one_line_per_problem(kb_copy):
    edit(kb_copy / "decisions.toml", 'op = "<", value = 2 }', 'op = "<", value = 3 }')
    edit(kb_copy / "drugs.toml", 'text = "rash"', 'text = "rash \\u001b[2J"')
    r = CliRunner().invoke(main, ["advise", "--ms-type", "spms", "--severity", "mild", "--rules-dir", str(kb_copy)])
    assert r.exit_code == 2 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[0] == "ms-advisor: invalid knowledge base:" and len(lines) >= 2
    assert "\x1b" not in r.stderr and "\\x1b[2J" in r.stderr


@pytest.mark.parametrize("fact,points,expected", [
    ("prior_failures", [2], [0, 2, 3]),
    ("prior_failures", [0, 1, 1000], [0, 1, 2, 1000]),
    ("mitoxantrone_cumulative_mg_m2", [140], [0.0, 140.0, 141.0]),
    ("mitoxantrone_cumulative_mg_m2", [140, 140.1], [0.0, 140.0, 140.05, 140.1, 141.1]),
    ("rapidly_worsening", [True], [False, True]),
])
def test_value_classes_cover_every_interval_between_thresholds(fact, points, expected):
    assert value_classes(fact, points) == pytest.approx(expected)


def test_close_thresholds_are_not_skipped(kb_copy):
    # excluded at exactly 140 and from 140.2 on: the doses strictly between get no mitoxantrone status.
    # The old check probed only thresholds and ±0.5 around them, all outside (140, 140.2).
    without_named_numbers(kb_copy)
    path = kb_copy / "decisions.toml"
    text = path.read_text("utf-8").replace('when = [{ fact = "mitoxantrone_cumulative_mg_m2", op = ">=", value = 140 }]',
                                           'when = [{ fact = "mitoxantrone_cumulative_mg_m2", op = "in", value = [140, 140.2] }]')
    test = '{ fact = "mitoxantrone_cumulative_mg_m2", op = "<", value = 140 }'
    text = text.replace(test, test)
    text += f"""
[[rule]]
id = "mitoxantrone.far_above"
drug = "mitoxantrone"
status = "excluded"
when = [{{ fact = "mitoxantrone_cumulative_mg_m2", op = ">", value = 140.2 }}]
text = "Above the maximum."
quote = "{MITOXANTRONE_QUOTE}"
section = "Mitoxantrone hydrochloride"
"""
    path.write_text(text, "utf-8")
    problems = problems_of(kb_copy)
    assert [m for _, i, m in problems if i == "mitoxantrone"] == [
        "no status for {'mitoxantrone_cumulative_mg_m2': 140.1, 'severity': 'severe', 'ms_type': 'relapsing', "
        "'rapidly_worsening': False} [no rule fired]"], problems


@pytest.mark.parametrize("old,new,words", [
    ('value = "spms" }', 'value = "spms" }, ' + ", ".join('{ fact = "prior_failures", op = ">=", value = 0 }' for _ in range(8)),
     ("tests (at most 8)",)),
    ('op = ">=", value = 2 }', 'op = "in", value = [' + ", ".join(str(i) for i in range(2, 40)) + '] }', ("38 values (at most 16)",)),
])
def test_rules_beyond_what_the_engine_compiles_are_refused(kb_copy, old, new, words):
    edit(kb_copy / "decisions.toml", old, new)
    assert_problem(kb_copy, "decisions.toml", None, *words)


# --- a large KB ------------------------------------------------------------------------------------------

def without_named_numbers(kb_copy):
    """The KB without kb.toml's [numbers]: its rules may then test the mitoxantrone dose at other values
    than the article's 140 mg/m² (else kb check names each such test first)."""
    path = kb_copy / "kb.toml"
    text = path.read_text("utf-8")
    path.write_text(text[:text.index("[numbers.")], "utf-8")


def generated_kb(kb_copy, n=100):
    """The shipped KB with alemtuzumab's and natalizumab's rules replaced by n each: alemtuzumab one
    rule per count of prior failures, natalizumab one per interval of the mitoxantrone dose."""
    without_named_numbers(kb_copy)
    path = kb_copy / "decisions.toml"
    rules = tomllib.loads(path.read_text("utf-8"))["rule"]
    keep = [r for r in rules if r["drug"] not in ("alemtuzumab", "natalizumab")]
    quote = {d: next(r for r in rules if r["drug"] == d) for d in ("alemtuzumab", "natalizumab")}

    def block(rule_id, drug, status, tests):
        q = quote[drug]
        when = ", ".join(f'{{ fact = "{f}", op = "{op}", value = {v} }}' for f, op, v in tests)
        return (f'[[rule]]\nid = "{rule_id}"\ndrug = "{drug}"\nstatus = "{status}"\nwhen = [{when}]\n'
                f'text = "Generated."\nquote = "{q["quote"]}"\nsection = "{q["section"]}"\n')

    out = []
    for i in range(n - 1):
        out.append(block(f"alemtuzumab.pf_{i}", "alemtuzumab", "applicable" if i >= 2 else "not_applicable", [("prior_failures", "==", i)]))
    out.append(block("alemtuzumab.pf_more", "alemtuzumab", "applicable", [("prior_failures", ">=", n - 1)]))
    for k in range(n - 1):
        out.append(block(f"natalizumab.dose_{k}", "natalizumab", "consider" if k % 2 else "not_applicable",
                         [("mitoxantrone_cumulative_mg_m2", ">=", k * 1.5), ("mitoxantrone_cumulative_mg_m2", "<", (k + 1) * 1.5)]))
    out.append(block("natalizumab.dose_more", "natalizumab", "not_applicable", [("mitoxantrone_cumulative_mg_m2", ">=", (n - 1) * 1.5)]))
    for r in keep:
        when = ", ".join(f'{{ fact = "{t["fact"]}", op = "{t["op"]}", value = {tomlvalue(t["value"])} }}' for t in r["when"])
        out.append(f'[[rule]]\nid = "{r["id"]}"\ndrug = "{r["drug"]}"\nstatus = "{r["status"]}"\nwhen = [{when}]\n'
                   f'text = "Kept."\nquote = "{r["quote"]}"\nsection = "{r["section"]}"\n')
    path.write_text("\n".join(out), "utf-8")
    return kb_copy


def tomlvalue(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, list):
        return "[" + ", ".join(tomlvalue(x) for x in v) + "]"
    return repr(v)


@pytest.mark.slow
def test_a_200_rule_kb_loads_checks_and_decides(kb_copy):
    generated_kb(kb_copy)
    started = time.perf_counter()
    advisor = Advisor(rules_dir=kb_copy)
    loaded = time.perf_counter()
    report = check(kb_copy)
    checked = time.perf_counter()
    print(f"200-rule KB: Advisor() {loaded - started:.2f} s, kb check {checked - loaded:.2f} s, "
          f"{report.combinations} combinations")
    assert report.ok, report.problems[:5]
    assert len(advisor.kb.rules) >= 200
    rec = advisor.advise({"ms_type": "spms", "severity": "mild", "prior_failures": 57, "mitoxantrone_cumulative_mg_m2": 4.6})
    assert rec.drug("alemtuzumab").status.value == "applicable"
    assert rec.drug("natalizumab").status.value == "consider"  # 4.6 lies in [4.5, 6.0): k = 3
    assert [r.rule for r in rec.drug("alemtuzumab").reasons] == ["alemtuzumab.pf_57"]


def test_a_200_rule_kb_with_a_gap_is_refused_naming_it(kb_copy):
    generated_kb(kb_copy)
    text = (kb_copy / "decisions.toml").read_text("utf-8")
    start = text.index('id = "natalizumab.dose_40"')
    end = text.index("[[rule]]", start)
    (kb_copy / "decisions.toml").write_text(text[:text.rindex("[[rule]]", 0, start)] + text[end:], "utf-8")
    assert_problem(kb_copy, "decisions.toml", "natalizumab", "no status", "'mitoxantrone_cumulative_mg_m2': 60.")


def test_the_shipped_kb_decision_space(kb_copy):
    kb = load(kb_copy)
    space = decision_space(kb.rules, kb.drug_ids)
    assert space.problems == [] and space.combinations == 162
    assert {rule for _, _, fired in space.cases for rule in fired} == {r.id for r in kb.rules}


def test_kb_check_shows_a_quote_with_control_characters_escaped(kb_copy):
    edit(kb_copy / "cautions.toml", 'quote = "kidney failure"', 'quote = "kidney \\u001b]0;x\\u0007failure"')
    r = CliRunner().invoke(main, ["kb", "check", "--rules-dir", str(kb_copy)])
    assert r.exit_code == 1 and "\x1b" not in r.stderr and "\\x1b]0;x\\x07" in r.stderr


@pytest.mark.parametrize("name", ["Tysabri", "TYSABRI", "ｔｙｓａｂｒｉ", " natalizumab ", "Natalizumab"])
def test_a_drug_is_found_by_id_name_or_brand_as_the_kb_keeps_them_apart(name):
    r = CliRunner().invoke(main, ["drugs", name, "--format", "json"])
    assert r.exit_code == 0, r.output
    assert [d["id"] for d in __import__("json").loads(r.stdout)] == ["natalizumab"]


@pytest.mark.parametrize("name", ["drugs.toml", "sources/ms-infusions.txt"])
def test_a_symlink_loop_is_refused_naming_the_file(kb_copy, name):
    (kb_copy / name).unlink()
    (kb_copy / name).symlink_to(kb_copy / name)
    problems = problems_of(kb_copy)
    assert any("symlink loop" in m or "inside the knowledge-base directory" in m for _, _, m in problems), problems
