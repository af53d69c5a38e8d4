"""Text at the terminal: tables, texts, the interview and the help wrapped at its width ($COLUMNS) between
words, colour codes taking no width, and every control character shown escaped, on one line, never raw."""

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor.batch import run as run_batch
from advisor.batch.text import escape_controls
from advisor.cli import main
from advisor.render import plain_width
from advisor.text import json_safe, visible


def run(*args, input=None, env=None, color=False):
    return CliRunner().invoke(main, list(args), input=input, env={"COLUMNS": "100", **(env or {})}, color=color)


FACTS = ["--ms-type", "relapsing", "--severity", "severe", "--prior-failures", "2"]


ANSI = re.compile("\x1b\\[[0-9;]*m")


EXPLAIN = ["explain", "mitoxantrone", *FACTS, "--condition", "heart failure", "--condition", "allergies"]


TEXTS = [EXPLAIN, ["explain", "natalizumab", "--ms-type", "spms", "--severity", "mild"], ["drugs"], ["rules"], ["kb", "check"],
         ["kb", "info"], ["conditions"], ["advise", *FACTS, "--explain", "--format", "table", "--condition", "cancer"],
         ["schedule", "mitoxantrone", "--start", "2027-01-04"]]


def run_as_ms_advisor(*args, input=None, env=None):
    return CliRunner().invoke(main, list(args), input=input, env={"COLUMNS": "100", **(env or {})}, prog_name="ms-advisor")


def words(text):
    return text.split()


EXE = str(Path(sys.executable).with_name("ms-advisor"))  # the installed command, in a process of its own


EVIL = "\x1b]0;pwned\x07\x1b[2J\r\x00\u202eevil\u2066\x9b\u2028"


BASE = {"ms_type": "spms", "severity": "severe"}


def run_records(paths, fmt="jsonl", **kw):
    out = io.StringIO()
    summary = run_batch([str(p) for p in paths], out, fmt=fmt, **kw)
    text = out.getvalue()
    return (text if fmt != "jsonl" else [json.loads(line) for line in text.splitlines()]), summary


# --- the width ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("columns", [40, 60, 80, 132])
@pytest.mark.parametrize("command", [
    ["advise", *FACTS, "--condition", "heart_failure", "--condition", "cancer", "--explain", "--format", "table", "--id", "person-7"],
    ["explain", "mitoxantrone", *FACTS, "--condition", "heart_failure"],
    ["schedule", "mitoxantrone", "--start", "2027-01-31", "--mitoxantrone-cumulative-mg-m2", "100"],
])
def test_tables_wrap_to_COLUMNS(command, columns):
    r = run(*command, env={"COLUMNS": str(columns)})
    assert r.exit_code == 0, r.output
    widths = [plain_width(line) for line in r.stdout.splitlines()]
    assert max(widths) <= columns
    if columns >= 80:
        assert max(widths) > columns - 15  # it uses the width it has, not a fixed 100


def test_colour_codes_take_no_width():
    plain = run("advise", *FACTS, "--condition", "heart_failure", "--format", "table", env={"COLUMNS": "70"})
    coloured = run("advise", *FACTS, "--condition", "heart_failure", "--format", "table", env={"COLUMNS": "70"}, color=True)
    assert "\x1b[" in coloured.stdout and "\x1b[" not in plain.stdout
    assert ANSI.sub("", coloured.stdout) == plain.stdout  # the same lines: the caution wraps where it would uncoloured


@pytest.mark.parametrize("columns", [80, 50])
@pytest.mark.parametrize("command", TEXTS, ids=[" ".join(c[:2]) for c in TEXTS])
def test_texts_wrap_at_the_width_between_words(command, columns):
    r = run_as_ms_advisor(*command, env={"COLUMNS": str(columns)})
    assert r.exit_code == 0, r.output
    over = [line for line in r.stdout.splitlines() if len(line) > columns]
    long_words = [w for w in words(r.stdout) if len(w) > columns - 8]  # a SHA-256 at 50: on its own line, whole
    assert all(line.strip() in long_words for line in over), over
    # wrapped only between words: the same words as at a width nothing wraps at (no 'pp / ms', no 'ms- / advisor')
    assert words(r.stdout) == words(run_as_ms_advisor(*command, env={"COLUMNS": "100000"}).stdout)


def test_interview_questions_and_lists_wrap_at_the_width():
    answers = "secondary\nspms\nsevere\n1\nn\n0\nheart failure, hep_b\nheart failure\n"
    r = run_as_ms_advisor("interview", "--format", "json", input=answers, env={"COLUMNS": "60"})
    assert r.exit_code == 0, r.output
    wide = run_as_ms_advisor("interview", "--format", "json", input=answers, env={"COLUMNS": "100000"})
    assert words(r.stderr) == words(wide.stderr)
    said = r.stderr
    for answer in sorted(filter(None, answers.splitlines()), key=len, reverse=True):
        said = said.replace(f": {answer}\n", ": \n")  # the test runner echoes each answer after its question
    assert max(map(len, said.splitlines())) <= 60, [line for line in said.splitlines() if len(line) > 60]


@pytest.mark.parametrize("columns", [80, 60])
@pytest.mark.parametrize("command", [[], ["advise"], ["batch"], ["serve"], ["kb", "check"], ["schedule"], ["interview"]])
def test_help_wraps_at_the_width_never_at_a_hyphen(command, columns):
    env = {**os.environ, "COLUMNS": str(columns)}
    text = subprocess.run([EXE, *command, "--help"], capture_output=True, text=True, env=env).stdout
    assert text.startswith("Usage: ")
    assert max(map(len, text.splitlines())) <= columns
    assert not re.search(r"\w-\n", text)  # 'ms-' / 'advisor', '--rules-' / 'dir'
    wide = subprocess.run([EXE, *command, "--help"], capture_output=True, text=True,
                          env={**env, "COLUMNS": "100"}).stdout
    joined = re.sub(r" \\\n +", " ", text)  # an example over shell continuation lines is the same command
    assert [w for w in words(joined) if w.startswith("ms-advisor")] == [w for w in words(wide) if w.startswith("ms-advisor")]


# --- control characters -------------------------------------------------------------------------------------

def test_visible_escapes_every_terminal_control_and_keeps_text():
    assert visible(EVIL) == "\\x1b]0;pwned\\x07\\x1b[2J\\x0d\\x00\\u202eevil\\u2066\\x9b\\u2028"
    assert visible("Guillain-Barré, 140 mg/m²") == "Guillain-Barré, 140 mg/m²"
    text = json.dumps({"id": EVIL + "\ud800"}, ensure_ascii=False)
    assert json.loads(json_safe(text)) == {"id": EVIL + "\ud800"}
    json_safe(text).encode("utf-8")
    assert not any(c in json_safe(text) for c in "\x1b\r\x00\u202e\x9b\u2028")


def test_an_id_with_terminal_controls_is_shown_escaped_in_the_table_json_and_explain(tmp_path):
    f = tmp_path / "case.json"
    f.write_text(json.dumps({**BASE, "id": EVIL}))
    for args in (["advise", "--format", "table"], ["advise", "--format", "json"], ["explain", "mitoxantrone"]):
        r = CliRunner().invoke(main, [*args, "--case", str(f)])
        assert r.exit_code == 0, r.output
        assert not any(c in r.stdout for c in "\x1b\r\x00\u202e\u2066\x9b\u2028"), (args, r.stdout[:200])
        if "json" in args:
            assert json.loads(r.stdout)["facts"]["id"] == EVIL
        else:
            assert "[\\x1b]0;pwned\\x07" in r.stdout


@pytest.mark.parametrize("args", [
    ["explain", EVIL, "--ms-type", "spms", "--severity", "mild"],
    ["advise", "--case", str(Path("/nonexistent") / EVIL)],
    ["advise", "--ms-type", EVIL, "--severity", "mild"],
    ["advise", "--ms-type", "spms", "--severity", "mild", "--rules-dir", EVIL],
    ["schedule", EVIL, "--start", "2027-01-04"],
])
def test_error_messages_show_controls_escaped_on_one_line(args):
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert len([line for line in r.stderr.splitlines() if "pwned" in line or "evil" in line]) == 1, r.stderr
    assert not any(c in r.stderr for c in "\x1b\r\x00\u202e\u2066\x9b\u2028"), r.stderr
    assert "\\x1b]0;pwned\\x07" in r.stderr


def test_control_characters_are_escaped_in_terminal_text():
    assert escape_controls("a\x1b]0;pwn\x07\r\n\u202eb\x00") == "a\\x1b]0;pwn\\x07\\x0d\\x0a\\u202eb\\x00"


def test_control_characters_in_errors_stay_on_one_line(tmp_path):
    f = tmp_path / "c.jsonl"
    f.write_text('{"id":"x\\u001b[2J","ms_type":"a\\nb\\u001b[31m","severity":"mild"}\n')
    (rec,), _ = run_records([f])
    assert "\n" not in rec["error"] and "\x1b" not in rec["error"] and "\\x1b" in rec["error"]
