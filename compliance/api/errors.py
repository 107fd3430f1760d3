"""The one error type the service raises: an HTTP status and a sentence saying what to do.
Free of FastAPI so the MCP server and the library adapters can raise it too."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


class Problem(Exception):
    def __init__(self, status: int, detail: str, *, title: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.extra = extra
        self.headers: dict[str, str] = {}
