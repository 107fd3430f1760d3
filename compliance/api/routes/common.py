"""Helpers shared by the route modules."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from compliance.api.errors import Problem
from compliance.api.problems import validation_detail
from compliance.api.state import Generation, NotReady


def generation(request: Request) -> Generation:
    try:
        return request.app.state.holder.current
    except NotReady as exc:
        p = Problem(503, str(exc))
        p.headers["Retry-After"] = "5"
        raise p from None


def snapshot_header(gen: Generation) -> dict[str, str]:
    return {"X-Compliance-Snapshots": ",".join(f"{k}={v}" for k, v in gen.snapshot_ids.items())}


def json_response(data: Any, gen: Generation | None = None, status: int = 200) -> Response:
    headers = snapshot_header(gen) if gen is not None else None
    return Response(
        orjson.dumps(data, default=str),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise Problem(400, "the request body is empty; send a JSON document", title="Bad request")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Problem(400, f"malformed JSON: {exc}", title="Malformed JSON") from None


def validate(adapter: TypeAdapter[Any], data: Any) -> Any:
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        text, items = validation_detail(list(exc.errors()))
        raise Problem(422, text, title="Invalid request", errors=items) from None


def schema_ref(adapter: TypeAdapter[Any]) -> dict[str, Any]:
    """The JSON schema of a body parsed by hand, for the OpenAPI document."""
    schema = adapter.json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)  # the nested library types are components already
    return schema
