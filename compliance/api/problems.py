"""Every error as an RFC 9457 problem document (application/problem+json), never a trace."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from compliance.api.errors import Problem

log = logging.getLogger("compliance.api")
PROBLEM = "application/problem+json"


def problem_body(
    status: int, detail: str, title: str | None = None, **extra: Any
) -> dict[str, Any]:
    title = title or HTTPStatus(status).phrase
    slug = title.lower().replace(" ", "-")
    return {
        "type": f"urn:compliance:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }


def problem_response(
    status: int,
    detail: str,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, detail, title, **extra),
        status_code=status,
        media_type=PROBLEM,
        headers=headers,
    )


def _where(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def validation_detail(errors: Sequence[Mapping[str, Any]]) -> tuple[str, list[dict[str, str]]]:
    items = [{"field": _where(e.get("loc", ())), "message": str(e.get("msg", ""))} for e in errors]
    text = "; ".join(f"{i['field']}: {i['message']}" for i in items[:5])
    if len(items) > 5:
        text += f"; and {len(items) - 5} more"
    return text, items


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.detail, exc.title, exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        bad_json = [e for e in errors if e.get("type") == "json_invalid"]
        if bad_json:
            where = bad_json[0].get("loc", ("body", "?"))[-1]
            ctx = (bad_json[0].get("ctx") or {}).get("error", "not valid JSON")
            return problem_response(
                400, f"malformed JSON at character {where}: {ctx}", "Malformed JSON"
            )
        text, items = validation_detail(errors)
        return problem_response(422, text, "Invalid request", errors=items)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such endpoint; see /docs for the API"
        elif exc.status_code == 405:
            detail = "this endpoint does not accept that method; see /docs"
        return problem_response(exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "internal error; the server log has the details")
