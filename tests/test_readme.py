"""The README's and the docs' console examples are real output: each `$ ms-advisor ...` block of README.md
and docs/*.md is run and compared (a block may end in a line "..." or "  ..." where the output goes on,
or use `| head -N`). Also: the README stays a front page, its links and the docs' links resolve, its
library example runs, and the FHIR table of docs/service.md is the one rules/fhir.toml gives."""

import ast
import doctest
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
                # batch writes files (the summary of `batch cases/ --out FILE` is checked below); serve and log need a
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


def first_sh_block(text: str) -> list[str]:
    """The commands of the first ```sh block, read as .ci/run reads them (one a line, blank lines skipped)."""
    lines = text.split("\n")
    start = lines.index("```sh") + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("```"))
    return [line for line in lines[start:end] if line.strip()]


def test_the_readme_is_a_front_page_with_the_two_set_up_commands():
    text = README.read_text("utf-8")
    assert len(text.splitlines()) <= FRONT_PAGE_LINES, "the README is a front page: move details into docs/"
    install, test = first_sh_block(text)  # .ci/run runs exactly these two, each in a fresh venv
    assert install.startswith("python3 -m venv .venv && ") and " .venv/bin/pip install . && " in install
    assert ".venv/bin/ms-advisor advise " in install
    assert test.startswith("python3 -m venv .venv && ") and test.endswith(" .venv/bin/pip install '.[test]' && .venv/bin/pytest")
    # who it is for, in the first paragraph, as a whole sentence
    first = text.split("\n\n")[1]
    assert first.startswith("ms-infusion-advisor is for ") and first.endswith(".")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", doc.read_text("utf-8"), flags=re.DOTALL)
    return {slug(h) for h in re.findall(r"^#+ (.*)$", text, re.MULTILINE)}


@pytest.mark.parametrize("doc", DOCS, ids=[d.relative_to(ROOT).as_posix() for d in DOCS])
def test_every_link_of_the_docs_leads_somewhere(doc):
    text = re.sub(r"```.*?```", "", doc.read_text("utf-8"), flags=re.DOTALL)
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    for link in links:
        if re.match(r"^[a-z]+:", link):
            continue
        path, _, anchor = link.partition("#")
        target = (doc.parent / path).resolve() if path else doc
        assert target.is_file(), f"{doc.name}: {link}"
        if anchor:
            assert anchor in anchors(target), f"{doc.name}: {link}"
    if doc == README:
        assert {f"docs/{d.name}" for d in DOCS[1:]} <= {link.partition("#")[0] for link in links}


def test_the_docs_name_every_command():
    docs = "\n".join(d.read_text("utf-8") for d in DOCS)

    def commands(group: click.Group, prefix: str):
        with click.Context(group) as ctx:
            for name in group.list_commands(ctx):
                command = group.get_command(ctx, name)
                if isinstance(command, click.Group):
                    yield from commands(command, f"{prefix}{name} ")
                else:
                    yield prefix + name

    names = list(commands(main, ""))
    assert "kb check" in names and "advise" in names
    for name in names:
        assert re.search(rf"`(ms-advisor )?{re.escape(name)}\b", docs), f"no doc names `{name}`"


def test_the_readme_library_example_runs_and_shows_real_values():
    code = re.search(r"```python\n(.*?)```", README.read_text("utf-8"), re.DOTALL).group(1)
    namespace: dict = {}
    exec(code, namespace)
    checked = 0
    for line in code.split("\n"):
        statement, _, comment = line.partition("  # ")
        try:
            shown = ast.literal_eval(comment.strip().split(" (")[0])
        except (ValueError, SyntaxError):
            continue
        assert eval(statement, namespace) == shown, line
        checked += 1
    assert checked >= 3


def fhir_table_module():
    spec = importlib.util.spec_from_file_location("fhir_table", ROOT / "docs" / "fhir_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_fhir_table_is_the_one_rules_fhir_toml_gives():
    fhir_table = fhir_table_module()
    shown = fhir_table.in_doc((ROOT / "docs" / "service.md").read_text("utf-8"))
    assert shown == fhir_table.table(), "run: python docs/fhir_table.py"
    from advisor import default_advisor
    conditions = next(row for row in shown.split("\n") if row.startswith("| `conditions` |"))
    entries = conditions.split("maps to a condition: ", 1)[1].removesuffix(" |").split("; ")
    named = {re.match(r"[a-z0-9_]+", entry).group() for entry in entries}
    assert named == {c.id for c in default_advisor().kb.conditions}, named


def test_the_fhir_table_follows_the_file(tmp_path):
    fhir_table = fhir_table_module()
    changed = tmp_path / "fhir.toml"
    changed.write_text((ROOT / "rules" / "fhir.toml").read_text("utf-8").replace('code = "609328004"', 'code = "1234567"'))
    assert "allergies 1234567" in fhir_table.table(changed) and "allergies 1234567" not in fhir_table.table()
def sessions():
    """The ```pycon blocks of the README and of docs/*.md: Python sessions, run as doctests."""
    for page in DOCS:
        for i, block in enumerate(re.findall(r"```pycon\n(.*?)```", page.read_text("utf-8"), re.DOTALL)):
            yield f"{page.name}:{i + 1}", block


SESSIONS = list(sessions())


def test_the_readme_has_python_sessions_to_check():
    assert len(SESSIONS) >= 2


@pytest.mark.parametrize("name,block", SESSIONS, ids=[n for n, _ in SESSIONS])
def test_readme_python_session_is_real_output(name, block):
    test = doctest.DocTestParser().get_doctest(block, {}, name, name, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test, out=lambda text: pytest.fail(text, pytrace=False))
    assert runner.summarize(verbose=False).attempted == len(test.examples) > 0


def batch_examples():
    """The `ms-advisor batch cases/ --out FILE` blocks: the summary they show (stderr), checked with the
    output written to a temporary folder."""
    for doc in DOCS:
        for block in re.findall(r"```console\n(.*?)```", doc.read_text("utf-8"), re.DOTALL):
            command, *shown = block.rstrip("\n").split("\n")
            if re.fullmatch(r"\$ ms-advisor batch cases/ --out \S+", command):
                yield doc.relative_to(ROOT).as_posix(), command[2:], shown


BATCH_EXAMPLES = list(batch_examples())


def test_the_docs_show_the_batch_summary():
    assert {doc for doc, _, _ in BATCH_EXAMPLES} >= {"README.md", "docs/batch.md"}


@pytest.mark.parametrize("doc,command,shown", BATCH_EXAMPLES, ids=[f"{d}: {c}" for d, c, _ in BATCH_EXAMPLES])
def test_a_batch_examples_summary_is_real_output(doc, command, shown, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    args = shlex.split(command)[1:]
    args[args.index("--out") + 1] = str(tmp_path / "results.jsonl")
    r = CliRunner().invoke(main, args, env={"NO_COLOR": "1", "COLUMNS": "100"})
    assert r.exit_code == 0, r.output
    assert r.stderr.rstrip("\n").split("\n") == shown
