"""Shared fixtures: the real files in ../shared/data, a local HTTP server, a scratch database."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from compliance.schema import register_tables

register_tables()  # every layer's tables, as the CLI registers them

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DATA = SHARED / "data"
MIRROR = DATA / "mirror"
REFERENCE = DATA / "reference"
ANCHORS = SHARED / "anchors-data"


def mirror_file(source: str, name: str) -> bytes:
    return (MIRROR / source / name).read_bytes()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="session")
def mirror_server() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving ../shared/data/mirror; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(MIRROR))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server's URL; the test skips where PostgreSQL is not installed."""
    from tests.pg_server import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'compliance.db'}"


@pytest.fixture(scope="session")
def loaded_engine(tmp_path_factory: pytest.TempPathFactory):
    """Every mirrored list loaded once per test session into a scratch SQLite database."""
    import os

    from compliance.store.db import get_engine
    from compliance.update import update_sources

    tmp = tmp_path_factory.mktemp("loaded")
    os.environ["COMPLIANCE_CACHE"] = str(tmp / "cache")
    engine = get_engine(f"sqlite:///{tmp / 'all.db'}")
    outcomes = update_sources(engine, mirror=str(MIRROR))
    loaded = {o.source for o in outcomes if o.ok}
    assert {"us_ofac_sdn", "us_trade_csl", "un_sc", "gb_ofsi", "us_bis_dpl"} <= loaded
    return engine
