"""Batch screening on a Dask LocalCluster: same answers as one process, every row exactly once,
resumable after a lost worker or a killed client, never two list versions in one run."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from compliance.batch.dask_run import BatchError, BatchOptions, run_batch
from compliance.batch.output import MANIFEST, read_parts
from compliance.batch.parties import read_any
from compliance.screen_file import InputFileError, screen_rows
from compliance.screening import Screener
from tests.conftest import REFERENCE

pytest.importorskip("distributed")
pytest.importorskip("pyarrow")


def _url(engine) -> str:  # noqa: ANN001
    return engine.url.render_as_string(hide_password=False)


def _parties(engine, path: Path, n: int, seed: int = 7) -> Path:  # noqa: ANN001
    """Real listed names (some perturbed) and real unlisted company names, plus bad rows."""
    rng = random.Random(seed)
    listed = [e.name for e in Screener.load(engine).index.entities]
    with (REFERENCE / "forbes_global_2000_2025.csv").open(encoding="utf-8", errors="replace") as fh:
        unlisted = [r["Company"] for r in csv.DictReader(fh)]
    rows = []
    for i in range(n):
        if i % 97 == 0:
            rows.append(["", ""])  # an empty name: an error row, not a lost one
        elif i % 3 == 0:
            name = rng.choice(listed)
            if i % 2 and len(name) > 6:
                j = rng.randrange(1, len(name) - 1)
                name = name[:j] + name[j + 1 :]  # one letter dropped
            rows.append([name, ""])
        else:
            rows.append([rng.choice(unlisted), ""])
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "country"])
        w.writerows(rows)
    return path


def _single(engine, path: Path) -> list[dict]:  # noqa: ANN001
    return list(screen_rows(read_any(path), Screener.load(engine), workers=1))


def _comparable(r: dict) -> tuple:
    return (r["row"], r["status"], r["error"], json.dumps(r["matches"], sort_keys=True))


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_dask_results_equal_single_process(loaded_engine, tmp_path: Path, fmt: str) -> None:
    src = _parties(loaded_engine, tmp_path / "parties.csv", 1200)
    out = tmp_path / "results"
    report = run_batch(
        src, out, _url(loaded_engine), opts=BatchOptions(partition_rows=300, output_format=fmt)
    )
    assert report.partitions == 4 and report.skipped == 0 and report.rows == 1200
    got = list(read_parts(out, fmt))
    want = _single(loaded_engine, src)
    assert [r["row"] for r in got] == list(range(1, 1201))  # every row once, in input order
    assert [_comparable(r) for r in got] == [_comparable(r) for r in want]
    assert report.matched == sum(r["status"] == "match" for r in want) > 100
    assert report.errors == sum(r["status"] == "error" for r in want) >= 12
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["snapshot"]["key"] == Screener.load(loaded_engine).index.key
    assert manifest["rows"] == 1200 and manifest["partitions"] == 4
    assert all(s["sha256"] for s in manifest["snapshot"]["snapshots"].values())


def test_a_lost_worker_loses_and_duplicates_no_row(loaded_engine, tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    src = _parties(loaded_engine, tmp_path / "parties.csv", 1200, seed=11)
    out = tmp_path / "results"
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    killed: list[int] = []
    try:
        # the workers' pids from a client closed before the run: one client per process, as
        # in real use (a second live client in the process confuses Dask's futures on retry)
        with Client(cluster) as client:
            pids = list(client.run(os.getpid).values())

        def kill_one_mid_run() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not list(out.glob("part-*.jsonl")):
                time.sleep(0.05)
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

        killer = threading.Thread(target=kill_one_mid_run, daemon=True)
        killer.start()
        report = run_batch(
            src,
            out,
            _url(loaded_engine),
            opts=BatchOptions(partition_rows=100),
            scheduler=cluster.scheduler_address,
        )
        killer.join(5)
    finally:
        cluster.close()
    assert killed, "the worker was never killed"
    got = list(read_parts(out, "jsonl"))
    assert [r["row"] for r in got] == list(range(1, 1201))
    assert [_comparable(r) for r in got] == [_comparable(r) for r in _single(loaded_engine, src)]
    assert report.rows == 1200


def test_a_killed_client_resumes_where_it_stopped(loaded_engine, tmp_path: Path) -> None:
    src = _parties(loaded_engine, tmp_path / "parties.csv", 1500, seed=5)
    out = tmp_path / "results"
    code = (
        "from pathlib import Path; from compliance.batch.dask_run import run_batch, BatchOptions;"
        f"run_batch(Path({str(src)!r}), Path({str(out)!r}), {_url(loaded_engine)!r},"
        " opts=BatchOptions(partition_rows=75), workers=1)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and len(list(out.glob("part-*.jsonl"))) < 3:
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the client and its whole local cluster
        proc.wait()
    done_before = len(list(out.glob("part-*.jsonl")))
    assert 3 <= done_before < 20
    report = run_batch(src, out, _url(loaded_engine), opts=BatchOptions(partition_rows=75))
    assert report.partitions == 20 and report.skipped >= done_before
    got = list(read_parts(out, "jsonl"))
    assert [r["row"] for r in got] == list(range(1, 1501))  # none lost, none twice
    assert not list(out.glob(".part-*.tmp"))
    assert json.loads((out / MANIFEST).read_text())["rows"] == 1500


def test_a_folder_of_another_list_version_or_input_is_refused(loaded_engine, tmp_path) -> None:
    src = _parties(loaded_engine, tmp_path / "parties.csv", 50)
    out = tmp_path / "results"
    run_batch(src, out, _url(loaded_engine), opts=BatchOptions(partition_rows=25), workers=1)
    manifest = json.loads((out / MANIFEST).read_text())
    with pytest.raises(BatchError, match="other options"):
        run_batch(src, out, _url(loaded_engine), opts=BatchOptions(partition_rows=10), workers=1)
    manifest["snapshot"]["key"] = "0" * 24  # as if the lists changed since the run started
    (out / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BatchError, match="other list versions.*never mixed"):
        run_batch(src, out, _url(loaded_engine), opts=BatchOptions(partition_rows=25), workers=1)


def test_parquet_and_jsonl_inputs_map_the_csv_columns(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table({"Name": ["Vladimir Putin", None], " Country ": ["RU", "DE"], "x": [1, 2]}),
        tmp_path / "p.parquet",
    )
    rows = list(read_any(tmp_path / "p.parquet"))
    assert [(r.number, r.values["name"], r.values["country"]) for r in rows] == [
        (1, "Vladimir Putin", "RU"),
        (2, "", "DE"),
    ]
    (tmp_path / "p.jsonl").write_text('{"name": "A", "type": "person"}\n\nnot json\n[1]\n')
    rows = list(read_any(tmp_path / "p.jsonl"))
    assert [r.number for r in rows] == [1, 2, 3]
    assert rows[0].values["type"] == "person" and rows[0].error is None
    assert "line 3: not a JSON object" in (rows[1].error or "")
    assert rows[2].error == "line 4: not a JSON object"
    pq.write_table(pa.table({"company": ["A"]}), tmp_path / "noname.parquet")
    with pytest.raises(InputFileError, match="no 'name' column"):
        list(read_any(tmp_path / "noname.parquet"))
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InputFileError, match="not a readable Parquet file"):
        list(read_any(tmp_path / "bad.parquet"))
    with pytest.raises(InputFileError, match="use .csv, .jsonl or .parquet"):
        read_any(tmp_path / "parties.xml")


def test_cli_screens_a_file_on_dask_into_a_folder(loaded_engine, tmp_path: Path) -> None:
    src = _parties(loaded_engine, tmp_path / "parties.csv", 120)
    out = tmp_path / "results"
    cmd = [sys.executable, "-m", "compliance.cli", "screen", "--file", str(src),
           "--engine", "dask", "--output", str(out), "--format", "parquet",
           "--partition-rows", "50", "--db", _url(loaded_engine)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr  # some rows matched
    assert "120 rows in 3 partitions (0 already done)" in done.stderr
    assert [r["row"] for r in read_parts(out, "parquet")] == list(range(1, 121))
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert "(3 already done)" in again.stderr
    bad = subprocess.run(cmd[:8] + ["--db", _url(loaded_engine)], capture_output=True, text=True)
    assert bad.returncode == 2 and "needs --file and --output" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_worker_without_a_cache_folder_still_screens(loaded_engine, tmp_path: Path) -> None:
    """A worker with no COMPLIANCE_CACHE passed on (the default folder) loads the index itself."""
    from compliance.batch.dask_run import screen_partition, snapshot_of

    src = _parties(loaded_engine, tmp_path / "parties.csv", 40, seed=3)
    rows = list(read_any(src))
    url = _url(loaded_engine)
    opts = asdict(BatchOptions(partition_rows=40))
    counts = screen_partition(0, rows, str(tmp_path), url, snapshot_of(url)["key"], opts, None)
    assert counts["rows"] == 40 and counts["errors"] == 1
    assert [_comparable(r) for r in read_parts(tmp_path, "jsonl")] == [
        _comparable(r) for r in _single(loaded_engine, src)
    ]
