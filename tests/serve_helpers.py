"""Builders shared by the service tests: an app on a temporary log, FHIR resources, a FHIR stub."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

NDJSON = {"content-type": "application/x-ndjson"}  # what /batch reads
SNOMED = "http://snomed.info/sct"
FACTS = "urn:ms-infusion-advisor:facts"
MS_CODES = {"relapsing": "426373005", "spms": "425500002", "ppms": "428700003"}
SEVERITY_CODES = {"mild": "255604002", "moderate": "6736007", "severe": "24484000"}


def condition(code: str, severity: str | None = None, status: str = "active", patient: str = "p1",
              system: str = SNOMED, verification: str | None = None) -> dict:
    res: dict[str, Any] = {
        "resourceType": "Condition", "subject": {"reference": f"Patient/{patient}"},
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": status}]},
        "code": {"coding": [{"system": system, "code": code}]},
    }
    if severity:
        res["severity"] = {"coding": [{"system": SNOMED, "code": SEVERITY_CODES[severity]}]}
    if verification:
        res["verificationStatus"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}]}
    return res


def observation(code: str, when: str = "2026-01-01T00:00:00Z", patient: str = "p1", status: str = "final", **value: Any) -> dict:
    return {"resourceType": "Observation", "status": status, "subject": {"reference": f"Patient/{patient}"},
            "code": {"coding": [{"system": FACTS, "code": code}]}, "effectiveDateTime": when, **value}


def stamp() -> str:
    """Now, as a CDS Hooks outcomeTimestamp (feedback cannot predate its card, nor lie in the future)."""
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def bundle(*resources: dict) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def hook(conditions: list[dict] | None, observations: list[dict] | None, patient: str = "p1", **extra: Any) -> dict:
    prefetch = {}
    if conditions is not None:
        prefetch["conditions"] = bundle(*conditions)
    if observations is not None:
        prefetch["observations"] = bundle(*observations)
    return {"hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "context": {"userId": "Practitioner/1", "patientId": patient}, "prefetch": prefetch, **extra}


def person(ms_type: str = "spms", severity: str = "severe", failures: int | None = 0, worsening: bool | None = False,
           dose: float | None = 0, conditions: tuple[str, ...] = (), patient: str = "p1") -> tuple[list[dict], list[dict]]:
    conds = [condition(MS_CODES[ms_type], severity, patient=patient)] + [condition(c, patient=patient) for c in conditions]
    obs = []
    if failures is not None:
        obs.append(observation("prior-treatment-failures", patient=patient, valueInteger=failures))
    if worsening is not None:
        obs.append(observation("rapidly-worsening", patient=patient, valueBoolean=worsening))
    if dose is not None:
        obs.append(observation("mitoxantrone-cumulative-dose", patient=patient,
                               valueQuantity={"value": dose, "unit": "mg/m2", "system": "http://unitsofmeasure.org", "code": "mg/m2"}))
    return conds, obs


class FhirStub:
    """A FHIR server on 127.0.0.1 serving fixed resources; records what it was asked."""

    def __init__(self, resources: dict[str, dict], delay: float = 0.0, status: int = 200):
        self.resources, self.delay, self.status = resources, delay, status
        self.requests: list[tuple[str, str | None]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                stub.requests.append((self.path, self.headers.get("Authorization")))
                if stub.delay:
                    time.sleep(stub.delay)
                kind = self.path.split("?")[0].rstrip("/").split("/")[-1]
                if self.path.split("?")[0].split("/")[-2:-1] == ["Patient"]:
                    kind = "Patient"
                if "page=2" in self.path:
                    kind += "?page=2"
                body = json.dumps(stub.resources.get(kind, {"resourceType": "Bundle", "type": "searchset", "entry": []})).encode()
                try:
                    self.send_response(stub.status)
                    self.send_header("Content-Type", "application/fhir+json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/fhir"
        # serve_forever looks for shutdown() every poll_interval: 0.5 s by default, which each test paid on exit
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> "FhirStub":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def _maker(directory: Any) -> Any:
    from fastapi.testclient import TestClient

    from advisor.serve import Settings, create_app

    def make(**settings: Any) -> tuple[Any, Any]:
        settings.setdefault("db", str(directory / "decisions.sqlite3"))
        app = create_app(Settings(**settings))
        return app, TestClient(app, raise_server_exceptions=False)
    return make


@pytest.fixture
def serve_app(tmp_path):
    """make(**settings) -> (app, TestClient): the packaged KB, logging to a temporary SQLite file."""
    return _maker(tmp_path)


@pytest.fixture(scope="module")
def serve_app_module(tmp_path_factory):
    """serve_app for fixtures shared by a module's tests (building an app takes ~0.07 s of CPU): only for
    tests that read answers, not the decision log, and change no setting."""
    return _maker(tmp_path_factory.mktemp("serve"))
