"""CDS Hooks in process: discovery, the FHIR mapping, the cards, the fetch path (against a FHIR stub on
127.0.0.1), 412, feedback, and what the decision log keeps."""

from __future__ import annotations

import sqlite3
import uuid

import pytest

from advisor import advise
from advisor.kb.load import default_directory, load
from serve_helpers import (MS_CODES, FhirStub, bundle, condition, hook, observation, person,  # noqa: F401
                           NDJSON, serve_app, serve_app_module, stamp)


def fingerprint(kb_or_dir):
    """The KB's SHA-256 as load() computes it (KnowledgeBase.sha256)."""
    return kb_or_dir.sha256 if hasattr(kb_or_dir, "sha256") else load(kb_or_dir).sha256


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
URL = "/cds-services/ms-infusion-advisor"


@pytest.fixture(scope="module")
def client(serve_app_module):
    """One app for the tests that only read its answers (those that read the log make their own)."""
    return serve_app_module()[1]


def ext(card):
    return card["extension"]["ms-infusion-advisor"]


def drug_cards(cards):
    return {ext(c)["drug"]: c for c in cards if ext(c)["drug"]}


def test_cards_name_conditions_by_the_served_kbs_labels(kb_copy, serve_app):
    text = (kb_copy / "conditions.toml").read_text("utf-8").replace('label = "Hepatitis B"', 'label = "Hepatitis B virus"')
    (kb_copy / "conditions.toml").write_text(text, "utf-8")
    client = serve_app(rules_dir=str(kb_copy))[1]
    conds, obs = person("relapsing", "severe", failures=0, conditions=("66071002",))
    ocr = drug_cards(client.post(URL, json=hook(conds, obs)).json()["cards"])["ocrelizumab"]
    assert "**Hepatitis B virus**:" in ocr["detail"] and "hepatitis\\_b" not in ocr["detail"]
    assert ocr["summary"].endswith("caution: Hepatitis B virus")


def test_discovery_lists_one_patient_view_service_with_prefetch(client):
    services = client.get("/cds-services").json()["services"]
    assert len(services) == 1
    s = services[0]
    assert (s["id"], s["hook"]) == ("ms-infusion-advisor", "patient-view")
    assert s["title"] and s["description"]
    assert s["prefetch"]["patient"] == "Patient/{{context.patientId}}"
    assert s["prefetch"]["conditions"].startswith("Condition?patient={{context.patientId}}")
    assert "urn:ms-infusion-advisor:facts" in s["prefetch"]["observations"]


def test_cards_follow_the_advice_for_the_facts_fhir_gives(client):
    conds, obs = person("spms", "severe", failures=0, worsening=True, dose=0, conditions=("84114007",))
    r = client.post(URL, json=hook(conds, obs))
    assert r.status_code == 200
    cards = r.json()["cards"]
    rec = advise({"ms_type": "spms", "severity": "severe", "rapidly_worsening": True, "conditions": ["heart_failure"]})
    by_drug = drug_cards(cards)
    assert list(by_drug) == list(rec.listed)  # listed drugs, nothing excluded here, no defaults card
    general = [c for c in cards if ext(c)["status"] == "general-notes"]
    assert len(cards) == len(rec.listed) + 1 and len(general) == 1 and cards[-1] is general[0]  # the one general card, last
    assert general[0]["indicator"] == "info" and ext(general[0])["rules"] == ["natalizumab.no_criteria"]
    assert "overrideReasons" not in general[0]  # it advises on no drug: nothing to override
    mito = by_drug["mitoxantrone"]
    assert mito["indicator"] == "warning"  # heart failure meets a caution
    assert "natalizumab" not in by_drug  # no criteria in the article: neither listed nor ruled out
    for c in cards:
        assert len(c["summary"]) < 140
        uuid.UUID(c["uuid"])
        assert c["source"]["label"] == "Multiple Sclerosis Infusions (patient-education article)"
        if c is general[0]:
            continue
        assert c["overrideReasons"] and all({"code", "system", "display"} <= set(o) for o in c["overrideReasons"])
        link = c["links"][0]
        assert link["type"] == "absolute" and link["url"].startswith("http://testserver/advice?ms_type=spms&severity=severe")
        assert "rapidly_worsening=true" in link["url"] and "condition=heart_failure" in link["url"]
        e = ext(c)
        assert e["kb"] == {"name": "ms-infusions", "version": "1", "sha256": fingerprint(default_directory())}
        d = rec.drug(e["drug"])
        assert e["status"] == d.status.value
        assert e["rules"] == [x.rule for x in d.reasons] + [x.rule for x in d.cautions]
    # a condition is named by the KB's label, in the summary and the detail, never by its id
    assert "Congestive heart failure" in mito["detail"] and "**Heart failure**:" in mito["detail"]
    assert "heart\\_failure" not in mito["detail"] and mito["summary"].endswith("caution: Heart failure")
    assert d.reasons[0].quote.split()[0] in by_drug[e["drug"]]["detail"]
    assert len({c["uuid"] for c in cards}) == len(cards)


def test_an_excluded_drug_gets_a_warning_card(client):
    conds, obs = person("spms", "severe", dose=140)
    cards = client.post(URL, json=hook(conds, obs)).json()["cards"]
    mito = drug_cards(cards)["mitoxantrone"]
    assert ext(mito)["status"] == "excluded" and mito["indicator"] == "warning"
    assert mito["summary"].startswith("Mitoxantrone hydrochloride: excluded")
    # issue 20, item 13: the summary keeps the number that matters; an excluded drug gets no schedule
    assert "140 mg/m²" in mito["summary"] and len(mito["summary"]) < 140
    assert "Schedule:" not in mito["detail"]


def test_missing_ms_type_gives_one_warning_card_and_no_drug_cards(client):
    r = client.post(URL, json=hook([condition("84114007")], []))
    cards = r.json()["cards"]
    assert len(cards) == 1 and cards[0]["indicator"] == "warning"
    assert "MS type" in cards[0]["summary"] and "severity" in cards[0]["summary"]
    assert ext(cards[0])["drug"] is None and ext(cards[0])["status"] == "facts-missing"


def test_ms_recorded_without_type_is_not_a_type_and_says_so(client):
    for code, system in (("24700007", "http://snomed.info/sct"), ("G35", "http://hl7.org/fhir/sid/icd-10")):
        cards = client.post(URL, json=hook([condition(code, "severe", system=system)], [])).json()["cards"]
        assert len(cards) == 1 and ext(cards[0])["status"] == "facts-missing"
        assert "without its type" in cards[0]["detail"]


def test_missing_severity_is_named(client):
    cards = client.post(URL, json=hook([condition(MS_CODES["ppms"])], [])).json()["cards"]
    assert len(cards) == 1 and "severity not recorded" in cards[0]["summary"] and "MS type" not in cards[0]["summary"]


def test_two_ms_types_are_not_guessed_between(client):
    cards = client.post(URL, json=hook([condition(MS_CODES["ppms"], "mild"), condition(MS_CODES["spms"], "mild")], [])).json()["cards"]
    assert len(cards) == 1 and "different MS types" in cards[0]["detail"]


@pytest.mark.parametrize("bad", [
    observation("prior-treatment-failures", valueString="2"),
    observation("rapidly-worsening", valueInteger=1),
    observation("mitoxantrone-cumulative-dose", valueQuantity={"value": 50, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}),
    observation("prior-treatment-failures", valueInteger=-3),
])
def test_an_unusable_observation_gives_a_warning_and_no_drug_cards(client, bad):
    cards = client.post(URL, json=hook([condition(MS_CODES["ppms"], "mild")], [bad])).json()["cards"]
    assert len(cards) == 1 and ext(cards[0])["status"] == "facts-missing"
    assert "not usable" in cards[0]["detail"]


def test_defaults_card_names_the_optional_facts_not_recorded(client):
    conds, _ = person("ppms", "mild")
    cards = client.post(URL, json=hook(conds, [observation("prior-treatment-failures", valueInteger=1)])).json()["cards"]
    assumed = [c for c in cards if ext(c)["status"] == "defaults-assumed"]
    assert len(assumed) == 1 and assumed[0]["indicator"] == "info"
    assert ext(assumed[0])["assumed"] == ["rapidly_worsening", "mitoxantrone_cumulative_mg_m2"]
    assert "rapidly worsening: no, assumed" in assumed[0]["summary"]
    # issue 20, item 5: a dose not recorded is "not given", never 0
    assert "mitoxantrone already received: not given" in assumed[0]["summary"] and "0 mg/m²" not in assumed[0]["detail"]
    assert "if no mitoxantrone has been received" in assumed[0]["detail"]
    assert list(drug_cards(cards)) == ["ocrelizumab", "mitoxantrone"]  # mild MS: mitoxantrone ruled out


def test_only_active_conditions_of_this_patient_count_and_the_latest_observation_wins(client):
    conds = [condition(MS_CODES["relapsing"], "severe"),
             condition("84114007", status="resolved"),                 # not active
             condition("22255007", verification="entered-in-error"),   # not true
             condition("363346000", patient="someone-else"),           # another patient
             condition("35489007", status="relapse")]                  # active again: counts
    obs = [observation("prior-treatment-failures", when="2025-01-01T00:00:00Z", valueInteger=0),
           observation("prior-treatment-failures", when="2026-06-01T00:00:00Z", valueInteger=2),
           observation("prior-treatment-failures", when="2027-01-01T00:00:00Z", status="entered-in-error", valueInteger=0),
           observation("rapidly-worsening", patient="someone-else", valueBoolean=True)]
    cards = client.post(URL, json=hook(conds, obs)).json()["cards"]
    rec = advise({"ms_type": "relapsing", "severity": "severe", "prior_failures": 2, "conditions": ["depression"]})
    assert list(drug_cards(cards)) == list(rec.listed)
    assert "prior_failures=2" in cards[0]["links"][0]["url"]
    assert "condition=depression" in cards[0]["links"][0]["url"] and "heart_failure" not in cards[0]["links"][0]["url"]
    assert [c for c in cards if ext(c)["status"] == "defaults-assumed"][0]["extension"]["ms-infusion-advisor"]["assumed"] == \
        ["rapidly_worsening", "mitoxantrone_cumulative_mg_m2"]


@pytest.mark.parametrize("body,status,text", [
    ({"hook": "order-select", "hookInstance": "x", "context": {"patientId": "p1"}}, 422, "hook"),
    ({"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "../../etc"}}, 422, "patientId"),
    ({"hook": "patient-view", "hookInstance": "x", "context": {}}, 422, "context.patientId"),
    ({"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "p1"}}, 412, "prefetch"),
    ({"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "p1"},
      "prefetch": {"conditions": bundle()}}, 412, "observations"),
])
def test_bad_hook_requests(client, body, status, text):
    r = client.post(URL, json=body)
    assert r.status_code == status, r.text
    assert text in r.text and set(r.json()) == {"errors"}


PATIENT_Q, CONDITIONS_Q = "(the answer to Patient/p1)", "(the answer to Condition?patient=p1)"
OBSERVATIONS_Q = "(the answer to Observation?patient=p1&code=urn:ms-infusion-advisor:facts|)"


@pytest.mark.parametrize("key,value,field,message", [
    ("conditions", {"resourceType": "Bundle", "type": "searchset", "entry": "x"}, "prefetch.conditions.entry",
     "must be a list of entries (each with a resource), got a string"),
    ("conditions", "Condition?patient=p1", "prefetch.conditions",
     f"must be a FHIR Bundle of Condition resources {CONDITIONS_Q}, got a string"),
    ("conditions", {"resourceType": "Patient", "id": "p1"}, "prefetch.conditions",
     f"must be a FHIR Bundle of Condition resources {CONDITIONS_Q}, got a Patient resource"),
    ("observations", [bundle()], "prefetch.observations",
     f"must be a FHIR Bundle of Observation resources {OBSERVATIONS_Q}, got a list"),
    ("observations", {"entry": []}, "prefetch.observations.resourceType",
     f"must be a FHIR Bundle of Observation resources {OBSERVATIONS_Q}, got no resourceType"),
    ("observations", {"resourceType": "Bundle", "entry": ["Observation/1"]}, "prefetch.observations.entry[0]",
     "must be a Bundle entry (an object with a resource), got a string"),
    ("observations", {"resourceType": "Bundle", "entry": [{"resource": "Observation/1"}]}, "prefetch.observations.entry[0].resource",
     "must be a FHIR resource (an object with a resourceType), got a string"),
    ("observations", {"resourceType": "Bundle", "entry": [{"fullUrl": "x"}]}, "prefetch.observations.entry[0].resource",
     "must be a FHIR resource (an object with a resourceType), got none"),
    ("patient", bundle(), "prefetch.patient", f"must be a FHIR Patient resource {PATIENT_Q}, got a Bundle resource"),
])
def test_a_malformed_prefetch_is_refused_naming_the_key_and_what_was_expected(client, key, value, field, message):
    conds, obs = person()
    body = hook(conds, obs)
    body["prefetch"][key] = value
    r = client.post(URL, json=body)
    assert r.status_code == 422 and r.json() == {"errors": [{"field": field, "message": message}]}, r.text


@pytest.mark.parametrize("where,bad,kind", [
    ("effectiveDateTime", "yesterday", "dateTime"), ("effectiveDateTime", "2026-02-30", "dateTime"),
    ("effectiveDateTime", "2026-02-03T10:00:00", "dateTime"),  # a time without a zone
    ("effectiveDateTime", "03/02/2026", "dateTime"), ("effectiveDateTime", 20260203, "dateTime"),
    ("issued", "2026-02-03", "instant"), ("effectivePeriod.end", "last week", "dateTime"),
])
def test_an_invalid_fhir_time_on_an_observation_is_refused_naming_the_field(client, where, bad, kind):
    conds, _ = person()
    obs = observation("prior-treatment-failures", valueInteger=2)
    if where == "effectivePeriod.end":
        del obs["effectiveDateTime"]
        obs["effectivePeriod"] = {"start": "2026-01-01", "end": bad}
    else:
        obs[where] = bad
    r = client.post(URL, json=hook(conds, [obs]))
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["field"] == f"prefetch.observations.entry[0].resource.{where}"
    assert error["message"].startswith(f"'{bad}' is not a FHIR {kind}" if isinstance(bad, str) else f"a number is not a FHIR {kind}")


def test_fhir_times_that_are_valid_count_and_a_partial_date_is_never_ordered_by_guess(client):
    conds, _ = person("relapsing", "severe")
    for when in ("2026", "2026-03", "2026-03-04", "2026-03-04T10:00:00.123456789+14:00", "2016-12-31T23:59:60Z"):
        cards = client.post(URL, json=hook(conds, [observation("prior-treatment-failures", when=when, valueInteger=2)])).json()["cards"]
        assert ext(drug_cards(cards)["alemtuzumab"])["status"] == "applicable", when
    # a later month is later; a month holding the other time can be neither before nor after it
    older = observation("prior-treatment-failures", when="2026-02", valueInteger=0)
    newer = observation("prior-treatment-failures", when="2026-03-04T10:00:00Z", valueInteger=2)
    cards = client.post(URL, json=hook(conds, [newer, older])).json()["cards"]
    assert ext(drug_cards(cards)["alemtuzumab"])["status"] == "applicable"
    same_month = observation("prior-treatment-failures", when="2026-03", valueInteger=0)
    cards = client.post(URL, json=hook(conds, [newer, same_month])).json()["cards"]
    assert len(cards) == 1 and "different values (2, 0): unclear" in cards[0]["detail"]


def test_a_fhir_server_answer_of_the_wrong_shape_is_a_412_naming_the_key(client):
    conds, _ = person()
    with FhirStub({"Observation": {"resourceType": "Bundle", "entry": [{"resource": "x"}]}}) as stub:
        r = client.post(URL, json=hook(conds, None, fhirServer=stub.url, fhirAuthorization={"access_token": "t"}))
    assert r.status_code == 412
    assert r.json()["errors"] == [{"field": "fhirServer", "message": "the FHIR server's answer for observations is not usable: "
                                   "observations.entry[0].resource: must be a FHIR resource (an object with a resourceType), "
                                   "got a string"}]


def test_a_prefetched_patient_must_be_the_hooks_patient(client):
    conds, obs = person()
    body = hook(conds, obs)
    body["prefetch"]["patient"] = {"resourceType": "Patient", "id": "p2"}
    assert client.post(URL, json=body).status_code == 412


# --- fetching from the EHR's FHIR server --------------------------------------------------------

def test_without_prefetch_the_facts_are_fetched_with_the_token(client):
    conds, obs = person("ppms", "moderate", conditions=("90708001",))
    with FhirStub({"Condition": bundle(*conds), "Observation": bundle(*obs), "Patient": {"resourceType": "Patient", "id": "p1"}}) as stub:
        body = hook(None, None, fhirServer=stub.url, fhirAuthorization={"access_token": "tok-123", "token_type": "Bearer",
                                                                       "expires_in": 300, "scope": "patient/*.read", "subject": "x"})
        r = client.post(URL, json=body)
    assert r.status_code == 200
    assert list(drug_cards(r.json()["cards"])) == ["ocrelizumab", "mitoxantrone"]  # mitoxantrone: ruled out
    assert "condition=kidney_disease" in r.json()["cards"][0]["links"][0]["url"]
    paths = sorted(p for p, _ in stub.requests)
    assert paths[0].startswith("/fhir/Condition?patient=p1") and paths[1].startswith("/fhir/Observation?patient=p1&code=urn")
    assert {a for _, a in stub.requests} == {"Bearer tok-123"}


def test_only_what_was_not_prefetched_is_fetched(client):
    conds, obs = person("ppms", "moderate")
    with FhirStub({"Observation": bundle(*obs)}) as stub:
        r = client.post(URL, json=hook(conds, None, fhirServer=stub.url, fhirAuthorization={"access_token": "t"}))
    assert r.status_code == 200 and [p.split("?")[0] for p, _ in stub.requests] == ["/fhir/Observation"]


@pytest.mark.slow
def test_a_slow_fhir_server_gives_412_within_the_timeout(serve_app):
    _, client = serve_app(fhir_timeout=0.3)
    with FhirStub({}, delay=2.0) as stub:
        r = client.post(URL, json=hook(None, None, fhirServer=stub.url, fhirAuthorization={"access_token": "t"}))
    assert r.status_code == 412 and "in time" in r.text


@pytest.mark.parametrize("server", ["ftp://127.0.0.1/fhir", "http://127.0.0.1:9/fhir", "file:///etc/passwd"])
def test_an_unusable_fhir_server_gives_412(client, server):
    r = client.post(URL, json=hook(None, None, fhirServer=server, fhirAuthorization={"access_token": "t"}))
    assert r.status_code == 412 and r.json()["errors"][0]["field"] == "fhirServer"


def test_a_failing_fhir_server_gives_412(client):
    with FhirStub({}, status=500) as stub:
        r = client.post(URL, json=hook(None, None, fhirServer=stub.url, fhirAuthorization={"access_token": "t"}))
    assert r.status_code == 412 and "answered 500" in r.text


# --- feedback and the decision log ------------------------------------------------------------

def test_feedback_is_stored_against_logged_cards(serve_app, tmp_path):
    _, client = serve_app()
    conds, obs = person("relapsing", "severe", failures=2)
    cards = client.post(URL, json=hook(conds, obs)).json()["cards"]
    first, second = cards[0]["uuid"], cards[1]["uuid"]
    r = client.post(URL + "/feedback", json={"feedback": [
        {"card": first, "outcome": "accepted", "outcomeTimestamp": stamp()},
        {"card": second, "outcome": "overridden", "outcomeTimestamp": stamp(),
         "overrideReason": {"reason": {"code": "patient-preference", "system": "urn:ms-infusion-advisor:override-reason"},
                            "userComment": "prefers fewer visits"}}]})
    assert r.status_code == 200 and r.json() == {"stored": 2}
    db = sqlite3.connect(tmp_path / "decisions.sqlite3")
    rows = db.execute("SELECT card_uuid, outcome, reason_code, comment FROM feedback ORDER BY id").fetchall()
    assert rows == [(first, "accepted", None, None), (second, "overridden", "patient-preference", "prefers fewer visits")]


@pytest.mark.parametrize("item,status", [
    ({"card": str(uuid.uuid4()), "outcome": "accepted", "outcomeTimestamp": "2026-11-25T10:00:00Z"}, 404),
    ({"card": "x", "outcome": "ignored", "outcomeTimestamp": "2026-11-25T10:00:00Z"}, 422),
    ({"card": "x", "outcome": "accepted"}, 422),
])
def test_bad_feedback_is_refused(client, item, status):
    r = client.post(URL + "/feedback", json={"feedback": [item]})
    assert r.status_code == status and r.json()["errors"]
    assert client.post(URL + "/feedback", json={"feedback": []}).status_code == 422


@pytest.mark.slow
def test_the_log_keeps_decisions_without_patient_ids_by_default(serve_app, tmp_path):
    _, client = serve_app()
    conds, obs = person("ppms", "mild", patient="secret-patient-42")
    cards = client.post(URL, json=hook(conds, obs, patient="secret-patient-42")).json()["cards"]
    client.post("/advise", json={"ms_type": "ppms", "severity": "mild", "id": "MRN-0001"})
    client.post("/batch", content=b'{"id": "MRN-0002", "ms_type": "ppms", "severity": "mild"}\n', headers=NDJSON)
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("decisions.sqlite3*"))
    for ident in (b"secret-patient-42", b"MRN-0001", b"MRN-0002"):
        assert ident not in raw
    db = sqlite3.connect(tmp_path / "decisions.sqlite3")
    rows = db.execute("SELECT channel, kb_sha256, facts, rules, statuses, patient_id FROM decisions ORDER BY rowid").fetchall()
    assert [r[0] for r in rows] == ["cds", "advise", "batch"]
    assert all(r[1] == fingerprint(default_directory()) and r[5] is None for r in rows)
    assert '"ocrelizumab":"applicable"' in rows[0][4].replace(" ", "") and "ocrelizumab.primary_progressive" in rows[0][3]
    logged_cards = {u for (u,) in db.execute("SELECT uuid FROM cards")}
    assert logged_cards == {c["uuid"] for c in cards}


def test_patient_ids_are_logged_only_when_asked(serve_app, tmp_path):
    _, client = serve_app(log_patient_ids=True)
    conds, obs = person("ppms", "mild")
    client.post(URL, json=hook(conds, obs, patient="p1"))
    db = sqlite3.connect(tmp_path / "decisions.sqlite3")
    assert db.execute("SELECT patient_id FROM decisions").fetchall() == [("p1",)]


def test_a_failed_prefetch_counts_as_missing(client):
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}
    conds, _ = person()
    r = client.post(URL, json={**hook(conds, None), "prefetch": {"conditions": bundle(*conds), "observations": outcome}})
    assert r.status_code == 412 and "observations" in r.text


def test_a_card_whose_outcome_changes_counts_once_with_its_latest_outcome(serve_app, tmp_path):
    from advisor.serve.store import Store

    _, client = serve_app()
    conds, obs = person("ppms", "mild")
    card = client.post(URL, json=hook(conds, obs)).json()["cards"][0]["uuid"]
    for outcome in ("overridden", "accepted"):
        assert client.post(URL + "/feedback", json={"feedback": [
            {"card": card, "outcome": outcome, "outcomeTimestamp": stamp()}]}).status_code == 200
    rates = [r for r in Store(tmp_path / "decisions.sqlite3").override_rates() if r["drug"] == "ocrelizumab"]
    assert rates == [{"drug": "ocrelizumab", "cards": 1, "feedback": 1, "accepted": 1, "overridden": 0, "override_rate": 0.0}]


def test_next_pages_are_followed_on_the_same_server(client):
    conds, obs = person("spms", "severe", conditions=("84114007",))
    with FhirStub({}) as stub:
        first = {**bundle(conds[0]), "link": [{"relation": "next", "url": f"{stub.url}/Condition?patient=p1&page=2"}]}
        stub.resources.update({"Condition": first, "Condition?page=2": bundle(conds[1]), "Observation": bundle(*obs)})
        r = client.post(URL, json=hook(None, None, fhirServer=stub.url, fhirAuthorization={"access_token": "t"}))
    assert r.status_code == 200
    assert "condition=heart_failure" in r.json()["cards"][0]["links"][0]["url"]  # from page 2
    assert sorted(p.split("?")[0] for p, _ in stub.requests) == ["/fhir/Condition", "/fhir/Condition", "/fhir/Observation"]


def test_a_next_page_on_another_server_is_not_read_and_no_advice_is_given_without_it(client):
    """A page left unread could hold the heart failure or the dose that changes the answer: 412, no cards."""
    conds, obs = person("spms", "severe", conditions=("84114007",))
    with FhirStub({}) as stub:
        stub.resources.update({"Condition": bundle(*conds), "Observation": {
            **bundle(*obs), "link": [{"relation": "next", "url": "http://127.0.0.2:1/fhir/Observation?page=2"}]}})
        r = client.post(URL, json=hook(None, None, fhirServer=stub.url, fhirAuthorization={"access_token": "t"}))
    assert r.status_code == 412, r.text
    message = r.json()["errors"][0]["message"]
    assert "observations goes on at a next page that is not on fhirServer" in message and "incomplete" in message
    assert sorted(p.split("?")[0] for p, _ in stub.requests) == ["/fhir/Condition", "/fhir/Observation"]  # 127.0.0.2 never asked


def test_a_searchset_longer_than_the_page_limit_is_412_not_cut_short(client):
    from advisor.serve.fhir_fetch import MAX_PAGES

    conds, obs = person("spms", "severe")
    with FhirStub({}) as stub:
        endless = {**bundle(*conds), "link": [{"relation": "next", "url": f"{stub.url}/Condition?patient=p1&page=2"}]}
        stub.resources.update({"Condition": endless, "Condition?page=2": endless, "Observation": bundle(*obs)})
        r = client.post(URL, json=hook(None, None, fhirServer=stub.url))
    assert r.status_code == 412, r.text
    assert f"goes on past {MAX_PAGES} pages" in r.json()["errors"][0]["message"]
    assert sum(p.startswith("/fhir/Condition") for p, _ in stub.requests) == MAX_PAGES


def test_a_prefetched_first_page_is_read_whole_from_fhir_server_or_refused(client):
    conds, obs = person("spms", "severe", conditions=("84114007",))
    with FhirStub({}) as stub:
        page1 = {**bundle(conds[0]), "link": [{"relation": "next", "url": f"{stub.url}/Condition?patient=p1&page=2"}]}
        stub.resources.update({"Condition": bundle(*conds), "Observation": bundle(*obs)})
        request = hook(None, obs, fhirServer=stub.url)
        request["prefetch"]["conditions"] = page1
        r = client.post(URL, json=request)
        assert r.status_code == 200, r.text
        assert "condition=heart_failure" in r.json()["cards"][0]["links"][0]["url"]  # the whole searchset, from the server
        assert [p.split("?")[0] for p, _ in stub.requests] == ["/fhir/Condition"]
    request = hook(None, obs)
    request["prefetch"]["conditions"] = page1
    r = client.post(URL, json=request)  # no fhirServer to read the rest from
    assert r.status_code == 412
    assert r.json()["errors"][0]["field"] == "prefetch.conditions" and "first page of a longer searchset" in r.text


def test_two_severities_on_the_ms_conditions_are_not_guessed_between(client):
    conds = [condition(MS_CODES["spms"], "mild"), condition(MS_CODES["spms"], "severe")]
    cards = client.post(URL, json=hook(conds, [])).json()["cards"]
    assert len(cards) == 1 and "severity has several values" in cards[0]["detail"]
    conds = [condition(MS_CODES["spms"], "severe"), condition(MS_CODES["spms"])]  # one without severity: fine
    assert "mitoxantrone" in drug_cards(client.post(URL, json=hook(conds, [])).json()["cards"])


def test_the_missing_card_names_the_codes_to_record(client):
    detail = client.post(URL, json=hook([], [])).json()["cards"][0]["detail"]
    assert "SNOMED 426373005 relapsing" in detail and "SNOMED 428700003 ppms" in detail


def test_a_cards_cautions_carry_the_caution_note_and_the_lists_attribution():
    from advisor.serve.cards import drug_cards

    rec = advise({"ms_type": "relapsing", "severity": "severe", "prior_failures": 2, "conditions": ["pml", "cancer"]})
    cards = {c["extension"]["ms-infusion-advisor"]["drug"]: c for c in
             drug_cards(rec, {"name": "n", "version": "1", "sha256": "0"}, "title", "http://127.0.0.1/advice")}
    note = load(default_directory()).header.caution_note
    assert "natalizumab" not in cards  # no criteria: no card
    for drug in ("alemtuzumab", "ocrelizumab"):
        caution_count = len(rec.drug(drug).cautions)
        assert caution_count and cards[drug]["detail"].count(note) == caution_count  # under each caution (issue 24, item 8)
        assert f"By its position it is taken as {drug}" in cards[drug]["detail"]
    assert note not in cards["mitoxantrone"]["detail"]  # no condition of this person meets its side effects


def test_two_observations_of_one_fact_at_the_same_time_with_different_values_are_unclear(client):
    conds, obs = person("relapsing", "severe", failures=None)
    obs += [observation("prior-treatment-failures", when="2026-11-20", valueInteger=2),
            observation("prior-treatment-failures", when="2026-11-20", valueInteger=0)]
    cards = client.post(URL, json=hook(conds, obs)).json()["cards"]
    assert len(cards) == 1 and cards[0]["indicator"] == "warning" and "unclear" in cards[0]["summary"]
    assert "prior-treatment-failures" in cards[0]["detail"] and "different values" in cards[0]["detail"]
    # the same value twice, or a later one: no doubt
    conds, obs = person("relapsing", "severe", failures=None)
    obs += [observation("prior-treatment-failures", when="2026-11-20", valueInteger=2),
            observation("prior-treatment-failures", when="2026-11-20", valueInteger=2),
            observation("prior-treatment-failures", when="2026-11-19", valueInteger=0)]
    cards = client.post(URL, json=hook(conds, obs)).json()["cards"]
    assert any(c["extension"]["ms-infusion-advisor"]["drug"] == "alemtuzumab" for c in cards if "extension" in c)


# --- feedback: timestamps and contradictions are refused, naming the field (review finding) --------

def _card(client, ms_type="ppms", severity="mild"):
    conds, obs = person(ms_type, severity, worsening=None)  # not recorded: a card says it is assumed
    cards = client.post(URL, json=hook(conds, obs)).json()["cards"]
    return next(c["uuid"] for c in cards if ext(c)["drug"]), next((c["uuid"] for c in cards if not ext(c)["drug"]), None)


REASON = {"reason": {"code": "patient-preference", "system": "urn:ms-infusion-advisor:override-reason"}}


@pytest.mark.parametrize("change,field,message", [
    ({"outcomeTimestamp": "yesterday"}, "outcomeTimestamp",
     "'yesterday' is not an RFC 3339 date-time with its time zone, such as 2026-11-25T22:50:00Z"),
    ({"outcomeTimestamp": "2026-11-25T10:00:00"}, "outcomeTimestamp", "is not an RFC 3339 date-time with its time zone"),
    ({"outcomeTimestamp": "2026-02-30T10:00:00Z"}, "outcomeTimestamp", "is not an RFC 3339 date-time"),
    ({"outcomeTimestamp": "9999-01-01T00:00:00Z"}, "outcomeTimestamp", "9999-01-01T00:00:00Z is in the future"),
    ({"outcome": "accepted", "overrideReason": REASON}, "overrideReason",
     "is given with outcome 'accepted': an override reason goes with 'overridden'"),
    ({"outcome": "overridden", "acceptedSuggestions": [{"id": "s1"}]}, "acceptedSuggestions",
     "this service's cards carry no suggestions, so none can be accepted"),
])
def test_feedback_with_a_bad_timestamp_or_contradictory_fields_is_refused_naming_the_field(client, change, field, message):
    card, _ = _card(client)
    item = {"card": card, "outcome": "accepted", "outcomeTimestamp": stamp(), **change}
    r = client.post(URL + "/feedback", json={"feedback": [item]})
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["field"] == f"feedback.0.{field}" and message in error["message"], error


def test_feedback_that_contradicts_its_card_is_refused(client):
    card, facts_card = _card(client, "ppms", "mild")
    assert facts_card is not None  # ppms, mild: the optional facts are assumed, on a card of their own
    cases = [
        ({"card": card, "outcome": "accepted", "outcomeTimestamp": "2020-01-01T00:00:00Z"}, "feedback.0.outcomeTimestamp",
         "2020-01-01T00:00:00Z is before the card was issued ("),
        ({"card": card, "outcome": "overridden", "outcomeTimestamp": stamp(),
          "overrideReason": {"reason": {"code": "too-expensive", "system": "urn:ms-infusion-advisor:override-reason"}}},
         "feedback.0.overrideReason.reason", "'too-expensive' (urn:ms-infusion-advisor:override-reason) is not one of the "
         "card's override reasons (allowed: clinical-judgement"),
        ({"card": card, "outcome": "overridden", "outcomeTimestamp": stamp(),
          "overrideReason": {"reason": {"code": "patient-preference", "system": "http://example.org/other"}}},
         "feedback.0.overrideReason.reason", "'patient-preference' (http://example.org/other) is not one of the card's"),
        ({"card": facts_card, "outcome": "overridden", "outcomeTimestamp": stamp(), "overrideReason": REASON},
         "feedback.0.overrideReason.reason", "is not one of the card's override reasons (the card offers none)"),
    ]
    for item, field, message in cases:
        r = client.post(URL + "/feedback", json={"feedback": [item]})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field and message in r.json()["errors"][0]["message"], r.text
    r = client.post(URL + "/feedback", json={"feedback": [
        {"card": card, "outcome": "accepted", "outcomeTimestamp": stamp()},
        {"card": card, "outcome": "overridden", "outcomeTimestamp": stamp()}]})
    assert r.status_code == 422 and r.json()["errors"] == [{"field": "feedback.1.card", "message":
                                                            "is given twice in one request (also feedback.0): which outcome holds cannot be known"}]
    # and nothing of the refused feedback was stored; valid feedback still is
    ok = client.post(URL + "/feedback", json={"feedback": [
        {"card": card, "outcome": "overridden", "outcomeTimestamp": stamp().replace("Z", "+00:00"), **{"overrideReason": REASON}},
        {"card": facts_card, "outcome": "overridden", "outcomeTimestamp": stamp(), "overrideReason": {"userComment": "noted"}}]})
    assert ok.status_code == 200 and ok.json() == {"stored": 2}


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:60Z"])
def test_an_observation_at_the_end_of_representable_time_is_read_not_a_500(client, when):
    """Its span cannot reach past it (empty; it was dropped, then an IndexError gave a 500): it is read,
    and being in the future, it makes the fact unclear rather than win."""
    conds = [condition(MS_CODES["relapsing"], "severe")]
    obs = [observation("prior-treatment-failures", when="2026-01-01T00:00:00Z", valueInteger=0),
           observation("prior-treatment-failures", when=when, valueInteger=2)]
    r = client.post(URL, json=hook(conds, obs))
    assert r.status_code == 200
    (card,) = r.json()["cards"]
    assert ext(card)["status"] == "facts-missing" and f"one is dated {when}, in the future" in card["detail"]


@pytest.mark.parametrize("comparator,meaning", [(">", "more than"), (">=", "at least"), ("<", "less than"), ("<=", "at most"),
                                                ("ad", "sufficient to achieve"), ("~", None)])
def test_a_dose_with_a_comparator_is_unclear_not_read_as_its_value(client, comparator, meaning):
    conds, obs = person("spms", "severe", dose=None)
    dose = observation("mitoxantrone-cumulative-dose", valueQuantity={
        "value": 100, "comparator": comparator, "unit": "mg/m2", "system": "http://unitsofmeasure.org", "code": "mg/m2"})
    cards = client.post(URL, json=hook(conds, obs + [dose])).json()["cards"]
    assert len(cards) == 1 and ext(cards[0])["status"] == "facts-missing" and cards[0]["indicator"] == "warning"
    detail = cards[0]["detail"].replace("\\", "")  # markdown escapes (\>) removed
    assert f"comparator '{comparator}'" in detail and "not known exactly" in detail
    if meaning:
        assert f"({meaning} the value)" in detail


def test_a_next_link_with_another_scheme_is_not_followed(client):
    conds, obs = person("spms", "severe", conditions=("84114007",))
    with FhirStub({}) as stub:
        other_scheme = stub.url.replace("http://", "https://")  # same host and port: the token must not go there
        stub.resources.update({"Condition": {**bundle(conds[0]), "link": [{"relation": "next", "url": f"{other_scheme}/Condition?page=2"}]},
                               "Condition?page=2": bundle(conds[1]), "Observation": bundle(*obs)})
        r = client.post(URL, json=hook(None, None, fhirServer=stub.url, fhirAuthorization={"access_token": "t"}))
    assert r.status_code == 412, r.text  # page 2 was not read, so no advice is given without it
    assert "not on fhirServer's scheme, host and port" in r.text
    assert [p.split("?")[0] for p, _ in stub.requests] == ["/fhir/Condition"]


@pytest.mark.parametrize("link,same", [
    ("https://ehr.example.org/fhir/Condition?page=2", True),
    ("https://ehr.example.org:443/fhir/Condition?page=2", True),
    ("HTTPS://EHR.example.org/fhir?page=2", True),
    ("http://ehr.example.org/fhir/Condition?page=2", False),       # cleartext: the bearer token would leave unencrypted
    ("http://ehr.example.org:443/fhir/Condition?page=2", False),
    ("https://ehr.example.org:8443/fhir/Condition?page=2", False),
    ("https://ehr.example.org.evil.example/fhir?page=2", False),
    ("https://user:pw@ehr.example.org/fhir?page=2", False),
    ("https://ehr.example.org:99999/fhir?page=2", False),
    ("/fhir/Condition?page=2", False),
])
def test_next_links_must_have_fhir_servers_scheme_host_and_port(link, same):
    from urllib.parse import urlsplit

    from advisor.serve.fhir_fetch import same_origin

    assert same_origin(link, urlsplit("https://ehr.example.org/fhir")) is same


def test_a_future_dated_observation_does_not_outrank_todays_value_and_the_card_says_so(client):
    from datetime import datetime, timedelta, timezone

    today = datetime.now(timezone.utc)
    conds = [condition(MS_CODES["relapsing"], "severe")]
    for future in ("2099-01-01", "2099-01-01T00:00:00Z", (today + timedelta(days=2)).strftime("%Y-%m-%d"),
                   (today + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")):
        obs = [observation("prior-treatment-failures", when=today.strftime("%Y-%m-%d"), valueInteger=0),
               observation("prior-treatment-failures", when=future, valueInteger=2)]
        (card,) = client.post(URL, json=hook(conds, obs)).json()["cards"]
        assert ext(card)["status"] == "facts-missing" and card["indicator"] == "warning"
        assert f"Observation prior-treatment-failures: one is dated {future}, in the future (this service's clock says " \
            in card["detail"].replace("\\", "") and "which value is current is unclear" in card["detail"]
    # today's date (it may be today in another time zone), and a minute ahead of our clock, are not the future
    for now_ish in ((today + timedelta(hours=10)).strftime("%Y-%m-%d"), (today + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")):
        obs = [observation("prior-treatment-failures", when="2026-01-01", valueInteger=0),
               observation("prior-treatment-failures", when=now_ish, valueInteger=2)]
        cards = client.post(URL, json=hook(conds, obs)).json()["cards"]
        assert "prior_failures=2" in cards[0]["links"][0]["url"], now_ish


@pytest.mark.parametrize("ms_status,other_status,named", [
    ({"clinicalStatus": ["active", "inactive"]}, {}, "MS (relapsing): its clinicalStatus has active and inactive together"),
    ({"abatementDateTime": "2020-01-01"}, {}, "MS (relapsing): its clinicalStatus is active but it has abatementDateTime 2020-01-01 "
                                              "(FHIR con-4"),
    ({}, {"clinicalStatus": ["active", "resolved"]}, "Heart failure: its clinicalStatus has active and resolved together"),
    ({}, {"abatementString": "2019"}, "Heart failure: its clinicalStatus is active but it has abatementString 2019"),
])
def test_a_condition_whose_status_contradicts_itself_is_unclear_and_gives_no_drug_cards(client, ms_status, other_status, named):
    def with_status(res, change):
        res = dict(res)
        if "clinicalStatus" in change:
            res["clinicalStatus"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": c}
                                                for c in change["clinicalStatus"]]}
        return {**res, **{k: v for k, v in change.items() if k != "clinicalStatus"}}
    conds = [with_status(condition(MS_CODES["relapsing"], "severe"), ms_status), with_status(condition("84114007"), other_status)]
    _, obs = person()
    (card,) = client.post(URL, json=hook(conds, obs)).json()["cards"]
    assert ext(card)["status"] == "facts-missing" and card["indicator"] == "warning"
    detail = card["detail"].replace("\\", "")
    assert f"the Condition recorded as {named}" in detail and "whether it is active is unclear" in detail, detail
    # the same Conditions, not contradicting themselves: advice
    assert drug_cards(client.post(URL, json=hook([condition(MS_CODES["relapsing"], "severe"), condition("84114007")], obs)).json()["cards"])


@pytest.mark.parametrize("server", ["http://127.0.0.\t1:1/fhir", "http://127.0.0.1:1/fh\x00ir", "http://[::1/fhir", "http://127.0.0.1:99999/fhir"])
def test_a_fhir_server_address_that_cannot_be_fetched_from_is_412_not_500(client, server):
    r = client.post(URL, json=hook(None, None, fhirServer=server))
    assert r.status_code == 412 and r.json()["errors"] == [
        {"field": "fhirServer", "message": "the facts could not be fetched: fhirServer must be an http(s) URL"}]


@pytest.mark.parametrize("path", ["/Condition?page=\x002", "/Cond\x7fition"])
def test_a_next_link_that_is_not_a_valid_url_is_412_not_500(client, path):
    conds, obs = person("spms", "severe", conditions=("84114007",))
    with FhirStub({}) as stub:
        stub.resources.update({"Condition": {**bundle(conds[0]), "link": [{"relation": "next", "url": stub.url + path}]},
                               "Observation": bundle(*obs)})
        r = client.post(URL, json=hook(None, None, fhirServer=stub.url, fhirAuthorization={"access_token": "t"}))
    assert r.status_code == 412 and r.json()["errors"] == [{"field": "fhirServer", "message": "the facts could not be fetched: "
                                                            "the FHIR server gave an address for conditions that is not a valid URL"}]


def test_every_card_links_to_the_explanation_the_comparison_and_the_summary_with_the_patients_facts(client):
    """Each card's links open the advice page, the compare grid and the one-page summary for the same facts
    (absolute, labelled): the grid and the summary then show each drug's status for them, as /advice does."""
    conds, obs = person("spms", "severe", failures=0, worsening=True, dose=0, conditions=("84114007",))
    cards = client.post(URL, json=hook(conds, obs)).json()["cards"]
    assert len(cards) >= 2
    for c in cards:
        assert [link["label"] for link in c["links"]] == ["Full explanation for these facts", "Compare the options side by side",
                                                          "One-page summary for the clinic"]
        assert all(link["type"] == "absolute" for link in c["links"])
        advice, compare, summary = (link["url"] for link in c["links"])
        assert advice.startswith("http://testserver/advice?") and compare.startswith("http://testserver/compare?")
        assert summary.startswith("http://testserver/summary?")
        assert advice.split("?", 1)[1] == compare.split("?", 1)[1] == summary.split("?", 1)[1]  # the same facts
        assert "condition=heart_failure" in compare and "rapidly_worsening=true" in compare
    page = client.get(compare.removeprefix("http://testserver"), headers={"accept": "text/html"})
    assert page.status_code == 200
    assert 'data-drug="mitoxantrone"' in page.text and 'data-status="applicable"' in page.text
    page = client.get(summary.removeprefix("http://testserver"), headers={"accept": "text/html"})
    assert page.status_code == 200 and "Heart failure" in page.text and "Mitoxantrone" in page.text
