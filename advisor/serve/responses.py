"""What the routers (api.py, cds.py) answer with in common: the error shape, the errors every JSON
endpoint may give (for the OpenAPI schema), the service's base URL, and a decision's log fields.
It imports neither the app nor a router, so the app imports the routers and they import this."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import ValidationError

from advisor import PatientFacts, Recommendation
from advisor.serve.schemas import Errors, InternalError

ERRORS: dict[int | str, dict[str, Any]] = {  # FastAPI's type for `responses=`
    400: {"model": Errors, "description": "the body is not JSON, not UTF-8, or nested too deeply"},
    413: {"model": Errors, "description": "the body is larger than 1 MiB"},
    500: {"model": InternalError, "description": "an unexpected error; the server logged it under error_id"}}
JSON_ONLY: dict[int | str, dict[str, Any]] = {
    415: {"model": Errors, "description": "the body's Content-Type is not application/json (UTF-8)"}}


def json_error(status: int, errors: list[dict[str, Any]], headers: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse({"errors": errors}, status_code=status, headers=headers)


def validation_errors(e: ValidationError) -> list[dict[str, Any]]:
    return [{"field": ".".join(str(p) for p in err["loc"]) or "(body)", "message": err["msg"]} for err in e.errors()]


def public_base(request: Any) -> str:
    """The service's base URL as callers know it: --public-url, else what the request says (Host)."""
    configured = request.app.state.rt.settings.public_url
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")


def facts_for_log(facts: PatientFacts) -> dict[str, Any]:
    return facts.model_dump(mode="json", exclude={"id"})


def statuses(rec: Recommendation) -> dict[str, str]:
    return {d.drug: str(getattr(d.status, "value", d.status)) for d in rec.drugs}


def fired(rec: Recommendation) -> list[str]:
    return [r.rule for d in rec.drugs for r in d.reasons] + [c.rule for d in rec.drugs for c in d.cautions]
