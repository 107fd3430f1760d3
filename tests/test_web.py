"""The web pages in a real headless browser (Debian's chromium, driven by playwright) against
the real server: a listed name is found, an order file gives a BLOCK row, screenshots kept."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "no /usr/bin/chromium: apt-get install -y chromium chromium-driver to run the browser test",
        allow_module_level=True,
    )
httpx = pytest.importorskip("httpx")
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")

from tests.api_helpers import engine_url, free_port, write_orders  # noqa: E402
from tests.conftest import ROOT  # noqa: E402

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "benchmarks" / "out"


@pytest.fixture(scope="module")
def base_url(loaded_engine: Any) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "compliance.cli",
            "serve",
            "--port",
            str(port),
            "--db",
            engine_url(loaded_engine),
            "--poll",
            "0",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            args=ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield ctx.new_page()
        finally:
            ctx.close()


def _keep(page: Any, tmp_path: Path, name: str) -> None:
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, ARTIFACTS / name)


def test_screen_a_listed_name(page: Any, base_url: str, tmp_path: Path) -> None:
    page.goto(f"{base_url}/screen")
    name = page.get_by_label("Name")
    assert page.evaluate("document.activeElement.id") == "name"  # focus starts in the search box
    page.keyboard.type("Mahan Airways", delay=20)  # typed, key by key
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "type"
    page.keyboard.type("org")  # the select follows the keys typed: organization
    assert page.get_by_label("Type").input_value() == "organization"
    name.press("Enter")  # submit on Enter
    card = page.locator("article.card").first
    card.wait_for()
    assert "MAHAN AIRWAYS" in card.inner_text().upper()
    assert card.locator(".score").inner_text() == "100"
    assert card.locator(".badge").count() >= 1
    card.get_by_text("Feature explanation").click()
    assert card.locator("table").first.is_visible()
    _keep(page, tmp_path, "web-screening.png")
    card.get_by_role("link", name="Full entry").click()
    page.wait_for_url("**/entity/**")
    assert "MAHAN AIRWAYS" in page.locator("h1").inner_text().upper()


def test_upload_orders_and_see_block(page: Any, base_url: str, tmp_path: Path) -> None:
    orders = write_orders(tmp_path / "orders.csv")
    page.goto(f"{base_url}/orders")
    # Focus starts on the file field, so a keyboard user opens the chooser with Space; the
    # operating system's dialog is not driven here (headless Chromium opens it unreliably).
    assert page.evaluate("document.activeElement.id") == "file"
    page.locator("#file").set_input_files(str(orders))
    assert page.evaluate("document.activeElement.id") == "file"
    for field in ("block", "review"):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == field
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Check"
    page.keyboard.press("Enter")  # submits the upload
    table = page.locator("table#decisions")
    table.wait_for()
    block = table.locator("tbody tr.BLOCK")
    assert block.count() == 2
    assert "Mahan Airways" in block.first.inner_text()
    page.get_by_label("Decision").select_option("BLOCK")
    assert table.locator("tbody tr:visible").count() == 2
    assert page.locator("#shown-count").inner_text() == "2"
    with page.expect_download() as dl:
        page.get_by_role("link", name="Download as CSV").click()
    saved = tmp_path / "decisions.csv"
    dl.value.save_as(saved)
    assert "BLOCK" in saved.read_text(encoding="utf-8")
    page.get_by_label("Decision").select_option("")
    _keep(page, tmp_path, "web-orders.png")


def test_sources_page_flags_old_lists(page: Any, base_url: str, tmp_path: Path) -> None:
    page.goto(f"{base_url}/sources")
    rows = page.locator("tbody tr")
    assert rows.count() >= 7
    assert page.locator(".badge.stale").count() >= 1  # the mirrored lists are years old
    assert "us_ofac_sdn" in page.locator("tbody").inner_text()
    _keep(page, tmp_path, "web-sources.png")
