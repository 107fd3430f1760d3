"""GET /v1/sources and /v1/entities/{source}/{id}."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from compliance.api import service
from compliance.api.keys import Caller
from compliance.api.routes.common import generation, json_response
from compliance.api.schemas import SourcesResponse
from compliance.api.security import caller

router = APIRouter(prefix="/v1", tags=["lists"])


@router.get(
    "/sources",
    summary="Each list: version, data date, fetch date, records, sha256",
    response_model=SourcesResponse,
)
async def sources(request: Request, _: Annotated[Caller, Depends(caller)]) -> Response:
    state = request.app.state
    gen = state.holder.current if state.holder.ready else None
    out = await run_in_threadpool(service.sources, state.engine, gen, state.settings.stale_days)
    return json_response(out, gen)


@router.get(
    "/entities/{source}/{source_id:path}",
    summary="One listed entry in full",
    response_model=dict[str, Any],
)
async def entity(
    source: str, source_id: str, request: Request, _: Annotated[Caller, Depends(caller)]
) -> Response:
    gen = generation(request)
    out = await run_in_threadpool(service.entity, request.app.state.engine, gen, source, source_id)
    return json_response(out, gen)
