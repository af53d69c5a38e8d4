"""HL7 CDS Hooks 2.0: discovery, the patient-view service reading FHIR R4, and card feedback."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from advisor import InvalidFacts
from advisor.errors import Refused
from advisor.text import visible
from advisor.serve import cards as cardlib
from advisor.serve import fhir, fhir_fetch, fhir_time
from advisor.serve.dependencies import BaseURL, RuntimeDep, StoreDep, authorize, body_as, require_json
from advisor.serve.pages import card_links
from advisor.serve.responses import ERRORS, JSON_ONLY, facts_for_log, fired, statuses
from advisor.serve.schemas import CardsResponse, Discovery, Errors, FeedbackRequest, FeedbackStored, HookRequest, Service

router = APIRouter(prefix="/cds-services", tags=["CDS Hooks"])
SERVICE = Service(
    hook="patient-view", id=cardlib.SERVICE_ID, title="MS infusion drugs (patient-education article)",
    description="Which of the four MS infusion drugs (alemtuzumab, natalizumab, mitoxantrone, ocrelizumab) a "
                "patient-education article describes for this patient, from their MS Condition, its severity, other "
                "active Conditions and a few Observations; every card explained and quoted. Decision support, not a prescription.",
    prefetch=fhir.PREFETCH)
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {  # FastAPI's type for `responses=`
    401: {"model": Errors, "description": "with --trust: the EHR's JWT is missing or not valid"}}
# Each POST checks, in this order: 415 for a body that is not application/json, 401 without a valid JWT
# (when --trust is given), then 400 for a body that is not JSON and 422 for one that is not its model.
POST_CHECKS = [Depends(require_json), Depends(authorize)]
HookBody = Annotated[HookRequest, Depends(body_as(HookRequest))]
FeedbackBody = Annotated[FeedbackRequest, Depends(body_as(FeedbackRequest))]


@router.get("", response_model=Discovery, responses=AUTH_ERRORS, dependencies=[Depends(authorize)])
async def discovery() -> Any:
    """CDS Hooks discovery: one service, `ms-infusion-advisor`, on `patient-view`, with its prefetch templates."""
    return Discovery(services=[SERVICE])


@router.post(f"/{cardlib.SERVICE_ID}", response_model=CardsResponse, responses={
    412: {"model": Errors, "description": "no prefetch, and the FHIR server could not be asked (or did not answer)"},
    422: {"model": Errors, "description": "the hook request is not valid"}, **AUTH_ERRORS, **ERRORS, **JSON_ONLY},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/HookRequest"}}}}}, dependencies=POST_CHECKS)
async def service(hook: HookBody, rt: RuntimeDep, base: BaseURL) -> Any:
    """The patient-view service: facts from the prefetch (or fetched from `fhirServer`), cards out,
    every card logged."""
    patient_id = hook.context.patientId
    prefetch = dict(hook.prefetch or {})
    data = {k: prefetch.get(k) for k in fhir.EXPECTED}
    malformed = [{"field": f"prefetch.{field}", "message": message}
                 for key, value in data.items() for field, message in fhir.shape_problems(key, value, patient_id)]
    if malformed:
        raise Refused(422, malformed)
    wanted = [k for k, kind in (("conditions", "Condition"), ("observations", "Observation")) if not fhir.usable(data[k], kind)]
    if wanted:
        if not hook.fhirServer:
            paged = [k for k in wanted if fhir.next_link(data[k]) is not None]
            if paged:  # the first page of a longer searchset: the rest is not in the request
                raise Refused(412, [{"field": f"prefetch.{k}", "message": "is the first page of a longer searchset (it has a "
                                     "next link) and no fhirServer was given to read the rest from: without it the facts "
                                     "would be incomplete; send the whole searchset or fhirServer with fhirAuthorization"}
                                    for k in paged])
            raise Refused(412, [{"field": "prefetch", "message": f"prefetch lacks {' and '.join(wanted)} and no fhirServer "
                                 "was given to fetch them from: send the prefetch or fhirServer with fhirAuthorization"}])
        token = hook.fhirAuthorization.access_token if hook.fhirAuthorization else None
        try:
            data.update(await fhir_fetch.fetch(hook.fhirServer, token, patient_id, wanted, rt.settings.fhir_timeout))
        except fhir_fetch.FetchError as e:
            raise Refused(412, [{"field": "fhirServer", "message": f"the facts could not be fetched: {e}"}]) from None
        malformed = [{"field": "fhirServer", "message": f"the FHIR server's answer for {key} is not usable: {field}: {message}"}
                     for key in wanted for field, message in fhir.shape_problems(key, data.get(key), patient_id)]
        if malformed:
            raise Refused(412, malformed)
    patient = data.get("patient")
    if isinstance(patient, dict) and patient.get("resourceType") == "Patient" and patient.get("id") not in (None, patient_id):
        raise Refused(412, [{"field": "prefetch.patient", "message": "the prefetched Patient is not context.patientId"}])

    reading = fhir.read(data, patient_id, rt.terms)
    decision_id = str(uuid.uuid4())
    cards: list[dict[str, Any]] = []
    row: dict[str, Any] = {"id": decision_id, "channel": "cds", "kb": rt.kb_id, "patient_id": patient_id}
    rec = None
    if reading.complete:
        try:
            rec = rt.advisor.advise(reading.facts)
        except InvalidFacts as e:
            reading.problems += [f"{err['field']}: {err['message']}" for err in e.errors]
    if rec is None:
        cards.append(cardlib.missing_card(reading.missing, reading.problems, reading.remarks, rt.kb_id, rt.source_title))
        row.update(facts=reading.facts, outcome="not decided: " + "; ".join(reading.missing + reading.problems))
    else:
        cards += cardlib.advice_cards(rec, reading.assumed, rt.kb_id, rt.source_title, card_links(base, rec.facts),
                                      rt.condition_labels)
        row.update(facts=facts_for_log(rec.facts), rules=fired(rec), statuses=statuses(rec))
    rt.store.log_decisions([row], [{"uuid": c["uuid"], "decision_id": decision_id, "indicator": c["indicator"],
                                    "drug": c["extension"][cardlib.EXTENSION]["drug"],
                                    "status": c["extension"][cardlib.EXTENSION]["status"]} for c in cards])
    return JSONResponse({"cards": cards})


CLOCK_SKEW = timedelta(minutes=5)  # between the EHR's clock and ours
TIMESTAMP_EXAMPLE = "2026-11-25T22:50:00Z"


def feedback_problems(items: list[Any], issued: dict[str, tuple[str, str | None]] | None = None) -> list[dict[str, str]]:
    """What is wrong with feedback items, each naming its field (``feedback.<i>.<field>``): a
    timestamp that is not an RFC 3339 date-time with its zone, or is in the future; fields that
    contradict the outcome or each other; one card given twice. With ``issued`` (the logged cards, see
    Store.cards) also what contradicts the card: an outcome before the card was issued, an override
    reason the card does not offer."""
    out: list[dict[str, str]] = []
    now = datetime.now(timezone.utc)
    offered = {r["code"]: r["system"] for r in cardlib.OVERRIDE_REASONS}
    first: dict[str, int] = {}
    for i, f in enumerate(items):
        at = f"feedback.{i}"
        when = fhir_time.interval(f.outcomeTimestamp, "instant")
        if issued is None:
            if when is None:
                out.append({"field": f"{at}.outcomeTimestamp", "message": f"'{visible(f.outcomeTimestamp)}' is not an RFC 3339 "
                            f"date-time with its time zone, such as {TIMESTAMP_EXAMPLE}"})
            elif when[0] > now + CLOCK_SKEW:
                out.append({"field": f"{at}.outcomeTimestamp", "message": f"{f.outcomeTimestamp} is in the future "
                            f"(this service's clock says {now.isoformat(timespec='seconds').replace('+00:00', 'Z')})"})
            if f.outcome == "accepted" and f.overrideReason is not None:
                out.append({"field": f"{at}.overrideReason", "message": "is given with outcome 'accepted': an override reason "
                            "goes with 'overridden'"})
            if f.acceptedSuggestions:
                out.append({"field": f"{at}.acceptedSuggestions", "message": "this service's cards carry no suggestions, so none "
                            "can be accepted (leave it out or send [])"})
            if f.card in first:
                out.append({"field": f"{at}.card", "message": f"is given twice in one request (also feedback.{first[f.card]}): "
                            "which outcome holds cannot be known"})
            first.setdefault(f.card, i)
            continue
        made, drug = issued[f.card]
        if when is not None and when[0] < datetime.fromisoformat(made.replace("Z", "+00:00")) - CLOCK_SKEW:
            out.append({"field": f"{at}.outcomeTimestamp", "message": f"{f.outcomeTimestamp} is before the card was issued ({made})"})
        reason = f.overrideReason.reason if f.overrideReason else None
        if reason is not None and (drug is None or reason.code not in offered or reason.system not in (None, offered[reason.code])):
            allowed = "the card offers none" if drug is None else "allowed: " + ", ".join(
                f"{r['code']} ({r['system']})" for r in cardlib.OVERRIDE_REASONS)
            system = f" ({visible(reason.system)})" if reason.system else ""
            out.append({"field": f"{at}.overrideReason.reason", "message": f"'{visible(reason.code)}'{system} is not one of "
                        f"the card's override reasons ({allowed})"})
    return out


@router.post(f"/{cardlib.SERVICE_ID}/feedback", response_model=FeedbackStored, responses={
    404: {"model": Errors, "description": "a card uuid this service never issued"},
    422: {"model": Errors, "description": "the feedback is not valid"}, **AUTH_ERRORS, **ERRORS, **JSON_ONLY},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/FeedbackRequest"}}}}}, dependencies=POST_CHECKS)
async def feedback(body: FeedbackBody, store: StoreDep) -> Any:
    """CDS Hooks feedback: each card's outcome (`accepted`, or `overridden` with a reason and comment),
    stored in the decision log."""
    problems = feedback_problems(body.feedback)
    if problems:
        raise Refused(422, problems)
    issued = store.cards([f.card for f in body.feedback])
    unknown = [f.card for f in body.feedback if f.card not in issued]
    if unknown:
        raise Refused(404, [{"field": "feedback.card", "message": f"no card with uuid {u!r} was issued by this service"}
                            for u in unknown])
    problems = feedback_problems(body.feedback, issued)
    if problems:
        raise Refused(422, problems)
    items = []
    for f in body.feedback:
        reason = f.overrideReason.reason if f.overrideReason else None
        items.append({"card": f.card, "outcome": f.outcome, "reason_code": reason.code if reason else None,
                      "reason_system": reason.system if reason else None,
                      "comment": f.overrideReason.userComment if f.overrideReason else None,
                      "outcome_time": f.outcomeTimestamp})
    store.add_feedback(items)
    return FeedbackStored(stored=len(items))
