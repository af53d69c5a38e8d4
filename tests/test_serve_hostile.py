"""Hostile and careless input to the service: junk of every JSON shape never gives a 500, and the
log refuses paths that are not files."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.kb.load import default_directory
from advisor.core.models import Condition, MSType, Severity
from advisor.serve import fhir
from advisor.kb import terminology as terminology
from advisor.serve.store import Store, StoreError
from serve_helpers import bundle, condition, observation

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                    max_leaves=20)
KEYS = st.sampled_from(["resourceType", "entry", "resource", "coding", "code", "system", "subject", "reference",
                        "clinicalStatus", "verificationStatus", "severity", "status", "valueInteger", "valueBoolean",
                        "valueQuantity", "effectiveDateTime", "effectivePeriod", "issued", "value", "unit", "link"])
FHIRISH = st.recursive(JSON, lambda inner: st.dictionaries(KEYS, inner, max_size=5) | st.lists(inner, max_size=3), max_leaves=30)
TERMS = terminology.load(default_directory(), [c.value for c in Condition], [m.value for m in MSType], [s.value for s in Severity])


@settings(max_examples=300, deadline=None)
@given(conditions=FHIRISH, observations=FHIRISH)
def test_the_fhir_reader_takes_any_json_without_raising(conditions, observations):
    reading = fhir.read({"conditions": conditions, "observations": observations}, "p1", TERMS)
    assert reading.complete or reading.missing or reading.problems


@settings(max_examples=150, deadline=None)
@given(entries=st.lists(FHIRISH, max_size=4))
def test_junk_entries_beside_real_ones_do_not_change_the_reading(entries):
    real = [condition("428700003", "mild"), observation("prior-treatment-failures", valueInteger=1)]
    junk = bundle(*[e for e in entries if isinstance(e, dict) and e.get("resourceType") not in ("Condition", "Observation")])
    data = {"conditions": {**bundle(real[0]), "entry": bundle(real[0])["entry"] + junk["entry"]},
            "observations": {**bundle(real[1]), "entry": bundle(real[1])["entry"] + junk["entry"]}}
    assert fhir.read(data, "p1", TERMS).facts == {"ms_type": "ppms", "severity": "mild", "conditions": [], "prior_failures": 1}


@pytest.fixture(scope="module")
def shared_client(tmp_path_factory):
    from fastapi.testclient import TestClient

    from advisor.serve import Settings, create_app

    app = create_app(Settings(db=str(tmp_path_factory.mktemp("log") / "d.sqlite3")))
    return TestClient(app, raise_server_exceptions=False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSON)
def test_no_json_body_gives_a_500(shared_client, body):
    for path in ("/advise", "/cds-services/ms-infusion-advisor", "/cds-services/ms-infusion-advisor/feedback"):
        r = shared_client.post(path, json=body)
        assert r.status_code in (200, 400, 404, 412, 415, 422), (path, r.status_code, r.text)  # 415: json=None sends no body
        assert "Traceback" not in r.text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefetch=st.dictionaries(st.sampled_from(["patient", "conditions", "observations"]), FHIRISH))
def test_no_prefetch_gives_a_500(shared_client, prefetch):
    body = {"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "p1"}, "prefetch": prefetch}
    r = shared_client.post("/cds-services/ms-infusion-advisor", json=body)
    assert r.status_code in (200, 412, 422), r.text
    if r.status_code == 422:  # a malformed prefetch: each problem names its prefetch key
        assert all(e["field"].startswith(("prefetch.patient", "prefetch.conditions", "prefetch.observations")) for e in r.json()["errors"])


def test_the_log_refuses_a_fifo_or_a_directory(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (fifo, tmp_path):
        with pytest.raises(StoreError, match="not a regular file"):
            Store(path)


def test_the_log_refuses_a_dangling_symlink_and_creates_nothing(tmp_path):
    link = tmp_path / "decisions.sqlite3"
    link.symlink_to(tmp_path / "elsewhere.sqlite3")
    with pytest.raises(StoreError, match="a symbolic link to .*elsewhere.sqlite3, which does not exist: a new decision log is not created"):
        Store(link)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decisions.sqlite3"]
