"""The command line's help and usage errors: no arguments print the help, `advise --help` has its own
examples and says first that a pipe gets JSON, and a usage error is one line on stderr."""

import re

import pytest
from click.testing import CliRunner

from advisor.cli import main
from advisor.kb.vocabulary import CONDITIONS


def run(*args, input=None, env=None):
    return CliRunner().invoke(main, list(args), input=input, env={"COLUMNS": "100", **(env or {})}, prog_name="ms-advisor")


def run_at_100_columns(*args, input=None, env=None, color=False):
    return CliRunner().invoke(main, list(args), input=input, env={"COLUMNS": "100", **(env or {})}, color=color)


@pytest.mark.parametrize("args,first", [([], "Usage: ms-advisor [OPTIONS] COMMAND"), (["kb"], "Usage: ms-advisor kb [OPTIONS] COMMAND")])
def test_no_arguments_print_the_help_as_click_does(args, first):
    r = run(*args)
    assert r.exit_code == 2 and r.stdout == ""  # click's convention: no command is a usage error, help on stderr
    assert r.stderr.startswith(first) and "\\x0a" not in r.stderr and "ms-advisor: " not in r.stderr
    assert len(r.stderr.splitlines()) > 8 and "Commands:" in r.stderr.splitlines()
    assert r.stderr == run(*args, "--help").stdout  # the same help --help prints


def test_advise_help_has_its_own_examples_and_points_to_the_conditions():
    text = run("advise", "--help").stdout
    examples = re.sub(r" \\\n +", " ", text[text.index("Examples:"):])  # a shell continuation: one command
    assert all(line.strip().startswith(("ms-advisor advise", "export MS_ADVISOR_FORMAT")) for line in examples.splitlines()[1:] if line.strip())
    option = text[text.index("--condition NAME"):text.index("--no-condition")]
    assert len(option.splitlines()) <= 5 and "ms-advisor conditions" in option
    assert not any(c.description in text for c in CONDITIONS if len(c.description) > 20)  # not the whole list


def test_advise_help_says_first_that_a_pipe_gets_json():
    lines = run("advise", "--help").stdout.splitlines()
    head = " ".join(lines[:6])
    assert "JSON into a pipe" in head and "MS_ADVISOR_FORMAT" in head


@pytest.mark.parametrize("args", [["advise", "--prior-failures", "two"], ["advise", "--no-such-option"], ["no-such-command"],
                                  ["schedule", "natalizumab"], ["explain"]])
def test_click_usage_errors_are_one_line_on_stderr(args):
    r = run_at_100_columns(*args)
    assert r.exit_code == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith("ms-advisor: ") and "--help" in r.stderr
