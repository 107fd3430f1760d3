"""A results folder: one file per partition, written atomically, and a manifest.

`part-00012.jsonl` (or `.parquet`) appears only once its partition is complete (written to a
temporary name, then renamed), so a run killed at any moment leaves only whole partitions, and a
restart skips exactly those. `_manifest.json` records what the run screened against: the input,
the partition size, and the list snapshot (index key, every snapshot's id, date and sha256).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MANIFEST = "_manifest.json"
OUTPUT_FORMATS = ("jsonl", "parquet")


def part_path(folder: Path, part: int, fmt: str) -> Path:
    return folder / f"part-{part:05d}.{fmt}"


def done_parts(folder: Path, fmt: str) -> set[int]:
    out = set()
    for p in folder.glob(f"part-*.{fmt}"):
        stem = p.name.split(".")[0].removeprefix("part-")
        if stem.isdigit():
            out.add(int(stem))
    return out


def write_part(folder: Path, part: int, fmt: str, results: list[dict[str, Any]]) -> Path:
    final = part_path(folder, part, fmt)
    tmp = folder / f".{final.name}.{uuid.uuid4().hex}.tmp"  # unique per attempt
    if fmt == "jsonl":
        with tmp.open("w", encoding="utf-8") as fh:
            for r in results:
                fh.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    else:
        _write_parquet(tmp, results)
    os.replace(tmp, final)  # atomic: the partition is there whole, or not at all
    return final


def _flat(r: dict[str, Any]) -> dict[str, Any]:
    inp = r.get("input") or {}
    best = (r.get("matches") or [None])[0]
    return {
        "row": r["row"],
        "line": r.get("line"),
        **{k: inp.get(k, "") for k in ("name", "type", "country", "dob", "id")},
        "status": r["status"],
        "error": r.get("error"),
        "best_score": best["score"] if best else None,
        "best_source": best["source"] if best else None,
        "best_source_id": best["source_id"] if best else None,
        "best_name": best["name"] if best else None,
        "matches": json.dumps(r.get("matches") or [], ensure_ascii=False, sort_keys=True),
    }


def _write_parquet(path: Path, results: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [("row", pa.int64()), ("line", pa.int64())]
        + [(k, pa.string()) for k in ("name", "type", "country", "dob", "id", "status", "error")]
        + [("best_score", pa.float64())]
        + [(k, pa.string()) for k in ("best_source", "best_source_id", "best_name", "matches")]
    )
    table = pa.Table.from_pylist([_flat(r) for r in results], schema=schema)
    pq.write_table(table, path)


def read_parts(folder: Path, fmt: str) -> Iterator[dict[str, Any]]:
    """Every result row of a finished (or partial) run, in input order."""
    for part in sorted(done_parts(folder, fmt)):
        path = part_path(folder, part, fmt)
        if fmt == "jsonl":
            with path.open(encoding="utf-8") as fh:
                for line in fh:
                    yield json.loads(line)
        else:
            import pyarrow.parquet as pq

            for r in pq.read_table(path).to_pylist():
                r["matches"] = json.loads(r["matches"])
                yield r


def read_manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    tmp = folder / f".{MANIFEST}.{uuid.uuid4().hex}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, folder / MANIFEST)
