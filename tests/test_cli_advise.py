"""`ms-advisor advise`: the same answer as the library, readable output, clean errors."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor import advise
from advisor.cli import main


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


def test_json_is_exactly_the_recommendation():
    r = run("advise", "--ms-type", "rrms", "--severity", "severe", "--prior-failures", "2", "--condition", "pml",
            "--condition", "cancer", "--format", "json")
    assert r.exit_code == 0, r.output
    expected = advise({"ms_type": "relapsing", "severity": "severe", "prior_failures": 2, "conditions": ["pml", "cancer"]})
    assert json.loads(r.stdout) == expected.model_dump(mode="json")


def test_table_lists_then_explains_why_not():
    r = run("advise", "--ms-type", "spms", "--severity", "severe", "--rapidly-worsening", "--format", "table")
    assert r.exit_code == 0
    out = r.stdout
    # the listed group, then natalizumab in its own group (issue 20, item 1), then the others
    assert out.index("Drugs the article describes for these facts:") < out.index("Mitoxantrone") < \
        out.index("Described in the article with no criteria:") < out.index("Natalizumab") < \
        out.index("The other drugs:") < out.index("Alemtuzumab") < out.index("Ocrelizumab")
    assert "NO CRITERIA" in out and "not applicable  Natalizumab" not in out
    assert "why:" in out and "not a prescription" in out and "\x1b[" not in out


def test_explain_adds_quotes():
    r = run("advise", "--ms-type", "ppms", "--severity", "mild", "--format", "table", "--explain")
    assert "“In fact, it’s the first drug approved to treat primary progressive MS (PPMS).”" in r.stdout


def test_markdown_report():
    r = run("advise", "--ms-type", "ppms", "--severity", "mild", "--format", "markdown")
    assert r.exit_code == 0 and r.stdout.startswith("# MS infusion options") and "> “" in r.stdout


@pytest.mark.parametrize("args,field", [
    (["--ms-type", "progressive", "--severity", "mild"], "ms_type"),
    (["--ms-type", "spms", "--severity", "awful"], "severity"),
    (["--ms-type", "spms", "--severity", "mild", "--prior-failures", "-1"], "prior_failures"),
    (["--ms-type", "spms", "--severity", "mild", "--condition", "gout"], "conditions"),
    (["--ms-type", "spms", "--severity", "mild", "--mitoxantrone-cumulative-mg-m2", "nan"], "--mitoxantrone-cumulative-mg-m2"),
    (["--ms-type", "spms", "--severity", "mild", "--mitoxantrone-cumulative-mg-m2", "1e10"],
     "mitoxantrone_cumulative_mg_m2: is not a plausible dose"),
    (["--severity", "mild"], "ms_type"),
])
def test_bad_input_exits_2_naming_the_field(args, field):
    r = run("advise", *args)
    assert r.exit_code == 2
    assert field in r.stderr and "Traceback" not in r.stderr and r.stdout == ""


def test_non_integer_count_is_refused_by_the_option():
    r = run("advise", "--ms-type", "spms", "--severity", "mild", "--prior-failures", "two")
    assert r.exit_code == 2 and "--prior-failures" in r.stderr


@pytest.mark.slow
def test_installed_entry_point_runs():
    exe = shutil.which("ms-advisor") or str(Path(sys.executable).parent / "ms-advisor")
    p = subprocess.run([exe, "advise", "--ms-type", "spms", "--severity", "severe", "--format", "json"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["listed"] == ["mitoxantrone"]
    p = subprocess.run([exe, "advise", "--ms-type", "nope", "--severity", "mild"], capture_output=True, text=True)
    assert p.returncode == 2 and "ms_type" in p.stderr and "Traceback" not in p.stderr
