"""The ``ms-advisor kb`` commands: check a knowledge base, say which it is, compare two, export it as
DMN."""

from __future__ import annotations

import json
import os
import sys

import click

from advisor.cli.common import Group, PathName, UserError, Where, echo, emit, get_advisor, rules_dir_option
from advisor.text import terminal_width, visible


@click.group(cls=Group)
def kb() -> None:
    """Work with knowledge bases."""


@kb.command("check", epilog="""
\b
Examples:
  ms-advisor kb check
  ms-advisor kb check --rules-dir my-rules --source ../shared/sources/ms-infusions.txt
""")
@rules_dir_option
@click.option("--source", type=PathName(dir_okay=False), metavar="FILE",
              help="Check the quotes against FILE instead of the knowledge base's own source.")
@click.option("--require-approved", is_flag=True, help="Also fail on any rule whose review_status is not \"approved\".")
def kb_check(rules_dir: str | None, source: str | None, require_approved: bool) -> None:
    """Verify a knowledge base: every quote verbatim in the source, no text claiming more than its quote
    (a claim word such as "only", "must", "never", "safe", "best" or "recommended", or a number, that
    the quote does not hold, unless the item's `allow` lists it), every rule valid and reachable,
    exactly one status per drug for every combination of the fact values the rules test, every
    statement of a named number (kb.toml [numbers]) agreeing with it, the FHIR codes (fhir.toml)
    as `serve` reads them, and the KB's own texts in plain words (a Flesch–Kincaid reading grade of
    at most 10 for each, unless its `grade_reason` says why, and a median of at most 8). Exit 1 on
    any problem."""
    from advisor.kb.checks import check
    from advisor.kb.load import default_directory
    from advisor.kb.readability import MAX_GRADE, MEDIAN_GOAL, MIN_WORDS

    if rules_dir is not None and ("\x00" in rules_dir or not os.path.isdir(rules_dir)):
        raise UserError(f"--rules-dir: {rules_dir}: no such directory")
    if source is not None and ("\x00" in source or not os.path.isfile(source)):
        raise UserError(f"--source: {source}: no such file")
    report = check(rules_dir or default_directory(), source=source, require_approved=require_approved)
    for problem in report.problems:
        click.echo(f"problem: {visible(problem)}", err=True)
    if not report.ok:
        click.echo(f"{len(report.problems)} problem(s) found", err=True)
        sys.exit(1)
    echo(f"ok: {report.rules} status rules and {report.cautions} caution rules")
    for line in ("every quote verbatim in the source", "no text claims more than its quote", "every rule fires",
                 f"exactly one status per drug in all {report.combinations} combinations of tested fact values "
                 "(one value for each class of values the rules tell apart)", "every status one the KB defines",
                 "every drug shown as applicable or consider carries its side effects",
                 "every drug's note only where the drug has a status it names",
                 f"every drug fills each of the {report.compare_rows} rows of the comparison grid (compare.toml), "
                 "or its cell says the article does not say" if report.compare_rows else "no comparison grid (compare.toml)",
                 f"every statement of a named number (kb.toml [numbers]) agrees with it: {report.numbers}" if report.numbers
                 else "no named numbers (kb.toml [numbers]) to compare",
                 f"the {report.matters} concerns of matters.toml name known compare rows, side effects and notes, and offer "
                 "every side effect" if report.matters else "no matters.toml: the summary asks nothing about what matters",
                 "the FHIR codes (fhir.toml) valid" if report.fhir
                 else "no fhir.toml: `ms-advisor serve` refuses this knowledge base until it has one",
                 *((f"the KB's own texts in plain words (Flesch–Kincaid reading grade of each text of {MIN_WORDS} words "
                    f"or more, quotes not measured; at most {MAX_GRADE:g}, median at most {MEDIAN_GOAL:g}): {report.readability[0][1]}",)
                   if report.readability else ())):
        echo(click.wrap_text(line, terminal_width(), initial_indent="  - ", subsequent_indent="    "))
    for file, summary in report.readability[1:]:
        echo(click.wrap_text(f"{file}: {summary}", terminal_width(), initial_indent="      ", subsequent_indent="        "))


@kb.command("info", epilog="""
\b
Examples:
  ms-advisor kb info
  ms-advisor kb info --rules-dir my-rules --format json
""")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@rules_dir_option
def kb_info(fmt: str, rules_dir: str | None) -> None:
    """Which knowledge base this is: name, version, SHA-256 of its files and source, and what it holds."""
    emit(get_advisor(rules_dir).kb.info(), fmt)


@kb.command("diff", epilog="""
\b
Examples:
  ms-advisor kb diff rules/ my-rules/
  ms-advisor kb diff old-rules/ new-rules/ --format json
""")
@click.argument("old_dir", type=PathName(file_okay=False))
@click.argument("new_dir", type=PathName(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def kb_diff(old_dir: str, new_dir: str, fmt: str) -> None:
    """What changes from the knowledge base OLD_DIR to NEW_DIR: which classes of facts change status
    (before → after, per drug), and which rules, cautions, drugs, notes and conditions were added, removed or
    changed. Exit 0 when no decision changes, 1 when some do (so CI can demand a reviewed change)."""
    from advisor.kb.diff import diff

    result = diff(get_advisor(old_dir, "OLD_DIR"), get_advisor(new_dir, "NEW_DIR"))
    echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False) if fmt == "json" else result.text())
    sys.exit(1 if result.decisions_changed else 0)


@kb.command("export", epilog="""
\b
Examples:
  ms-advisor kb export --dmn ms-infusions.dmn
  ms-advisor kb export --dmn - | head
""")
@click.option("--dmn", "dmn_file", required=True, metavar="FILE", help="Write the DMN 1.3 XML to FILE ('-' for stdout).")
@rules_dir_option
def kb_export(dmn_file: str, rules_dir: str | None) -> None:
    """The status rules as one DMN 1.3 decision table per drug (hit policy UNIQUE) and the cautions as a
    COLLECT table, for DMN tools (Camunda, Kogito modelers) to open and test."""
    from advisor.kb.dmn import export

    text = export(get_advisor(rules_dir))
    if dmn_file == "-":
        click.echo(text, nl=False)
        return
    from advisor.atomic import Kind, write_atomically

    with Where(f"--dmn: {visible(dmn_file)}"):
        # never truncates the old file, nor replaces another kind of file; a FIFO with no reader is an error
        write_atomically(dmn_file, text.encode("utf-8"), Kind("a DMN file", (b"<?xml", b"<definitions")))
    click.echo(f"wrote {dmn_file}", err=True)


