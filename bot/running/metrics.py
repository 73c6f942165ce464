"""`GET /metrics` in Prometheus's text format, summed over every worker process (the metrics are defined in
`bot.shared.metrics`).

With WEB_CONCURRENCY above 1 the parent gives its workers one folder in `PROMETHEUS_MULTIPROC_DIR` (the
operator's, or a new temporary one), emptied at start: prometheus_client's multiprocess mode keeps each
process's values there, and any worker's `/metrics` reads them all.
"""

from __future__ import annotations

import hmac
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def shared_between_workers() -> Iterator[str]:
    """Set `PROMETHEUS_MULTIPROC_DIR` for the workers the parent is about to start, emptied of an earlier run's
    files; a folder made here is removed at the end."""
    named = os.environ.get(MULTIPROC_ENV, "").strip()
    folder = named or tempfile.mkdtemp(prefix="slackbot-metrics-")
    os.makedirs(folder, exist_ok=True)
    forget_earlier_runs(folder)
    os.environ[MULTIPROC_ENV] = folder
    try:
        yield folder
    finally:
        if not named:
            shutil.rmtree(folder, ignore_errors=True)


def forget_earlier_runs(folder: str | None = None) -> None:
    """Empty the multiprocess folder (by default the one `PROMETHEUS_MULTIPROC_DIR` names, if any) of an earlier
    run's files, before any process of this run records a metric: a counter must start at 0."""
    folder = folder or os.environ.get(MULTIPROC_ENV, "").strip()
    if not folder or not os.path.isdir(folder):
        return
    for name in os.listdir(folder):
        if name.endswith(".db"):  # what prometheus_client writes; nothing else of the operator's is touched
            os.remove(os.path.join(folder, name))


def scrape() -> bytes:
    """Every metric of every process (or of this one, when it is the only one)."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def metrics_handler(token: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def metrics(request: web.Request) -> web.Response:
        if token and not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}"):
            return web.Response(status=401, text="METRICS_TOKEN is set: send it as a Bearer token\n")
        body = scrape()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return metrics
