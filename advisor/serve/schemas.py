"""Pydantic models of the service's own messages (the advisor's facts and recommendation are
``advisor.PatientFacts`` and ``advisor.Recommendation``): they validate requests and document the API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from advisor.kb.schema import CautionRule, Rule


class ErrorItem(BaseModel):
    field: str = Field(description="the offending field as a dotted path, or (body)")
    message: str
    allowed: list[Any] | None = Field(None, description="the accepted values, where the field has a vocabulary")


class Errors(BaseModel):
    errors: list[ErrorItem]
    model_config = ConfigDict(json_schema_extra={"examples": [{"errors": [
        {"field": "ms_type", "message": "unknown MS type 'progresive'", "allowed": ["relapsing", "spms", "ppms"]}]}]})


class InternalError(BaseModel):
    error: Literal["internal error"] = "internal error"
    error_id: str = Field(description="quote it to the operator: the server's log holds the details under this id")


class KBInfo(BaseModel):
    name: str
    version: str
    sha256: str = Field(description="SHA-256 over the KB's TOML files and its source text (line endings folded)")
    source_title: str


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    kb: KBInfo


class StatusRuleOut(Rule):
    kind: Literal["status"] = "status"


class CautionRuleOut(CautionRule):
    kind: Literal["caution"] = "caution"


# --- CDS Hooks 2.0 ---------------------------------------------------------------------------------

class Coding(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str = Field(max_length=200)
    system: str | None = Field(None, max_length=500)
    display: str | None = Field(None, max_length=500)


class Service(BaseModel):
    hook: str
    id: str
    title: str
    description: str
    prefetch: dict[str, str]


class Discovery(BaseModel):
    services: list[Service]


class FhirAuthorization(BaseModel):
    model_config = ConfigDict(extra="allow")
    access_token: str = Field(max_length=10_000)
    token_type: str = "Bearer"
    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None


class HookContext(BaseModel):
    model_config = ConfigDict(extra="allow")
    userId: str | None = Field(None, max_length=500)
    patientId: str = Field(pattern=r"^[A-Za-z0-9\-.]{1,64}$", description="a FHIR id")
    encounterId: str | None = Field(None, max_length=500)


class HookRequest(BaseModel):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/1", "patientId": "p1"},
        "prefetch": {"conditions": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {
            "resourceType": "Condition", "subject": {"reference": "Patient/p1"},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "425500002"}]},
            "severity": {"coding": [{"system": "http://snomed.info/sct", "code": "24484000"}]}}}]},
            "observations": {"resourceType": "Bundle", "type": "searchset", "entry": []}}}]})
    hook: Literal["patient-view"]
    hookInstance: str = Field(max_length=200)
    fhirServer: str | None = Field(None, max_length=2000)
    fhirAuthorization: FhirAuthorization | None = None
    context: HookContext
    prefetch: dict[str, Any] | None = None


class Source(BaseModel):
    label: str
    url: str | None = None


class Link(BaseModel):
    label: str
    url: str
    type: Literal["absolute", "smart"]


class CardExtension(BaseModel):
    drug: str | None = Field(description="the drug id; null on a card about the facts")
    status: str = Field(description="the drug's status, or facts-missing / defaults-assumed / general-notes")
    rules: list[str] = Field(description="ids of the KB rules behind the card")
    kb: dict[str, str] = Field(description="name, version and sha256 of the knowledge base")
    assumed: list[str] | None = None
    notes: list[str] | None = Field(None, description="on the general-notes card: the ids of the KB's general notes it carries")


class Card(BaseModel):
    uuid: str
    summary: str = Field(max_length=139)
    detail: str = Field(description="markdown")
    indicator: Literal["info", "warning", "critical"]
    source: Source
    overrideReasons: list[Coding] | None = None
    links: list[Link] | None = None
    extension: dict[str, CardExtension]


class CardsResponse(BaseModel):
    cards: list[Card]


class OverrideReason(BaseModel):
    model_config = ConfigDict(extra="allow")
    reason: Coding | None = None
    userComment: str | None = Field(None, max_length=2000)


class FeedbackItem(BaseModel):
    model_config = ConfigDict(extra="allow")
    card: str = Field(max_length=64)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[dict[str, Any]] | None = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: str = Field(max_length=64)


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"feedback": [{
        "card": "9368d37b-283f-44a0-93ea-547cebab93ed", "outcome": "overridden", "outcomeTimestamp": "2026-11-25T22:00:00Z",
        "overrideReason": {"reason": {"code": "patient-preference", "system": "urn:ms-infusion-advisor:override-reason"},
                           "userComment": "prefers a less frequent schedule"}}]}]})
    feedback: list[FeedbackItem] = Field(min_length=1, max_length=100)


class FeedbackStored(BaseModel):
    stored: int
