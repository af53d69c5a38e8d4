"""The commands a person asks for advice with: advise, explain, schedule and interview, and the
reference they read beside it (drugs, rules, conditions, the decision table, the JSON Schemas)."""

from __future__ import annotations

import json
from typing import Any

import click

from advisor.cli.common import FORMAT, TEXT_FORMAT, Command, Day, Number, PathName, UserError, Where, drug_id, echo, emit, \
    get_advisor, rules_dir_option
from advisor.cli.facts import collect_facts, fact_options
from advisor.text import visible


@click.command(cls=Command, epilog="""
\b
Examples:
  ms-advisor advise --ms-type relapsing --severity severe --prior-failures 2
  ms-advisor advise --ms-type spms --severity mild --condition "heart failure"
  ms-advisor advise --case person.yaml --explain
  ms-advisor advise --case person.yaml --format json | jq .listed
  export MS_ADVISOR_FORMAT=table
""")
@fact_options
@FORMAT
@click.option("--explain", is_flag=True, help="Show every reason's quote and section.")
@rules_dir_option
def advise(case_file: str | None, fmt: str | None, explain: bool, rules_dir: str | None, **flags: Any) -> None:
    """Advise on the four infusion drugs for one person's facts.

    Prints a table on a terminal and JSON into a pipe or a file (scripts rely on it); choose with
    --format, or once for your shell with MS_ADVISOR_FORMAT (table, json or markdown)."""
    advisor = get_advisor(rules_dir)
    emit(advisor.advise(collect_facts(case_file, advisor=advisor, **flags)), fmt, explain)


@click.command(cls=Command, epilog="""
\b
Examples:
  ms-advisor explain alemtuzumab --ms-type spms --severity mild --prior-failures 1
  ms-advisor explain Tysabri --case person.yaml
""")
@click.argument("drug")
@fact_options
@TEXT_FORMAT
@rules_dir_option
def explain(drug: str, case_file: str | None, fmt: str | None, rules_dir: str | None, **flags: Any) -> None:
    """The full how / why-not chain for one DRUG: rules that fired and did not, quotes, cautions, what-ifs."""
    advisor = get_advisor(rules_dir)
    emit(advisor.explain(collect_facts(case_file, advisor=advisor, **flags), drug), fmt)


@click.command(cls=Command, epilog="""
\b
Examples:
  ms-advisor drugs
  ms-advisor drugs natalizumab --format json
""")
@click.argument("drug", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@rules_dir_option
def drugs(drug: str | None, fmt: str, rules_dir: str | None) -> None:
    """What the document says of each drug (or of DRUG): brand, how it works, schedule, side effects."""
    advisor = get_advisor(rules_dir)
    emit([advisor.kb.drug(drug_id(advisor, drug))] if drug else list(advisor.kb.drugs), fmt)


@click.command(cls=Command, epilog="""
\b
Examples:
  ms-advisor rules
  ms-advisor rules --format json
""")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@rules_dir_option
def rules(fmt: str, rules_dir: str | None) -> None:
    """Every rule of the knowledge base: id, drug, tests, conclusion and quote."""
    kb = get_advisor(rules_dir).kb
    emit([*kb.rules, *kb.cautions], fmt)


@click.command(cls=Command, epilog="""
\b
Examples:
  ms-advisor table
  ms-advisor table --drug mitoxantrone
  ms-advisor table --format csv > decisions.csv
""")
@click.option("--format", "fmt", type=click.Choice(["markdown", "csv", "json"]), default="markdown", show_default=True)
@click.option("--drug", "drug_names", multiple=True, help="Only this drug's status and rules (repeatable).")
@rules_dir_option
def table(fmt: str, drug_names: tuple[str, ...], rules_dir: str | None) -> None:
    """The complete decision table: one row per class of fact values the rules distinguish, with each
    drug's status and the rules that fire; rows merged where a fact does not matter (shown as -)."""
    from advisor.kb.table import decision_table, render

    advisor = get_advisor(rules_dir)
    drugs = [drug_id(advisor, d) for d in drug_names] or None
    classes, rows = decision_table(advisor, drugs)
    echo(render(classes, rows, fmt))


@click.command(cls=Command, epilog="""
\b
Examples:
  ms-advisor schema facts > facts.schema.json
""")
@click.argument("which", type=click.Choice(["facts", "recommendation"]), default="facts")
@rules_dir_option
def schema(which: str, rules_dir: str | None) -> None:
    """The JSON Schema of a case file (facts with their aliases, id, expect: what ms-advisor accepts) or of
    the recommendation (output), of the knowledge base in use (its facts)."""
    from advisor.core.schemas import facts_schema, recommendation_schema

    advisor = get_advisor(rules_dir)
    schema = facts_schema(advisor.drug_ids, advisor.facts_model, advisor.status_set.enum) if which == "facts" else \
        recommendation_schema(advisor.recommendation_model)
    echo(json.dumps(schema, indent=2, ensure_ascii=False))


@click.command(cls=Command, epilog="""
\b
Examples:
  ms-advisor conditions
  ms-advisor advise --ms-type relapsing --severity mild --condition "heart failure"
""")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@rules_dir_option
def conditions(fmt: str, rules_dir: str | None) -> None:
    """The health conditions a person's facts can name (--condition, case files, batch, the API): id,
    description and other accepted names. A name is matched in any case, with spaces or hyphens for
    its underscores ('Heart failure' is heart_failure)."""
    if rules_dir is None:
        from advisor.kb.vocabulary import CONDITIONS

        emit(list(CONDITIONS), fmt)
    else:
        emit(list(get_advisor(rules_dir).kb.conditions), fmt)


@click.command(cls=Command, epilog="""
\b
Examples:
  ms-advisor interview
  printf 'spms\\nsevere\\n1\\nn\\n0\\n\\n' | ms-advisor interview --format json
""")
@FORMAT
@click.option("--save", "save_file", type=PathName(dir_okay=False), metavar="FILE",
              help="Also write the answers as a case file (YAML; JSON if FILE ends in .json) for --case and batch.")
@rules_dir_option
def interview(fmt: str | None, save_file: str | None, rules_dir: str | None) -> None:
    """Ask for each fact in turn, with the allowed choices, then print the advice. End of input before
    every question is answered: exit 2."""
    from advisor.cli.interview import ask_facts, case_file_text

    advisor = get_advisor(rules_dir)
    try:
        facts = ask_facts(advisor.facts_model)
    except click.Abort:
        raise UserError("interview: input ended before every question was answered; nothing advised") from None
    rec = advisor.advise(facts)
    if save_file is not None:
        from advisor.atomic import Kind, write_atomically

        with Where(f"--save: {save_file}"):
            write_atomically(save_file, case_file_text(rec.facts, save_file).encode("utf-8"),
                             Kind("a case file written by ms-advisor interview", (b"# ms-advisor case file", b"{")))
        click.echo(f"Saved the answers to {visible(save_file)}", err=True)
    emit(rec, fmt)


@click.command(cls=Command, epilog="""
\b
Examples:
  ms-advisor schedule ocrelizumab --start 2027-01-04
  ms-advisor schedule natalizumab --start 2027-01-04 --count 13 --ics natalizumab.ics
""")
@click.argument("drug")
@click.option("--start", type=Day(), required=True, metavar="YYYY-MM-DD", help="Date of the first infusion (YYYY-MM-DD).")
@click.option("--count", type=Number(whole=True, low=1, high=1000),
              help="How many infusions to list, 1 to 1000 (default: all of a finite schedule, else 10); never past the end of a finite course.")
@click.option("--mitoxantrone-cumulative-mg-m2", "received", type=Number(whole=False, low=0),
              help="Lifetime mitoxantrone already received, mg/m²: says how much of the lifetime maximum remains.")
@click.option("--ics", "ics_file", type=PathName(dir_okay=False), help="Also write the dates to an iCalendar file.")
@click.option("--id", "case_id", metavar="ID", help="An identifier for the person: shown, and in each calendar event's UID.")
@TEXT_FORMAT
@rules_dir_option
def schedule(drug: str, start: Any, count: int | None, received: float | None, ics_file: str | None, case_id: str | None,
             fmt: str | None, rules_dir: str | None) -> None:
    """The infusion dates the article's dosing gives for DRUG, from --start (weekend dates marked)."""
    from advisor.schedule import ics_of, plan

    result = plan(get_advisor(rules_dir), drug, start.date(), count, received, case_id)
    if ics_file is not None and result.left_unknown and not result.infusions:
        raise UserError(f"--ics: no dates to write. {result.left_unknown} Give --count N to list N infusions from --start.")
    if ics_file is not None:
        from advisor.atomic import Kind, write_atomically

        ics = ics_of(result).encode("utf-8")  # complete before any file is touched
        with Where(f"--ics: {ics_file}"):  # never truncates the old file before the new one is whole, nor replaces another kind of file
            write_atomically(ics_file, ics, Kind("an iCalendar file", (b"BEGIN:VCALENDAR",)))
    emit(result, fmt)
    if ics_file is not None:
        click.echo(f"Wrote {len(result.infusions)} infusion(s) to {visible(ics_file)}", err=True)



@click.command(cls=Command, epilog="""
\b
Examples:
  ms-advisor summary --ms-type spms --severity severe --matters fewer_visits --out summary.md
  ms-advisor summary --case person.yaml --avoid nausea --unsure course_ends --format html --out summary.html
""")
@fact_options
@click.option("--matters", "matters", multiple=True, metavar="ID",
              help="A concern that matters to you (repeatable): fewer_visits, course_ends, avoid_side_effect, monitoring.")
@click.option("--unsure", "unsure", multiple=True, metavar="ID", help="A concern you don't know about yet (repeatable).")
@click.option("--avoid", "avoid", multiple=True, metavar="EFFECT",
              help="A side effect you want to avoid, in the article's words (repeatable; see the /summary page's list).")
@click.option("--format", "fmt", type=click.Choice(["markdown", "html"]), default="markdown", show_default=True)
@click.option("--out", "out_file", type=PathName(dir_okay=False), metavar="FILE",
              help="Write the summary to FILE (replaces only an empty file or an earlier summary); default: print it.")
@rules_dir_option
def summary(case_file: str | None, matters: tuple[str, ...], unsure: tuple[str, ...], avoid: tuple[str, ...], fmt: str,
            out_file: str | None, rules_dir: str | None, **flags: Any) -> None:
    """A summary to take to your MS team: your facts, what the article says for them, what matters to you,
    and questions to ask. Printed, it is one page for most people. Your answers never change a status or
    the order of the drugs."""
    from advisor.errors import InvalidFacts
    from advisor.render.summary import summary_markdown

    advisor = get_advisor(rules_dir)
    facts = collect_facts(case_file, advisor=advisor, **flags)
    try:
        result = advisor.summary(facts, matters=matters, unsure=unsure, avoid=avoid)
    except InvalidFacts as e:
        raise _answers_error(e) or e from None
    if fmt == "html":
        from advisor.web.summary_file import summary_html

        text = summary_html(result)
    else:
        text = summary_markdown(result)
    if out_file is None:
        echo(text.rstrip("\n"))
        return
    from advisor.atomic import write_atomically

    with Where(f"--out: {out_file}"):  # the summary is whole before the file is touched; another kind of file is refused
        write_atomically(out_file, text.encode("utf-8"), _summary_kind())
    click.echo(f"Wrote the summary to {visible(out_file)}", err=True)


def _summary_kind() -> Any:
    from advisor.atomic import Kind

    return Kind("a summary written by ms-advisor summary",
                (b"# Summary to talk over with your MS team",
                 b'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                 b'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>Summary to talk over'))



@click.command(cls=Command, epilog="""
\b
Examples:
  ms-advisor compare --format table
  ms-advisor compare --drug natalizumab --drug ocrelizumab
  ms-advisor compare --ms-type relapsing --severity severe --prior-failures 2 --condition cancer
  ms-advisor compare --matters fewer_visits --avoid nausea
""")
@fact_options
@click.option("--drug", "drug_names", multiple=True, metavar="DRUG",
              help="Compare this drug (repeat: 2 to 4 drugs; default all four). They keep the article's order.")
@click.option("--matters", "matters", multiple=True, metavar="ID",
              help="A concern that matters to you (repeatable): the rows that speak to it are marked.")
@click.option("--unsure", "unsure", multiple=True, metavar="ID", help="A concern you don't know about yet (repeatable).")
@click.option("--avoid", "avoid", multiple=True, metavar="EFFECT",
              help="A side effect you want to avoid, in the article's words (repeatable): marked where a drug lists it.")
@FORMAT
@rules_dir_option
def compare(case_file: str | None, drug_names: tuple[str, ...], matters: tuple[str, ...], unsure: tuple[str, ...],
            avoid: tuple[str, ...], fmt: str | None, rules_dir: str | None, **flags: Any) -> None:
    """The drugs side by side on the questions people ask: what the article says of each, or that it
    does not say. With facts, each drug's status comes first and your conditions are marked. What
    matters to you marks rows and side effects; it never changes a status or the order of the drugs."""
    from advisor.errors import InvalidFacts

    advisor = get_advisor(rules_dir)
    given = case_file is not None or any(v not in (None, (), False) for v in flags.values())
    facts = collect_facts(case_file, advisor=advisor, **flags) if given else None
    try:
        result = advisor.compare(facts, list(drug_names) or None, matters=matters, unsure=unsure, avoid=avoid)
    except InvalidFacts as e:
        raise _answers_error(e) or e from None
    emit(result, fmt)



COMMANDS = (advise, compare, explain, drugs, rules, table, schema, conditions, interview, schedule, summary)


ANSWER_OPTIONS = {"matters": "--matters", "unsure": "--unsure", "avoid": "--avoid"}


def _answers_error(e: Any) -> UserError | None:
    """The refused answers of ``e`` (an InvalidFacts) as one line naming their options, or None when
    only the facts were refused (the boundary says those, naming the fields)."""
    mine = [f"{ANSWER_OPTIONS[x['field']]}: {x['message']}" for x in e.errors if x.get("field") in ANSWER_OPTIONS]
    return UserError("; ".join(mine)) if mine else None
