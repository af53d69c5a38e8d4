"""What the routers (api.py, cds.py) answer with in common: the error shape and the exception handlers
that give it, the errors every JSON endpoint may give (for the OpenAPI schema), and a decision's log
fields. It imports neither the app nor a router, so the app imports the routers and they import this.

``HANDLERS`` are the app's exception handlers, registered in one place (create_app): a
:class:`~advisor.errors.Refused` raised by a handler or a dependency becomes its status with
``{"errors": [...]}`` and its headers; ``InvalidFacts`` a 422 with its errors; a request FastAPI
itself cannot read (a bad query parameter) a 422 in the same shape.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.requests import Request

from advisor import PatientFacts, Recommendation
from advisor.errors import InvalidFacts, Refused
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


async def refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refused)
    return json_error(exc.status, exc.errors, exc.headers)


async def invalid_facts(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidFacts)
    return json_error(422, exc.errors)


async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return json_error(422, [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()])


HANDLERS: dict[int | type[Exception], Callable[[Request, Any], Coroutine[Any, Any, Response]]] = {
    Refused: refused, InvalidFacts: invalid_facts, RequestValidationError: invalid_request}


def facts_for_log(facts: PatientFacts) -> dict[str, Any]:
    return facts.model_dump(mode="json", exclude={"id"})


def statuses(rec: Recommendation) -> dict[str, str]:
    return {d.drug: str(getattr(d.status, "value", d.status)) for d in rec.drugs}


def fired(rec: Recommendation) -> list[str]:
    return [r.rule for d in rec.drugs for r in d.reasons] + [c.rule for d in rec.drugs for c in d.cautions]
