"""Bad input on every endpoint, limits set by the operator, and keys on every endpoint: each
refusal is a problem document (RFC 9457) without a trace."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from compliance.api.app import create_app  # noqa: E402
from compliance.api.keys import create_key, revoke_key  # noqa: E402
from compliance.api.settings import Settings  # noqa: E402
from tests.api_helpers import ORDERS, engine_url, wait_ready  # noqa: E402
from tests.test_api import assert_problem  # noqa: E402

LIMITS = Settings(
    poll_seconds=0, max_body_bytes=4000, max_upload_bytes=6000, max_batch=3, max_name_chars=40
)
JSON_ENDPOINTS = ["/v1/screen", "/v1/screen/batch", "/v1/classify", "/v1/license"]


@pytest.fixture(scope="module")
def small(loaded_engine: Any) -> Iterator[TestClient]:
    with TestClient(create_app(engine_url(loaded_engine), LIMITS)) as c:
        wait_ready(c)
        yield c


def post(c: TestClient, path: str, body: str | bytes, ctype: str = "application/json") -> Any:
    return c.post(path, content=body, headers={"content-type": ctype})


@pytest.mark.parametrize("path", [*JSON_ENDPOINTS, "/v1/orders/check"])
def test_malformed_json_everywhere(small: TestClient, path: str) -> None:
    assert_problem(post(small, path, '{"name": "Mahan'), 400, "malformed JSON")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/screen", {"name": ["a"]}, "name"),
        ("/v1/screen", {"name": "x", "limit": "ten"}, "limit"),
        ("/v1/screen/batch", {"parties": [{"name": 7}]}, "parties.0.name"),
        ("/v1/screen/batch", {"parties": [{"name": "x"}], "threshold": "high"}, "threshold"),
        ("/v1/classify", {"tops": "fast", "bits": 8}, "tops"),
        ("/v1/classify", {"model": "NVIDIA H100 SXM", "datacenter": "maybe"}, "datacenter"),
        ("/v1/license", {"item": 5, "destination": "CN"}, "item"),
        ("/v1/license", {"item": "NVIDIA H100 SXM"}, "destination"),
        ("/v1/screen", {"name": "x", "surprise": 1}, "surprise"),
    ],
)
def test_wrong_types_name_the_field(small: TestClient, path: str, body: Any, field: str) -> None:
    problem = assert_problem(small.post(path, json=body), 422)
    assert field in [e["field"] for e in problem.get("errors", [])] or field in problem["detail"]


def test_limits_are_the_operators(small: TestClient) -> None:
    four = {"parties": [{"name": f"Party {n}"} for n in range(4)]}
    assert_problem(small.post("/v1/screen/batch", json=four), 413, "at most 3")
    three = {"parties": [{"name": f"Party {n}"} for n in range(3)]}
    assert small.post("/v1/screen/batch", json=three).status_code == 200
    assert_problem(small.post("/v1/screen", json={"name": "x" * 41}), 422, "at most 40")
    assert small.post("/v1/screen", json={"name": "x" * 40}).status_code == 200
    pad = {"name": "x", "id": "1" * 4000}  # over the 4,000-byte JSON limit
    assert_problem(small.post("/v1/screen", json=pad), 413, "4,000 bytes")
    assert_problem(small.post("/v1/classify", json={"model": "m" * 4000}), 413)
    big = b"\n".join(json.dumps({"name": f"Party {n}"}).encode() for n in range(400))
    assert_problem(post(small, "/v1/screen/batch", big, "application/x-ndjson"), 413, "6,000")
    rows = "order_id,customer\n" + "".join(f"A-{n},Customer {n}\n" for n in range(400))
    r = small.post("/v1/orders/check", files={"file": ("o.csv", rows.encode(), "text/csv")})
    assert_problem(r, 413, "6,000 bytes")


def test_ndjson_bad_lines_and_lists(small: TestClient) -> None:
    lines = b'{"name": "Mahan Airways"}\n{"name": ""}\n"Mahan Airways"\n{"name": "' + b"y" * 41
    lines += b'"}\n[1, 2]\n'
    r = post(small, "/v1/screen/batch", lines, "application/x-ndjson")
    out = [json.loads(x) for x in r.text.splitlines()]
    assert [o["line"] for o in out] == [1, 2, 3, 4, 5]
    assert out[0]["matches"] and out[2]["matches"] == out[0]["matches"]
    assert "name is empty" in out[1]["error"]["detail"] and out[1]["error"]["status"] == 422
    assert "at most 40" in out[3]["error"]["detail"] and out[4]["error"]["status"] == 422
    unknown = small.post(
        "/v1/screen/batch?list=zz",
        content=b'{"name": "x"}\n',
        headers={"content-type": "application/x-ndjson"},
    )
    assert_problem(unknown, 422, "no loaded list named zz")
    assert_problem(post(small, "/v1/screen/batch", b"x", "text/plain"), 415)


def test_orders_unknown_list_and_empty_body(small: TestClient) -> None:
    from compliance.orders.reader import FIELDS

    objs = [dict(zip(FIELDS, row, strict=True)) for row in ORDERS]
    r = small.post("/v1/orders/check?list=zz", json=objs)
    assert_problem(r, 422, "zz")
    assert_problem(post(small, "/v1/orders/check", b""), 400, "empty")
    assert_problem(small.post("/v1/orders/check", json=[]), 422, "non-empty list")
    assert_problem(small.post("/v1/orders/check", json=[1]), 422, "not an object")
    assert_problem(small.post("/v1/orders/check?map=%7B", json=objs), 400, "map")


def test_serve_options_reach_the_workers(
    monkeypatch: pytest.MonkeyPatch, loaded_engine: Any
) -> None:
    """`compliance serve --max-body ... --rate ...` become the settings every worker reads."""
    import uvicorn

    from compliance.api.settings import ENV
    from compliance.cli import app as cli

    seen: dict[str, Any] = {}

    def fake_run(target: str, **kwargs: Any) -> None:
        import os

        seen.update(kwargs, target=target, settings=Settings.from_env(), env=os.environ[ENV])

    monkeypatch.setattr(uvicorn, "run", fake_run)
    for var in (ENV, "COMPLIANCE_DB", "PROMETHEUS_MULTIPROC_DIR"):  # serve sets them: undone
        monkeypatch.setenv(var, "")
        monkeypatch.delenv(var)
    args = ["serve", "--db", engine_url(loaded_engine), "--max-body", "1234", "--max-upload"]
    args += ["5678", "--max-batch", "7", "--max-name", "99", "--rate", "3.5", "--burst", "4"]
    res = CliRunner().invoke(cli, [*args, "--workers", "2", "--port", "8123"])
    assert res.exit_code == 0, res.output
    s = seen["settings"]
    assert (s.max_body_bytes, s.max_upload_bytes, s.max_batch, s.max_name_chars) == (
        1234,
        5678,
        7,
        99,
    )
    assert (s.rate_per_second, s.rate_burst, s.require_keys) == (3.5, 4, False)
    assert seen["workers"] == 2 and seen["port"] == 8123 and seen["host"] == "127.0.0.1"
    assert s.rate_dir  # two workers share one bucket per key


# keys ------------------------------------------------------------------------------------

ENDPOINTS = [
    ("POST", "/v1/screen", {"name": "Mahan Airways"}),
    ("POST", "/v1/screen/batch", {"parties": [{"name": "Mahan Airways"}]}),
    ("POST", "/v1/orders/check", [{"order_id": "1", "customer": "Mahan Airways"}]),
    ("POST", "/v1/classify", {"model": "NVIDIA H100 SXM"}),
    ("POST", "/v1/license", {"item": "NVIDIA H100 SXM", "destination": "CN"}),
    ("GET", "/v1/sources", None),
    ("GET", "/v1/entities/us_ofac_sdn/1", None),
    ("POST", "/v1/admin/reload", None),
]


@pytest.fixture(scope="module")
def keyed(loaded_engine: Any) -> Iterator[TestClient]:
    settings = Settings(require_keys=True, poll_seconds=0, rate_per_second=0)
    with TestClient(create_app(engine_url(loaded_engine), settings)) as c:
        wait_ready(c)
        yield c


def test_every_endpoint_is_listed_here(keyed: TestClient) -> None:
    """A new /v1 endpoint must be added to ENDPOINTS, so that its keys are tested."""
    paths = keyed.get("/openapi.json").json()["paths"]
    routes = {(m.upper(), p) for p, ops in paths.items() if p.startswith("/v1/") for m in ops}
    entity = "/v1/entities/{source}/{source_id}"
    tested = {(m, entity if p.startswith("/v1/entities/") else p) for m, p, _ in ENDPOINTS}
    assert routes == tested


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_missing_wrong_and_revoked_keys(
    keyed: TestClient, loaded_engine: Any, method: str, path: str, body: Any
) -> None:
    name = f"key-{method}-{path}"
    token = create_key(loaded_engine, name, admin=True)
    good = {"Authorization": f"Bearer {token}"}
    r = keyed.request(method, path, json=body, headers=good)
    assert r.status_code in (200, 404), r.text  # 404: the entry id is not on the list
    for headers, needle in [
        ({}, "API key is required"),
        ({"Authorization": "Bearer cpl_not-a-key"}, "unknown or revoked"),
        ({"Authorization": token}, "Bearer"),
    ]:
        problem = assert_problem(keyed.request(method, path, json=body, headers=headers), 401)
        assert needle in problem["detail"]
    revoke_key(loaded_engine, name)
    assert_problem(keyed.request(method, path, json=body, headers=good), 401, "revoked")


def test_web_pages_and_open_endpoints_with_keys(keyed: TestClient) -> None:
    for page in ("/screen", "/orders", "/sources", "/entity/us_ofac_sdn/1", "/orders/1.csv"):
        r = keyed.get(page, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/login?next={page}"
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert keyed.get(path).status_code == 200  # probes and scrapers need no key


def test_rate_limit_is_per_key_across_worker_processes(tmp_path: Any) -> None:
    import subprocess
    import sys

    from compliance.api.security import RateLimiter

    shared = str(tmp_path)
    other_worker = (
        "from compliance.api.security import RateLimiter;"
        f"r = RateLimiter(0.01, 3, {shared!r});"
        "print([r.take('desk') for _ in range(2)])"
    )
    out = subprocess.run([sys.executable, "-c", other_worker], capture_output=True, text=True)
    assert out.stdout.strip() == "[0.0, 0.0]", out.stderr  # two of the burst of 3, elsewhere
    here = RateLimiter(0.01, 3, shared)
    assert here.take("desk") == 0.0  # the third
    assert here.take("desk") > 50  # the burst is spent, in every process: wait ~100 s
    assert here.take("another key") == 0.0
    alone = RateLimiter(0.01, 3)  # without the shared folder: one process's own buckets
    assert [alone.take("desk") for _ in range(3)] == [0.0, 0.0, 0.0]
