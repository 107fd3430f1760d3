"""ASGI middleware: body-size limits (413) and request metrics, without buffering bodies."""

from __future__ import annotations

import time
from typing import Any

from compliance.api.problems import problem_body
from compliance.api.settings import Settings

UPLOAD_PATHS = ("/v1/orders/check", "/orders")


def _limit_for(scope: dict[str, Any], settings: Settings) -> int:
    path = scope.get("path", "")
    headers = dict(scope.get("headers") or [])
    ctype = headers.get(b"content-type", b"").decode("latin-1").lower()
    if path in UPLOAD_PATHS or (path == "/v1/screen/batch" and "ndjson" in ctype):
        return settings.max_upload_bytes
    return settings.max_body_bytes


class Guard:
    def __init__(self, app: Any, settings: Settings, metrics: Any) -> None:
        self.app = app
        self.settings = settings
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = _limit_for(scope, self.settings)
        started = time.perf_counter()
        status = {"code": 500}
        started_reply = {"yes": False}
        answered = {"413": False}

        async def send_wrapper(message: dict[str, Any]) -> None:
            if answered["413"]:
                return  # the 413 already went out; the app's own answer is dropped
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                started_reply["yes"] = True
            await send(message)

        try:
            declared = int(dict(scope.get("headers") or []).get(b"content-length", b"0") or 0)
        except ValueError:
            declared = 0
        try:
            if declared > limit:
                await _too_large(send_wrapper, limit)
                return
            received = 0

            async def receive_limited() -> dict[str, Any]:
                nonlocal received
                if answered["413"]:
                    return {"type": "http.disconnect"}
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        # a body without a declared length, counted as it arrives: answer 413
                        # (unless a reply is under way) and tell the app the client is gone
                        if not started_reply["yes"]:
                            await _too_large(send_wrapper, limit)
                        answered["413"] = True
                        return {"type": "http.disconnect"}
                return message

            try:
                await self.app(scope, receive_limited, send_wrapper)
            except Exception:
                if not answered["413"]:
                    raise
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(
                scope["method"], path, status["code"], time.perf_counter() - started
            )


def _too_large_text(limit: int) -> str:
    return f"the request body is larger than the limit of {limit:,} bytes"


async def _too_large(send: Any, limit: int) -> None:
    import json

    body = json.dumps(problem_body(413, _too_large_text(limit))).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
