"""The plain JSON API: /advise, /batch, /drugs, /rules, /schema/*, /kb, /health."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from advisor import Recommendation, __version__
from advisor.errors import Refused
from advisor.kb.schema import Drug, KnowledgeBase
from advisor.serve.bodies import media_type_problem
from advisor.serve.dependencies import KBDep, RuntimeDep, json_body
from advisor.serve.responses import ERRORS, JSON_ONLY, facts_for_log, fired, statuses
from advisor.serve.schemas import CautionRuleOut, Errors, Health, KBInfo, StatusRuleOut

router = APIRouter()

FACTS_EXAMPLE = {"ms_type": "spms", "severity": "severe", "rapidly_worsening": True, "conditions": ["heart_failure"]}
FACTS_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/PatientFactsInput"}, "example": FACTS_EXAMPLE}}}}
FactsJson = Annotated[Any, Depends(json_body(limit=8))]  # 415, then 400 (facts nest little), before any work


@router.post("/advise", response_model=Recommendation, tags=["JSON API"],
             responses={422: {"model": Errors, "description": "bad facts: each problem names its field and the allowed values"}, **ERRORS,
                        **JSON_ONLY},
             openapi_extra=FACTS_BODY)
async def advise(data: FactsJson, rt: RuntimeDep) -> Any:
    """Advice for one person's facts (`PatientFacts`; aliases such as `rrms` allowed): the
    `Recommendation` exactly as the library's `model_dump(mode="json")`. The decision is logged; its
    id is in the `X-Decision-Id` header."""
    rec = rt.advisor.advise(data)  # bad facts: InvalidFacts, a 422 listing them (responses.HANDLERS)
    decision_id = str(uuid.uuid4())
    rt.store.log_decisions([{"id": decision_id, "channel": "advise", "kb": rt.kb_id, "facts": facts_for_log(rec.facts),
                             "rules": fired(rec), "statuses": statuses(rec), "patient_id": rec.facts.id}])
    return JSONResponse(rec.model_dump(mode="json"), headers={"X-Decision-Id": decision_id})


def _batch_records(body: bytes, advisor: Any, full: bool) -> Iterator[str]:
    """The records ``ms-advisor batch`` writes for these JSONL cases, one JSON text per case, in order.
    The one place that calls the batch module: :func:`advisor.batch.run_items` over the body's lines
    in blocks, written to a queue that this generator drains as each block is done."""
    import queue
    import threading

    from advisor.batch import CaseOptions, JsonlBlock, run_items

    def blocks() -> Iterator[JsonlBlock]:
        start, line = 0, 1
        while start < len(body):  # blocks of whole lines, so the answer streams as the cases are done
            cut = body.find(b"\n", start + 64 * 1024)
            end = len(body) if cut < 0 else cut
            yield JsonlBlock("<body>", line, body[start:end])
            line += body.count(b"\n", start, end) + 1
            start = end + 1

    class Lines:  # the output stream run_items writes to: whole records, handed over line by line
        def __init__(self) -> None:
            self.q: queue.Queue[Any] = queue.Queue(maxsize=64)  # bounded: a slow client slows the work
            self.rest = b""
            self.closed = False  # the client went away: stop the work at its next record

        def put(self, item: str | None) -> None:
            while True:
                if self.closed and item is not None:
                    raise BrokenPipeError("the client stopped reading")
                try:
                    self.q.put(item, timeout=0.2)
                    return
                except queue.Full:
                    continue

        def write(self, data: bytes) -> None:
            *done, self.rest = (self.rest + data).split(b"\n")
            for line in done:
                self.put(line.decode("utf-8"))

    out, failure = Lines(), []

    def work() -> None:
        try:
            run_items(blocks(), out, advisor=advisor, options=CaseOptions(full=full))
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            failure.append(e)
        finally:
            out.put(None)

    thread = threading.Thread(target=work, name="batch-body", daemon=True)
    thread.start()
    try:
        while (line := out.q.get()) is not None:
            yield line
    finally:
        out.closed = True
        while thread.is_alive():  # let it see `closed` (it may be waiting on a full queue)
            try:
                out.q.get(timeout=0.2)
            except queue.Empty:
                pass
    if failure and not isinstance(failure[0], BrokenPipeError):
        raise failure[0]


BATCH_BLOCK = 1000  # /batch records sent at a time, each block once its decisions are logged
BATCH_TYPES = ("application/x-ndjson", "application/jsonl")  # JSONL: one JSON object per line, UTF-8
_JSONL_BODY = {"schema": {"type": "string"},
               "example": '{"ms_type": "ppms", "severity": "mild"}\n{"ms_type": "rrms", "severity": "severe", "prior_failures": 2}\n'}


def batch_type_problem(content_type: str | None) -> str | None:
    """Why a /batch body's Content-Type is not one the endpoint reads (None: it is)."""
    return media_type_problem(content_type, BATCH_TYPES, "JSONL: one JSON object per line")


async def require_jsonl(request: Request) -> None:
    """A 415 unless the body is declared JSONL (one of BATCH_TYPES, UTF-8)."""
    problem = batch_type_problem(request.headers.get("content-type"))
    if problem is not None:
        raise Refused(415, [{"field": "Content-Type", "message": problem}])


@router.post("/batch", tags=["JSON API"], responses={
    200: {"description": "one JSON record per case, in input order (as `ms-advisor batch --format jsonl`)",
          "content": {"application/x-ndjson": {"example": '{"id":"<body>:1","source":"<body>:1","ok":true,"error":null,'
                                                           '"listed":["ocrelizumab"],"status":{"alemtuzumab":"not_applicable"}}'}}},
    415: {"model": Errors, "description": f"the body's Content-Type is not {' or '.join(BATCH_TYPES)} (UTF-8)"},
    **ERRORS}, openapi_extra={"requestBody": {"required": True, "content": {t: _JSONL_BODY for t in BATCH_TYPES}}},
    dependencies=[Depends(require_jsonl)])
async def batch(request: Request, rt: RuntimeDep,
                full: bool = Query(False, description="put the whole Recommendation in each record")) -> Any:
    """JSONL cases in (one JSON object per line, optionally with `id` and `expect`; Content-Type
    `application/x-ndjson` or `application/jsonl`, UTF-8), the same JSONL records as `ms-advisor batch`
    out, streamed in input order. A bad case becomes an `ok: false` record; the others are kept. Each
    valid case is logged as a decision."""
    body = await request.body()  # a line nested too deeply is that case's error record, as in ms-advisor batch

    def logged_blocks() -> Iterator[bytes]:
        """The records in blocks of up to 1000, each sent only once its decisions are logged: a log
        that cannot be written (a full disk) stops the answer there, and no record sent is unlogged."""
        texts: list[str] = []
        pending: list[dict[str, Any]] = []
        for text in _batch_records(body, rt.advisor, full):
            texts.append(text)
            record = json.loads(text)
            if record.get("ok"):
                pending.append({"id": str(uuid.uuid4()), "channel": "batch", "kb": rt.kb_id, "facts": None,
                                "rules": record["rules"], "statuses": record["status"], "patient_id": record.get("id")})
            if len(texts) >= BATCH_BLOCK:
                if pending:
                    rt.store.log_decisions(pending)
                yield ("\n".join(texts) + "\n").encode("utf-8")
                texts, pending = [], []
        if pending:
            rt.store.log_decisions(pending)
        if texts:
            yield ("\n".join(texts) + "\n").encode("utf-8")

    blocks = logged_blocks()
    first = await run_in_threadpool(next, blocks, None)  # before the answer starts: a log that cannot be written is a 503

    def stream() -> Iterator[bytes]:
        if first is not None:
            yield first
            yield from blocks

    return StreamingResponse(stream(), media_type="application/x-ndjson")


def drugs_json(kb: KnowledgeBase) -> JSONResponse:
    return JSONResponse([d.model_dump(mode="json") for d in kb.drugs], headers={"Vary": "Accept"})


def rules_json(kb: KnowledgeBase) -> JSONResponse:
    items = [{"kind": "status", **r.model_dump(mode="json")} for r in kb.rules]
    items += [{"kind": "caution", **c.model_dump(mode="json")} for c in kb.cautions]
    return JSONResponse(items, headers={"Vary": "Accept"})


JSON_VIEWS = {"/drugs": drugs_json, "/rules": rules_json}  # the pages answer these paths for non-browsers


# /drugs and /rules are answered by the pages' routes (registered first), which hand every client that
# does not ask for text/html to the functions above; these two routes document them in OpenAPI.
@router.get("/drugs", response_model=list[Drug], tags=["Knowledge base"])
async def drugs(kb: KBDep) -> Any:
    """What the article says of each drug: brand, how it works, schedule, side effects (with quotes).
    A browser (`Accept: text/html`) gets the web page instead."""
    return drugs_json(kb)


@router.get("/rules", response_model=list[StatusRuleOut | CautionRuleOut], tags=["Knowledge base"])
async def rules(kb: KBDep) -> Any:
    """Every rule: status rules (`kind: status`) then caution rules (`kind: caution`), with quotes.
    A browser (`Accept: text/html`) gets the web page instead."""
    return rules_json(kb)


@router.get("/schema/facts", response_model=dict[str, Any], tags=["Schemas"])
async def schema_facts(rt: RuntimeDep) -> Any:
    """The JSON Schema of the facts (input), as `ms-advisor schema facts`: the facts of the knowledge base in use."""
    return JSONResponse(rt.advisor.facts_model.model_json_schema(mode="validation"))


@router.get("/schema/recommendation", response_model=dict[str, Any], tags=["Schemas"])
async def schema_recommendation() -> Any:
    """The JSON Schema of the recommendation (output), as `ms-advisor schema recommendation`."""
    return JSONResponse(Recommendation.model_json_schema(mode="serialization"))


@router.get("/kb", response_model=KBInfo, tags=["Knowledge base"])
async def kb_info(rt: RuntimeDep) -> Any:
    """Which knowledge base answers: name, version, and a SHA-256 over its files and source."""
    return KBInfo(**rt.kb_id, source_title=rt.source_title)


@router.get("/health", response_model=Health, tags=["Service"])
async def health(rt: RuntimeDep) -> Any:
    """Liveness: the service is up, with its version and knowledge base."""
    return Health(status="ok", version=__version__, kb=KBInfo(**rt.kb_id, source_title=rt.source_title))
