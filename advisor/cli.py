"""The ms-advisor command line: small click commands over the library (every answer from advise())."""

from __future__ import annotations

import os
import sys

from advisor import stopping

_argv = getattr(sys, "argv", None) or [""]
if os.path.basename(_argv[0]).startswith("ms-advisor") and _argv[1:2] == ["batch"]:
    # The `ms-advisor batch` process: from here on (before the heavy imports and the knowledge base) a
    # stopping signal is held for the run to raise, so it ends as an interrupted run (exit 2), never
    # as killed (143) with a temporary file left behind. Other commands start as before.
    stopping.hold()

import json
from typing import Any, Callable

import click
from click.core import ParameterSource
from click.exceptions import NoArgsIsHelpError

from advisor import __version__
from advisor.errors import AdvisorError, InvalidFacts, KnowledgeBaseError, SeveralCases
from advisor.text import NB_HYPHEN, fold_commands, keep_hyphens, terminal_width, visible

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
    """A user's mistake: one line on stderr, exit 2, no traceback. Untrusted text in the message
    (ids, values, file names) is shown escaped, so it cannot act on the terminal or fake a line;
    ``details`` are further lines (one per problem), escaped the same way."""
    exit_code = 2

    def __init__(self, message: str, details: list[str] | tuple[str, ...] = ()):
        super().__init__(message)
        self.details = tuple(details)

    def show(self, file: Any = None) -> None:
        click.echo(f"ms-advisor: {visible(self.format_message())}", err=True)
        for line in self.details:
            click.echo(visible(line), err=True)


class Where:
    """``with Where("--ics: FILE"):`` an AdvisorError raised inside is shown as coming from there
    (``ms-advisor: --ics: FILE: <message>``); ``case_file``: the --case file a SeveralCases came from,
    named in its hint. It only marks the error: :func:`user_error` says what the user sees."""

    def __init__(self, prefix: str | None = None, case_file: str | None = None):
        self.prefix, self.case_file = prefix, case_file

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: BaseException | None, traceback: Any) -> None:
        if isinstance(error, AdvisorError) and not hasattr(error, _WHERE):  # the innermost place wins
            setattr(error, _WHERE, self)


_WHERE = "_ms_advisor_where"


def user_error(error: AdvisorError) -> UserError:
    """The one place the command line turns the project's errors (every one an AdvisorError) into what a
    user sees: ``ms-advisor: <message>`` on stderr, one line (a knowledge base's problems one per line
    after it), exit 2, no traceback."""
    where = getattr(error, _WHERE, None)
    prefix = f"{where.prefix}: " if isinstance(where, Where) and where.prefix else ""
    if isinstance(error, InvalidFacts):
        return UserError(f"{prefix}invalid facts: {error}")
    if isinstance(error, KnowledgeBaseError):
        return UserError(f"{prefix}invalid knowledge base:", error.lines())
    if isinstance(error, SeveralCases) and isinstance(where, Where) and where.case_file is not None:
        return UserError(f"{error}; --case reads one person's facts: for a file of cases use "
                         f"`ms-advisor batch {where.case_file} --out RESULTS`")
    return UserError(f"{prefix}{error}")


class OneLineUsageError(click.UsageError):
    """Click's usage error as one line on stderr (``ms-advisor: <what> (see '<command> --help')``), exit 2."""

    def show(self, file: Any = None) -> None:
        where = f" (see '{self.ctx.command_path} --help')" if self.ctx is not None else ""
        click.echo(f"ms-advisor: {visible(self.format_message())}{where}", err=True)


class HelpFormatter(click.HelpFormatter):
    """click's help, wrapped by click at the terminal's width, except that a line never breaks at a
    hyphen ('ms-advisor', '--rules-dir') and an example longer than the width goes on over shell
    continuation lines."""

    def write(self, string: str) -> None:
        super().write(string.replace(NB_HYPHEN, "-"))

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, keep_hyphens(args), prefix)

    def write_text(self, text: str) -> None:
        super().write_text(keep_hyphens(fold_commands(text, self.width - self.current_indent)))

    def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
        super().write_dl([(keep_hyphens(a), keep_hyphens(b)) for a, b in rows], col_max, col_spacing)


class Context(click.Context):
    formatter_class = HelpFormatter


class Command(click.Command):
    """A command whose usage errors (bad option value, unknown option, missing argument) are one line."""
    context_class = Context

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as e:
            raise OneLineUsageError(e.format_message(), e.ctx or ctx) from None


class Group(click.Group):
    """A group whose usage errors (an unknown command among them) are one line, and whose commands too."""
    command_class = Command
    context_class = Context

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except NoArgsIsHelpError:
            raise  # no arguments at all: click prints the help as it is (on stderr, exit 2)
        except click.UsageError as e:
            raise OneLineUsageError(e.format_message(), e.ctx or ctx) from None

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as e:
            raise OneLineUsageError(e.format_message(), e.ctx or ctx) from None

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; any AdvisorError it raises is shown by :func:`user_error` (the one boundary)."""
        try:
            return super().invoke(ctx)
        except AdvisorError as e:
            raise user_error(e) from None


Group.group_class = Group


class PathName(click.Path):
    """click.Path that refuses a NUL in the name with a usage error (click's own check raises ValueError)."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            self.fail(f"'{visible(value)}': a file name cannot hold a NUL character", param, ctx)
        return super().convert(value, param, ctx)


class Number(click.ParamType[Any]):
    """A number read by the one text-to-value parser (``advisor.values``): ASCII digits in JSON's grammar
    (no '١٤٠', no '1_0', no '0x2', no '012', no '+2', no 'inf'); ``whole`` takes whole numbers only ('2.0'
    is 2), ``low``/``high`` bound it; ``fact``: an empty text is "not given" (the option left out)."""

    def __init__(self, whole: bool, low: float | None = None, high: float | None = None, fact: bool = False):
        self.whole, self.low, self.high, self.fact = whole, low, high, fact
        self.name = "integer" if whole else "number"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, str):
            return value
        from advisor.values import ValueTextError, count_value, number_value

        try:
            number = (count_value if self.whole else number_value)(value)
        except ValueTextError as e:
            self.fail(str(e), param, ctx)
        if number is None:
            if self.fact:
                return None  # not given: as if the option were left out
            self.fail(f"'' is not {'a whole number' if self.whole else 'a number'} written in ASCII digits (e.g. "
                      + ("2" if self.whole else "12.5 or 1e-5") + ")", param, ctx)
        if (self.low is not None and number < self.low) or (self.high is not None and number > self.high):
            bounds = f"from {self.low:g} to {self.high:g}" if self.high is not None else f"at least {self.low:g}"
            self.fail(f"{visible(value)} is not {bounds}", param, ctx)
        return int(number) if self.whole else float(number)


class Day(click.ParamType[Any]):
    """A date written YYYY-MM-DD in ASCII digits (``time``: or YYYY-MM-DDTHH:MM:SS), as a datetime.
    Python's strptime and fromisoformat also take other scripts' digits ('２０２６-01-05'); this does not."""
    name = "date"

    def __init__(self, time: bool = False):
        self.time = time
        self.pattern = r"[0-9]{4}-[0-9]{2}-[0-9]{2}" + (r"(T[0-9]{2}:[0-9]{2}:[0-9]{2})?" if time else "")

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        import re
        from datetime import datetime

        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        written = "YYYY-MM-DD" + (" or YYYY-MM-DDTHH:MM:SS" if self.time else "")
        if not re.fullmatch(self.pattern, text):
            self.fail(f"'{visible(str(value))}' is not a date written {written} in ASCII digits (e.g. 2027-01-04)", param, ctx)
        try:
            return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S" if "T" in text else "%Y-%m-%d")
        except ValueError:
            self.fail(f"'{visible(text)}' is not a real date or time ({written}, e.g. 2027-01-04)", param, ctx)


def _colour() -> bool | None:
    return False if os.environ.get("NO_COLOR") else None  # None: click decides (no colour unless a TTY)


def echo(text: str) -> None:
    click.echo(text, color=_colour())


def emit(obj: Any, fmt: str | None, explain: bool = False) -> None:
    """Print a library result through the one renderer (``render.emit``)."""
    from advisor.render import emit as render

    echo(render(obj, fmt or default_format(), width=terminal_width(), explain=explain))


def packaged_facts() -> list[dict[str, Any]]:
    """The packaged knowledge base's facts (rules/facts.toml) as raw TOML: the named options are built
    from them when the command is built (tomllib only: `--help` imports no pydantic; the KB loader
    validates the file, and a --rules-dir KB's own facts are given with --fact)."""
    import tomllib
    from pathlib import Path

    here = Path(__file__).resolve().parent
    for directory in (here / "rules", here.parent / "rules"):
        if (directory / "facts.toml").is_file():
            with (directory / "facts.toml").open("rb") as f:
                return list(tomllib.load(f).get("fact", []))
    return []


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


def rules_dir_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--rules-dir", type=PathName(file_okay=False), metavar="DIR",
                        help="Use the knowledge base in DIR instead of the packaged one (validated first).")(f)


def get_advisor(rules_dir: str | None, given_as: str | None = None) -> Any:
    """The Advisor of the knowledge base in ``rules_dir`` (the packaged one for None). ``given_as``: the
    argument the directory came from (kb diff's OLD_DIR, NEW_DIR), named in its errors with the path;
    by default they name --rules-dir."""
    from advisor.api import default_advisor
    from advisor.core.advisor import Advisor

    if rules_dir is None:
        return default_advisor()
    if "\x00" in rules_dir or not os.path.isdir(rules_dir):
        raise UserError(f"{given_as or '--rules-dir'}: {rules_dir}: no such directory")
    with Where(f"{given_as}: {rules_dir}" if given_as else None):
        return Advisor(rules_dir=rules_dir)


def drug_id(advisor: Any, name: str) -> str:
    """A drug id from an id, name or brand, matched as the KB keeps them apart (NFKC, case-folded)."""
    return str(advisor.drug_id(name))  # UnknownDrug names the allowed ids


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


def default_format() -> str:
    return "table" if sys.stdout.isatty() else "json"


FORMAT_ENV = "MS_ADVISOR_FORMAT"  # a person's default --format for the commands that take table, json and markdown


class FormatChoice(click.Choice):  # type: ignore[type-arg]
    """--format's choices; a bad value from $MS_ADVISOR_FORMAT is an error naming the variable."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            if ctx is not None and param is not None and ctx.get_parameter_source(param.name) is ParameterSource.ENVIRONMENT:
                raise UserError(f"{FORMAT_ENV}: '{visible(value)}' is not an output format (allowed: {', '.join(self.choices)}; "
                                "or unset it for the default)") from None
            raise


FORMAT = click.option("--format", "fmt", type=FormatChoice(["table", "json", "markdown"]), envvar=FORMAT_ENV,
                      help=f"Output format (default: ${FORMAT_ENV} if set, else table on a terminal and json otherwise).")
TEXT_FORMAT = click.option("--format", "fmt", type=FormatChoice(["table", "json", "markdown"]), envvar=FORMAT_ENV, default="table",
                           help=f"Output format (default: ${FORMAT_ENV} if set, else table).")


@click.group(cls=Group, epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="ms-advisor")
def main() -> None:
    """Which MS infusion drugs (alemtuzumab, natalizumab, mitoxantrone, ocrelizumab) a
    patient-education article describes for a person, with every answer explained and quoted.

    Decision support, not a prescription."""


@main.command(epilog="""
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


@main.command(epilog="""
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


@main.command(epilog="""
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


@main.command(epilog="""
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
@click.option("--source", type=PathName(dir_okay=False), metavar="FILE",
              help="Check the quotes against FILE instead of the knowledge base's own source.")
@click.option("--require-approved", is_flag=True, help="Also fail on any rule whose review_status is not \"approved\".")
def kb_check(rules_dir: str | None, source: str | None, require_approved: bool) -> None:
    """Verify a knowledge base: every quote verbatim in the source, no text claiming more than its quote
    (a claim word such as "only", "must", "never", "safe", "best" or "recommended", or a number, that
    the quote does not hold, unless the item's `allow` lists it), every rule valid and reachable,
    exactly one status per drug for every combination of the fact values the rules test, every
    statement of a named number (kb.toml [numbers]) agreeing with it, and the FHIR codes (fhir.toml)
    as `serve` reads them. Exit 1 on any problem."""
    from advisor.kb.checks import check
    from advisor.kb.load import default_directory

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
                 f"every statement of a named number (kb.toml [numbers]) agrees with it: {report.numbers}" if report.numbers
                 else "no named numbers (kb.toml [numbers]) to compare",
                 "the FHIR codes (fhir.toml) valid" if report.fhir
                 else "no fhir.toml: `ms-advisor serve` refuses this knowledge base until it has one"):
        echo(click.wrap_text(line, terminal_width(), initial_indent="  - ", subsequent_indent="    "))


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


@main.command(epilog="""
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


@main.command(epilog="""
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


@main.command(epilog="""
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


@main.command(epilog="""
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
    from advisor.interview import ask_facts, case_file_text

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


@main.command(epilog="""
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
@click.option("--input-format", type=click.Choice(["jsonl", "csv", "json", "yaml"]),
              help="Format of stdin and of files with an unknown suffix (default for stdin: jsonl).")
@click.option("--delimiter", metavar="CHAR", help="CSV delimiter (default: sniffed among comma, semicolon and tab; 'tab' for a tab); "
              "also of CSV output unless --out-delimiter is given.")
@click.option("--out-delimiter", metavar="CHAR", help="Delimiter of CSV output (default: --delimiter if given, else comma; 'tab' for a tab).")
@click.option("--bom", is_flag=True, help="Start CSV output with a UTF-8 byte-order mark (Excel then reads it as UTF-8).")
@click.option("--encoding", default="utf-8", show_default=True, help="Encoding of CSV, JSON and YAML inputs (a UTF-8 byte-order mark is read).")
@click.option("--max-decompressed", type=Number(whole=False, low=0.001, high=1024), default=4, show_default=True, metavar="GIB",
              help="Bound of each gzipped input once decompressed, in GiB: past it, an error record says so and the rest of "
                   "that input is not read (a small gzip can hold gigabytes of newlines).")
@click.option("--extra", type=click.Choice(["error", "ignore", "keep"]), default="error", show_default=True,
              help="Unknown fields or columns: name them in the case's error, drop them, or keep them in the record under 'input'.")
@click.option("--map", "mapping", multiple=True, metavar="SOURCE=FIELD",
              help="Rename an input field or column (repeatable), e.g. --map patient_id=id.")
@click.option("--echo-facts", is_flag=True, help="Put the validated facts in each record.")
@click.option("--summary-json", metavar="FILE", help="Also write the summary as JSON to FILE.")
@click.option("--duplicate-check-limit", type=Number(whole=True, low=0), default=None, metavar="N",
              help="Distinct ids remembered to flag repeated ids (about 70 bytes each; default 5,000,000; 0: no check).")
@click.option("--workers", type=Number(whole=True, low=1, high=64), help="Worker processes, 1 to 64 (default: the number of cores).")
@click.option("--full", is_flag=True, help="Put the whole Recommendation in each record.")
@rules_dir_option
def batch(paths: tuple[str, ...], out_path: str, fmt: str, input_format: str | None, delimiter: str | None, encoding: str,
          out_delimiter: str | None, bom: bool,
          max_decompressed: float, extra: str, mapping: tuple[str, ...], echo_facts: bool,
          summary_json: str | None, duplicate_check_limit: int | None,
          workers: int | None, full: bool, rules_dir: str | None) -> None:
    """Evaluate every case in PATHS (.jsonl/.ndjson, .json, .yaml, .csv files, each also gzipped, directories,
    '-' for stdin) and write one record per case, in input order. Exit 0 if every case is valid and every
    expectation holds, 1 otherwise, 2 for a usage error or a run that could not finish."""
    owned = stopping.holding()  # the `ms-advisor batch` process itself (not a test runner's)
    try:
        _batch(paths, out_path, fmt, input_format, delimiter, encoding, out_delimiter, bom, max_decompressed, extra, mapping,
               echo_facts, summary_json, duplicate_check_limit, workers, full, rules_dir)
    finally:
        if owned:
            stopping.quiet()  # the run is over: a signal now cannot turn exit 0, 1 or 2 into "killed"


def _batch(paths: tuple[str, ...], out_path: str, fmt: str, input_format: str | None, delimiter: str | None, encoding: str,
           out_delimiter: str | None, bom: bool,
           max_decompressed: float, extra: str, mapping: tuple[str, ...], echo_facts: bool,
           summary_json: str | None, duplicate_check_limit: int | None,
           workers: int | None, full: bool, rules_dir: str | None) -> None:
    import codecs

    from advisor.batch import DUPLICATE_CHECK_LIMIT, CaseOptions, Format, ReadOptions, run_to_file

    for p in paths:
        if p != "-" and not os.path.lexists(p):
            raise UserError(f"{p}: no such file or directory")
    delimiter = _delimiter(delimiter, "--delimiter")
    if fmt != "csv" and (bom or out_delimiter is not None):
        raise UserError(f"{'--bom' if bom else '--out-delimiter'}: only with --format csv (these records are {fmt})")
    out_delimiter = _delimiter(out_delimiter, "--out-delimiter") or delimiter or ","
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise UserError(f"--encoding: unknown encoding '{encoding}'") from None
    pairs = _map_pairs(mapping)
    advisor = get_advisor(rules_dir)  # loads and validates the KB before any work starts
    options = CaseOptions(extra=extra, mapping=tuple(pairs), echo_facts=echo_facts, full=full)
    read = ReadOptions(input_format=input_format, delimiter=delimiter, encoding=encoding,
                       max_decompressed_bytes=int(max_decompressed * 2**30))
    output = Format(fmt, delimiter=out_delimiter, bom=bom, fact_columns=echo_facts,
                    input_columns=_kept_columns(paths, read, options)) if fmt == "csv" else fmt
    summary = run_to_file(list(paths), out_path, advisor=advisor, fmt=output, workers=workers or os.cpu_count() or 1,
                          options=options, read=read, summary_json=summary_json,
                          duplicate_check_limit=DUPLICATE_CHECK_LIMIT if duplicate_check_limit is None else duplicate_check_limit)
    click.echo(summary.text(advisor.kb), err=True)
    sys.exit(0 if summary.ok else 1)


def _delimiter(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    value = "\t" if value.lower() in ("tab", "\\t") else value
    if len(value) != 1 or value in "\"\r\n" or (not value.isprintable() and value != "\t"):
        raise UserError(f"{option}: one character (not a quote, a line break or another control character), or 'tab'")
    return value


def _kept_columns(paths: tuple[str, ...], read: Any, options: Any) -> tuple[str, ...]:
    """With --extra keep, the CSV inputs' columns that are not facts: each its own output column."""
    if options.extra != "keep":
        return ()
    from advisor.batch import csv_headers
    from advisor.batch.records import FACTS, columns

    kept: dict[str, None] = {}
    for header in csv_headers(paths, read):
        for key in columns(header, options.mapping, options.extra).keys:
            if key not in FACTS and not key.startswith("expect"):
                kept.setdefault(key)
    return tuple(kept)


def _map_pairs(mapping: tuple[str, ...]) -> list[tuple[str, str]]:
    """--map SOURCE=FIELD pairs, checked before any work: FIELD must be a fact (or a case file's
    `expect`), and one SOURCE cannot be renamed twice."""
    from advisor.batch.records import FACTS
    from advisor.batch.casefile import CASE_KEYS
    from advisor.core.models import PatientFacts

    allowed = [*PatientFacts.model_fields, *(k for k in CASE_KEYS if k not in FACTS)]
    pairs: dict[str, str] = {}
    for m in mapping:
        source, sep, target = (part.strip() for part in m.partition("="))
        if not sep or not source or not target:
            raise UserError(f"--map: '{m}' is not SOURCE=FIELD (FIELD one of: {', '.join(allowed)})")
        if target not in allowed:
            raise UserError(f"--map: '{m}': '{target}' is not a field (FIELD one of: {', '.join(allowed)})")
        if source in pairs and pairs[source] != target:
            raise UserError(f"--map: '{source}' is renamed twice (to {pairs[source]} and to {target}): which is meant cannot be known")
        pairs[source] = target
    return list(pairs.items())


@main.command(epilog="""
\b
Examples:
  ms-advisor serve
  ms-advisor serve --port 8080 --workers 2 --db /var/lib/ms-advisor/decisions.sqlite3
  ms-advisor serve --trust https://ehr.example.org=ehr-jwks.json --public-url https://cds.example.org \\
      --cors-origin https://ehr.example.org
""")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (localhost by default).")
@click.option("--port", type=Number(whole=True, low=0, high=65535), default=8000, show_default=True, help="Port, 0 to 65535.")
@click.option("--workers", type=Number(whole=True, low=1, high=64), default=1, show_default=True,
              help="Server processes, 1 to 64 (the rules engine runs one call at a time per process).")
@rules_dir_option
@click.option("--db", metavar="PATH", help="The decision log (SQLite; default: $XDG_STATE_HOME/ms-advisor/decisions.sqlite3).")
@click.option("--cors-origin", "cors_origins", multiple=True, metavar="ORIGIN", help="Allow browser calls from ORIGIN (repeatable; none by default).")
@click.option("--trust", multiple=True, metavar="ISSUER=JWKS_FILE",
              help="Require CDS Hooks calls to carry a JWT from ISSUER, checked with the keys in JWKS_FILE (repeatable).")
@click.option("--log-patient-ids", is_flag=True, help="Store patient ids in the decision log (not stored by default).")
@click.option("--fhir-timeout", type=Number(whole=False, low=0.1, high=60), default=5.0, show_default=True, metavar="SECONDS",
              help="Timeout of each request to an EHR's FHIR server, 0.1 to 60 seconds.")
@click.option("--public-url", metavar="URL", help="The service's address as EHRs call it (for JWT aud and card links); "
              "required with --trust.")
@click.option("--header-timeout", type=Number(whole=False, low=0.1, high=300), default=10.0, show_default=True, metavar="SECONDS",
              help="Time a client has to send a request's headers (else 408 and the connection closes), 0.1 to 300 seconds.")
@click.option("--body-timeout", type=Number(whole=False, low=0.1, high=300), default=20.0, show_default=True, metavar="SECONDS",
              help="Time a client has to send a request's body after its headers (else 408), 0.1 to 300 seconds.")
def serve(host: str, port: int, workers: int, rules_dir: str | None, db: str | None, cors_origins: tuple[str, ...],
          trust: tuple[str, ...], log_patient_ids: bool, fhir_timeout: float, public_url: str | None,
          header_timeout: float, body_timeout: float) -> None:
    """Serve the advisor over HTTP: a JSON API (/advise, /batch, /drugs, /rules, /kb, /docs) and an HL7
    CDS Hooks service (/cds-services) reading FHIR R4, every decision logged in SQLite."""
    import re

    import uvicorn

    from advisor.serve.app import SETTINGS_ENV, Settings, create_app, default_db, freeze_start_up, settings_env

    if rules_dir is not None and not os.path.isdir(rules_dir):
        raise UserError(f"--rules-dir: {rules_dir}: no such directory")
    settings = Settings(rules_dir=os.path.abspath(rules_dir) if rules_dir else None, db=os.path.abspath(db or default_db()),
                        cors_origins=list(cors_origins), trust=list(trust), log_patient_ids=log_patient_ids,
                        fhir_timeout=fhir_timeout, public_url=public_url, header_timeout=header_timeout, body_timeout=body_timeout)
    if public_url is not None and not re.match(r"^https?://[^/?#\s]+(/[^?#\s]*)?$", public_url):
        raise UserError(f"--public-url: {public_url!r} is not an http(s) URL without query or fragment")
    if trust and public_url is None:  # else a token's aud would be checked against the caller's own Host header
        raise UserError("--trust needs --public-url: the address EHRs call this service at (e.g. --public-url "
                        "https://cds.example.org), which every token's aud must name")
    app = create_app(settings)  # everything is checked before the port opens (StoreError, TrustError: the boundary)
    _can_listen(host, port)  # a busy port or an unknown host: one line and exit 2, not uvicorn's log and exit 3
    for line in _start_up_lines(settings, host, port):
        click.echo(f"ms-advisor serve: {line}", err=True)
    from advisor.serve.protocol import server_options

    options: dict[str, Any] = {"host": host, "port": port, "log_level": "info", **server_options()}  # head limits, timeouts
    if workers == 1:
        freeze_start_up()
        uvicorn.run(app, **options)
    else:
        os.environ[SETTINGS_ENV] = settings_env(settings)
        uvicorn.run("advisor.serve.app:app_from_env", factory=True, workers=workers, **options)


def _start_up_lines(settings: Any, host: str, port: int) -> list[str]:
    """What a person starting the service needs first: where the pages are, where the decisions go,
    and whether CDS Hooks calls need a token."""
    if settings.public_url:
        base = settings.public_url.rstrip("/")
    else:
        shown = f"[{host}]" if ":" in host else host
        base = f"http://{visible(shown)}:{port if port else '<the port named below>'}"
    ids = "patient ids stored: --log-patient-ids" if settings.log_patient_ids else "no patient ids stored"
    if settings.trust:
        issuers = ", ".join(visible(spec.rpartition("=")[0]) for spec in settings.trust)
        tokens = f"CDS Hooks calls need a JWT from {issuers} with aud {base}/cds-services/… (--trust)"
    else:
        tokens = "CDS Hooks calls need no token: anyone who can reach the port can call them (--trust requires one)"
    return [f"pages at {base}/ (JSON API: {base}/docs; CDS Hooks: {base}/cds-services)",
            f"decisions logged in {visible(settings.db)} ({ids})", tokens]


def _can_listen(host: str, port: int) -> None:
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as e:
        raise UserError(f"--host {visible(host)}: not an address or host name this machine can listen on ({e})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as e:
            raise UserError(f"--port {port}: cannot listen on {visible(host)}:{port}: {e.strerror}") from None


@main.command("log", epilog="""
\b
Examples:
  ms-advisor log --since 2026-11-01
  ms-advisor log --format csv > decisions.csv
""")
@click.option("--db", metavar="PATH", help="The decision log (default: the one `ms-advisor serve` writes).")
@click.option("--since", type=Day(time=True), metavar="YYYY-MM-DD[THH:MM:SS]", help="Only decisions from this UTC date (or time) on.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
def log_command(db: str | None, since: Any, fmt: str) -> None:
    """The decisions the service logged, with their cards' feedback, and override rates per drug."""
    from advisor.serve.logview import render
    from advisor.serve.store import open_existing
    from advisor.serve.app import default_db

    store = open_existing(db or default_db())
    since_text = since.strftime("%Y-%m-%dT%H:%M:%S") if since else None
    try:
        for line in render(store.count(since_text), store.decisions(since_text), store.override_rates(since_text), fmt,
                           store.drugs(since_text)):
            echo(line)
    finally:
        store.close()
