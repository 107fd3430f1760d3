"""POST /v1/screen and /v1/screen/batch (JSON, or NDJSON streamed both ways)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import asdict
from typing import IO, Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi import Query as Q
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from pydantic import TypeAdapter, ValidationError

from compliance.api.errors import Problem
from compliance.api.keys import Caller
from compliance.api.problems import problem_body, validation_detail
from compliance.api.routes.common import (
    generation,
    json_response,
    parse_json,
    schema_ref,
    snapshot_header,
    validate,
)
from compliance.api.schemas import BatchRequest, BatchResponse, ScreenRequest, ScreenResponse
from compliance.api.security import caller
from compliance.api.service import screen_many, screen_result
from compliance.api.state import Generation
from compliance.screening import DEFAULT_THRESHOLD, Query

router = APIRouter(prefix="/v1", tags=["screening"])
BATCH = TypeAdapter(BatchRequest)
QUERY = TypeAdapter(Query)
NDJSON = "application/x-ndjson"
SPOOL = 8 * 1024 * 1024


def _audit_fields(
    who: Caller,
    channel: str,
    q: Query | None,
    gen: Generation,
    threshold: float,
    result: Any,
    error: str | None,
) -> dict[str, Any]:
    return {
        "key_name": who.name,
        "channel": channel,
        "query": asdict(q) if q else {},
        "threshold": threshold,
        "snapshots": gen.snapshot_ids,
        "result": result,
        "error": error,
    }


def _record(request: Request, who: Caller, *args: Any) -> None:
    """From a worker thread: waits for room in the audit queue if it is full."""
    writer = request.app.state.audit
    if writer is not None:
        writer.record(**_audit_fields(who, *args))


async def _arecord(request: Request, who: Caller, *args: Any) -> None:
    """From the event loop: never blocks it."""
    writer = request.app.state.audit
    if writer is not None:
        await writer.arecord(**_audit_fields(who, *args))


@router.post(
    "/screen", response_model=ScreenResponse, summary="Screen one party against the loaded lists"
)
async def screen(
    body: ScreenRequest, request: Request, who: Annotated[Caller, Depends(caller)]
) -> Response:
    gen = generation(request)
    try:
        result = screen_result(
            gen,
            body,
            request.app.state.settings,
            threshold=body.threshold,
            lists=body.lists,
            limit=body.limit,
            algorithm=body.algorithm,
        )
    except Problem as exc:
        await _arecord(request, who, "api", body, gen, body.threshold, None, exc.detail)
        raise
    await _arecord(request, who, "api", body, gen, body.threshold, result, None)
    # orjson writes the library's dataclasses directly: the same JSON as to_dict(), faster
    out = ScreenResponse(
        result.query, result.matches, result.threshold, result.algorithm, gen.snapshot_ids
    )
    return Response(
        orjson.dumps(out, default=str), media_type="application/json", headers=snapshot_header(gen)
    )


@router.post(
    "/screen/batch",
    response_model=BatchResponse,
    summary="Screen up to 1,000 parties (JSON), or any number as NDJSON (streamed back)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema_ref(BATCH)},
                NDJSON: {"schema": schema_ref(QUERY)},
            },
        }
    },
)
async def screen_batch(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    threshold: Annotated[float, Q(ge=0, le=100, description="NDJSON only")] = DEFAULT_THRESHOLD,
    lists: Annotated[list[str] | None, Q(alias="list", description="NDJSON only")] = None,
    limit: Annotated[int, Q(ge=1, le=100, description="NDJSON only")] = 10,
    algorithm: Annotated[str, Q(description="NDJSON only")] = "default",
) -> Response:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in (NDJSON, "application/jsonl", "application/ndjson"):
        opts = {"threshold": threshold, "lists": lists, "limit": limit, "algorithm": algorithm}
        return await _ndjson(request, who, opts)
    if ctype not in ("application/json", ""):
        raise Problem(415, f"send application/json or {NDJSON}, not {ctype}")
    data = parse_json(await request.body())
    settings = request.app.state.settings
    parties = data.get("parties") if isinstance(data, dict) else None
    if isinstance(parties, list) and len(parties) > settings.max_batch:
        raise Problem(
            413,
            f"{len(parties):,} parties in one JSON batch; at most "
            f"{settings.max_batch:,}: send more as NDJSON",
        )
    req: BatchRequest = validate(BATCH, data)
    gen = generation(request)
    out = await run_in_threadpool(_batch, request, who, gen, req)
    return json_response({"results": out, "snapshots": gen.snapshot_ids}, gen)


def _batch(request: Request, who: Caller, gen: Generation, req: BatchRequest) -> list[Any]:
    opts = {
        "threshold": req.threshold,
        "lists": req.lists,
        "limit": req.limit,
        "algorithm": req.algorithm,
    }
    _check_lists(gen, opts)
    out: list[dict[str, Any]] = []
    settings = request.app.state.settings
    for i, (q, res, err) in enumerate(screen_many(gen, req.parties, settings, **opts)):
        _record(request, who, "batch", q, gen, req.threshold, res, err.detail if err else None)
        if err is not None:
            problem = problem_body(err.status, err.detail, err.title)
            out.append({"index": i, "result": None, "error": problem})
        else:
            out.append({"index": i, "result": res, "error": None})
    return out


def _check_lists(gen: Generation, opts: dict[str, Any]) -> None:
    """An unknown list or algorithm fails the whole request (422), not each party."""
    from compliance.screening import ScreeningError

    try:
        gen.screener_for(opts["lists"], opts["algorithm"])
    except ScreeningError as exc:
        raise Problem(422, str(exc), title="Invalid request") from None


async def _ndjson(request: Request, who: Caller, opts: dict[str, Any]) -> Response:
    gen = generation(request)
    _check_lists(gen, opts)
    # closed by the response's generator, once every line is answered
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115
    async for chunk in request.stream():
        spool.write(chunk)
    spool.seek(0)
    settings = request.app.state.settings
    return StreamingResponse(
        _ndjson_lines(request, who, gen, spool, opts, settings),
        media_type=NDJSON,
        headers=snapshot_header(gen),
    )


def _parse_line(raw: bytes, n: int) -> Query | Problem:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Problem(400, f"line {n}: malformed JSON: {exc}", title="Malformed JSON")
    if isinstance(data, str):
        data = {"name": data}
    try:
        return QUERY.validate_python(data)
    except ValidationError as exc:
        text, _ = validation_detail(list(exc.errors()))
        return Problem(422, f"line {n}: {text}", title="Invalid request")


def _numbered(spool: IO[bytes]) -> Iterator[tuple[int, Query | Problem]]:
    for n, raw in enumerate(spool, 1):
        if raw.strip():
            yield n, _parse_line(raw, n)


def _ndjson_lines(
    request: Request,
    who: Caller,
    gen: Generation,
    spool: IO[bytes],
    opts: dict[str, Any],
    settings: Any,
) -> Iterator[bytes]:
    try:
        buf: list[bytes] = []
        numbered = _numbered(spool)
        lines: list[int] = []

        def parties() -> Iterator[Query | Problem]:
            for n, party in numbered:
                lines.append(n)
                yield party

        for k, (q, res, err) in enumerate(screen_many(gen, parties(), settings, **opts)):
            _record(
                request, who, "ndjson", q, gen, opts["threshold"], res, err.detail if err else None
            )
            if err is not None:
                problem = problem_body(err.status, err.detail, err.title)
                item: dict[str, Any] = {"line": lines[k], "error": problem}
            else:
                assert res is not None
                item = {
                    "line": lines[k],
                    "query": res.query,
                    "threshold": res.threshold,
                    "algorithm": res.algorithm,
                    "matches": res.matches,
                    "snapshots": gen.snapshot_ids,
                }
            buf.append(orjson.dumps(item, default=str) + b"\n")
            if len(buf) >= 64:
                yield b"".join(buf)
                buf = []
        if buf:
            yield b"".join(buf)
    finally:
        spool.close()
