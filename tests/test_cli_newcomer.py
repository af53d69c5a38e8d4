"""Issue 24: what a newcomer meets first at the terminal: the help with no arguments, text wrapped at
the terminal's width, condition names as people write them, the output format, the library's
answers, and a quick start."""

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from advisor.cli import main

FACTS = ["--ms-type", "relapsing", "--severity", "severe", "--prior-failures", "2"]


def run(*args, input=None, env=None):
    return CliRunner().invoke(main, list(args), input=input, env={"COLUMNS": "100", **(env or {})}, prog_name="ms-advisor")


# --- 24.1: no arguments -------------------------------------------------------------------------------

@pytest.mark.parametrize("args,first", [([], "Usage: ms-advisor [OPTIONS] COMMAND"), (["kb"], "Usage: ms-advisor kb [OPTIONS] COMMAND")])
def test_no_arguments_print_the_help_as_click_does(args, first):
    r = run(*args)
    assert r.exit_code == 2 and r.stdout == ""  # click's convention: no command is a usage error, help on stderr
    assert r.stderr.startswith(first) and "\\x0a" not in r.stderr and "ms-advisor: " not in r.stderr
    assert len(r.stderr.splitlines()) > 8 and "Commands:" in r.stderr.splitlines()
    assert r.stderr == run(*args, "--help").stdout  # the same help --help prints
