"""The web pages for compliance officers (server-rendered Jinja2 templates)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

router = APIRouter(include_in_schema=False)


def mount_static(app: FastAPI) -> None:
    return None
