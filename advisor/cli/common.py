"""What every command of the command line shares: the one error boundary (``Group.invoke`` turns the
project's errors into one line and exit 2), one-line usage errors, the help's layout, the parameter
types, the --format and --rules-dir options, the output (``emit``) and the knowledge base in use
(``get_advisor``)."""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

import click
from click.core import ParameterSource
from click.exceptions import NoArgsIsHelpError

from advisor import startup
from advisor.errors import AdvisorError, InvalidFacts, KnowledgeBaseError, SeveralCases
from advisor.text import NB_HYPHEN, fold_commands, keep_hyphens, terminal_width, visible


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
        advisor = default_advisor()
    else:
        if "\x00" in rules_dir or not os.path.isdir(rules_dir):
            raise UserError(f"{given_as or '--rules-dir'}: {rules_dir}: no such directory")
        with Where(f"{given_as}: {rules_dir}" if given_as else None):
            advisor = Advisor(rules_dir=rules_dir)
    startup.as_usual()  # the advisor is built: the command's own work runs with the usual collector
    return advisor


def drug_id(advisor: Any, name: str) -> str:
    """A drug id from an id, name or brand, matched as the KB keeps them apart (NFKC, case-folded)."""
    return str(advisor.drug_id(name))  # UnknownDrug names the allowed ids



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

