"""Who is calling: a Bearer API key (required when the service is bound beyond loopback),
checked against the hashed keys in the database, with a token-bucket rate limit per key."""

from __future__ import annotations

import threading
import time

from fastapi import Request

from compliance.api.errors import Problem
from compliance.api.keys import Caller, verify

ANONYMOUS = Caller("anonymous")
COOKIE = "compliance_key"


class RateLimiter:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when allowed, else the seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise _unauthorized("the Authorization header must be 'Bearer <API key>'")
        return value.strip()
    return request.cookies.get(COOKIE) or None


def _unauthorized(detail: str) -> Problem:
    p = Problem(401, detail)
    p.headers["WWW-Authenticate"] = 'Bearer realm="compliance"'
    return p


async def caller(request: Request) -> Caller:
    """FastAPI dependency: the authenticated caller (anonymous on loopback without a key)."""
    state = request.app.state
    token = _token(request)
    if token is None:
        if state.settings.require_keys:
            raise _unauthorized(
                "an API key is required: send 'Authorization: Bearer <key>' "
                "(create one with `compliance keys create NAME`)"
            )
        return ANONYMOUS
    who = verify(state.engine, token)
    if who is None:
        raise _unauthorized("unknown or revoked API key")
    wait = state.limiter.take(who.name)
    if wait:
        p = Problem(
            429,
            f"rate limit of {state.settings.rate_per_second:g} requests/s for key "
            f"{who.name!r} exceeded; retry in {wait:.1f} s",
        )
        p.headers["Retry-After"] = str(max(1, round(wait + 0.5)))
        raise p
    request.state.caller = who
    return who


async def admin(request: Request) -> Caller:
    who = await caller(request)
    if not who.admin:
        raise Problem(403, "this needs an admin key (`compliance keys create NAME --admin`)")
    return who
