"""Bounded downloads: timeouts, retries with backoff, a size cap, an honest User-Agent.

Everything fetched is treated as hostile: bodies are streamed into memory only up to the cap,
a whole-download deadline stops slow drips, redirects are limited, and the bytes are sniffed so
an HTML error page served in place of a CSV is refused before any parser sees it.

Retries are urllib3's `Retry`, mounted through requests' `HTTPAdapter`: connection failures,
timeouts before the headers and 429/5xx answers are retried there, with exponential backoff and
the server's Retry-After (capped). A body that breaks off, or outlasts the deadline, is fetched
again under the same `Retry` budget, so every failure counts against one number of attempts.

A fetch may be conditional: with the previous download's ETag / Last-Modified, a 304 answer
means the publisher's file is unchanged, and no body is transferred.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ProtocolError
from urllib3.util.retry import Retry

from compliance import __version__
from compliance.progress import NO_PROGRESS, Progress
from compliance.sources.base import SourceError, SourceFile

USER_AGENT = (
    f"compliance/{__version__} (open-source sanctions and export-control screening; "
    "+https://github.com/compliance-tools/compliance)"
)
RETRY_STATUSES = (429, 500, 502, 503, 504)


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
    # urllib3 backoff factor: no wait before the first retry, then 2x, 4x... this many seconds
    # (env COMPLIANCE_HTTP_BACKOFF overrides)
    backoff: float = field(default_factory=lambda: _env_float("COMPLIANCE_HTTP_BACKOFF", 1.0))
    max_redirects: int = 5
    # a lower size cap than each file's own (env COMPLIANCE_HTTP_MAX_BYTES; 0 = the file's cap)
    max_bytes: int = field(default_factory=lambda: int(_env_float("COMPLIANCE_HTTP_MAX_BYTES", 0)))

    def retry(self) -> Retry:
        return _Retry(
            total=self.retries,
            backoff_factor=self.backoff,
            backoff_max=120.0,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            raise_on_status=False,  # the last 5xx comes back as a response, worded below
            redirect=False,  # requests follows redirects itself, up to max_redirects
        )


class _Retry(Retry):
    """urllib3's Retry, with the server's Retry-After capped: a hostile one cannot stall us."""

    MAX_RETRY_AFTER = 60.0

    def get_retry_after(self, response: Any) -> float | None:
        wait = super().get_retry_after(response)
        return None if wait is None else min(wait, self.MAX_RETRY_AFTER)


@dataclass(frozen=True)
class Validators:
    """What the previous download of a file was: its checksum and the server's validators."""

    sha256: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchedFile:
    name: str
    origin: str  # URL or local path it came from
    content: bytes  # empty when not_modified
    sha256: str
    etag: str | None = None  # the server's validators, for the next conditional fetch
    last_modified: str | None = None
    not_modified: bool = False  # a 304: the same file as the previous download (no body)

    @property
    def size(self) -> int:
        return len(self.content)


class FetchError(SourceError):
    pass


class _BodyFailed(Exception):
    """The body broke off or outlasted the deadline: worth another attempt."""

    retry: Retry | None = None  # the budget left after the attempt that failed


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def http_session(policy: FetchPolicy) -> requests.Session:
    sess = requests.Session()
    sess.max_redirects = policy.max_redirects
    sess.headers.update({"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"})
    _mount(sess, policy.retry())
    return sess


def _mount(sess: requests.Session, retry: Retry) -> None:
    adapter = HTTPAdapter(max_retries=retry)
    sess.mount("http://", adapter)
    sess.mount("https://", adapter)


def _attempts(retry: Retry) -> int:
    return len(retry.history) + 1


def fetch_url(
    url: str,
    spec: SourceFile,
    policy: FetchPolicy,
    session: requests.Session | None = None,
    *,
    previous: Validators | None = None,
    progress: Progress = NO_PROGRESS,
    task: str = "",
) -> FetchedFile:
    """GET `url` within the policy; conditional when `previous` carries validators."""
    sess = session or http_session(policy)
    retry = policy.retry()
    while True:
        _mount(sess, retry)
        try:
            return _fetch_once(sess, url, spec, policy, previous, progress, task)
        except _BodyFailed as exc:
            retry = exc.retry or retry
            try:
                retry = retry.increment("GET", url, error=ProtocolError(str(exc)))
            except MaxRetryError:
                tried = _attempts(retry)
                raise FetchError(f"{exc} (after {tried} attempts)", file=spec.name) from None
            retry.sleep()
        except requests.TooManyRedirects:
            raise FetchError(f"too many redirects from {url}", file=spec.name) from None
        except requests.RequestException as exc:
            tried = _tried(exc, retry)
            raise FetchError(
                f"cannot reach {url}: {_why(exc)} (after {tried} attempts)", file=spec.name
            ) from None


def _tried(exc: requests.RequestException, retry: Retry) -> int:
    """Attempts made when requests gave up: urllib3 raised MaxRetryError once `retry` ran out."""
    reason = exc.args[0] if exc.args else None
    total = retry.total
    if isinstance(reason, MaxRetryError) and isinstance(total, int):
        return total + _attempts(retry)
    return _attempts(retry)


def _conditional_headers(previous: Validators | None) -> dict[str, str]:
    headers = {}
    if previous and previous.etag:
        headers["If-None-Match"] = previous.etag
    if previous and previous.last_modified:
        headers["If-Modified-Since"] = previous.last_modified
    return headers


def _fetch_once(
    sess: requests.Session,
    url: str,
    spec: SourceFile,
    policy: FetchPolicy,
    previous: Validators | None,
    progress: Progress,
    task: str,
) -> FetchedFile:
    started = time.monotonic()
    resp = sess.get(
        url,
        stream=True,
        # no single wait may outlast the whole-download deadline
        timeout=(policy.connect_timeout, min(policy.read_timeout, policy.deadline)),
        headers=_conditional_headers(previous),
    )
    retry = getattr(resp.raw, "retries", None)
    try:
        return _take(resp, url, spec, policy, previous, progress, task, started)
    except _BodyFailed as exc:
        exc.retry = retry if isinstance(retry, Retry) else None
        raise


def _take(
    resp: requests.Response,
    url: str,
    spec: SourceFile,
    policy: FetchPolicy,
    previous: Validators | None,
    progress: Progress,
    task: str,
    started: float,
) -> FetchedFile:
    """The answer to one GET: a 304, an error, or the body within the cap and the deadline."""
    with resp:
        retry = getattr(resp.raw, "retries", None)
        tried = f" (after {_attempts(retry)} attempts)" if retry and retry.history else ""
        etag, modified = resp.headers.get("ETag"), resp.headers.get("Last-Modified")
        if resp.status_code == 304 and previous is not None:
            return FetchedFile(
                spec.name, url, b"", previous.sha256,
                etag or previous.etag, modified or previous.last_modified, not_modified=True,
            )  # fmt: skip
        if resp.status_code != 200:
            raise FetchError(f"HTTP {resp.status_code} from {url}{tried}", file=spec.name)
        cap = min(spec.max_bytes, policy.max_bytes or spec.max_bytes)
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise FetchError(
                f"{url} announces {int(declared):,} bytes, over the {cap:,}-byte cap",
                file=spec.name,
            )
        content = _read_body(resp, url, spec, policy, cap, started, progress, task)
    plain = resp.headers.get("Content-Encoding") is None
    if declared and declared.isdigit() and plain and len(content) != int(declared):
        raise _BodyFailed(
            f"download of {url} is truncated: {len(content):,} of {int(declared):,} bytes"
        )
    check_kind(content, spec)
    return FetchedFile(spec.name, url, content, _sha256(content), etag, modified)


def _read_body(
    resp: requests.Response,
    url: str,
    spec: SourceFile,
    policy: FetchPolicy,
    cap: int,
    started: float,
    progress: Progress,
    task: str,
) -> bytes:
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
                raise _BodyFailed(f"{url} took longer than {policy.deadline:g} s")
            chunks.append(chunk)
            progress.advance(task, len(chunk))
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise _BodyFailed(
            f"download of {url} broke off after {total:,} bytes (truncated): "
            f"{exc.__class__.__name__}"
        ) from None
    return b"".join(chunks)


def _why(exc: requests.RequestException) -> str:
    """A connection failure in words a user can act on."""
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError) and reason.reason is not None:
        reason = reason.reason
    text = f"{reason!r} {exc}"
    if "NameResolutionError" in text or "Name or service not known" in text:
        return "the host name could not be resolved (no network? use --mirror DIR offline)"
    if isinstance(exc, requests.ConnectTimeout) or "ConnectTimeoutError" in text:
        return "the connection timed out (ConnectTimeout)"
    if isinstance(exc, requests.ReadTimeout) or "ReadTimeoutError" in text:
        return "the server stopped sending (ReadTimeout)"
    if "Connection refused" in text:
        return "the connection was refused"
    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS certificate check failed"
    return f"{exc.__class__.__name__}: {str(exc)[:200]}"


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
