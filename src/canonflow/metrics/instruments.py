"""What this process observes, in its own registry: job durations and n8n requests.

Label values are bounded: job types come from the registry, statuses from `JobStatus`,
n8n paths are templates (`/workflows/{id}`, never an id) and errors are error class names.
These are per process: each process that runs jobs or calls n8n counts its own.
"""

from __future__ import annotations

import re
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY: Final = CollectorRegistry(auto_describe=True)

JOB_DURATION: Final = Histogram(
    "canonflow_job_duration_seconds",
    "Time from a job's start to its end, observed when the job ends in this process.",
    ["type", "status"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
    registry=REGISTRY,
)
N8N_REQUEST_DURATION: Final = Histogram(
    "canonflow_n8n_request_duration_seconds",
    "One HTTP request to an n8n public API (each retry is a request), by outcome.",
    ["method", "path", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
N8N_REQUEST_ERRORS: Final = Counter(
    "canonflow_n8n_request_errors",
    "n8n requests that failed, by the error they raised.",
    ["method", "path", "error"],
    registry=REGISTRY,
)

#: Path segments kept as they are; any other segment is an id and becomes `{id}`.
_LITERAL_SEGMENTS: Final = frozenset(
    {
        "workflows", "tags", "activate", "deactivate", "executions", "credentials",
        "users", "projects", "variables", "transfer", "audit", "schema",
    }
)  # fmt: skip
_CAMEL: Final = re.compile(r"(?<!^)(?=[A-Z])")


def path_template(path: str) -> str:
    """`/workflows/abc123/activate` → `/workflows/{id}/activate` (no query string)."""
    segments = path.split("?", 1)[0].strip("/").split("/")
    kept = [s if s in _LITERAL_SEGMENTS or not s else "{id}" for s in segments]
    return "/" + "/".join(kept)


def error_label(exc: BaseException) -> str:
    """`N8nRateLimited` → `n8n_rate_limited`: a bounded label from the error's class."""
    return _CAMEL.sub("_", type(exc).__name__).lower()


def job_ended(job_type: str, status: str, seconds: float) -> None:
    JOB_DURATION.labels(type=job_type, status=status).observe(max(0.0, seconds))


def n8n_request_done(method: str, path: str, seconds: float, error: BaseException | None) -> None:
    template = path_template(path)
    outcome = "success" if error is None else "error"
    N8N_REQUEST_DURATION.labels(method=method, path=template, outcome=outcome).observe(seconds)
    if error is not None:
        N8N_REQUEST_ERRORS.labels(method=method, path=template, error=error_label(error)).inc()
