"""The HTTP API over the real lists: every endpoint, good and bad input (FastAPI TestClient)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

fastapi = pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import select  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from compliance.api.app import create_app  # noqa: E402
from compliance.api.keys import create_key, revoke_key  # noqa: E402
from compliance.api.models import ScreeningAudit  # noqa: E402
from compliance.api.settings import Settings  # noqa: E402
from compliance.orders import audit  # noqa: E402
from compliance.screening import Query, Screener  # noqa: E402
from tests.api_helpers import DECISIONS, ORDERS, engine_url, wait_ready, write_orders  # noqa: E402

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def client(loaded_engine: Any) -> Iterator[TestClient]:
    app = create_app(engine_url(loaded_engine), Settings(poll_seconds=0))
    with TestClient(app) as c:
        wait_ready(c)
        yield c


@pytest.fixture(scope="module")
def screener(loaded_engine: Any) -> Screener:
    return Screener.load(loaded_engine)


def assert_problem(r: Any, status: int, needle: str = "") -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == status
    assert "Traceback" not in r.text and 'File "' not in r.text
    assert needle.lower() in body["detail"].lower(), body
    return body


def test_screen_is_the_cli_json_with_snapshots(client: TestClient, loaded_engine: Any) -> None:
    r = client.post("/v1/screen", json={"name": "Mahan Airways", "type": "organization"})
    assert r.status_code == 200
    body = r.json()
    cli = CliRunner().invoke(
        __import__("compliance.cli", fromlist=["app"]).app,
        [
            "screen",
            "Mahan Airways",
            "--type",
            "organization",
            "--format",
            "json",
            "--db",
            engine_url(loaded_engine),
        ],
    )
    assert cli.exit_code == 1, cli.output  # 1: something matched
    expected = json.loads(cli.stdout)
    assert {k: body[k] for k in expected} == expected
    top = body["matches"][0]
    assert top["name"].upper() == "MAHAN AIRWAYS" and top["score"] == 100
    assert top["explanation"] and top["features"]["aligned"]
    snap = top["snapshot"]
    assert snap["sha256"] and snap["fetched_at"] and "data_date" in snap
    assert body["snapshots"][top["source"]] == snap["id"]
    header = dict(x.split("=") for x in r.headers["x-compliance-snapshots"].split(","))
    assert {k: int(v) for k, v in header.items()} == body["snapshots"]


def test_screen_qualifiers_and_lists(client: TestClient, screener: Screener) -> None:
    req = {"name": "Mahan Air", "country": "IR", "lists": ["us_ofac_sdn"], "threshold": 80}
    body = client.post("/v1/screen", json=req).json()
    lib = screener.__class__(screener.index, lists=["us_ofac_sdn"]).screen(
        Query("Mahan Air", country="IR"), threshold=80
    )
    assert body["matches"] == [m.to_dict() for m in lib.matches]
    assert body["matches"] and all(
        any(s["source"] == "us_ofac_sdn" for s in m["sources"]) for m in body["matches"]
    )


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ('{"name": "Mahan', 400, "malformed JSON"),
        ("", 422, "body"),
        ('{"name": 123}', 422, "name"),
        ('{"name": "x", "threshold": "high"}', 422, "threshold"),
        ('{"name": "x", "threshold": 101}', 422, "threshold"),
        ('{"nam": "x"}', 422, "name"),
        ('["Mahan Airways"]', 422, ""),
        ('{"name": "   "}', 422, "name is empty"),
        ('{"name": "x", "lists": ["no_such_list"]}', 422, "no loaded list named no_such_list"),
        ('{"name": "x", "country": "Atlantis"}', 422, "unknown country"),
        ('{"name": "x", "dob": "last year"}', 422, "date of birth"),
        ('{"name": "' + "a" * 1001 + '"}', 422, "at most 1,000"),
    ],
)
def test_screen_bad_input(client: TestClient, body: str, status: int, needle: str) -> None:
    r = client.post("/v1/screen", content=body, headers={"content-type": "application/json"})
    assert_problem(r, status, needle)


def test_oversized_body_is_413(client: TestClient) -> None:
    big = json.dumps({"name": "x", "id": "1" * (11 * 1024 * 1024)})
    r = client.post("/v1/screen", content=big, headers={"content-type": "application/json"})
    assert_problem(r, 413, "larger than the limit")


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404, "no such endpoint")
    assert_problem(client.get("/v1/screen"), 405, "method")
    assert_problem(client.get("/v1/entities/no_such_list/1"), 404, "no loaded list")
    assert_problem(client.get("/v1/entities/us_ofac_sdn/not-an-id"), 404, "no entry")


def test_batch_json(client: TestClient, screener: Screener) -> None:
    parties = [{"name": "Mahan Airways"}, {"name": ""}, {"name": "Siemens AG", "country": "DE"}]
    r = client.post("/v1/screen/batch", json={"parties": parties, "threshold": 90})
    assert r.status_code == 200
    res = r.json()["results"]
    assert [x["index"] for x in res] == [0, 1, 2]
    assert res[1]["result"] is None and res[1]["error"]["status"] == 422
    lib = screener.screen(Query("Mahan Airways"), threshold=90)
    assert res[0]["result"]["matches"] == [m.to_dict() for m in lib.matches]
    assert r.json()["snapshots"]
    assert_problem(
        client.post("/v1/screen/batch", json={"parties": [{"name": "x"}] * 1001}), 413, "1,000"
    )
    assert_problem(client.post("/v1/screen/batch", json={"parties": "Mahan"}), 422, "parties")
    assert_problem(
        client.post("/v1/screen/batch", json={"parties": [{"name": "x"}], "lists": ["zz"]}),
        422,
        "no loaded list",
    )


def test_ndjson_stream_of_10000_lines(client: TestClient, screener: Screener) -> None:
    listed = [
        screener.index.entities[i].name
        for i in range(0, len(screener.index.entities), max(1, len(screener.index.entities) // 50))
    ]
    lines: list[bytes] = []
    expect_error: set[int] = set()
    for n in range(1, 10_001):
        if n % 997 == 0:
            lines.append(b'{"name": broken')
            expect_error.add(n)
        elif n % 1009 == 0:
            lines.append(b'{"name": 5}')
            expect_error.add(n)
        elif n % 3 == 0:
            lines.append(json.dumps({"name": listed[n % len(listed)]}).encode())
        else:
            lines.append(json.dumps({"name": f"Quiet Bakery {n} Ltd", "country": "FR"}).encode())
    with client.stream(
        "POST",
        "/v1/screen/batch",
        content=b"\n".join(lines) + b"\n",
        headers={"content-type": "application/x-ndjson"},
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
        out = [json.loads(x) for x in r.iter_lines() if x]
    assert [o["line"] for o in out] == list(range(1, 10_001))
    assert {o["line"] for o in out if "error" in o} == expect_error
    hits = [o for o in out if "error" not in o and o["line"] % 3 == 0]
    assert hits and all(o["matches"] for o in hits)  # every listed name found
    first = next(o for o in hits)
    assert first["matches"][0]["snapshot"]["sha256"] and first["snapshots"]


def test_orders_check_csv_upload(client: TestClient, loaded_engine: Any, tmp_path: Path) -> None:
    src = write_orders(tmp_path / "orders.csv")
    with src.open("rb") as fh:
        r = client.post("/v1/orders/check", files={"file": ("orders.csv", fh, "text/csv")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [d["decision"] for d in body["decisions"]] == DECISIONS
    assert [d["order_id"] for d in body["decisions"]] == [row[0] for row in ORDERS]
    block = body["decisions"][1]
    assert any("MAHAN AIRWAYS" in x["text"] for x in block["reasons"])
    assert body["counts"]["BLOCK"] == 2 and body["lines"] == 4 and body["snapshots"]
    run = audit.get_run(loaded_engine, body["run_id"])  # the same audit trail as `check`
    assert run is not None and run.status == "done" and run.user == "api:anonymous"
    assert [ln.decision for ln in audit.iter_lines(loaded_engine, run.id)] == DECISIONS


def test_orders_check_other_inputs(client: TestClient, tmp_path: Path) -> None:
    from openpyxl import Workbook

    from compliance.orders.reader import FIELDS

    objs = [dict(zip(FIELDS, row, strict=True)) for row in ORDERS]
    r = client.post("/v1/orders/check", json=objs)
    assert [d["decision"] for d in r.json()["decisions"]] == DECISIONS
    jsonl = "\n".join(json.dumps(o) for o in objs).encode()
    r = client.post(
        "/v1/orders/check",
        content=jsonl,
        headers={"content-type": "application/x-ndjson", "accept": "application/x-ndjson"},
    )
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert "summary" in lines[0] and [x["decision"] for x in lines[1:]] == DECISIONS
    wb = Workbook()
    ws = wb.active
    ws.append(list(FIELDS))
    for row in ORDERS:
        ws.append(row)
    wb.save(tmp_path / "o.xlsx")
    with (tmp_path / "o.xlsx").open("rb") as fh:
        r = client.post("/v1/orders/check", files={"file": ("o.xlsx", fh)})
    assert [d["decision"] for d in r.json()["decisions"]] == DECISIONS


def test_orders_check_bad_input(client: TestClient) -> None:
    assert_problem(client.post("/v1/orders/check", json={"a": 1}), 422, "list of order")
    r = client.post("/v1/orders/check", files={"file": ("x.csv", b"name,price\nfoo,1\n")})
    assert_problem(r, 422, "order_id")
    assert_problem(client.post("/v1/orders/check", files={"file": ("x.pdf", b"%PDF")}), 415)
    assert_problem(client.post("/v1/orders/check", files={"f": ("x.csv", b"a")}), 422, "file")


def test_classify_and_license_as_the_library(client: TestClient, loaded_engine: Any) -> None:
    from compliance.rules.chips import classify_model
    from compliance.rules.license import determine_license

    r = client.post("/v1/classify", json={"model": "NVIDIA H100 SXM"})
    assert r.status_code == 200 and r.json() == classify_model("NVIDIA H100 SXM").to_dict()
    assert r.json()["eccn"].startswith("3A090")
    spec = client.post("/v1/classify", json={"tops": 1979, "bits": 8, "die_area": 814}).json()
    assert spec["tpp"] > 4800 and spec["eccn"]
    assert_problem(client.post("/v1/classify", json={"model": "Zorblax 9000"}), 404, "unknown")
    assert_problem(client.post("/v1/classify", json={}), 422, "model")
    r = client.post(
        "/v1/license", json={"item": "NVIDIA H100 SXM", "destination": "CN", "date": "2025-06-01"}
    )
    day = datetime.date(2025, 6, 1)
    lib = determine_license("NVIDIA H100 SXM", "CN", on_date=day, engine=loaded_engine).to_dict()
    assert r.status_code == 200 and r.json() == lib and lib["license_required"] is True
    assert_problem(
        client.post("/v1/license", json={"item": "NVIDIA H100 SXM", "destination": "Narnia"}),
        422,
        "destination",
    )
    assert_problem(
        client.post(
            "/v1/license", json={"item": "NVIDIA H100 SXM", "destination": "CN", "date": "x"}
        ),
        422,
    )


def test_sources_and_entity(client: TestClient, loaded_engine: Any) -> None:
    from compliance.store.status import source_statuses

    body = client.get("/v1/sources").json()
    got = {s["source"]: s for s in body["sources"]}
    for s in source_statuses(loaded_engine):
        assert got[s.source]["records"] == s.records and got[s.source]["sha256"] == s.sha256
        assert got[s.source]["data_date"] == s.data_date
    assert body["snapshots_in_use"]
    m = client.post("/v1/screen", json={"name": "Mahan Airways"}).json()["matches"][0]
    r = client.get(f"/v1/entities/{m['source']}/{m['source_id']}")
    assert r.status_code == 200
    ent = r.json()["entity"]
    assert ent["name"] == m["name"] and ent["names"] and r.json()["snapshot"]["sha256"]


def test_health_ready_metrics_docs(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    client.post("/v1/screen", json={"name": "Mahan Airways"})
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["entities"] > 10_000
    text = client.get("/metrics").text
    assert 'compliance_http_requests_total{method="POST",route="/v1/screen"' in text
    assert "compliance_http_request_seconds_bucket" in text
    assert 'compliance_list_age_days{source="us_ofac_sdn"}' in text
    client.app.state.audit.flush()  # type: ignore[attr-defined]
    text = client.get("/metrics").text
    written = next(x for x in text.splitlines() if x.startswith("compliance_audit_written_total"))
    assert int(written.split()[-1]) >= 1 and "compliance_audit_backlog 0" in text
    spec = client.get("/openapi.json").json()
    names = set(spec["components"]["schemas"])
    assert {"Query", "Match", "ScreenResponse", "BatchResponse"} <= names
    batch = spec["paths"]["/v1/screen/batch"]["post"]["requestBody"]["content"]
    assert batch["application/json"]["schema"]["properties"]["parties"]["items"] == {
        "$ref": "#/components/schemas/Query"
    }
    assert client.get("/docs").status_code == 200


def test_openapi_models_are_the_librarys(client: TestClient) -> None:
    """The documented shapes are the library's dataclasses (the API adds envelope fields only),
    and the answers have exactly the documented fields."""
    from dataclasses import fields

    from compliance.rules.chips import Classification
    from compliance.screening import Match, Query
    from compliance.store.status import SourceStatus

    schemas = client.get("/openapi.json").json()["components"]["schemas"]

    def props(name: str) -> set[str]:
        return set(schemas[name]["properties"])

    assert props("Query") == {f.name for f in fields(Query)}
    assert props("Match") == {f.name for f in fields(Match)}
    assert props("ScreenRequest") == props("Query") | {"threshold", "lists", "limit", "algorithm"}
    assert props("SourceRow") == {f.name for f in fields(SourceStatus)} | {"age_days", "stale"}
    rows = client.get("/v1/sources").json()["sources"]
    assert rows and all(set(r) == props("SourceRow") for r in rows)
    assert props("Classification") == {f.name for f in fields(Classification)}
    answer = client.post("/v1/classify", json={"model": "NVIDIA H100 SXM"}).json()
    assert set(answer) <= props("Classification")
    match = client.post("/v1/screen", json={"name": "Mahan Airways"}).json()["matches"][0]
    assert set(match) == props("Match")


def test_screenings_are_audited(client: TestClient, loaded_engine: Any) -> None:
    client.post("/v1/screen", json={"name": "Audited Party Mahan Airways"})
    client.app.state.audit.flush()  # type: ignore[attr-defined]
    with loaded_engine.connect() as conn:
        row = conn.execute(
            select(ScreeningAudit)
            .where(ScreeningAudit.channel == "api")
            .order_by(ScreeningAudit.id.desc())  # type: ignore[union-attr]
        ).first()
    assert row.query["name"] == "Audited Party Mahan Airways" and row.key_name == "anonymous"
    assert row.snapshots and row.at is not None


@pytest.fixture(scope="module")
def keyed(loaded_engine: Any) -> Iterator[TestClient]:
    settings = Settings(require_keys=True, poll_seconds=0, rate_per_second=2, rate_burst=3)
    with TestClient(create_app(engine_url(loaded_engine), settings)) as c:
        yield c


def test_keys_required(keyed: TestClient, loaded_engine: Any) -> None:
    body = assert_problem(keyed.post("/v1/screen", json={"name": "x"}), 401, "API key is required")
    assert body["title"] == "Unauthorized"
    assert_problem(keyed.get("/v1/sources", headers={"Authorization": "Bearer cpl_nope"}), 401)
    assert_problem(keyed.get("/v1/sources", headers={"Authorization": "Basic abc"}), 401)
    token = create_key(loaded_engine, "qa-client")
    auth = {"Authorization": f"Bearer {token}"}
    wait_ready(_Auth(keyed, auth))
    r = keyed.post("/v1/screen", json={"name": "Mahan Airways"}, headers=auth)
    assert r.status_code == 200 and r.json()["matches"]
    keyed.app.state.audit.flush()  # type: ignore[attr-defined]
    with loaded_engine.connect() as conn:
        names = {x.key_name for x in conn.execute(select(ScreeningAudit.key_name)).all()}
    assert "qa-client" in names
    assert_problem(keyed.post("/v1/admin/reload", headers=auth), 403, "admin")
    codes = [keyed.get("/v1/sources", headers=auth).status_code for _ in range(8)]
    assert 429 in codes  # burst 3 at 2/s
    r429 = keyed.get("/v1/sources", headers=auth)
    if r429.status_code == 429:
        assert int(r429.headers["retry-after"]) >= 1
    assert revoke_key(loaded_engine, "qa-client") == 1
    assert_problem(keyed.get("/v1/sources", headers=auth), 401, "revoked")


def test_admin_reload(keyed: TestClient, loaded_engine: Any) -> None:
    token = create_key(loaded_engine, "qa-admin", admin=True)
    auth = {"Authorization": f"Bearer {token}"}
    holder = keyed.app.state.holder  # type: ignore[attr-defined]
    wait_ready(_Auth(keyed, auth))
    before = holder.current
    r = keyed.post("/v1/admin/reload", headers=auth)
    assert r.status_code == 200 and r.json()["snapshots"] == before.snapshot_ids
    assert holder.current is not before  # a new index, swapped in
    revoke_key(loaded_engine, "qa-admin")


class _Auth:
    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers

    def get(self, path: str) -> Any:
        return self.client.get(path, headers=self.headers)


def test_web_pages_render_without_a_browser(client: TestClient, tmp_path: Path) -> None:
    r = client.get("/screen", params={"name": "Mahan Airways", "type": "organization"})
    assert r.status_code == 200 and "MAHAN AIRWAYS" in r.text and 'class="card' in r.text
    assert "<script>" not in client.get("/screen", params={"name": "<script>x</script>"}).text
    bad = client.get("/screen", params={"name": "x", "country": "Atlantis"})
    assert bad.status_code == 200 and "unknown country" in bad.text
    src = write_orders(tmp_path / "o.csv")
    r = client.post("/orders", files={"file": ("o.csv", src.read_bytes(), "text/csv")})
    assert r.status_code == 200 and r.text.count('<tr class="BLOCK"') == 2
    run = r.text.split("/orders/")[1].split(".csv")[0]
    csv_text = client.get(f"/orders/{run}.csv").text
    assert csv_text.startswith("run_id,line,order_id,decision") and "BLOCK" in csv_text
    assert client.get("/orders/999999.csv").status_code == 404
    assert "stale" in client.get("/sources").text


def test_web_login_when_keys_are_required(keyed: TestClient, loaded_engine: Any) -> None:
    r = keyed.get("/screen", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    bad = keyed.post("/login", data={"key": "cpl_wrong", "next": "/screen"})
    assert bad.status_code == 401 and "unknown or revoked" in bad.text
    token = create_key(loaded_engine, "officer")
    r = keyed.post("/login", data={"key": token, "next": "//evil.example"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/screen"  # no open redirect
    assert keyed.get("/sources").status_code == 200  # the cookie now carries the key
    revoke_key(loaded_engine, "officer")
    assert keyed.get("/sources", follow_redirects=False).status_code == 303
    keyed.cookies.clear()


def test_chunked_body_over_the_limit_is_413(loaded_engine: Any) -> None:
    settings = Settings(poll_seconds=0, preload=False, max_body_bytes=1000)
    app = create_app(engine_url(loaded_engine), settings)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"name": "'
        for _ in range(50):
            yield b"x" * 100
        yield b'"}'

    with TestClient(app) as c:
        r = c.post("/v1/screen", content=chunks(), headers={"content-type": "application/json"})
    assert_problem(r, 413, "larger than the limit of 1,000 bytes")


def test_orders_check_reuses_the_warm_index(client: TestClient, tmp_path: Path) -> None:
    from compliance.orders import deciders

    src = write_orders(tmp_path / "o.csv")
    client.post("/v1/orders/check", files={"file": ("o.csv", src.read_bytes(), "text/csv")})
    holder = client.app.state.holder  # type: ignore[attr-defined]
    assert deciders._SCREENER is not None
    assert deciders._SCREENER[1] is holder.current.screener


def test_keys_cli(loaded_engine: Any) -> None:
    from compliance.cli import app as cli

    db = ["--db", engine_url(loaded_engine)]
    made = CliRunner().invoke(cli, ["keys", "create", "cli-user", "--admin", *db])
    assert made.exit_code == 0 and made.stdout.strip().startswith("cpl_")
    again = CliRunner().invoke(cli, ["keys", "create", "cli-user", *db])
    assert again.exit_code == 2 and "revoke it first" in again.output
    listed = CliRunner().invoke(cli, ["keys", "list", "--format", "json", *db])
    row = next(r for r in json.loads(listed.stdout) if r["name"] == "cli-user")
    assert row["admin"] and row["revoked_at"] is None
    assert made.stdout.strip() not in listed.stdout  # only a prefix is ever shown again
    assert CliRunner().invoke(cli, ["keys", "revoke", "cli-user", *db]).exit_code == 0
    gone = CliRunner().invoke(cli, ["keys", "revoke", "cli-user", *db])
    assert gone.exit_code == 2 and "no active key" in gone.output
