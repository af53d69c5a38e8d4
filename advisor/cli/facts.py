"""The person's facts as options: one option per fact of the packaged knowledge base (built from
rules/facts.toml when the command is built), --case FILE, --id and --fact NAME=VALUE, read into one
facts dict (``collect_facts``)."""

from __future__ import annotations

import functools
from typing import Any, Callable

import click

from advisor.cli.common import Number, UserError, Where
from advisor.errors import InvalidFacts
from advisor.text import visible


@functools.cache
def packaged_facts() -> tuple[dict[str, Any], ...]:
    """The packaged knowledge base's facts (rules/facts.toml) as raw TOML: the named options are built
    from them when the command is built (plain TOML: `--help` imports no pydantic; the KB loader
    validates the file, and a --rules-dir KB's own facts are given with --fact). Read once, through
    the store of parsed files (:mod:`advisor.cache`)."""
    from pathlib import Path

    from advisor import cache

    here = Path(__file__).resolve().parent.parent  # the advisor package
    for directory in (here / "rules", here.parent / "rules"):
        if (directory / "facts.toml").is_file():
            return tuple(cache.toml_file(directory / "facts.toml").get("fact", []))
    return ()


def fact_option(fact: dict[str, Any]) -> list[Callable[..., Any]]:
    """The option(s) of one packaged fact: its name (--id with hyphens, or the KB's `option`), its help,
    and its kind's reading (a count or a number by the one grammar; a yes/no fact as --x/--not-x)."""
    name, kind = fact["id"], fact["kind"]
    option = fact.get("option") or "--" + name.replace("_", "-")
    help_text = fact.get("cli_help") or (fact.get("help") or name.replace("_", " ")).capitalize() + "."
    if kind == "yes_no":
        return [click.option(f"{option}/--not-{option[2:]}", name, default=None, help=help_text)]
    if kind == "conditions":
        return [click.option(option, name, multiple=True, metavar="NAME", help=help_text),
                click.option(f"--no-{option[2:]}", "no_conditions", is_flag=True,
                             help="No health conditions (clears those of --case; --condition adds after it).")]
    if kind in ("count", "number"):
        return [click.option(option, name, type=Number(whole=kind == "count", fact=True), help=help_text)]
    return [click.option(option, name, help=help_text)]


def fact_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The person's facts as options; each overrides the same fact from --case. The packaged KB's facts
    have their own options; --fact NAME=VALUE gives any fact of the KB in use (a --rules-dir KB's too)."""
    options = [
        click.option("--case", "case_file", metavar="FILE",
                     help="Read the facts from a case file ('-' for stdin): YAML or JSON, or one row of CSV or line of JSONL, each "
                          "also gzipped, as batch reads them; flags override it."),
        *(option for fact in packaged_facts() for option in fact_option(fact)),
        click.option("--id", "case_id", metavar="ID", help="An identifier for the person, shown in every output (overrides the case file's)."),
        click.option("--fact", "fact_pairs", multiple=True, metavar="NAME=VALUE",
                     help="Any fact of the knowledge base in use, as text (a --rules-dir KB's own facts too): e.g. --fact "
                          "prior_failures=2; repeatable; overrides --case and the options above."),
    ]
    for option in reversed(options):
        f = option(f)
    return f



def collect_facts(case_file: str | None, no_conditions: bool = False, case_id: str | None = None,
                  fact_pairs: tuple[str, ...] = (), advisor: Any = None, **flags: Any) -> dict[str, Any]:
    """The facts of --case, then the flags: each flag overrides its fact, --condition adds to the
    file's conditions, --no-condition clears them first; then --fact NAME=VALUE, each read as its fact
    of ``advisor``'s knowledge base is written as text."""
    facts: dict[str, Any] = {}
    if case_file is not None:
        from advisor.batch.case import read_case  # every format batch reads, by the one registry
        from advisor.batch.casefile import split_case

        with Where(case_file=case_file):
            facts, _ = split_case(read_case(case_file))
    if no_conditions:
        facts["conditions"] = []
    for name, value in flags.items():
        if name == "conditions":
            if value:
                existing = facts.get("conditions", [])  # not a list: left for the facts model to refuse
                facts["conditions"] = [*existing, *value] if isinstance(existing, list) else existing
        elif value is not None:
            facts[name] = value
    if case_id is not None:
        facts["id"] = case_id
    if fact_pairs:
        facts.update(given_facts(fact_pairs, advisor))
    return facts


def given_facts(pairs: tuple[str, ...], advisor: Any) -> dict[str, Any]:
    """--fact NAME=VALUE pairs as facts: each value read as its fact's kind is written as text (the one
    grammar, advisor.values); a name the KB does not have, or a value that does not read, is an error
    naming the fact and what it takes."""
    from advisor.values import ValueTextError

    specs = advisor.facts_model.specs
    out: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UserError(f"--fact: '{visible(pair[:80])}' is not NAME=VALUE (e.g. --fact prior_failures=2)")
        if name not in specs:
            errors.append({"field": name, "message": "unknown field", "allowed": list(specs)})
            continue
        try:
            value = specs[name].from_text(text)
        except ValueTextError as e:
            errors.append({"field": name, "message": str(e)})  # the message says what the fact takes
            continue
        if value is not None:  # an empty text: not given
            out[name] = value
    if errors:
        raise InvalidFacts(errors)
    return out


