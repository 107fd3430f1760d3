"""POST /v1/classify and /v1/license: the CLI's chip-rule answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from compliance.api import service
from compliance.api.keys import Caller
from compliance.api.routes.common import json_response
from compliance.api.schemas import ClassifyRequest, LicenseRequest
from compliance.api.security import caller
from compliance.rules.chips import Classification

router = APIRouter(prefix="/v1", tags=["chip export rules"])


@router.post(
    "/classify",
    summary="ECCN 3A090 / 4A090 of an accelerator (model or figures)",
    response_model=Classification,
)
async def classify(
    body: ClassifyRequest, request: Request, _: Annotated[Caller, Depends(caller)]
) -> Response:
    out = await run_in_threadpool(
        service.classify,
        request.app.state.engine,
        body.model,
        body.tops,
        body.bits,
        body.die_area,
        body.datacenter,
    )
    return json_response(out)


@router.post(
    "/license",
    summary="Does shipping ITEM to DESTINATION need a BIS license?",
    response_model=dict[str, Any],
)
async def license(
    body: LicenseRequest, request: Request, _: Annotated[Caller, Depends(caller)]
) -> Response:
    holder = request.app.state.holder
    gen = holder.current if holder.ready else None
    out = await run_in_threadpool(
        service.license,
        request.app.state.engine,
        gen,
        body.item,
        body.destination,
        body.end_user,
        body.end_user_hq,
        body.date,
    )
    return json_response(out, gen if body.end_user else None)
