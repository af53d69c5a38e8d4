"""What the tests of the advice's wording share: flat text, a command-line run, the pages' test client
and their text as a person reads it, and a recommendation's CDS cards by drug."""

from __future__ import annotations

import html
import re
import warnings

import pytest
from click.testing import CliRunner

from advisor import default_advisor
from advisor.cli import main
from advisor.serve.cards import drug_cards
from advisor.web import create_app

with warnings.catch_warnings():  # starlette's TestClient prefers httpx2; httpx is what we depend on
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

HTML = {"accept": "text/html"}
KB_ID = {"name": "n", "version": "1", "sha256": "0"}
LINKS = [{"label": "Full explanation for these facts", "url": "http://127.0.0.1/advice", "type": "absolute"}]


def flat(text):
    return " ".join(text.split())


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input, env={"NO_COLOR": "1"})


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(default_advisor()))


def page_text(client, url):
    """A page's text as a person reads it: tags are word breaks, but a marked term (<dfn>, <abbr>:
    terms.toml) stays part of its sentence."""
    r = client.get(url, headers=HTML)
    assert r.status_code == 200, r.text[:300]
    inline = re.sub(r"</?(?:dfn|abbr)\b[^>]*>", "", r.text)
    return flat(html.unescape(re.sub(r"<[^>]+>", " ", inline)))


def cards_of(rec):
    return {c["extension"]["ms-infusion-advisor"]["drug"]: c for c in drug_cards(rec, KB_ID, "title", LINKS)}
