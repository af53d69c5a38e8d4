"""The ASGI app: JSON API, CDS Hooks and the pages, over one Advisor and one decision log.

``create_app(Settings(...))`` builds it; ``ms-advisor serve`` runs it on uvicorn. With ``--workers N``
uvicorn starts N processes, each building its own app from the settings passed in the environment
(the durable-rules engine is serialised by a lock within a process; parallelism is processes).

The handlers get the Runtime (``app.state.rt``) through dependencies (dependencies.py); what they
refuse they raise, and the exception handlers registered here (responses.HANDLERS) answer it.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import uuid
from dataclasses import asdict
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from advisor import PatientFacts, __version__
from advisor.errors import ServiceError
from advisor.serve import api, cds, pages, protocol, responses
from advisor.serve.bodies import MAX_BODY
from advisor.serve.runtime import Runtime, Settings as Settings, default_db as default_db  # the CLI imports them from here
from advisor.serve.store import LogUnavailable

log = logging.getLogger("advisor.serve")
SETTINGS_ENV = "MS_ADVISOR_SERVE_SETTINGS"


class Guard:
    """Outermost ASGI middleware: bodies over MAX_BODY get 413 (by Content-Length, or while streaming);
    a decision log that cannot be written gives 503 with the reason; any other unhandled exception
    becomes a 500 that says only an error id, logged with its traceback."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY):
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_body
                except ValueError:
                    too_big = False
                if too_big:
                    await _send_json(send, 413, _too_large(self.max_body), close=True)
                    return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _TooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_json(send, 413, _too_large(self.max_body), close=True)
        except ClientDisconnect:  # the client went, or the connection refused it (see protocol.py): no one to answer
            pass
        except LogUnavailable as e:  # a full disk, say: no advice is given that cannot be logged
            log.error("%s on %s %s: %s", "503", scope.get("method"), scope.get("path"), e)
            if not started:
                await _send_json(send, 503, {"errors": [{"field": "(decision log)", "message": f"{e}: no answer is given that "
                                                         "cannot be logged; try again once the service's operator has fixed it"}]})
        except Exception:
            error_id = uuid.uuid4().hex[:12]
            log.exception("error %s on %s %s", error_id, scope.get("method"), scope.get("path"))
            if not started:
                await _send_json(send, 500, {"error": "internal error", "error_id": error_id})


class _TooLarge(ServiceError):
    pass


def _too_large(limit: int) -> dict[str, Any]:
    return {"errors": [{"field": "(body)", "message": f"the body is larger than {limit // 1024} KiB"}]}


async def _send_json(send: Send, status: int, body: dict[str, Any], close: bool = False) -> None:
    """``close``: the rest of the request is not read; the connection closes after the answer, once
    the client's data is drained (see protocol.py), so the client can read it."""
    data = json.dumps(body, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + [(b"connection", b"close")] * close})
    await send({"type": "http.response.body", "body": data})


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app for ``settings`` (the packaged KB and the default log when None). Raises
    KnowledgeBaseError, StoreError or TrustError before serving if any of them cannot be used."""
    settings = settings or Settings()
    protocol.configure(settings.header_timeout, settings.body_timeout)
    rt = Runtime(settings)
    app = FastAPI(title="ms-infusion-advisor", version=__version__,
                  description="Which MS infusion drugs a patient-education article describes for a person, with every "
                              "answer explained and quoted: a JSON API and an HL7 CDS Hooks 2.0 service reading FHIR R4. "
                              "Decision support, not a prescription.",
                  exception_handlers=responses.HANDLERS)  # every refusal answered in one place
    app.state.rt = rt  # what the handlers' dependencies hand them (see dependencies.py)
    pages.include(app, rt.advisor, api.JSON_VIEWS)  # first: /drugs and /rules as pages for browsers
    app.include_router(api.router)
    app.include_router(cds.router)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"], expose_headers=["X-Decision-Id"])
    app.add_middleware(Guard)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, plus the request bodies' schemas (the endpoints read their bodies themselves, so
    that every error has the same shape): PatientFactsInput, HookRequest, FeedbackRequest."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    from advisor.serve.schemas import FeedbackRequest, HookRequest

    for title, model in (("PatientFactsInput", PatientFacts), ("HookRequest", HookRequest), ("FeedbackRequest", FeedbackRequest)):
        body = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in body.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components[title] = body
    _examples(app, schema)
    app.openapi_schema = schema
    return schema


def _examples(app: FastAPI, schema: dict[str, Any]) -> None:
    """Response examples computed by this service's own code from the request examples, so they are
    always what the service answers (built once, when /openapi.json is first asked for)."""
    from advisor.serve import cards, fhir
    from advisor.serve.schemas import HookRequest

    rt = app.state.rt
    rec = rt.advisor.advise(api.FACTS_EXAMPLE)
    paths = schema["paths"]
    paths["/advise"]["post"]["responses"]["200"]["content"]["application/json"]["example"] = rec.model_dump(mode="json")
    hook = HookRequest.model_json_schema()["examples"][0]
    paths["/cds-services/ms-infusion-advisor"]["post"]["requestBody"]["content"]["application/json"]["example"] = hook
    reading = fhir.read(hook["prefetch"], hook["context"]["patientId"], rt.terms)
    hook_rec = rt.advisor.advise(reading.facts)
    base = rt.settings.public_url or "http://127.0.0.1:8000"
    example = cards.advice_cards(hook_rec, reading.assumed, rt.kb_id, rt.source_title, pages.card_links(base, hook_rec.facts),
                                 rt.condition_labels)
    paths["/cds-services/ms-infusion-advisor"]["post"]["responses"]["200"]["content"]["application/json"]["example"] = {"cards": example}
    paths["/kb"]["get"]["responses"]["200"]["content"]["application/json"]["example"] = {**rt.kb_id, "source_title": rt.source_title}


def app_from_env() -> FastAPI:
    """uvicorn's factory in each worker process: the settings come from the parent in the environment."""
    app = create_app(Settings(**json.loads(os.environ[SETTINGS_ENV])))
    freeze_start_up()
    return app


def freeze_start_up() -> None:
    """Call once the app is built, before serving: everything built so far (the KB, compiled rules,
    templates, the warmed pages) lives as long as the process, so it is kept out of the garbage
    collector's full passes, which otherwise cost one request in a few thousand ~50-100 ms walking it."""
    gc.collect()
    gc.freeze()


def settings_env(settings: Settings) -> str:
    return json.dumps(asdict(settings))
