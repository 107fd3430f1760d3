"""POST /v1/orders/check: an order file (multipart or raw body) or a JSON list of orders."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi import Query as Q
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from compliance.api.errors import Problem
from compliance.api.keys import Caller
from compliance.api.orders import (
    OrderCheck,
    check_orders,
    json_orders_to_jsonl,
    new_workdir,
    suffix_for,
)
from compliance.api.routes.common import generation, parse_json
from compliance.api.security import caller

router = APIRouter(prefix="/v1", tags=["orders"])
NDJSON = "application/x-ndjson"


async def spool_upload(request: Request, workdir: Path) -> Path:
    """The order file on disk: a multipart `file` field, a raw CSV/XLSX/JSONL body, or a JSON
    list of order objects."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=20)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise Problem(
                422,
                "the multipart form needs a `file` field with the order file",
                title="Invalid request",
            )
        path = workdir / ("orders" + suffix_for(upload.filename, upload.content_type))
        with path.open("wb") as fh:
            while chunk := await upload.read(1 << 20):
                fh.write(chunk)
        return path
    if ctype == "application/json":
        path = workdir / "orders.jsonl"
        json_orders_to_jsonl(parse_json(await request.body()), path)
        return path
    path = workdir / ("orders" + suffix_for(None, ctype))
    with path.open("wb") as fh:
        async for chunk in request.stream():
            fh.write(chunk)
    return path


def _json_document(check: OrderCheck) -> Iterator[bytes]:
    try:
        head = orjson.dumps(check.summary())
        yield head[:-1] + b',"decisions":['
        for k, line in enumerate(check.decision_lines()):
            yield (b"," if k else b"") + line.encode("utf-8")
        yield b"]}"
    finally:
        check.close()


def _ndjson(check: OrderCheck) -> Iterator[bytes]:
    try:
        yield orjson.dumps({"summary": check.summary()}) + b"\n"
        for line in check.decision_lines():
            yield line.encode("utf-8") + b"\n"
    finally:
        check.close()


@router.post(
    "/orders/check",
    summary="Decide every order line (BLOCK > LICENSE_REQUIRED > REVIEW > CLEAR, or ERROR)",
    description="Send a CSV, XLSX or JSONL file (multipart field `file`, or the raw body with "
    "its content type), or a JSON list of orders. The answer is streamed: a JSON document "
    "(summary fields, then `decisions`), or NDJSON (a summary line, then one line per order) "
    "with `Accept: application/x-ndjson`. Recorded in the audit trail as `compliance check`.",
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                NDJSON: {"schema": {"type": "string"}},
            }
        }
    },
)
async def orders_check(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    block_threshold: Annotated[float, Q(ge=0, le=100)] = 90.0,
    review_threshold: Annotated[float, Q(ge=0, le=100)] = 80.0,
    lists: Annotated[list[str] | None, Q(alias="list")] = None,
    map: Annotated[str | None, Q(description='JSON {"customer": "Sold-To", ...}')] = None,
) -> Response:
    mapping = _mapping(map)
    gen = generation(request)
    check = await run_upload(request, who, gen, block_threshold, review_threshold, lists, mapping)
    if NDJSON in request.headers.get("accept", ""):
        return StreamingResponse(_ndjson(check), media_type=NDJSON)
    return StreamingResponse(_json_document(check), media_type="application/json")


async def run_upload(
    request: Request,
    who: Caller,
    gen: Any,
    block: float,
    review: float,
    lists: list[str] | None,
    mapping: dict[str, str],
) -> OrderCheck:
    workdir = new_workdir()
    try:
        path = await spool_upload(request, workdir)
        return await run_in_threadpool(
            check_orders,
            request.app.state.db_url,
            gen,
            path,
            block=block,
            review=review,
            lists=lists,
            mapping=mapping,
            user=f"api:{who.name}",
        )
    except BaseException:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
        raise


def _mapping(raw: str | None) -> dict[str, str]:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise Problem(400, f"map: malformed JSON: {exc}", title="Malformed JSON") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise Problem(
            422, "map must be a JSON object of field -> column name", title="Invalid request"
        )
    return data
