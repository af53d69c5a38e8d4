"""The README's and the docs' console examples are real output: each `$ ms-advisor ...` block of README.md
and docs/*.md is run and compared (a block may end in a line "..." or "  ..." where the output goes on,
or use `| head -N`). Also: the README stays a front page, its links and the docs' links resolve, its
library example runs, and the FHIR table of docs/service.md is the one rules/fhir.toml gives."""

import ast
import importlib.util
import re
import shlex
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from advisor.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"
ROOT = README.parent
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
FRONT_PAGE_LINES = 250


def examples():
    for doc in DOCS:
        for block in re.findall(r"```console\n(.*?)```", doc.read_text("utf-8"), re.DOTALL):
            command, *shown = block.rstrip("\n").split("\n")
            if not command.startswith("$ ms-advisor ") or "--out" in command or "--ics" in command \
                    or command.startswith(("$ ms-advisor serve", "$ ms-advisor log")):
                # batch writes files (its summary is checked by tests/test_cases.py); serve and log need a
                # server and its log (tests/test_serve_*.py)
                continue
            yield doc.relative_to(ROOT).as_posix(), command[2:], shown


EXAMPLES = list(examples())


def test_the_readme_has_examples_to_check():
    assert len(EXAMPLES) >= 12
    where = {doc for doc, _, _ in EXAMPLES}
    assert {"README.md", "docs/cli.md", "docs/knowledge-base.md"} <= where, where


def changed_kb(where: Path) -> None:
    """The README's `kb diff` example: a copy of the KB that asks for three prior failures, not two."""
    shutil.copytree(ROOT / "rules", where / "new-rules", ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    decisions = where / "new-rules" / "decisions.toml"
    text = decisions.read_text()
    for op in (">=", "<"):
        old = f'{{ fact = "prior_failures", op = "{op}", value = 2 }}'
        assert old in text
        text = text.replace(old, old.replace("value = 2", "value = 3"))
    decisions.write_text(text)
    (where / "rules").symlink_to(ROOT / "rules")


@pytest.mark.parametrize("doc,command,shown", EXAMPLES, ids=[f"{d}: {c}" for d, c, _ in EXAMPLES])
def test_readme_example_is_real_output(doc, command, shown, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    if "new-rules/" in command:
        changed_kb(tmp_path)
        monkeypatch.chdir(tmp_path)
    expected_exit = 0
    if "$ echo $?" in shown:  # the block ends by showing the exit code
        at = shown.index("$ echo $?")
        expected_exit, shown = int(shown[at + 1]), shown[:at]
    head = re.search(r"\s*\|\s*head -(\d+)$", command)
    args = shlex.split(command[:head.start()] if head else command)[1:]
    r = CliRunner().invoke(main, args, env={"NO_COLOR": "1", "COLUMNS": "100"})
    assert r.exit_code == expected_exit, r.output
    real = r.stdout.rstrip("\n").split("\n")
    if head:
        real = real[:int(head.group(1))]
    if shown and shown[-1].strip() == "...":
        shown = shown[:-1]
        real = real[:len(shown)]
    assert shown == real
