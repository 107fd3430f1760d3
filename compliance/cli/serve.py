"""`compliance serve` (the HTTP service and web pages) and `compliance mcp` (MCP over stdio).

FastAPI, uvicorn and the MCP SDK are imported inside the commands: the CLI starts fast."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from compliance.cli.common import DbOption, engine_for, fail, guarded

if TYPE_CHECKING:
    from compliance.api.settings import Settings

HostOpt = Annotated[str, typer.Option(help="Address to bind; beyond loopback, keys are required.")]
PortOpt = Annotated[int, typer.Option(help="TCP port.")]
WorkersOpt = Annotated[int, typer.Option(help="Worker processes (each loads the index).")]
KeysOpt = Annotated[bool, typer.Option("--require-keys", help="Require API keys even on loopback.")]
BodyOpt = Annotated[int, typer.Option(help="Largest JSON body, bytes.")]
UploadOpt = Annotated[int, typer.Option(help="Largest order file or NDJSON stream, bytes.")]
BatchOpt = Annotated[int, typer.Option(help="Most parties in one JSON batch.")]
NameOpt = Annotated[int, typer.Option(help="Longest name, characters.")]
RateOpt = Annotated[
    float, typer.Option(help="Requests/s per API key, all workers together (0: none).")
]
BurstOpt = Annotated[int, typer.Option(help="Requests a key may send at once.")]
PollOpt = Annotated[float, typer.Option(help="Seconds between checks for updated lists.")]
ListenOpt = Annotated[
    bool,
    typer.Option(
        help="PostgreSQL: reload as soon as an update commits (LISTEN/NOTIFY); "
        "polling stays on as the safety net."
    ),
]
StaleOpt = Annotated[int, typer.Option(help="Flag lists older than this on /sources.")]
LogOpt = Annotated[str, typer.Option(help="uvicorn log level.")]


def serve(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    workers: WorkersOpt = 1,
    require_keys: KeysOpt = False,
    max_body: BodyOpt = 10 * 1024 * 1024,
    max_upload: UploadOpt = 1024 * 1024 * 1024,
    max_batch: BatchOpt = 1000,
    max_name: NameOpt = 1000,
    rate: RateOpt = 50.0,
    burst: BurstOpt = 200,
    poll: PollOpt = 3.0,
    listen: ListenOpt = True,
    stale_days: StaleOpt = 30,
    log_level: LogOpt = "info",
    db: DbOption = None,
) -> None:
    """Serve the HTTP API (/docs), the web pages (/) and /metrics."""
    import os

    from compliance.api.keys import list_keys
    from compliance.api.settings import Settings, is_loopback
    from compliance.store.db import resolve_url

    if workers < 1:
        fail("--workers must be at least 1")
    engine = engine_for(db)
    settings = Settings(
        require_keys=require_keys or not is_loopback(host),
        max_body_bytes=max_body,
        max_upload_bytes=max_upload,
        max_batch=max_batch,
        max_name_chars=max_name,
        rate_per_second=rate,
        rate_burst=burst,
        poll_seconds=poll,
        listen=listen,
        stale_days=stale_days,
    )
    if settings.require_keys and not any(k.revoked_at is None for k in list_keys(engine)):
        fail(
            f"binding {host} requires API keys and there are none: "
            "run `compliance keys create NAME` first"
        )
    os.environ["COMPLIANCE_DB"] = resolve_url(db)
    typer.echo(
        f"serving on http://{host}:{port} ({workers} worker(s)); API docs at /docs"
        + ("; API keys required" if settings.require_keys else ""),
        err=True,
    )
    _run_uvicorn(host, port, workers, log_level, settings)


def _run_uvicorn(host: str, port: int, workers: int, log_level: str, settings: Settings) -> None:
    import os
    import shutil
    import tempfile

    import uvicorn

    from compliance.api.settings import ENV

    metrics_dir = rate_dir = None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # the workers' counters are summed through files in one folder (prometheus_client)
        metrics_dir = tempfile.mkdtemp(prefix="compliance-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    if workers > 1 and settings.rate_per_second > 0:  # one token bucket per key for them all
        settings.rate_dir = rate_dir = tempfile.mkdtemp(prefix="compliance-rate-")
    os.environ[ENV] = settings.to_env()
    try:
        uvicorn.run(
            "compliance.api.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            proxy_headers=False,
            server_header=False,
        )
    finally:
        for folder in (metrics_dir, rate_dir):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)


def mcp(db: DbOption = None) -> None:
    """Serve the screening tools to an AI assistant over MCP (stdio)."""
    from compliance.api.mcp import run_stdio
    from compliance.store.db import resolve_url

    engine_for(db)
    run_stdio(resolve_url(db))


def register(app: typer.Typer) -> None:
    app.command()(guarded(serve))
    app.command()(guarded(mcp))
