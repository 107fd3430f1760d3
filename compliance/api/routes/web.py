"""The web pages for compliance officers: Screening, Orders, Sources (server-rendered Jinja2,
a little vendored JavaScript for the table filter, no build step). They call the same service
functions as the API; when API keys are required, the key is kept in a same-site cookie."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.background import BackgroundTask

from compliance.api import service
from compliance.api.errors import Problem
from compliance.api.keys import Caller, verify
from compliance.api.orders import check_orders, new_workdir, suffix_for
from compliance.api.routes.common import generation
from compliance.api.security import COOKIE, caller
from compliance.screening import DEFAULT_THRESHOLD, Query

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(
    env=Environment(
        loader=PackageLoader("compliance.api", "templates"),
        autoescape=select_autoescape(["html"]),
    )
)
PAGE_ROWS = 5000


class LoginRequired(Exception):
    pass


async def officer(request: Request) -> Caller:
    try:
        return await caller(request)
    except Problem as exc:
        if exc.status == 401:
            raise LoginRequired() from None
        raise


Officer = Annotated[Caller, Depends(officer)]


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(packages=[("compliance.api", "static")]), name="static")

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


async def _render(
    request: Request, name: str, page: str, status: int = 200, **context: Any
) -> Response:
    state = request.app.state
    gen = state.holder.current if state.holder.ready else None
    stale_days = state.settings.stale_days  # the lists' ages, read off the event loop
    rows = (await run_in_threadpool(service.sources, state.engine, gen, stale_days))["sources"]
    stale = [r["source"] for r in rows if r["stale"]]
    return templates.TemplateResponse(
        request,
        name,
        {"page": page, "stale": stale, "stale_days": state.settings.stale_days, **context},
        status_code=status,
    )


@router.get("/")
async def home() -> Response:
    return RedirectResponse("/screen", status_code=303)


@router.get("/screen")
async def screen_page(
    request: Request,
    who: Officer,
    name: str = "",
    type: str = "",
    country: str = "",
    threshold: str = "",
) -> Response:
    settings = request.app.state.settings
    form = {
        "name": name,
        "type": type,
        "country": country,
        "threshold": threshold or f"{DEFAULT_THRESHOLD:g}",
    }
    result, error = None, None
    if name.strip():
        try:
            level = float(threshold) if threshold.strip() else DEFAULT_THRESHOLD
            if not 0 <= level <= 100:
                raise ValueError
        except ValueError:
            level, error = DEFAULT_THRESHOLD, "the threshold must be a number from 0 to 100"
        if error is None:
            gen = generation(request)
            q = Query(name, type or None, country or None)
            try:
                result = await run_in_threadpool(
                    service.screen_party, gen, q, settings, threshold=level
                )
            except Problem as exc:
                error = exc.detail
            audit = request.app.state.audit
            if audit is not None:
                await audit.arecord(
                    key_name=who.name,
                    channel="web",
                    query=form,
                    threshold=level,
                    snapshots=gen.snapshot_ids,
                    result=result,
                    error=error,
                )
    return await _render(
        request,
        "screen.html",
        "screen",
        form=form,
        result=result,
        error=error,
        max_name=settings.max_name_chars,
    )


@router.get("/entity/{source}/{source_id:path}")
async def entity_page(request: Request, _: Officer, source: str, source_id: str) -> Response:
    gen = generation(request)
    try:
        out = await run_in_threadpool(
            service.entity, request.app.state.engine, gen, source, source_id
        )
    except Problem as exc:
        return await _render(
            request,
            "screen.html",
            "screen",
            form={},
            result=None,
            error=exc.detail,
            max_name=1000,
            status=exc.status,
        )
    return await _render(request, "entity.html", "screen", e=out["entity"], snap=out["snapshot"])


@router.get("/orders")
async def orders_page(request: Request, _: Officer) -> Response:
    return await _render(request, "orders.html", "orders")


@router.post("/orders")
async def orders_upload(request: Request, who: Officer) -> Response:
    form = await request.form(max_files=1, max_fields=10)
    upload = form.get("file")
    error = None
    try:
        if upload is None or isinstance(upload, str) or not upload.filename:
            raise Problem(422, "choose an order file to check")
        block = _number(form.get("block_threshold"), 90.0)
        review = _number(form.get("review_threshold"), 80.0)
        workdir = new_workdir()
        path = workdir / ("orders" + suffix_for(upload.filename, upload.content_type))
        with path.open("wb") as fh:
            while chunk := await upload.read(1 << 20):
                fh.write(chunk)
        check = await run_in_threadpool(
            check_orders,
            request.app.state.db_url,
            generation(request),
            path,
            block=block,
            review=review,
            user=f"web:{who.name}",
        )
    except Problem as exc:
        error = exc.detail
        if "workdir" in locals():
            shutil.rmtree(workdir, ignore_errors=True)
        return await _render(request, "orders.html", "orders", error=error, status=exc.status)
    try:
        rows = []
        for k, line in enumerate(check.decision_lines()):
            if k >= PAGE_ROWS:
                break
            rows.append(json.loads(line))
        summary = check.summary()
    finally:
        check.close()
    return await _render(
        request,
        "orders.html",
        "orders",
        summary=summary,
        rows=rows,
        truncated=summary["lines"] > len(rows),
    )


def _number(value: Any, default: float) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    try:
        return float(str(value))
    except ValueError:
        raise Problem(422, f"threshold {value!r} is not a number") from None


@router.get("/orders/{run_id}.csv")
async def orders_csv(request: Request, _: Officer, run_id: int) -> Response:
    from compliance.orders import audit

    engine = request.app.state.engine
    if audit.get_run(engine, run_id) is None:
        raise Problem(404, f"no check run #{run_id}")
    tmp = Path(tempfile.mkdtemp(prefix="compliance-export-"))
    out = tmp / f"run-{run_id}.csv"
    await run_in_threadpool(audit.export_run, engine, run_id, out, "csv")
    return FileResponse(
        out,
        media_type="text/csv",
        filename=f"check-run-{run_id}.csv",
        background=BackgroundTask(shutil.rmtree, tmp, True),
    )


@router.get("/sources")
async def sources_page(request: Request, _: Officer) -> Response:
    state = request.app.state
    gen = state.holder.current if state.holder.ready else None
    rows = await run_in_threadpool(service.sources, state.engine, gen, state.settings.stale_days)
    return await _render(request, "sources.html", "sources", sources=rows["sources"])


@router.get("/login")
async def login_page(request: Request, next: str = "/screen") -> Response:
    return await _render(request, "login.html", "", next=_safe_next(next))


@router.post("/login")
async def login(
    request: Request, key: Annotated[str, Form()], next: Annotated[str, Form()] = "/screen"
) -> Response:
    if verify(request.app.state.engine, key.strip()) is None:
        return await _render(
            request,
            "login.html",
            "",
            next=_safe_next(next),
            error="unknown or revoked API key",
            status=401,
        )
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(
        COOKIE, key.strip(), httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return resp


def _safe_next(target: str) -> str:
    """Only a path on this site (no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") else "/screen"
