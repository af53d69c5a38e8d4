"""The ms-advisor command line: small click commands over the library (every answer from advise()).

This module is the ``main`` group (the ``ms-advisor`` console script); the commands live by what a
user does: ``advice`` (advise, explain, schedule, interview and the reference listings), ``kb`` (the
``kb`` group), ``batch``, ``service`` (serve and log). What they share is in ``common`` and ``facts``.
Each command is a few lines over one library function; a command imports the heavy stacks (the
service, batch, the web pages) inside itself, so ``ms-advisor advise`` and ``--help`` load none.
"""

from __future__ import annotations

import os
import sys

from advisor import startup, stopping

_argv = getattr(sys, "argv", None) or [""]
if os.path.basename(_argv[0]).startswith("ms-advisor") and _argv[1:2] == ["batch"]:
    # The `ms-advisor batch` process: from here on (before the heavy imports and the knowledge base) a
    # stopping signal is held for the run to raise, so it ends as an interrupted run (exit 2), never
    # as killed (143) with a temporary file left behind. Other commands start as before. It must stay
    # the first thing the package does: every module of it (click first) is imported after this.
    stopping.hold()
if os.path.basename(_argv[0]).startswith("ms-advisor"):
    # The `ms-advisor` process (not a test runner's or an embedder's): the collector is held back while
    # the command starts (see advisor/startup.py), from before click is imported.
    startup.at_startup()

import click

from advisor import __version__
from advisor.cli import advice, batch, kb, service
from advisor.cli.common import Group

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


@click.group(cls=Group, epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="ms-advisor")
def main() -> None:
    """Which MS infusion drugs (alemtuzumab, natalizumab, mitoxantrone, ocrelizumab) a
    patient-education article describes for a person, with every answer explained and quoted.

    Decision support, not a prescription."""


for _command in (*advice.COMMANDS, kb.kb, batch.batch, *service.COMMANDS):
    main.add_command(_command)

__all__ = ["main"]
