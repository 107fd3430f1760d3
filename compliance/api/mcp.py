"""`compliance mcp`: the screening tools for AI assistants over MCP (stdio), official SDK.

Each tool returns the same JSON as the matching HTTP endpoint, snapshot ids included; the
index is loaded on the first call and reloaded when `compliance update` changed a list."""

from __future__ import annotations

import contextlib
import json
from functools import wraps
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from compliance.api import service
from compliance.api.audit import AuditWriter
from compliance.api.errors import Problem
from compliance.api.orders import check_orders, json_orders_to_jsonl, new_workdir
from compliance.api.settings import Settings
from compliance.api.state import Generation, IndexHolder
from compliance.screening import DEFAULT_THRESHOLD, Query

INSTRUCTIONS = (
    "Screen parties against the official sanctions and export-control lists (OFAC, BIS, UN, "
    "UK, EU, Canada, Australia), decide order lines and chip export licenses. Every answer "
    "names the list snapshots it used; a match carries its evidence (entry, listed name, "
    "score, why)."
)


def _tool_errors(fn: Any) -> Any:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Problem as exc:  # a sentence for the model, never a traceback
            raise ToolError(f"{exc.title}: {exc.detail}") from None

    return wrapper


def build_server(db_url: str, settings: Settings | None = None) -> MCPServer:
    from compliance.schema import register_tables
    from compliance.store.db import get_engine

    register_tables()  # the audit trail, with every other layer's tables
    tools = Tools(get_engine(db_url), settings or Settings())
    server = MCPServer("compliance", instructions=INSTRUCTIONS)
    server.audit_writer = tools.writer  # type: ignore[attr-defined]  # closed by run_stdio
    for tool in (tools.screen_party, tools.check_order, tools.license_requirement,
                 tools.list_sources):  # fmt: skip
        server.tool()(_tool_errors(tool))
    return server


class Tools:
    """The MCP tools over one database: each answers from the current lists (reloaded when an
    update changed them), like the matching HTTP endpoint."""

    def __init__(self, engine: Any, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.holder = IndexHolder(engine)
        spill = Path(settings.audit_spill_dir) if settings.audit_spill_dir else None
        self.writer = AuditWriter(engine, spill_dir=spill) if settings.audit else None

    def _generation(self) -> Generation:
        self.holder.reload_if_changed()  # one cheap query: the lists' current snapshot ids
        return self.holder.current

    def screen_party(
        self,
        name: str,
        type: str | None = None,
        country: str | None = None,
        dob: str | None = None,
        id: str | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        lists: list[str] | None = None,
        limit: int = 10,
    ) -> dict[str, Any]:
        """Screen one party (person, organization, vessel or aircraft) against the lists.
        country: ISO code or name; dob: YYYY or YYYY-MM-DD; id: an identifier number;
        lists: source keys to restrict to (see list_sources). Returns the matches, each with
        its score, listed entry, explanation and list snapshot."""
        gen = self._generation()
        q = Query(name, type, country, dob, id)
        if not 0 <= threshold <= 100:
            raise Problem(422, "threshold must be between 0 and 100")
        result = service.screen_party(
            gen, q, self.settings, threshold=threshold, lists=lists, limit=max(1, min(limit, 100))
        )
        if self.writer is not None:
            self.writer.record(
                key_name="mcp",
                channel="mcp",
                query=result["query"],
                threshold=threshold,
                snapshots=gen.snapshot_ids,
                result=result,
            )
            with contextlib.suppress(Exception):  # else kept: the writer's thread tries again
                self.writer.flush()
        return result

    def check_order(
        self,
        orders: list[dict[str, Any]],
        block_threshold: float = 90.0,
        review_threshold: float = 80.0,
    ) -> dict[str, Any]:
        """Decide order lines: BLOCK > LICENSE_REQUIRED > REVIEW > CLEAR (or ERROR). Each
        order is an object with order_id, customer, customer_country, end_user,
        end_user_country, end_user_hq, destination, item, quantity. Recorded in the audit
        trail like `compliance check`."""
        gen = self._generation()
        path = new_workdir() / "orders.jsonl"
        json_orders_to_jsonl(orders, path)
        check = check_orders(
            self.holder.engine.url.render_as_string(hide_password=False),
            gen,
            path,
            block=block_threshold,
            review=review_threshold,
            user="mcp",
        )
        try:
            return {**check.summary(), "decisions": [json.loads(x) for x in check.decision_lines()]}
        finally:
            check.close()

    def license_requirement(
        self,
        item: str,
        destination: str,
        end_user: str | None = None,
        end_user_hq: str | None = None,
        date: str | None = None,
    ) -> dict[str, Any]:
        """Does shipping a chip (catalog model name) to a destination (and end user) need a
        BIS license? Cites the CFR paragraphs; date YYYY-MM-DD, default today."""
        gen = self._generation() if end_user else None
        return service.license(self.engine, gen, item, destination, end_user, end_user_hq, date)

    def list_sources(self) -> dict[str, Any]:
        """The loaded lists: records, data date, fetch date, sha256, status, age."""
        return service.sources(self.engine, self._generation(), self.settings.stale_days)


def run_stdio(db_url: str) -> None:
    """`compliance mcp`: serve the tools on stdin/stdout until the client closes them."""
    server = build_server(db_url)
    try:
        server.run("stdio")
    finally:
        writer = getattr(server, "audit_writer", None)
        if writer is not None:
            writer.close()
