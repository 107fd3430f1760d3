"""The FastAPI application: `create_app(engine_url=..., settings=...)`.

Each worker process loads the screening index once when it starts (in a thread: /healthz
answers at once, /readyz says 503 until the index is in), and swaps in a new index when
`compliance update` changed a list: at once on PostgreSQL's NOTIFY, and by polling the
snapshot ids every few seconds (SQLite, or the listening connection down).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from compliance import gctune
from compliance.api import problems
from compliance.api.audit import AuditWriter
from compliance.api.metrics import Metrics
from compliance.api.middleware import Guard
from compliance.api.security import RateLimiter
from compliance.api.settings import Settings
from compliance.api.state import IndexHolder

log = logging.getLogger("compliance.api")


def create_app(engine_url: str | None = None, settings: Settings | None = None) -> FastAPI:
    from compliance.schema import register_tables
    from compliance.store.db import get_engine, resolve_url

    register_tables()  # the service's keys and audit trail, with every other layer's tables
    settings = settings or Settings()
    db_url = resolve_url(engine_url)
    engine = get_engine(db_url)
    holder = IndexHolder(engine)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        spill = Path(settings.audit_spill_dir) if settings.audit_spill_dir else None
        app.state.audit = (
            AuditWriter(engine, capacity=settings.audit_queue, spill_dir=spill)
            if settings.audit
            else None
        )
        if settings.gc_tune:
            gctune.install()
        maintenance = gctune.Maintenance(settings.gc_full_seconds if settings.gc_tune else 0)
        if settings.preload:
            threading.Thread(target=_first_load, args=(holder,), daemon=True).start()
        holder.start_polling(settings.poll_seconds)
        if settings.listen:
            holder.start_listening()
        try:
            yield
        finally:
            holder.stop()
            maintenance.stop()
            if settings.gc_tune:
                gctune.uninstall()
            if app.state.audit is not None:
                app.state.audit.close()

    app = FastAPI(
        title="compliance",
        summary="Sanctions and export-control screening against the official lists",
        version=_version(),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.db_url = db_url
    app.state.holder = holder
    app.state.metrics = metrics
    app.state.limiter = RateLimiter(
        settings.rate_per_second, settings.rate_burst, settings.rate_dir
    )
    app.state.audit = None
    problems.install(app)
    _routes(app)
    app.add_middleware(Guard, settings=settings, metrics=metrics)
    return app


def _routes(app: FastAPI) -> None:
    from compliance.api.routes import lists, ops, orders, rules, screen, web

    for module in (screen, orders, rules, lists, ops, web):
        app.include_router(module.router)
    web.mount_static(app)


def _first_load(holder: IndexHolder) -> None:
    try:
        holder.load()
    except Exception as exc:  # /readyz reports it; the poller tries again
        holder.last_error = f"cannot load the screening index: {exc}"
        log.error(holder.last_error)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("compliance")
    except PackageNotFoundError:
        return "0"


def app_from_env() -> FastAPI:
    """The factory uvicorn's workers call (`compliance serve --workers N`)."""
    import os

    return create_app(os.environ.get("COMPLIANCE_DB"), Settings.from_env())
