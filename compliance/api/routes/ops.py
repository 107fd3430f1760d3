"""Health, readiness, metrics and the admin reload."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from compliance.api import service
from compliance.api.keys import Caller
from compliance.api.problems import problem_response
from compliance.api.routes.common import json_response
from compliance.api.security import admin

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The screening index is loaded (503 until then)")
async def readyz(request: Request) -> Response:
    holder = request.app.state.holder
    if not holder.ready:
        detail = holder.last_error or "the screening index is still loading"
        return problem_response(503, detail, headers={"Retry-After": "5"})
    gen = holder.current
    if not gen.screener.index.entities:
        return problem_response(503, "no lists are loaded in the database; run `compliance update`")
    body = {
        "status": "ready",
        "snapshots": gen.snapshot_ids,
        "entities": len(gen.screener.index.entities),
        "last_reload_error": holder.last_error,
        # notify: this process is LISTENing on PostgreSQL for new snapshots right now
        "reload": {
            "notify": holder.listening,
            "poll_seconds": request.app.state.settings.poll_seconds,
        },
    }
    return json_response(body, gen)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    state = request.app.state
    ages: dict[str, float] = {}
    if state.holder.ready:
        rows = await run_in_threadpool(
            service.sources, state.engine, None, state.settings.stale_days
        )
        ages = {r["source"]: r["age_days"] for r in rows["sources"] if r["age_days"] is not None}
    body, ctype = state.metrics.render(ages, state.holder.reloads, state.audit)
    return Response(body, media_type=ctype)


@router.post(
    "/v1/admin/reload",
    tags=["operations"],
    summary="Rebuild the index from the current snapshots and swap it in (admin key)",
)
async def reload(request: Request, who: Annotated[Caller, Depends(admin)]) -> Response:
    holder = request.app.state.holder
    before = holder.current.snapshot_ids if holder.ready else {}
    gen = await run_in_threadpool(holder.load)
    return json_response(
        {"reloaded_by": who.name, "before": before, "snapshots": gen.snapshot_ids}, gen
    )
