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
    """A token bucket per key: `rate` requests/s, up to `burst` at once. With `shared_dir`
    (set by `compliance serve --workers N`), the buckets are small files that every worker
    process updates under a lock, so the limit holds per key whatever the worker count."""

    def __init__(self, rate: float, burst: int, shared_dir: str | None = None) -> None:
        self.rate = rate
        self.burst = burst
        self.shared_dir = shared_dir
        self._buckets: dict[str, tuple[float, float]] = {}
        self._fds: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when allowed, else the seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()  # one clock for every process on the machine (Linux)
        with self._lock:
            if self.shared_dir:
                return self._take_shared(key, now)
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens, wait = self._spend(tokens, last, now)
            self._buckets[key] = (tokens, now)
            return wait

    def _spend(self, tokens: float, last: float, now: float) -> tuple[float, float]:
        tokens = min(float(self.burst), tokens + max(0.0, now - last) * self.rate)
        if tokens < 1.0:
            return tokens, (1.0 - tokens) / self.rate
        return tokens - 1.0, 0.0

    def _take_shared(self, key: str, now: float) -> float:
        import fcntl
        import hashlib
        import os
        import struct

        fd = self._fds.get(key)
        if fd is None:
            name = hashlib.sha256(key.encode()).hexdigest()[:32]
            fd = os.open(os.path.join(str(self.shared_dir), name), os.O_RDWR | os.O_CREAT, 0o600)
            self._fds[key] = fd
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            raw = os.pread(fd, 16, 0)
            tokens, last = struct.unpack("dd", raw) if len(raw) == 16 else (self.burst, now)
            tokens, wait = self._spend(tokens, last, now)
            os.pwrite(fd, struct.pack("dd", tokens, now), 0)
            return wait
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


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
