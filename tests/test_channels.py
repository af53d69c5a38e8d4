"""One number rule on every path: a count written 2.0 is 2 (library, flag, case file, batch, /advise,
web form); 2.5 is refused everywhere."""

import io
import json

import pytest
from click.testing import CliRunner

from advisor import Advisor, InvalidFacts, advise
from advisor.batch import run
from advisor.cli import main
from serve_helpers import serve_app  # noqa: F401 (fixture)

FACTS = {"ms_type": "spms", "severity": "severe"}


def test_library_flag_case_file_and_batch_agree(tmp_path):
    assert advise({**FACTS, "prior_failures": 2.0}).drug("alemtuzumab").status.value == "applicable"
    with pytest.raises(InvalidFacts, match="prior_failures"):
        advise({**FACTS, "prior_failures": 2.5})
    r = CliRunner().invoke(main, ["advise", "--ms-type", "spms", "--severity", "severe", "--prior-failures", "2.0", "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.output)["facts"]["prior_failures"] == 2
    assert CliRunner().invoke(main, ["advise", "--ms-type", "spms", "--severity", "severe", "--prior-failures", "2.5"]).exit_code == 2
    case = tmp_path / "p.json"
    case.write_text(json.dumps({**FACTS, "prior_failures": 2.0}))
    assert json.loads(CliRunner().invoke(main, ["advise", "--case", str(case), "--format", "json"]).output)["facts"]["prior_failures"] == 2
    out = io.StringIO()
    run([str(case)], out, advisor=Advisor())
    assert json.loads(out.getvalue())["status"]["alemtuzumab"] == "applicable"


def test_the_service_and_the_web_form_agree(serve_app):
    _, client = serve_app()
    r = client.post("/advise", json={**FACTS, "prior_failures": 2.0})
    assert r.status_code == 200 and r.json()["facts"]["prior_failures"] == 2
    assert client.post("/advise", json={**FACTS, "prior_failures": 2.5}).status_code == 422
    page = client.get("/advice?ms_type=spms&severity=severe&prior_failures=2.0", headers={"Accept": "text/html"})
    assert page.status_code == 200 and 'data-drug="alemtuzumab" data-status="applicable"' in page.text
    assert client.get("/advice?ms_type=spms&severity=severe&prior_failures=2.5", headers={"Accept": "text/html"}).status_code == 422
