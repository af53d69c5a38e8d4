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
  ms-advisor advise --case cases/yaml/spms_severe.yaml --format markdown
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
@user_errors
def advise(case_file: str | None, fmt: str | None, explain: bool, **flags: Any) -> None:
    """Advise on the four infusion drugs for one person's facts."""
    from .api import advise as advise_facts
    from .render import markdown, table

    rec = advise_facts(collect_facts(case_file, **flags))
    fmt = fmt or default_format()
    if fmt == "json":
        echo(json.dumps(rec.model_dump(mode="json"), indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        echo(markdown(rec))
    else:
        echo(table(rec, explain=explain))
