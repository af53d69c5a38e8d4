"""The ms-advisor command line: small click commands over the library (every answer from advise())."""

from __future__ import annotations

import functools
import json
import os
import sys
from typing import Any, Callable

import click

from . import __version__
from .errors import InvalidFacts, KnowledgeBaseError

EXAMPLES = """
\b
Examples:
  ms-advisor advise --ms-type relapsing --severity severe --prior-failures 2
  ms-advisor advise --case person.yaml --format markdown
  ms-advisor explain alemtuzumab --ms-type spms --severity mild --prior-failures 1
  ms-advisor drugs ocrelizumab
  ms-advisor schedule ocrelizumab --start 2027-01-04 --ics ocrelizumab.ics
  ms-advisor kb check
"""


class UserError(click.ClickException):
    """A user's mistake: one line on stderr, exit 2, no traceback."""
    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"ms-advisor: {self.format_message()}", err=True)


def _colour() -> bool | None:
    return False if os.environ.get("NO_COLOR") else None  # None: click decides (no colour unless a TTY)


def echo(text: str) -> None:
    click.echo(text, color=_colour())


def fact_options(f: Callable) -> Callable:
    """The person's facts as options; each overrides the same fact from --case."""
    options = [
        click.option("--case", "case_file", metavar="FILE", help="Read the facts from a YAML or JSON case file ('-' for stdin); flags override it."),
        click.option("--ms-type", help="relapsing, spms or ppms (also: rrms, relapsing-remitting, secondary progressive, primary progressive)."),
        click.option("--severity", help="mild, moderate or severe."),
        click.option("--prior-failures", type=int, help="How many other MS medications did not work well (default 0)."),
        click.option("--rapidly-worsening/--not-rapidly-worsening", default=None, help="Whether the MS is rapidly worsening (default: not)."),
        click.option("--mitoxantrone-cumulative-mg-m2", type=float, help="Lifetime mitoxantrone already received, mg/m² (default 0)."),
        click.option("--condition", "conditions", multiple=True, help="A health condition (repeatable): hepatitis_b, shingles, heart_failure, kidney_disease, liver_disease, cancer, autoimmune_disease, blood_disorder, depression, infections, weakened_immune_system, pml."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def rules_dir_option(f: Callable) -> Callable:
    return click.option("--rules-dir", type=click.Path(file_okay=False), metavar="DIR",
                        help="Use the knowledge base in DIR instead of the packaged one (validated first).")(f)


def get_advisor(rules_dir: str | None) -> Any:
    from .api import default_advisor
    from .core import Advisor

    if rules_dir is None:
        return default_advisor()
    if not os.path.isdir(rules_dir):
        raise UserError(f"--rules-dir: {rules_dir}: no such directory")
    return Advisor(rules_dir=rules_dir)


def drug_id(advisor: Any, name: str) -> str:
    """A drug id from an id, name or brand, case-insensitively."""
    key = name.strip().lower()
    for d in advisor.kb.drugs:
        if key in (d.id, d.name.lower(), (d.brand or "").lower()):
            return d.id
    raise UserError(f"unknown drug '{name}' (allowed: {', '.join(advisor.kb.drug_ids)})")


def collect_facts(case_file: str | None, **flags: Any) -> dict[str, Any]:
    from .casefile import CaseFileError, load_case, split_case

    facts: dict[str, Any] = {}
    if case_file is not None:
        try:
            facts, _ = split_case(load_case(case_file))
        except CaseFileError as e:
            raise UserError(str(e)) from None
    for name, value in flags.items():
        if name == "conditions":
            if value:
                facts["conditions"] = list(value)
        elif value is not None:
            facts[name] = value
    return facts


def user_errors(f: Callable) -> Callable:
    """Turn the library's input errors into exit 2 with the field named, never a traceback."""
    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except InvalidFacts as e:
            raise UserError(f"invalid facts: {e}") from None
        except KnowledgeBaseError as e:
            raise UserError(f"invalid knowledge base:\n{e}") from None
    return wrapper


def default_format() -> str:
    return "table" if sys.stdout.isatty() else "json"


def show_recommendation(rec: Any, fmt: str | None, explain: bool = False) -> None:
    from .render import markdown, table

    fmt = fmt or default_format()
    if fmt == "json":
        echo(json.dumps(rec.model_dump(mode="json"), indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        echo(markdown(rec))
    else:
        echo(table(rec, explain=explain))


@click.group(epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="ms-advisor")
def main() -> None:
    """Which MS infusion drugs (alemtuzumab, natalizumab, mitoxantrone, ocrelizumab) a
    patient-education article describes for a person, with every answer explained and quoted.

    Decision support, not a prescription."""


@main.command(epilog=EXAMPLES)
@fact_options
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), help="Output format (default: table on a terminal, json otherwise).")
@click.option("--explain", is_flag=True, help="Show every reason's quote and section.")
@rules_dir_option
@user_errors
def advise(case_file: str | None, fmt: str | None, explain: bool, rules_dir: str | None, **flags: Any) -> None:
    """Advise on the four infusion drugs for one person's facts."""
    show_recommendation(get_advisor(rules_dir).advise(collect_facts(case_file, **flags)), fmt, explain)


@main.command(epilog="""
\b
Examples:
  ms-advisor explain alemtuzumab --ms-type spms --severity mild --prior-failures 1
  ms-advisor explain Tysabri --case person.yaml
""")
@click.argument("drug")
@fact_options
@rules_dir_option
@user_errors
def explain(drug: str, case_file: str | None, rules_dir: str | None, **flags: Any) -> None:
    """The full how / why-not chain for one DRUG: rules that fired and did not, quotes, cautions, what-ifs."""
    from .render import explain_drug

    advisor = get_advisor(rules_dir)
    drug = drug_id(advisor, drug)
    rec = advisor.advise(collect_facts(case_file, **flags))
    echo(explain_drug(advisor, rec, drug))


@main.command(epilog="""
\b
Examples:
  ms-advisor drugs
  ms-advisor drugs natalizumab --format json
""")
@click.argument("drug", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@rules_dir_option
@user_errors
def drugs(drug: str | None, fmt: str, rules_dir: str | None) -> None:
    """What the document says of each drug (or of DRUG): brand, how it works, schedule, side effects."""
    from .render import drug_text

    advisor = get_advisor(rules_dir)
    chosen = [advisor.kb.drug(drug_id(advisor, drug))] if drug else list(advisor.kb.drugs)
    if fmt == "json":
        echo(json.dumps([d.model_dump(mode="json") for d in chosen], indent=2, ensure_ascii=False))
    else:
        echo("\n\n".join(drug_text(d) for d in chosen))


@main.command(epilog="""
\b
Examples:
  ms-advisor rules
  ms-advisor rules --format json
""")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@rules_dir_option
@user_errors
def rules(fmt: str, rules_dir: str | None) -> None:
    """Every rule of the knowledge base: id, drug, tests, conclusion and quote."""
    from .render import rule_text

    kb = get_advisor(rules_dir).kb
    if fmt == "json":
        items = [{"kind": "status", **r.model_dump(mode="json")} for r in kb.rules]
        items += [{"kind": "caution", **c.model_dump(mode="json")} for c in kb.cautions]
        echo(json.dumps(items, indent=2, ensure_ascii=False))
    else:
        echo("\n\n".join(rule_text(r) for r in (*kb.rules, *kb.cautions)))


@main.group()
def kb() -> None:
    """Work with knowledge bases."""


@kb.command("check", epilog="""
\b
Examples:
  ms-advisor kb check
  ms-advisor kb check --rules-dir my-rules --source ../shared/sources/ms-infusions.txt
""")
@rules_dir_option
@click.option("--source", type=click.Path(dir_okay=False), metavar="FILE",
              help="Check the quotes against FILE instead of the knowledge base's own source.")
def kb_check(rules_dir: str | None, source: str | None) -> None:
    """Verify a knowledge base: every quote verbatim in the source, every rule valid and reachable, and
    exactly one status per drug for every combination of the fact values the rules test. Exit 1 on any problem."""
    from .check import check
    from .kb import default_directory

    if rules_dir is not None and not os.path.isdir(rules_dir):
        raise UserError(f"--rules-dir: {rules_dir}: no such directory")
    if source is not None and not os.path.isfile(source):
        raise UserError(f"--source: {source}: no such file")
    report = check(rules_dir or default_directory(), source=source)
    for problem in report.problems:
        click.echo(f"problem: {problem}", err=True)
    if not report.ok:
        click.echo(f"{len(report.problems)} problem(s) found", err=True)
        sys.exit(1)
    echo(f"ok: {report.rules} status rules and {report.cautions} caution rules; every quote verbatim in the source; "
         f"every rule fires; exactly one status per drug in all {report.combinations} combinations of tested fact values")


@main.command(epilog="""
\b
Examples:
  ms-advisor schema facts > facts.schema.json
""")
@click.argument("which", type=click.Choice(["facts", "recommendation"]), default="facts")
def schema(which: str) -> None:
    """The JSON Schema of the facts (input) or of the recommendation (output)."""
    from .models import PatientFacts, Recommendation

    model = PatientFacts if which == "facts" else Recommendation
    echo(json.dumps(model.model_json_schema(mode="validation" if which == "facts" else "serialization"), indent=2, ensure_ascii=False))


@main.command(epilog="""
\b
Examples:
  ms-advisor interview
  printf 'spms\\nsevere\\n1\\nn\\n0\\n\\n' | ms-advisor interview --format json
""")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), help="Output format (default: table on a terminal, json otherwise).")
@rules_dir_option
@user_errors
def interview(fmt: str | None, rules_dir: str | None) -> None:
    """Ask for each fact in turn, with the allowed choices, then print the advice."""
    from .models import Condition, MS_TYPE_ALIASES, Severity

    advisor = get_advisor(rules_dir)
    err = {"err": True}
    facts: dict[str, Any] = {
        "ms_type": click.prompt("MS type", type=click.Choice(sorted(MS_TYPE_ALIASES), case_sensitive=False), **err),
        "severity": click.prompt("Severity", type=click.Choice([s.value for s in Severity], case_sensitive=False), **err),
        "prior_failures": click.prompt("Other MS medications that did not work well", type=click.IntRange(0, 1000), default=0, **err),
        "rapidly_worsening": click.confirm("Is the MS rapidly worsening?", default=False, **err),
        "mitoxantrone_cumulative_mg_m2": click.prompt("Mitoxantrone already received (mg/m²)", type=click.FloatRange(0, clamp=False), default=0.0, **err),
    }
    choices = [c.value for c in Condition]
    while True:
        raw = click.prompt(f"Conditions, separated by commas ({', '.join(choices)}; empty for none)", default="", show_default=False, **err)
        items = [c.strip().lower() for c in raw.split(",") if c.strip()]
        unknown = [c for c in items if c not in choices]
        if not unknown:
            break
        click.echo(f"Error: unknown condition(s): {', '.join(unknown)}", err=True)
    facts["conditions"] = items
    show_recommendation(advisor.advise(facts), fmt)


@main.command(epilog="""
\b
Examples:
  ms-advisor schedule ocrelizumab --start 2027-01-04
  ms-advisor schedule natalizumab --start 2027-01-04 --count 13 --ics natalizumab.ics
""")
@click.argument("drug")
@click.option("--start", type=click.DateTime(formats=["%Y-%m-%d"]), required=True, help="Date of the first infusion (YYYY-MM-DD).")
@click.option("--count", type=click.IntRange(1, 1000), help="How many infusions to list (default: all of a finite schedule, else 10).")
@click.option("--ics", "ics_file", type=click.Path(dir_okay=False, writable=True), help="Also write the dates to an iCalendar file.")
@rules_dir_option
@user_errors
def schedule(drug: str, start: Any, count: int | None, ics_file: str | None, rules_dir: str | None) -> None:
    """The infusion dates the document's dosing gives for DRUG, from --start."""
    import itertools

    from .explain import schedule_of
    from .schedule import infusions, is_finite, to_ics

    advisor = get_advisor(rules_dir)
    d = advisor.kb.drug(drug_id(advisor, drug))
    sched = schedule_of(d)
    limit = count if count is not None else (None if is_finite(sched) else 10)
    items = list(itertools.islice(infusions(sched, start.date()), limit))
    notes = {n.id: n for n in advisor.kb.notes}
    reminder = notes["infusion_reaction_window"].text if "infusion_reaction_window" in notes else ""
    lines = [f"{d.name}: {sched.text}", f"“{sched.quote}”", ""]
    lines += [f"{i:>3}. {item.date:%Y-%m-%d} ({item.date:%a})  {item.phase}" + (f", {item.dose_mg:g} mg" if item.dose_mg else "")
              for i, item in enumerate(items, 1)]
    if not is_finite(sched) and count is None:
        lines.append(f"     ... and on, every {sched.phases[-1].every.n} {sched.phases[-1].every.unit} (use --count for more)")
    lines.append("")
    if sched.note:
        lines.append(f"Note: {sched.note}")
    if reminder:
        lines.append(f"Reminder: {reminder}")
    lines.append(advisor.kb.header.disclaimer)
    if ics_file:
        try:
            with open(ics_file, "w", encoding="utf-8", newline="") as f:
                f.write(to_ics(d.name, items, reminder))
        except OSError as e:
            raise UserError(f"--ics: {ics_file}: cannot write: {e.strerror}") from None
        lines.append(f"Wrote {len(items)} infusion(s) to {ics_file}")
    echo("\n".join(lines))


@main.command(epilog="""
\b
Examples:
  ms-advisor batch cases/ --out results.jsonl
  ms-advisor batch export.csv.gz --out results.csv --format csv --map patient_id=id --extra keep
  ms-advisor batch export.txt --input-format csv --delimiter ';' --encoding cp1252 --out results.jsonl
  cat cases.ndjson | ms-advisor batch - --out - --summary-json summary.json > results.jsonl
""")
@click.argument("paths", nargs=-1, required=True)
@click.option("--out", "out_path", required=True, metavar="FILE", help="Where to write the records ('-' for stdout).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "json"]), default="jsonl", show_default=True)
@click.option("--input-format", type=click.Choice(["jsonl", "csv", "json", "yaml"]), help="Format of stdin and of files with an unknown suffix (default for stdin: jsonl).")
@click.option("--delimiter", metavar="CHAR", help="CSV delimiter (default: sniffed among comma, semicolon and tab; 'tab' for a tab).")
@click.option("--encoding", default="utf-8", show_default=True, help="Encoding of CSV, JSON and YAML inputs (a UTF-8 byte-order mark is read).")
@click.option("--extra", type=click.Choice(["error", "ignore", "keep"]), default="error", show_default=True, help="Unknown fields or columns: name them in the case's error, drop them, or keep them in the record under 'input'.")
@click.option("--map", "mapping", multiple=True, metavar="SOURCE=FIELD", help="Rename an input field or column (repeatable), e.g. --map patient_id=id.")
@click.option("--echo-facts", is_flag=True, help="Put the validated facts in each record.")
@click.option("--summary-json", metavar="FILE", help="Also write the summary as JSON to FILE.")
@click.option("--duplicate-check-limit", type=click.IntRange(0), default=None, metavar="N", help="Distinct ids remembered to flag repeated ids (about 70 bytes each; default 5,000,000; 0: no check).")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (default: the number of cores).")
@click.option("--full", is_flag=True, help="Put the whole Recommendation in each record.")
@rules_dir_option
@user_errors
def batch(paths: tuple[str, ...], out_path: str, fmt: str, input_format: str | None, delimiter: str | None, encoding: str,
          extra: str, mapping: tuple[str, ...], echo_facts: bool, summary_json: str | None, duplicate_check_limit: int | None,
          workers: int | None, full: bool, rules_dir: str | None) -> None:
    """Evaluate every case in PATHS (.jsonl/.ndjson, .json, .yaml, .csv files, each also gzipped, directories,
    '-' for stdin) and write one record per case, in input order. Exit 0 if every case is valid and every
    expectation holds, 1 otherwise, 2 for a usage error or a run that could not finish."""
    import codecs

    from .batch import DUPLICATE_CHECK_LIMIT, BatchError, CaseOptions, ReadOptions, run_to_file

    for p in paths:
        if p != "-" and not os.path.lexists(p):
            raise UserError(f"{p}: no such file or directory")
    if delimiter is not None:
        delimiter = "\t" if delimiter.lower() in ("tab", "\\t") else delimiter
        if len(delimiter) != 1 or delimiter in "\"\r\n":
            raise UserError("--delimiter: one character (not a quote or a line break), or 'tab'")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise UserError(f"--encoding: unknown encoding '{encoding}'") from None
    pairs = []
    for m in mapping:
        source, sep, target = m.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise UserError(f"--map: '{m}' is not SOURCE=FIELD")
        pairs.append((source.strip(), target.strip()))
    advisor = get_advisor(rules_dir)  # loads and validates the KB before any work starts
    options = CaseOptions(extra=extra, mapping=tuple(pairs), echo_facts=echo_facts, full=full)
    read = ReadOptions(input_format=input_format, delimiter=delimiter, encoding=encoding)
    try:
        summary = run_to_file(list(paths), out_path, advisor=advisor, fmt=fmt, workers=workers or os.cpu_count() or 1,
                              options=options, read=read, summary_json=summary_json,
                              duplicate_check_limit=DUPLICATE_CHECK_LIMIT if duplicate_check_limit is None else duplicate_check_limit)
    except BatchError as e:
        raise UserError(str(e)) from None
    click.echo(summary.text(), err=True)
    sys.exit(0 if summary.ok else 1)
