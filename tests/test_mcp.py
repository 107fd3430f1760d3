"""The MCP server through the official SDK's client, in-process: every tool answers as the
HTTP API does, with the snapshot named."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp")

from mcp import Client  # noqa: E402
from sqlalchemy import select  # noqa: E402

from compliance.api.mcp import build_server  # noqa: E402
from compliance.api.models import ScreeningAudit  # noqa: E402
from compliance.api.service import license as service_license  # noqa: E402
from compliance.api.service import sources  # noqa: E402
from compliance.orders import audit  # noqa: E402
from compliance.orders.reader import FIELDS  # noqa: E402
from compliance.screening import Query, Screener  # noqa: E402
from tests.api_helpers import DECISIONS, ORDERS, engine_url  # noqa: E402


def _call(server: Any, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    async def go() -> list[Any]:
        async with Client(server) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            assert {"screen_party", "check_order", "license_requirement", "list_sources"} <= tools
            return [await client.call_tool(name, args) for name, args in calls]

    return anyio.run(go)


def _json(result: Any) -> Any:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


def test_mcp_tools(loaded_engine: Any) -> None:
    server = build_server(engine_url(loaded_engine))
    objs = [dict(zip(FIELDS, row, strict=True)) for row in ORDERS]
    screened, order, lic, srcs, bad, unknown = _call(
        server,
        [
            ("screen_party", {"name": "Mahan Airways", "type": "organization"}),
            ("check_order", {"orders": objs}),
            (
                "license_requirement",
                {"item": "NVIDIA H100 SXM", "destination": "CN", "date": "2025-06-01"},
            ),
            ("list_sources", {}),
            ("screen_party", {"name": "  "}),
            ("screen_party", {"name": "x", "lists": ["no_such_list"]}),
        ],
    )
    body = _json(screened)
    lib = Screener.load(loaded_engine).screen(Query("Mahan Airways", type="organization"))
    assert body["matches"] == json.loads(json.dumps([m.to_dict() for m in lib.matches]))
    assert body["snapshots"] and body["matches"][0]["snapshot"]["sha256"]
    out = _json(order)
    assert [d["decision"] for d in out["decisions"]] == DECISIONS and out["run_id"]
    assert out["snapshots"]
    api_license = service_license(loaded_engine, None, "NVIDIA H100 SXM", "CN", on="2025-06-01")
    assert _json(lic) == json.loads(json.dumps(api_license)) and api_license["license_required"]
    run = audit.get_run(loaded_engine, out["run_id"])  # the same trail as `compliance check`
    assert run is not None and run.user == "mcp" and run.line_count == len(DECISIONS)
    with loaded_engine.connect() as conn:
        rows = conn.execute(select(ScreeningAudit).where(ScreeningAudit.channel == "mcp")).all()
    mine = [r for r in rows if r.query.get("name") == "Mahan Airways"]
    assert mine and mine[-1].key_name == "mcp" and mine[-1].snapshots == body["snapshots"]
    assert mine[-1].match_count == len(body["matches"])
    got = _json(srcs)
    expected = sources(loaded_engine, None, 30)["sources"]
    assert [s["source"] for s in got["sources"]] == [s["source"] for s in expected]
    assert got["snapshots_in_use"] == body["snapshots"]
    assert bad.is_error and "name is empty" in bad.content[0].text
    assert unknown.is_error and "no_such_list" in unknown.content[0].text
    assert "Traceback" not in bad.content[0].text


def test_the_mcp_command_serves_over_stdio(loaded_engine: Any) -> None:
    """`compliance mcp` as an assistant starts it: a process speaking MCP on stdin/stdout."""
    import os
    import sys

    from mcp import StdioServerParameters

    from tests.conftest import ROOT

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "compliance.cli", "mcp", "--db", engine_url(loaded_engine)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=str(ROOT),
    )

    async def go() -> Any:
        async with Client(params) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            assert "screen_party" in tools
            return await client.call_tool("screen_party", {"name": "Mahan Airways"})

    body = _json(anyio.run(go))
    assert any("MAHAN" in m["name"] for m in body["matches"])
