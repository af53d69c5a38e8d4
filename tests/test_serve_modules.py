"""How the service's modules hang together (issue 22): the app imports its routers, the routers import
what they share from responses.py and never the app; one start-up step; one set of server options."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

SERVE = Path(__file__).resolve().parent.parent / "advisor" / "serve"


def test_one_start_up_step_freezes_what_start_up_built():
    from advisor.serve.app import freeze_start_up

    gc.unfreeze()
    try:
        freeze_start_up()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    root = SERVE.parent
    for entry in [*(root / "cli").glob("*.py"), root / "serve" / "start.py", root / "web" / "__main__.py"]:
        assert "gc.freeze" not in entry.read_text(), entry  # they call freeze_start_up (serve.start) or are cli


def test_python_m_advisor_web_is_ms_advisor_serve_with_its_options(capsys):
    from advisor.web.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out, err = capsys.readouterr()
    assert "Usage: ms-advisor serve [OPTIONS]" in out
    for option in ("--port", "--rules-dir", "--db", "--trust", "--public-url", "--header-timeout", "--body-timeout", "--workers"):
        assert option in out, option
    assert "python -m advisor.web is `ms-advisor serve`" in err


def test_python_m_advisor_web_refuses_a_bad_option_as_serve_does(capsys):
    from advisor.web.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(["--port", "99999"])
    assert exit_.value.code == 2
    assert "--port" in capsys.readouterr().err
