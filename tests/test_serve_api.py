"""The JSON API, in process: every endpoint, the error shapes, and the safety limits."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from advisor import PatientFacts, Recommendation, advise
from advisor.kb.load import default_directory, load
from serve_helpers import NDJSON, serve_app, serve_app_module  # noqa: F401 (fixtures)


def fingerprint(kb_or_dir):
    """The KB's SHA-256 as load() computes it (KnowledgeBase.sha256)."""
    return kb_or_dir.sha256 if hasattr(kb_or_dir, "sha256") else load(kb_or_dir).sha256


ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def client(serve_app_module):
    """One app for the tests that only read its answers (those that read the log make their own)."""
    return serve_app_module()[1]


def test_advise_returns_the_library_recommendation_exactly(client):
    facts = {"ms_type": "rrms", "severity": "severe", "prior_failures": 2, "conditions": ["cancer"]}
    r = client.post("/advise", json=facts)
    assert r.status_code == 200
    assert r.json() == advise(facts).model_dump(mode="json")
    assert len(r.headers["x-decision-id"]) == 36


@pytest.mark.parametrize("facts,field,allowed", [
    ({"ms_type": "progresive", "severity": "mild"}, "ms_type", "spms"),
    ({"ms_type": "spms", "severity": "mild", "colour": "red"}, "colour", "ms_type"),
    ({"ms_type": "spms", "severity": "mild", "conditions": ["flu"]}, "conditions", "pml"),
    ({"ms_type": "spms"}, "severity", "severe"),
])
def test_bad_facts_get_422_naming_the_field_and_the_allowed_values(client, facts, field, allowed):
    r = client.post("/advise", json=facts)
    assert r.status_code == 422
    errors = r.json()["errors"]
    hit = [e for e in errors if e["field"] == field]
    assert hit and allowed in hit[0]["allowed"] and hit[0]["message"]
    assert set(r.json()) == {"errors"}


def test_negative_count_is_422_without_allowed_list(client):
    r = client.post("/advise", json={"ms_type": "spms", "severity": "mild", "prior_failures": -1})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "prior_failures"
    assert "0 to 1000" in r.json()["errors"][0]["message"]


@pytest.mark.parametrize("body,message", [
    (b"{", "not valid JSON"),
    (b'\xff{"ms_type": "spms"}', "not UTF-8"),
    (b'{"ms_type": "spms", "severity": "mild", "mitoxantrone_cumulative_mg_m2": NaN}', "NaN is not a JSON number"),
    (b'{"ms_type": "spms", "severity": "mild", "x": ' + b"[" * 20 + b"]" * 20 + b"}", "deeper than"),
    (b"[" * 100_000, "deeper than"),
    (b"[]", "must be a mapping"),
])
def test_bodies_that_are_not_acceptable_json_are_refused_plainly(client, body, message):
    r = client.post("/advise", content=body, headers={"content-type": "application/json"})
    assert r.status_code in (400, 422)
    assert message in json.dumps(r.json())
    assert "Traceback" not in r.text


def test_a_body_over_one_megabyte_gets_413(client):
    big = b'{"ms_type": "spms", "severity": "mild", "id": "' + b"x" * (1024 * 1024) + b'"}'
    r = client.post("/advise", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["errors"][0]["field"] == "(body)"


def test_a_streamed_body_over_one_megabyte_gets_413_without_content_length(client):
    def chunks():
        for _ in range(20):
            yield b"x" * 100_000
    r = client.post("/batch", content=chunks(), headers=NDJSON)
    assert r.status_code == 413


def test_an_unexpected_error_says_only_an_error_id_which_the_log_holds(serve_app, caplog, monkeypatch):
    app, client = serve_app()

    def broken(facts):
        raise RuntimeError("secret internal detail /etc/something")
    monkeypatch.setattr(app.state.rt.advisor, "advise", broken)
    with caplog.at_level(logging.ERROR, logger="advisor.serve"):
        r = client.post("/advise", json={"ms_type": "spms", "severity": "mild"})
    assert r.status_code == 500
    body = r.json()
    assert set(body) == {"error", "error_id"} and "secret" not in r.text and "Traceback" not in r.text
    assert any(body["error_id"] in rec.getMessage() and rec.exc_info for rec in caplog.records)


def test_kb_endpoints(client):
    kb = load(default_directory())
    assert client.get("/drugs").json() == [d.model_dump(mode="json") for d in kb.drugs]
    rules = client.get("/rules").json()
    assert [r["id"] for r in rules] == [r.id for r in kb.rules] + [c.id for c in kb.cautions]
    assert {r["kind"] for r in rules} == {"status", "caution"}
    assert client.get("/schema/facts").json() == PatientFacts.model_json_schema(mode="validation")
    assert client.get("/schema/recommendation").json() == Recommendation.model_json_schema(mode="serialization")
    info = client.get("/kb").json()
    assert info == {"name": kb.header.name, "version": kb.header.version, "sha256": fingerprint(kb),
                    "source_title": kb.header.source_title}
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["kb"] == info


def test_openapi_documents_the_bodies_and_responses(client):
    spec = client.get("/openapi.json").json()
    advise_op = spec["paths"]["/advise"]["post"]
    assert advise_op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/PatientFactsInput")
    assert advise_op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Recommendation")
    assert advise_op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/Errors")
    schemas = spec["components"]["schemas"]
    for name in ("PatientFactsInput", "HookRequest", "FeedbackRequest", "Recommendation", "CardsResponse", "Discovery", "KBInfo"):
        assert name in schemas, name
    refs = set()

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                refs.add(node["$ref"].rsplit("/", 1)[1])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(spec)
    assert refs <= set(schemas), refs - set(schemas)  # every reference resolves
    for path in ("/cds-services/ms-infusion-advisor", "/cds-services/ms-infusion-advisor/feedback", "/batch"):
        assert path in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_cors_is_off_unless_an_origin_is_allowed(serve_app):
    _, plain = serve_app()
    r = plain.get("/kb", headers={"Origin": "https://ehr.example.org"})
    assert "access-control-allow-origin" not in r.headers
    _, cors = serve_app(cors_origins=["https://ehr.example.org"])
    assert cors.get("/kb", headers={"Origin": "https://ehr.example.org"}).headers["access-control-allow-origin"] == "https://ehr.example.org"
    assert "access-control-allow-origin" not in cors.get("/kb", headers={"Origin": "https://evil.example"}).headers
    pre = cors.options("/advise", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 400


# --- /batch ------------------------------------------------------------------------------------------

def _cli_batch(data: bytes) -> list[dict]:
    out = subprocess.run([str(Path(sys.executable).parent / "ms-advisor"), "batch", "-", "--out", "-", "--workers", "1"],
                         input=data, capture_output=True, cwd=ROOT, timeout=120)
    return [json.loads(line) for line in out.stdout.decode().splitlines() if line]


def _normalise(records: list[dict], name: str) -> list[dict]:
    for r in records:
        for key in ("id", "source"):
            if isinstance(r.get(key), str) and r[key].startswith(name + ":"):
                r[key] = "<src>" + r[key][len(name):]
    return records


@pytest.mark.slow
def test_batch_gives_the_same_records_as_the_cli(client):
    data = (ROOT / "cases" / "jsonl" / "cautions.jsonl").read_bytes()
    data += b'\n\n{"ms_type": "x"}\nnot json\n{"id": "dup", "ms_type": "ppms", "severity": "mild"}\n' \
            b'{"id": "dup", "ms_type": "rrms", "severity": "severe", "expect": {"listed": ["natalizumab"]}}\n\xff\xfe\n'
    r = client.post("/batch", content=data, headers=NDJSON)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    served = _normalise([json.loads(line) for line in r.text.splitlines()], "<body>")
    assert served == _normalise(_cli_batch(data), "<stdin>")
    assert any(rec.get("duplicate_id") for rec in served)
    assert sum(not rec["ok"] for rec in served) == 3


@pytest.mark.slow
def test_batch_over_many_blocks_keeps_order_and_line_numbers(client):
    lines = [json.dumps({"ms_type": ["spms", "ppms", "rrms"][i % 3], "severity": "severe", "prior_failures": i % 4})
             for i in range(3000)]
    data = ("\n".join(lines) + "\n").encode()
    assert len(data) > 64 * 1024 * 1.5
    served = [json.loads(line) for line in client.post("/batch", content=data, headers=NDJSON).text.splitlines()]
    assert [s["source"] for s in served] == [f"<body>:{i}" for i in range(1, 3001)]
    assert _normalise(served, "<body>") == _normalise(_cli_batch(data), "<stdin>")


def test_batch_gives_a_deeply_nested_line_its_own_error_record_and_keeps_the_others(client):
    body = b"[" * 5000 + b"\n" + b'{"ms_type": "spms", "severity": "mild"}\n' + b"[" * 100_000 + b"]" * 100_000 + b"\n"
    r = client.post("/batch", content=body, headers=NDJSON)
    assert r.status_code == 200
    records = [json.loads(line) for line in r.text.splitlines()]
    assert [x["ok"] for x in records] == [False, True, False]
    assert [x["source"] for x in records] == ["<body>:1", "<body>:2", "<body>:3"]


def test_batch_full_records_carry_the_recommendation(client):
    r = client.post("/batch?full=true", content=b'{"ms_type": "ppms", "severity": "mild"}\n', headers=NDJSON)
    rec = json.loads(r.text)
    assert rec["recommendation"] == advise({"ms_type": "ppms", "severity": "mild"}).model_dump(mode="json")


def test_openapi_examples_are_what_the_service_answers(client):
    spec = client.get("/openapi.json").json()
    advise_op = spec["paths"]["/advise"]["post"]
    facts = advise_op["requestBody"]["content"]["application/json"]["example"]
    assert advise_op["responses"]["200"]["content"]["application/json"]["example"] == client.post("/advise", json=facts).json()
    cds_op = spec["paths"]["/cds-services/ms-infusion-advisor"]["post"]
    answer = client.post("/cds-services/ms-infusion-advisor", json=cds_op["requestBody"]["content"]["application/json"]["example"]).json()
    example = cds_op["responses"]["200"]["content"]["application/json"]["example"]
    strip = lambda cards: [{k: v for k, v in c.items() if k not in ("uuid", "links")} for c in cards]  # noqa: E731
    assert strip(example["cards"]) == strip(answer["cards"]) and len(answer["cards"]) >= 2
    assert spec["paths"]["/kb"]["get"]["responses"]["200"]["content"]["application/json"]["example"] == client.get("/kb").json()


def test_one_limit_on_conditions_for_the_json_api_the_web_page_the_library_and_batch(client):
    """/advise took any number of conditions where the web page stopped at 50: one limit now, the
    facts model's, stated in the error (review finding)."""
    from advisor.batch import evaluate
    from advisor.core.models import MAX_CONDITIONS

    message = f"must list at most {MAX_CONDITIONS} conditions, got {MAX_CONDITIONS + 1}"
    for n, ok in ((MAX_CONDITIONS, True), (MAX_CONDITIONS + 1, False)):
        facts = {"ms_type": "spms", "severity": "mild", "conditions": ["pml", "cancer"] * (n // 2) + ["pml"] * (n % 2)}
        r = client.post("/advise", json=facts)
        assert r.status_code == (200 if ok else 422), r.text
        page = client.get("/advice?" + "&".join(["ms_type=spms", "severity=mild"] + [f"condition={c}" for c in facts["conditions"]]),
                          headers={"accept": "text/html"})
        assert page.status_code == (200 if ok else 422)
        record = next(evaluate([facts]))
        assert record["ok"] is ok
        if not ok:
            assert r.json()["errors"][0]["field"] == "conditions" and r.json()["errors"][0]["message"] == message
            assert f"Health conditions: {message}" in page.text
            assert record["error"].startswith(f"conditions: {message}")
    assert client.get("/schema/facts").json()["properties"]["conditions"]["maxItems"] == MAX_CONDITIONS


@pytest.mark.parametrize("content_type,message", [
    (None, "must be application/x-ndjson or application/jsonl (JSONL: one JSON object per line, UTF-8); none was given"),
    ("text/plain", "must be application/x-ndjson or application/jsonl (JSONL: one JSON object per line, UTF-8); got 'text/plain'"),
    ("application/json", "got 'application/json'"),
    ("application/x-www-form-urlencoded", "got 'application/x-www-form-urlencoded'"),  # curl --data-binary's default
    ("application/x-ndjson; charset=latin-1", "the charset must be utf-8, got 'latin-1'"),
])
def test_batch_takes_only_jsonl_bodies(client, content_type, message):
    body = b'{"ms_type": "ppms", "severity": "mild"}\n'
    r = client.post("/batch", content=body, headers={"content-type": content_type} if content_type else {})
    (error,) = r.json()["errors"]
    assert r.status_code == 415 and error["field"] == "Content-Type" and message in error["message"], error
    for accepted in ("application/x-ndjson", "application/jsonl", "Application/X-NDJSON; charset=UTF-8"):
        assert client.post("/batch", content=body, headers={"content-type": accepted}).status_code == 200
    assert set(client.get("/openapi.json").json()["paths"]["/batch"]["post"]["requestBody"]["content"]) == \
        {"application/x-ndjson", "application/jsonl"}


BIDI = "ab\u202ecd\u2066\u2028\x9b"


def test_batch_output_shows_bidi_and_c1_controls_escaped_as_the_rest_of_the_output_does(client, tmp_path):
    """A U+202E in an id was written raw into /batch's records (and ms-advisor batch's JSONL): it
    reorders what a terminal or a log viewer shows. It is escaped as json_safe escapes it elsewhere."""
    import io

    from advisor.batch import run
    from advisor.batch.records import CaseOptions

    cases = [{"id": BIDI, "ms_type": "spms", "severity": "mild"},  # a valid case
             {"id": "x" + BIDI, "ms_type": "spms", "severity": "mild", "note": BIDI}]  # refused, and kept with --extra keep
    body = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases).encode()
    f = tmp_path / f"in{BIDI}.jsonl"
    f.write_bytes(body)
    outputs = [client.post("/batch", content=body, headers=NDJSON).content]
    for fmt in ("jsonl", "json"):
        for fast in (True, False):
            for options in (CaseOptions(), CaseOptions(extra="keep", echo_facts=True)):
                out = io.BytesIO()
                run([str(f)], out, fmt=fmt, fast=fast, options=options)
                outputs.append(out.getvalue())
    summary = tmp_path / "summary.json"
    from advisor.cli import main
    from click.testing import CliRunner

    r = CliRunner().invoke(main, ["batch", str(f), "--out", str(tmp_path / "out.jsonl"), "--summary-json", str(summary)])
    assert r.exit_code == 1 and json.loads(summary.read_text())["invalid_cases"]  # the second case is refused
    outputs += [(tmp_path / "out.jsonl").read_bytes(), summary.read_bytes()]
    for data in outputs:
        text = data.decode("utf-8")
        assert not any(c in text for c in "\u202e\u2066\u2028\x9b"), text[:200]
        assert "\\u202e" in text
    records = [json.loads(line) for line in outputs[0].decode().splitlines()]
    assert records[0]["id"] == BIDI and records[0]["ok"] and records[1]["id"] == "x" + BIDI  # the same values, escaped


CROSS_SITE_POSTS = [  # what any web page can make a browser send to a server on localhost, without asking first
    ("/advise", json.dumps({"ms_type": "ppms", "severity": "mild"})),
    ("/cds-services/ms-infusion-advisor", json.dumps({
        "hook": "patient-view", "hookInstance": "x", "context": {"patientId": "p1"},
        "prefetch": {"conditions": {"resourceType": "Bundle"}, "observations": {"resourceType": "Bundle"}}})),
    ("/cds-services/ms-infusion-advisor/feedback", json.dumps({"feedback": []})),
]


@pytest.mark.parametrize("path,body", CROSS_SITE_POSTS)
@pytest.mark.parametrize("content_type,message", [
    ("text/plain", "must be application/json (a JSON text, UTF-8); got 'text/plain'"),
    ("text/plain;charset=UTF-8", "got 'text/plain'"),
    ("application/x-www-form-urlencoded", "got 'application/x-www-form-urlencoded'"),
    ("multipart/form-data; boundary=x", "got 'multipart/form-data'"),
    (None, "must be application/json (a JSON text, UTF-8); none was given"),
    ("application/json; charset=latin-1", "the charset must be utf-8, got 'latin-1'"),
    ("application/json; charset=utf-8; charset=latin-1", "the charset must be utf-8, got 'latin-1'"),  # the wrong one named
])
def test_json_endpoints_take_only_application_json_so_other_sites_pages_cannot_post(serve_app, tmp_path, path, body, content_type, message):
    from advisor.serve.store import Store

    _, client = serve_app()
    headers = {"origin": "https://evil.example"} | ({"content-type": content_type} if content_type else {})
    r = client.post(path, content=body.encode(), headers=headers)
    (error,) = r.json()["errors"]
    assert r.status_code == 415 and error == {"field": "Content-Type", "message": error["message"]} and message in error["message"]
    assert Store(tmp_path / "decisions.sqlite3").count() == 0  # nothing decided, nothing logged
    for accepted in ("application/json", "Application/JSON; charset=utf-8"):
        assert client.post(path, content=body.encode(), headers={"content-type": accepted}).status_code in (200, 422)  # read
    assert "415" in client.get("/openapi.json").json()["paths"][path]["post"]["responses"]


def test_batch_sends_no_record_whose_decision_is_not_logged(serve_app, tmp_path):
    """A log that cannot be written (a full disk) before the first block: 503 with the reason; before a
    later one: the answer stops after the blocks whose decisions were logged."""
    from advisor.serve.api import BATCH_BLOCK
    from advisor.serve.store import LogUnavailable, Store

    app, client = serve_app()
    store = app.state.rt.store
    real, calls = store.log_decisions, []

    def failing_after(n):
        def log(rows, cards=()):
            calls.append(len(rows))
            if len(calls) > n:
                raise LogUnavailable("the decision log cannot be written (database or disk is full)")
            real(rows, cards)
        return log
    body = b'{"ms_type": "ppms", "severity": "mild"}\n' * (BATCH_BLOCK + 500)
    store.log_decisions = failing_after(0)
    r = client.post("/batch", content=body, headers=NDJSON)
    assert r.status_code == 503 and "database or disk is full" in r.json()["errors"][0]["message"]
    store.log_decisions, calls[:] = failing_after(1), []
    lines = client.post("/batch", content=body, headers=NDJSON).text.splitlines()
    assert len(lines) == BATCH_BLOCK and calls == [BATCH_BLOCK, 500]
    assert Store(tmp_path / "decisions.sqlite3").count() == BATCH_BLOCK  # exactly the records sent
