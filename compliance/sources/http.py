"""Bounded downloads: timeouts, retries with backoff, a size cap, an honest User-Agent.

Everything fetched is treated as hostile: bodies are streamed into memory only up to the cap,
a whole-download deadline stops slow drips, redirects are limited, and the bytes are sniffed so
an HTML error page served in place of a CSV is refused before any parser sees it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
import urllib3

from compliance import __version__
from compliance.sources.base import SourceError, SourceFile

USER_AGENT = (
    f"compliance/{__version__} (open-source sanctions and export-control screening; "
    "+https://github.com/compliance-tools/compliance)"
)


def _env_float(name: str, default: float) -> float:
    try:
        return max(0.0, float(os.environ.get(name, default)))
    except ValueError:
        return default


@dataclass(frozen=True)
class FetchPolicy:
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    # whole download, seconds (env COMPLIANCE_HTTP_DEADLINE overrides)
    deadline: float = field(default_factory=lambda: _env_float("COMPLIANCE_HTTP_DEADLINE", 600.0))
    retries: int = 3
    # seconds before the first retry; doubles each time (env COMPLIANCE_HTTP_BACKOFF overrides)
    backoff: float = field(default_factory=lambda: _env_float("COMPLIANCE_HTTP_BACKOFF", 1.0))
    max_redirects: int = 5
    # a lower size cap than each file's own (env COMPLIANCE_HTTP_MAX_BYTES; 0 = the file's cap)
    max_bytes: int = field(default_factory=lambda: int(_env_float("COMPLIANCE_HTTP_MAX_BYTES", 0)))


@dataclass(frozen=True)
class FetchedFile:
    name: str
    origin: str  # URL or local path it came from
    content: bytes
    sha256: str

    @property
    def size(self) -> int:
        return len(self.content)


class FetchError(SourceError):
    pass


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_url(
    url: str, spec: SourceFile, policy: FetchPolicy, session: requests.Session | None = None
) -> FetchedFile:
    sess = session or requests.Session()
    sess.max_redirects = policy.max_redirects
    last: Exception | None = None
    for attempt in range(policy.retries + 1):
        if attempt:
            time.sleep(policy.backoff * 2 ** (attempt - 1))
        try:
            return _fetch_once(sess, url, spec, policy)
        except _Retryable as exc:
            last = exc
        except requests.TooManyRedirects:
            raise FetchError(f"too many redirects from {url}", file=spec.name) from None
    raise FetchError(f"{last} (after {policy.retries + 1} attempts)", file=spec.name)


class _Retryable(Exception):
    pass


def _fetch_once(
    sess: requests.Session, url: str, spec: SourceFile, policy: FetchPolicy
) -> FetchedFile:
    started = time.monotonic()
    try:
        resp = sess.get(
            url,
            stream=True,
            # no single wait may outlast the whole-download deadline
            timeout=(policy.connect_timeout, min(policy.read_timeout, policy.deadline)),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
        )
    except requests.TooManyRedirects:
        raise
    except requests.RequestException as exc:
        raise _Retryable(f"cannot reach {url}: {_why(exc)}") from None
    with resp:
        if resp.status_code >= 500 or resp.status_code == 429:
            raise _Retryable(f"HTTP {resp.status_code} from {url}")
        if resp.status_code != 200:
            raise FetchError(f"HTTP {resp.status_code} from {url}", file=spec.name)
        cap = min(spec.max_bytes, policy.max_bytes or spec.max_bytes)
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise FetchError(
                f"{url} announces {int(declared):,} bytes, over the {cap:,}-byte cap",
                file=spec.name,
            )
        chunks: list[bytes] = []
        total = 0
        try:
            while True:
                # read1: at most one socket read, so a slow drip still meets the deadline check
                chunk = resp.raw.read1(1 << 16, decode_content=True)
                if not chunk:
                    break
                total += len(chunk)
                if total > cap:
                    raise FetchError(
                        f"{url} sent more than the {cap:,}-byte cap; download stopped",
                        file=spec.name,
                    )
                if time.monotonic() - started > policy.deadline:
                    raise _Retryable(f"{url} took longer than {policy.deadline:g} s")
                chunks.append(chunk)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _Retryable(
                f"download of {url} broke off after {total:,} bytes (truncated): "
                f"{exc.__class__.__name__}"
            ) from None
    content = b"".join(chunks)
    plain = resp.headers.get("Content-Encoding") is None
    if declared and declared.isdigit() and plain and len(content) != int(declared):
        raise _Retryable(
            f"download of {url} is truncated: {len(content):,} of {int(declared):,} bytes"
        )
    check_kind(content, spec)
    return FetchedFile(spec.name, url, content, _sha256(content))


def _why(exc: requests.RequestException) -> str:
    """A connection failure in words a user can act on."""
    text = str(exc)
    if "NameResolutionError" in text or "Name or service not known" in text:
        return "the host name could not be resolved (no network? use --mirror DIR offline)"
    if isinstance(exc, requests.ConnectTimeout):
        return "the connection timed out (ConnectTimeout)"
    if isinstance(exc, requests.ReadTimeout):
        return "the server stopped sending (ReadTimeout)"
    if "Connection refused" in text:
        return "the connection was refused"
    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS certificate check failed"
    return f"{exc.__class__.__name__}: {text[:200]}"


def read_mirror_file(directory: Path, source_key: str, spec: SourceFile) -> FetchedFile:
    path = directory / source_key / spec.name
    if not path.is_file():
        raise FetchError(f"not found in the mirror: {path}", file=spec.name)
    size = path.stat().st_size
    if size > spec.max_bytes:
        raise FetchError(f"{path} is {size:,} bytes, over the {spec.max_bytes:,}-byte cap")
    content = path.read_bytes()
    check_kind(content, spec)
    return FetchedFile(spec.name, str(path), content, _sha256(content))


def maybe_gunzip(content: bytes, spec: SourceFile) -> bytes:
    """Some mirrors store files gzipped under their plain name; undo that, within the cap."""
    if content[:2] != b"\x1f\x8b":
        return content
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(content)) as gz:
            data = gz.read(spec.max_bytes + 1)
    except (OSError, EOFError) as exc:
        raise FetchError(f"damaged gzip data: {exc}", file=spec.name) from None
    if len(data) > spec.max_bytes:
        raise FetchError(f"unpacks to more than {spec.max_bytes:,} bytes", file=spec.name)
    return data


_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body")


def check_kind(content: bytes, spec: SourceFile) -> None:
    """Refuse bytes that plainly are not the kind of file the publisher serves."""
    if not content.strip():
        raise FetchError("the file is empty", file=spec.name)
    head = content[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if content[:2] == b"\x1f\x8b":
        return  # gzip; the parser unpacks and checks it
    if any(head.startswith(m) for m in _HTML_MARKERS) and spec.kind != "xml":
        raise FetchError(
            f"got an HTML page instead of the expected {spec.kind.upper()} file "
            "(the publisher's site may be down or have moved the file)",
            file=spec.name,
        )
    if spec.kind == "xml":
        if any(head.startswith(m) for m in _HTML_MARKERS) or not head.startswith(b"<"):
            raise FetchError("not an XML document", file=spec.name)
    elif spec.kind == "xlsx":
        if not content.startswith(b"PK"):
            raise FetchError("not an XLSX workbook (no ZIP signature)", file=spec.name)
    elif spec.kind == "json" and head[:1] not in (b"{", b"["):
        raise FetchError("not a JSON document", file=spec.name)
