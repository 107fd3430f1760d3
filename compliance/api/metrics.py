"""Prometheus metrics: requests, latency, and the age of each list in use. With several
workers, prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by `serve`)
sums the workers' counters."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0)


class Metrics:
    def __init__(self) -> None:
        # one registry per app, so several apps in one process (tests) never collide
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "compliance_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "compliance_http_request_seconds",
            "Time to answer",
            ["route"],
            buckets=BUCKETS,
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def render(
        self, list_ages: dict[str, float], reloads: int, audit: Any = None
    ) -> tuple[bytes, str]:
        if os.path.isdir(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or ""):
            from prometheus_client import multiprocess

            reg = CollectorRegistry()
            multiprocess.MultiProcessCollector(reg)
            body = generate_latest(reg)
        else:
            body = generate_latest(self.registry)
        extra = [
            "# HELP compliance_list_age_days Days since the list's own date (else its fetch)",
            "# TYPE compliance_list_age_days gauge",
            *(
                f'compliance_list_age_days{{source="{k}"}} {v}'
                for k, v in sorted(list_ages.items())
            ),
            "# HELP compliance_index_loads Index loads by this worker (1 + reloads)",
            "# TYPE compliance_index_loads counter",
            f"compliance_index_loads_total {reloads}",
        ]
        if audit is not None:  # this worker's audit writer
            extra += [
                "# HELP compliance_audit_backlog Screenings not yet written to the audit trail",
                "# TYPE compliance_audit_backlog gauge",
                f"compliance_audit_backlog {audit.backlog}",
                "# HELP compliance_audit_written Screenings written to the audit trail",
                "# TYPE compliance_audit_written counter",
                f"compliance_audit_written_total {audit.written}",
                "# HELP compliance_audit_write_failures Failed writes (the records were kept)",
                "# TYPE compliance_audit_write_failures counter",
                f"compliance_audit_write_failures_total {audit.failures}",
            ]
        return body + ("\n".join(extra) + "\n").encode(), CONTENT_TYPE_LATEST
