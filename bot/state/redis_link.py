"""The connection to Redis: which server, and how the bot notices and rides out an outage."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.lock import Lock
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError, MovedError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.shared.metrics import REDIS_OUTAGES

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A hung Redis must cost a turn a fraction of a second, not a hang: Redis has this long to answer a command,
# counting only time the event loop was free to read the answer (see `answered_within`).
COMMAND_TIMEOUT_SECONDS = 0.5
# However stalled the event loop, a command is given up after this long (redis-py's own timeouts).
COMMAND_CEILING_SECONDS = 5.0
LAG_TICK_SECONDS = 0.05
PROBE_INTERVAL_SECONDS = 1.0
MAX_CONNECTIONS = 1000


class RedisUnavailable(Exception):
    """Redis did not answer; callers fall back to Slack history or to in-process state.

    `unanswered`: the command was sent and timed out, so Redis may yet run it (a stalled Redis wakes up).
    """

    def __init__(self, message: str, *, unanswered: bool = False) -> None:
        super().__init__(message)
        self.unanswered = unanswered


Client = aioredis.Redis | RedisCluster


@dataclass
class RedisConnection:
    client: Client
    cluster: bool  # a Redis Cluster (or a serverless Redis that presents as one)


async def connect(redis_url: str) -> RedisConnection:
    """A client for `redis_url` (`redis://`, `rediss://` or `unix://`; a cluster's when the server says it
    is one), quick to notice an outage."""
    options: dict[str, Any] = {
        # The ceiling only: `answered_within` gives up sooner on a Redis that is slow, not on a loop that is.
        "socket_timeout": COMMAND_CEILING_SECONDS,
        "socket_connect_timeout": COMMAND_CEILING_SECONDS,
        # Once more on a new connection when a pooled one turns out closed (Redis restarted, say);
        # never after a timeout, so a hung Redis costs one timeout, not two.
        "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        "health_check_interval": 0,
        # A burst of 200 events needs more connections at once than redis-py's default 100, and its pool then
        # raises MaxConnectionsError, which looks like an outage. (Its blocking pool has had deadlocks: #3056.)
        "max_connections": MAX_CONNECTIONS,
    }
    client = aioredis.Redis.from_url(redis_url, **options)
    if not await is_cluster(client):
        return RedisConnection(client, cluster=False)
    await client.aclose()
    logger.info("REDIS_URL is a Redis Cluster node: using the cluster client")
    # One retry (after a refresh of the slot map on MOVED); the timeouts bound a hung node as above.
    return RedisConnection(RedisCluster.from_url(redis_url, **options), cluster=True)


async def is_cluster(client: aioredis.Redis) -> bool:
    """Whether the server is a cluster node (`INFO cluster`); a Redis that does not answer at start-up
    is taken for a single server (MOVED answers later say otherwise, and are logged as such)."""
    try:
        info = await answered_within(client.info("cluster"))
    except (TimeoutError, RedisError, OSError):
        return False
    return bool(info.get("cluster_enabled"))


async def answered_within(command: Awaitable[T], seconds: float = COMMAND_TIMEOUT_SECONDS) -> T:
    """`command`'s result, or TimeoutError once Redis has had `seconds` to answer it.

    Only time the event loop was free to read the answer counts. On a saturated machine the loop can stall
    (a blocking callback, a burst of work) for longer than Redis is given: the answer then sits unread, and a
    plain socket timeout would take a busy process for a Redis outage (and answer a message its twin
    delivery got an answer for in another process). So the wait wakes every tick, and a wake later than a
    tick counts as one tick. A hung Redis on a healthy loop still costs `seconds`; a stalled loop stretches
    that by its stalls, up to COMMAND_CEILING_SECONDS.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(command)
    started = last = loop.time()
    waited = 0.0
    try:
        while True:
            await asyncio.wait((task,), timeout=LAG_TICK_SECONDS)
            if task.done():
                return task.result()
            now = loop.time()
            waited += min(now - last, LAG_TICK_SECONDS)
            last = now
            if waited >= seconds or now - started >= COMMAND_CEILING_SECONDS:
                raise TimeoutError(f"Redis did not answer within {seconds:g}s")
    finally:
        if not task.done():
            task.cancel()  # redis-py drops the connection of a command cancelled mid-read
            task.add_done_callback(_ignore_outcome)


def _ignore_outcome(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it as never retrieved


async def drop_connections(client: Client) -> None:
    """Forget pooled connections (and a cluster's slot map): the server behind them may be new."""
    if isinstance(client, RedisCluster):
        await client.aclose()  # the next command starts afresh from the startup nodes
    else:
        await client.connection_pool.disconnect()


class RedisGuard:
    """Runs Redis commands; after one failure it fails fast until a background probe sees Redis again.

    One warning per outage, not one per message; `on_recovery` runs once Redis answers again.
    """

    def __init__(self, client: Client, on_recovery: Callable[[], Awaitable[None]] | None = None):
        self.client = client
        self.on_recovery = on_recovery
        self._down_since: float | None = None
        self._probe: asyncio.Task[None] | None = None
        self._back = asyncio.Event()  # set while Redis answers
        self._back.set()

    @property
    def up(self) -> bool:
        return self._down_since is None

    async def run(self, command: Callable[[Any], Awaitable[T]]) -> T:
        if self._down_since is not None:
            raise RedisUnavailable("Redis is unreachable")
        try:
            return await answered_within(command(self.client))
        except LockError:
            raise  # Redis answered: the lock had expired or changed hands
        except (TimeoutError, RedisError, OSError) as error:
            self._mark_down(error)
            unanswered = isinstance(error, (TimeoutError, RedisTimeoutError))
            raise RedisUnavailable(str(error), unanswered=unanswered) from error

    async def run_again_when_back(self, command: Callable[[Any], Awaitable[T]], within: float) -> T | None:
        """`command` once more, if Redis answers again (the probe sees it) within `within` seconds; else None."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._back.wait(), within)
        if not self._back.is_set():
            return None
        with contextlib.suppress(RedisUnavailable):
            return await self.run(command)
        return None

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
        REDIS_OUTAGES.inc()
        self._back.clear()
        if isinstance(error, MovedError):
            logger.error("Redis answered MOVED: REDIS_URL is a cluster node, but no cluster was seen at start-up")
        logger.warning("Redis is unreachable (%s): answering from Slack history until it is back", type(error).__name__)
        self._probe = asyncio.create_task(self._probe_until_up())

    async def _probe_until_up(self) -> None:
        while True:
            await asyncio.sleep(PROBE_INTERVAL_SECONDS)
            try:
                # Pooled connections may be to the server that went away: start afresh, or the first
                # commands after a restart fail on them and count as a new outage.
                await drop_connections(self.client)
                await answered_within(self.client.ping())
            except (TimeoutError, RedisError, OSError):
                continue
            down_for = time.monotonic() - (self._down_since or time.monotonic())
            self._down_since = None
            self._back.set()
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


def lock_token(lock: Lock | None) -> str:
    """The token a redis-py lock holds ("" for no lock): what the scripts compare before releasing it."""
    token = lock.local.token if lock is not None else None
    return token.decode() if isinstance(token, bytes) else (token or "")
