"""What a handler of the JSON API or CDS Hooks asks for, as FastAPI dependencies: the runtime (or just
its KB or log), the service's base URL, the EHR's token checked, a JSON body read safely.

Each is an ``Annotated`` alias (``rt: RuntimeDep``) or, for a check with nothing to hand over, a
function for ``dependencies=[Depends(...)]``. A check that fails raises :class:`advisor.errors.Refused`
(``AuthError``, ``BadBody``...), which the app's one exception handler answers (see responses.py).
A route's own ``dependencies`` run first, in order, then its parameters': the POSTs of CDS Hooks check
the Content-Type (415), then the token (401), then read the body (400) and validate it (422).
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from advisor.errors import Refused
from advisor.kb.schema import KnowledgeBase
from advisor.serve.auth import verify
from advisor.serve.bodies import MAX_DEPTH, json_type_problem, parse_json
from advisor.serve.responses import validation_errors
from advisor.serve.runtime import Runtime, Settings
from advisor.serve.store import Store

Model = TypeVar("Model", bound=BaseModel)


async def get_runtime(request: Request) -> Runtime:
    """The app's Runtime (``app.state.rt``, built once by create_app)."""
    rt: Runtime = request.app.state.rt
    return rt


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_kb(rt: RuntimeDep) -> KnowledgeBase:
    return rt.kb


async def get_store(rt: RuntimeDep) -> Store:
    return rt.store


KBDep = Annotated[KnowledgeBase, Depends(get_kb)]
StoreDep = Annotated[Store, Depends(get_store)]


def base_url(request: Request, settings: Settings) -> str:
    """The service's base URL as callers know it: --public-url, else what the request says (Host)."""
    configured = settings.public_url
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")


async def public_base(request: Request, rt: RuntimeDep) -> str:
    return base_url(request, rt.settings)


BaseURL = Annotated[str, Depends(public_base)]


async def authorize(request: Request, rt: RuntimeDep) -> dict[str, Any] | None:
    """With --trust: the EHR's token's claims, checked for this URL (else AuthError: 401); without: None."""
    if not rt.trust:
        return None
    audience = base_url(request, rt.settings) + request.url.path
    return verify(request.headers.get("authorization"), audience, rt.trust, rt.store.first_use_of_jti)


async def require_json(request: Request) -> None:
    """A 415 unless the body is declared application/json (UTF-8); checked before the body is read."""
    problem = json_type_problem(request.headers.get("content-type"))
    if problem is not None:
        raise Refused(415, [{"field": "Content-Type", "message": problem}])


def json_body(limit: int = MAX_DEPTH) -> Callable[..., Awaitable[Any]]:
    """A dependency giving the body parsed as JSON at most ``limit`` levels deep, after require_json
    (a BadBody, 400, for one that is not UTF-8 JSON)."""

    async def read(request: Request, _: Annotated[None, Depends(require_json)]) -> Any:
        return parse_json(await request.body(), limit)

    return read


JsonBody = Annotated[Any, Depends(json_body())]


def body_as(model: type[Model]) -> Callable[..., Awaitable[Model]]:
    """A dependency giving the JSON body validated as ``model`` (a 422 naming each field that is not)."""

    async def read(data: JsonBody) -> Model:
        try:
            return model.model_validate(data)
        except ValidationError as e:
            raise Refused(422, validation_errors(e)) from None

    return read
